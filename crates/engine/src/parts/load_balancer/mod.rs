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

pub use model::{DesiredLoadBalancing, ObservedLoadBalancing, USER_POOL_SCOPE};

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
        desired.use_requested_certificate(facts.certificate.as_deref());
        desired.use_user_pool(facts.user_pool.as_ref());
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
        let mut secret_versions = std::collections::BTreeMap::new();
        for arn in desired.sign_in_secrets() {
            secret_versions.insert(arn.to_owned(), session.secrets().current_version(arn).await?);
        }
        Ok(ObservedLoadBalancing {
            balancers,
            target_groups,
            secret_versions,
        })
    }

    fn facts(desired: &DesiredLoadBalancing, observed: &ObservedLoadBalancing, facts: &mut Facts) {
        for (scheme, balancer) in &desired.balancers {
            if let Some(seen) = observed.balancer(&balancer.name).filter(|b| !b.dns_name.is_empty()) {
                let alias = dataplatform_aws::route53::Alias {
                    dns_name: dataplatform_aws::route53::normalized(&seen.dns_name),
                    zone_id: seen.canonical_zone_id.clone(),
                };
                facts.balancer_aliases.insert(*scheme, alias);
            }
        }
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
            if let Some(sign_in) = &target.sign_in {
                let host = sign_in.callback_host.as_ref().unwrap_or(&balancer.dns_name);
                let callback = format!("https://{host}/oauth2/idpresponse");
                facts.sign_in_callbacks.insert(target.service.clone(), callback);
            }
        }
    }

    fn diff(
        account: &AccountContext,
        desired: &DesiredLoadBalancing,
        observed: &ObservedLoadBalancing,
        owner: &Owner<'_>,
    ) -> Vec<Outcome> {
        let mut outcomes = targets::unwanted_rules(desired, observed, &account.owner);
        if desired.certificate_pending {
            outcomes.push(Outcome::waiting(
                "the HTTPS listeners wait for the certificate ACM is validating".to_owned(),
            ));
        }
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
                None => readiness.wait(
                    crate::wait::WaitKind::LoadBalancer,
                    format!("load balancer {} is being created", balancer.name),
                ),
                Some(seen) if seen.state != "active" => readiness.wait(
                    crate::wait::WaitKind::LoadBalancer,
                    format!("load balancer {} is {}", balancer.name, seen.state),
                ),
                Some(_) => {}
            }
        }
        for target in &desired.targets {
            if observed.target_group(&target.name).is_none_or(|g| !observed.in_use(g)) && !made {
                readiness.wait(
                    crate::wait::WaitKind::LoadBalancer,
                    format!(
                        "target group {} of {} has no load balancer forwarding to it yet",
                        target.name, target.service
                    ),
                );
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

    fn policy_scope(account: &AccountContext, spec: &DataPlatformAccountSpec, scope: &mut PolicyScope) {
        // Observed (and removed) whether or not a service is exposed now.
        scope.load_balancers = Some(
            Scheme::ALL
                .into_iter()
                .map(|s| account.names.load_balancer(s))
                .collect(),
        );
        scope.target_group_prefix = Some(account.names.target_group_prefix());
        let sign_ins = spec.services.iter().filter_map(|s| s.expose.as_ref()?.sign_in.as_ref());
        let mut secrets: Vec<String> = sign_ins
            .filter_map(|s| Some(s.oidc.as_ref()?.client_secret.secret_arn.clone()))
            .collect();
        secrets.sort();
        secrets.dedup();
        scope.sign_in_secrets = Some(secrets);
    }

    fn remember(desired: &mut Self::Desired, status: Option<&DataPlatformAccountStatus>) {
        desired.remember(status);
    }

    /// Admission and the CLI refuse sign-in without a certificate; this holds for any caller.
    fn spec_problems(
        _spec: &DataPlatformAccountSpec,
        desired: &Self::Desired,
        _observed: &Self::Observed,
    ) -> Vec<SpecProblem> {
        let over_http = desired
            .targets
            .iter()
            .filter(|t| t.sign_in.is_some() && !desired.forwards_over_https(t));
        over_http
            .map(|t| SpecProblem {
                field: format!("spec.services[{}].expose.signIn", t.service),
                message:
                    "needs spec.loadBalancer.certificateArn: the load balancer signs people in on HTTPS listeners only"
                        .to_owned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
