//! Load balancing: per exposed scheme an Application Load Balancer (internal ones in the private
//! subnets, internet-facing ones in the public subnets) with its listeners, and per exposed
//! service a target group (target type ip) and a listener rule by host and path. After the network
//! (its subnets and security groups) and before compute, whose services register in the target
//! groups this part reports; deleted after the services and before the network.

mod balancers;
pub mod model;
mod targets;
pub mod writes;

use dataplatform_api::SpecProblem;
use dataplatform_api::account::DataPlatformAccountStatus;
use dataplatform_api::{DataPlatformAccountSpec, LoadBalancerStatus, Scheme};
use dataplatform_aws::QuotaUse;
use dataplatform_aws::policy::PolicyScope;
use dataplatform_aws::quotas::{ALB_LISTENER_RULES, ALB_TARGET_GROUPS};
use dataplatform_aws::{AccountSession, AwsError};

pub use model::{DesiredLoadBalancing, ObservedLoadBalancing};

use crate::account::AccountContext;
use crate::parts::contract::AccountPart;
use crate::plan::{Action, Part, Plan};
use crate::vocabulary::{Facts, Outcome, Owner, Readiness, ours, tags_used};

pub struct LoadBalancing;

impl AccountPart for LoadBalancing {
    const PART: Part = Part::LoadBalancer;
    type Desired = DesiredLoadBalancing;
    type Observed = ObservedLoadBalancing;

    fn present(spec: &DataPlatformAccountSpec) -> bool {
        spec.services.iter().any(|s| s.expose.is_some())
    }

    fn desired(account: &AccountContext, spec: &DataPlatformAccountSpec) -> DesiredLoadBalancing {
        DesiredLoadBalancing::new(account, spec)
    }

    fn complete(desired: &mut DesiredLoadBalancing, facts: &Facts) {
        desired.placement = facts.load_balancer_placement.clone();
        desired.vpc = facts.network_vpc.clone();
    }

    async fn observe(
        session: &AccountSession,
        _account: &AccountContext,
        desired: &DesiredLoadBalancing,
    ) -> Result<ObservedLoadBalancing, AwsError> {
        if !desired.observe {
            return Ok(ObservedLoadBalancing::default());
        }
        let (balancers, target_groups) = session
            .elb()
            .observe(&desired.every_balancer_name, &desired.target_group_prefix)
            .await?;
        Ok(ObservedLoadBalancing {
            balancers,
            target_groups,
        })
    }

    fn facts(desired: &DesiredLoadBalancing, observed: &ObservedLoadBalancing, facts: &mut Facts) {
        for target in &desired.targets {
            if let Some(group) = observed.target_group(&target.name).filter(|g| observed.in_use(g)) {
                facts.target_groups.insert(target.service.clone(), group.arn.clone());
            }
            let Some(balancer) = desired
                .balancers
                .get(&target.scheme)
                .and_then(|b| observed.balancer(&b.name))
            else {
                continue;
            };
            let host = target.host.clone().unwrap_or_else(|| balancer.dns_name.clone());
            let url = format!("{}://{host}{}", desired.url_scheme(target.scheme), target.path_prefix);
            facts.service_urls.insert(target.service.clone(), url);
        }
    }

    fn diff(
        account: &AccountContext,
        desired: &DesiredLoadBalancing,
        observed: &ObservedLoadBalancing,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let mut outcomes = targets::unwanted_rules(desired, observed, &account.owner);
        for (scheme, balancer) in &desired.balancers {
            let listener = balancers::balancer_outcomes(desired, balancer, observed, owner, &mut outcomes);
            for target in desired.targets.iter().filter(|t| t.scheme == *scheme) {
                targets::target_outcomes(desired, target, listener.as_ref(), observed, owner, &mut outcomes);
            }
        }
        outcomes.extend(targets::unwanted_groups(desired, observed, &account.owner));
        outcomes.extend(
            balancers::unwanted_balancers(desired, observed, &account.owner)
                .into_iter()
                .map(Outcome::create),
        );
        outcomes
    }

    fn readiness(
        desired: &DesiredLoadBalancing,
        observed: &ObservedLoadBalancing,
        applied: &Plan,
        readiness: &mut Readiness,
    ) {
        let made = applied
            .actions
            .iter()
            .any(|a| a.part == Part::LoadBalancer && a.kind == crate::plan::ActionKind::Create);
        for balancer in desired.balancers.values() {
            match observed.balancer(&balancer.name) {
                None => readiness
                    .pending
                    .push(format!("load balancer {} is being created", balancer.name)),
                Some(seen) if seen.state != "active" => readiness
                    .pending
                    .push(format!("load balancer {} is {}", balancer.name, seen.state)),
                Some(_) => {}
            }
        }
        for target in &desired.targets {
            if observed.target_group(&target.name).is_none_or(|g| !observed.in_use(g)) && !made {
                readiness.pending.push(format!(
                    "target group {} of {} has no load balancer forwarding to it yet",
                    target.name, target.service
                ));
            }
        }
    }

    fn deletion(
        account: &AccountContext,
        _desired: &DesiredLoadBalancing,
        observed: &ObservedLoadBalancing,
        waiting: &mut Vec<String>,
    ) -> Vec<Action> {
        let owner = account.owner.as_str();
        let mut actions: Vec<Action> = observed
            .balancers
            .iter()
            .filter(|b| ours(&b.tags, owner))
            .map(balancers::delete_balancer)
            .collect();
        actions.extend(observed.our_target_groups(owner).map(targets::delete_target_group));
        // The network waits until ELB has let go of its subnets and security groups.
        waiting.extend(
            actions
                .iter()
                .map(|a| format!("{} ({}) is being deleted", a.resource, a.name)),
        );
        actions
    }

    fn report(
        account: &AccountContext,
        _desired: &DesiredLoadBalancing,
        observed: &ObservedLoadBalancing,
        status: &mut DataPlatformAccountStatus,
    ) {
        status.load_balancers = observed
            .balancers
            .iter()
            .filter(|b| ours(&b.tags, &account.owner))
            .map(|b| LoadBalancerStatus {
                scheme: balancers::scheme_of(b),
                name: b.name.clone(),
                dns_name: Some(b.dns_name.clone()).filter(|d| !d.is_empty()),
                state: Some(b.state.clone()).filter(|s| !s.is_empty()),
            })
            .collect();
    }

    fn quota_use(account: &AccountContext, observed: &ObservedLoadBalancing, used: &mut QuotaUse) {
        for balancer in observed.balancers.iter().filter(|b| ours(&b.tags, &account.owner)) {
            let place = || format!("load balancer {} of {}", balancer.name, account.owner);
            let rules = balancer.listeners.iter().flat_map(|l| &l.rules);
            used.record(ALB_LISTENER_RULES, rules.clone().count(), place);
            let groups: std::collections::BTreeSet<&String> = rules.flat_map(|r| &r.target_groups).collect();
            used.record(ALB_TARGET_GROUPS, groups.len(), place);
            tags_used(used, &balancer.tags, place);
        }
        for group in &observed.target_groups {
            tags_used(used, &group.tags, || {
                format!("target group {} of {}", group.name, account.owner)
            });
        }
    }

    fn policy_scope(account: &AccountContext, _spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        // Observed (and removed) whether or not a service is exposed now.
        scope.load_balancers = Some(
            Scheme::ALL
                .into_iter()
                .map(|s| account.names.load_balancer(s))
                .collect(),
        );
        scope.target_group_prefix = Some(account.names.target_group_prefix());
    }

    fn remember(desired: &mut Self::Desired, status: Option<&DataPlatformAccountStatus>) {
        desired.remember(status);
    }

    fn spec_problems(
        _spec: &DataPlatformAccountSpec,
        _desired: &Self::Desired,
        _observed: &Self::Observed,
    ) -> Vec<SpecProblem> {
        vec![]
    }
}

#[cfg(test)]
mod tests {
    use dataplatform_aws::elb::LoadBalancerObservation;
    use serde_json::json;

    use super::writes::LoadBalancerWrite;
    use super::*;
    use crate::account::ObjectId;

    fn desired(services: serde_json::Value) -> DesiredLoadBalancing {
        let spec: DataPlatformAccountSpec = serde_json::from_value(json!({
            "accountId": "111111111111", "region": "eu-west-2",
            "network": {"vpc": {"cidr": "10.20.0.0/16"}},
            "services": services
        }))
        .expect("spec");
        let id = ObjectId {
            namespace: "ns".into(),
            name: "camden".into(),
        };
        let account = AccountContext::new(&id, &spec, &Default::default());
        LoadBalancing::desired(&account, &spec)
    }

    #[test]
    fn ready_waits_for_the_balancer_to_be_active() {
        let wanted =
            desired(json!([{"name": "frontend", "image": "x", "cpu": 256, "memory": 512, "port": 80, "expose": {}}]));
        let name = wanted.balancers[&Scheme::Internal].name.clone();
        let balancer = |state: &str| LoadBalancerObservation {
            arn: "arn:lb".into(),
            name: name.clone(),
            dns_name: "internal-x.elb.amazonaws.com".into(),
            scheme: "internal".into(),
            state: state.into(),
            subnets: Default::default(),
            security_groups: Default::default(),
            tags: Default::default(),
            idle_timeout: Some(60),
            listeners: vec![],
        };
        let pending = |state: &str| {
            let observed = ObservedLoadBalancing {
                balancers: vec![balancer(state)],
                target_groups: vec![],
            };
            let mut readiness = Readiness::default();
            LoadBalancing::readiness(&wanted, &observed, &Plan::default(), &mut readiness);
            readiness.pending
        };
        assert!(pending("provisioning").iter().any(|p| p.contains("is provisioning")));
        assert!(
            !pending("active").iter().any(|p| p.contains(&name)),
            "{:?}",
            pending("active")
        );
    }

    /// A rule that is not ours on the priority ours needs: a conflict naming it, and no write.
    #[test]
    fn a_foreign_rule_on_our_priority_is_a_conflict() {
        use dataplatform_aws::elb::{
            DefaultAction, HealthCheck, ListenerObservation, RuleConditions, RuleObservation, TargetGroupObservation,
        };
        let wanted =
            desired(json!([{"name": "frontend", "image": "x", "cpu": 256, "memory": 512, "port": 80, "expose": {}}]));
        let target = &wanted.targets[0];
        let tags: std::collections::BTreeMap<String, String> =
            [(dataplatform_api::OWNER_TAG.to_owned(), "ns/camden".to_owned())].into();
        let observed = ObservedLoadBalancing {
            balancers: vec![LoadBalancerObservation {
                arn: "arn:lb".into(),
                name: wanted.balancers[&Scheme::Internal].name.clone(),
                dns_name: "x".into(),
                scheme: "internal".into(),
                state: "active".into(),
                subnets: Default::default(),
                security_groups: Default::default(),
                tags: tags.clone(),
                idle_timeout: Some(60),
                listeners: vec![ListenerObservation {
                    arn: "arn:listener".into(),
                    port: 80,
                    protocol: "HTTP".into(),
                    certificate: None,
                    default_action: DefaultAction::NotFound,
                    rules: vec![RuleObservation {
                        arn: "arn:someone-elses-rule".into(),
                        priority: Some(target.priority),
                        conditions: RuleConditions::default(),
                        target_groups: vec!["arn:their-group".into()],
                    }],
                }],
            }],
            target_groups: vec![TargetGroupObservation {
                arn: "arn:our-group".into(),
                name: target.name.clone(),
                port: 80,
                protocol_version: "HTTP1".into(),
                target_type: "ip".into(),
                vpc_id: "vpc-1".into(),
                health_check: HealthCheck {
                    path: "/".into(),
                    matcher: "200-399".into(),
                },
                load_balancers: vec![],
                tags,
            }],
        };
        let id = ObjectId {
            namespace: "ns".into(),
            name: "camden".into(),
        };
        let spec: DataPlatformAccountSpec =
            serde_json::from_value(json!({"accountId": "111111111111", "region": "eu-west-2"})).expect("spec");
        let account = AccountContext::new(&id, &spec, &Default::default());
        let owner = Owner {
            value: &account.owner,
            adopt: false,
        };
        let outcomes = LoadBalancing::diff(&account, &wanted, &observed, &owner);
        let conflicts: Vec<&String> = outcomes.iter().filter_map(|o| o.conflict.as_ref()).collect();
        assert!(
            conflicts
                .iter()
                .any(|c| c.contains("arn:someone-elses-rule") && c.contains("not ours")),
            "{conflicts:?}"
        );
        assert!(
            !outcomes.iter().filter_map(|o| o.action.as_ref()).any(|a| a
                .ops
                .iter()
                .any(|op| matches!(op.get(), Some(LoadBalancerWrite::CreateRule { .. })))),
            "no rule is made on a taken priority"
        );
    }

    #[test]
    fn an_account_that_never_exposed_a_service_reads_no_load_balancer() {
        let mut nothing = desired(json!([]));
        nothing.remember(Some(&DataPlatformAccountStatus::default()));
        assert!(!nothing.observe, "nothing exposed, none in status: no ELB read");
        nothing.remember(None);
        assert!(nothing.observe, "without a status (the CLI) it looks");
        let status = DataPlatformAccountStatus {
            load_balancers: vec![LoadBalancerStatus {
                scheme: Scheme::Internal,
                name: "x".into(),
                dns_name: None,
                state: None,
            }],
            ..Default::default()
        };
        nothing.remember(Some(&status));
        assert!(nothing.observe, "a balancer left to remove is looked at");
    }
}
