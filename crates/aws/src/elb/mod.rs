//! Elastic Load Balancing (v2): the account's Application Load Balancers, their listeners and
//! listener rules, and the target groups the rules forward to, read by name (load balancers,
//! target groups) or by the load balancer they belong to (listeners, rules); and the writes that
//! make and remove them (`writes`). Creates carry their tags in the same request.

mod sign_in;
mod writes;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, RuleCondition, Tag};

pub use sign_in::{ClientSecret, CognitoSettings, OidcSettings, RuleSignIn, SignInObservation};
pub use writes::{ListenerSettings, TargetGroupSettings};

use crate::error::AwsError;
use crate::permissions as op;
use crate::session::AccountSession;

/// The load-balancer attribute `spec.loadBalancer.idleTimeoutSeconds` sets.
pub const IDLE_TIMEOUT_ATTRIBUTE: &str = "idle_timeout.timeout_seconds";
/// TLS 1.3 and 1.2 only, AWS's recommended policy for new HTTPS listeners.
pub const SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadBalancerObservation {
    pub arn: String,
    pub name: String,
    pub dns_name: String,
    /// The Route 53 zone of `dns_name`, for alias records.
    pub canonical_zone_id: String,
    /// `internal` or `internet-facing`.
    pub scheme: String,
    /// provisioning, active, active_impaired, failed.
    pub state: String,
    pub subnets: BTreeSet<String>,
    pub security_groups: BTreeSet<String>,
    pub tags: BTreeMap<String, String>,
    pub idle_timeout: Option<i32>,
    pub listeners: Vec<ListenerObservation>,
}

/// What a listener does with a request no rule matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// A fixed 404 response.
    NotFound,
    /// A permanent redirect to HTTPS on 443.
    RedirectToHttps,
    /// Anything else, by its type.
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerObservation {
    pub arn: String,
    pub port: i32,
    /// HTTP or HTTPS.
    pub protocol: String,
    pub certificate: Option<String>,
    pub default_action: DefaultAction,
    /// Its rules but the default one.
    pub rules: Vec<RuleObservation>,
}

/// What a listener rule matches: host names, path patterns, source ranges (each sorted).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct RuleConditions {
    pub hosts: Vec<String>,
    pub paths: Vec<String>,
    pub source_cidrs: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleObservation {
    pub arn: String,
    pub priority: Option<i32>,
    pub conditions: RuleConditions,
    /// The target groups it forwards to (empty for any other action).
    pub target_groups: Vec<String>,
    /// Its authenticate-oidc action but the client secret (never read back: real ELB does not
    /// return it, moto does), or its authenticate-cognito action.
    pub sign_in: Option<SignInObservation>,
    /// Its tags, read only for rules that sign people in (the client secret's digest).
    pub tags: BTreeMap<String, String>,
}

/// The health check of a target group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    pub path: String,
    /// HTTP codes (`200-399`) or, for GRPC, gRPC codes (`12`).
    pub matcher: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetGroupObservation {
    pub arn: String,
    pub name: String,
    pub port: i32,
    /// HTTP1 or GRPC.
    pub protocol_version: String,
    pub target_type: String,
    pub vpc_id: String,
    pub health_check: HealthCheck,
    /// The load balancers whose rules forward to it.
    pub load_balancers: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

pub struct Elb<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn elb(&self) -> Elb<'_> {
        Elb { session: self }
    }
}

pub(crate) fn to_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

impl Elb<'_> {
    /// Load balancers named one of `names` (with their idle timeout, listeners and rules) and target
    /// groups whose name starts with `prefix`, all with their tags (one DescribeTags for both while
    /// they are 20 or fewer).
    pub async fn observe(
        &self,
        names: &[String],
        prefix: &str,
    ) -> Result<(Vec<LoadBalancerObservation>, Vec<TargetGroupObservation>), AwsError> {
        let (mut balancers, mut groups) =
            tokio::try_join!(self.load_balancers_named(names), self.target_groups_starting(prefix))?;
        let signed_in_rules = |b: &LoadBalancerObservation| -> Vec<String> {
            let rules = b.listeners.iter().flat_map(|l| &l.rules);
            rules.filter(|r| r.sign_in.is_some()).map(|r| r.arn.clone()).collect()
        };
        let arns: Vec<String> = balancers
            .iter()
            .flat_map(|b| std::iter::once(b.arn.clone()).chain(signed_in_rules(b)))
            .chain(groups.iter().map(|g| g.arn.clone()))
            .collect();
        let tags = self.tags(&arns).await?;
        for balancer in &mut balancers {
            balancer.tags = tags.get(&balancer.arn).cloned().unwrap_or_default();
            let rules = balancer.listeners.iter_mut().flat_map(|l| &mut l.rules);
            for rule in rules.filter(|r| r.sign_in.is_some()) {
                rule.tags = tags.get(&rule.arn).cloned().unwrap_or_default();
            }
        }
        for group in &mut groups {
            group.tags = tags.get(&group.arn).cloned().unwrap_or_default();
        }
        Ok((balancers, groups))
    }

    async fn load_balancers_named(&self, names: &[String]) -> Result<Vec<LoadBalancerObservation>, AwsError> {
        let client = self.session.elbv2();
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        // Listed rather than asked by name: a name ELB does not hold fails the whole request.
        loop {
            let page = self
                .session
                .call(&op::ELB_DESCRIBE_LOAD_BALANCERS, || {
                    client
                        .describe_load_balancers()
                        .set_marker(marker.clone())
                        .page_size(400)
                        .send()
                })
                .await?;
            for lb in page.load_balancers() {
                let name = lb.load_balancer_name().unwrap_or_default();
                if names.iter().any(|n| n == name) {
                    found.push(LoadBalancerObservation {
                        arn: lb.load_balancer_arn().unwrap_or_default().to_owned(),
                        name: name.to_owned(),
                        dns_name: lb.dns_name().unwrap_or_default().to_owned(),
                        canonical_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_owned(),
                        scheme: lb.scheme().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                        state: lb
                            .state()
                            .and_then(|s| s.code())
                            .map(|c| c.as_str().to_owned())
                            .unwrap_or_default(),
                        subnets: lb
                            .availability_zones()
                            .iter()
                            .filter_map(|z| z.subnet_id().map(str::to_owned))
                            .collect(),
                        security_groups: lb.security_groups().iter().cloned().collect(),
                        tags: BTreeMap::new(),
                        idle_timeout: None,
                        listeners: vec![],
                    });
                }
            }
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        for lb in &mut found {
            let (idle_timeout, listeners) = tokio::try_join!(self.idle_timeout(&lb.arn), self.listeners(&lb.arn))?;
            lb.idle_timeout = idle_timeout;
            lb.listeners = listeners;
        }
        Ok(found)
    }

    async fn target_groups_starting(&self, prefix: &str) -> Result<Vec<TargetGroupObservation>, AwsError> {
        let client = self.session.elbv2();
        let mut found = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .session
                .call(&op::ELB_DESCRIBE_TARGET_GROUPS, || {
                    client
                        .describe_target_groups()
                        .set_marker(marker.clone())
                        .page_size(400)
                        .send()
                })
                .await?;
            for group in page.target_groups() {
                let name = group.target_group_name().unwrap_or_default();
                if !name.starts_with(prefix) {
                    continue;
                }
                let matcher = group.matcher();
                found.push(TargetGroupObservation {
                    arn: group.target_group_arn().unwrap_or_default().to_owned(),
                    name: name.to_owned(),
                    port: group.port().unwrap_or_default(),
                    protocol_version: group.protocol_version().unwrap_or("HTTP1").to_owned(),
                    target_type: group.target_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
                    vpc_id: group.vpc_id().unwrap_or_default().to_owned(),
                    health_check: HealthCheck {
                        path: group.health_check_path().unwrap_or_default().to_owned(),
                        matcher: matcher
                            .and_then(|m| m.grpc_code().or(m.http_code()))
                            .unwrap_or_default()
                            .to_owned(),
                    },
                    load_balancers: group.load_balancer_arns().to_vec(),
                    tags: BTreeMap::new(),
                });
            }
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        Ok(found)
    }

    /// Tags by ARN; DescribeTags takes 20 ARNs at a time.
    async fn tags(&self, arns: &[String]) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
        let client = self.session.elbv2();
        let mut tags = BTreeMap::new();
        for chunk in arns.chunks(20) {
            let output = self
                .session
                .call(&op::ELB_DESCRIBE_TAGS, || {
                    client.describe_tags().set_resource_arns(Some(chunk.to_vec())).send()
                })
                .await?;
            for description in output.tag_descriptions() {
                let found = description
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
                    .collect();
                tags.insert(description.resource_arn().unwrap_or_default().to_owned(), found);
            }
        }
        Ok(tags)
    }

    async fn idle_timeout(&self, arn: &str) -> Result<Option<i32>, AwsError> {
        let client = self.session.elbv2();
        let output = self
            .session
            .call(&op::ELB_DESCRIBE_LOAD_BALANCER_ATTRIBUTES, || {
                client.describe_load_balancer_attributes().load_balancer_arn(arn).send()
            })
            .await?;
        Ok(output
            .attributes()
            .iter()
            .find(|a| a.key() == Some(IDLE_TIMEOUT_ATTRIBUTE))
            .and_then(|a| a.value()?.parse().ok()))
    }

    /// The balancer's listeners, each with its rules.
    pub async fn listeners(&self, load_balancer: &str) -> Result<Vec<ListenerObservation>, AwsError> {
        let client = self.session.elbv2();
        let output = self
            .session
            .call(&op::ELB_DESCRIBE_LISTENERS, || {
                client.describe_listeners().load_balancer_arn(load_balancer).send()
            })
            .await?;
        let mut listeners = Vec::new();
        for listener in output.listeners() {
            let arn = listener.listener_arn().unwrap_or_default().to_owned();
            let rules = self.rules(&arn).await?;
            listeners.push(ListenerObservation {
                port: listener.port().unwrap_or_default(),
                protocol: listener.protocol().map(|p| p.as_str().to_owned()).unwrap_or_default(),
                certificate: listener
                    .certificates()
                    .iter()
                    .find_map(|c| c.certificate_arn().map(str::to_owned)),
                default_action: default_action(listener.default_actions()),
                rules,
                arn,
            });
        }
        listeners.sort_by_key(|l| l.port);
        Ok(listeners)
    }

    /// The listener's rules but its default one.
    pub async fn rules(&self, listener: &str) -> Result<Vec<RuleObservation>, AwsError> {
        let client = self.session.elbv2();
        let mut rules = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .session
                .call(&op::ELB_DESCRIBE_RULES, || {
                    client
                        .describe_rules()
                        .listener_arn(listener)
                        .set_marker(marker.clone())
                        .send()
                })
                .await?;
            for rule in page.rules().iter().filter(|r| r.is_default() != Some(true)) {
                rules.push(RuleObservation {
                    arn: rule.rule_arn().unwrap_or_default().to_owned(),
                    priority: rule.priority().and_then(|p| p.parse().ok()),
                    conditions: conditions(rule.conditions()),
                    target_groups: forwards_to(rule.actions()),
                    sign_in: sign_in::sign_in_of(rule.actions()),
                    tags: BTreeMap::new(),
                });
            }
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        Ok(rules)
    }
}

fn default_action(actions: &[Action]) -> DefaultAction {
    let Some(action) = actions.first() else {
        return DefaultAction::Other("none".to_owned());
    };
    match action.r#type() {
        Some(ActionTypeEnum::FixedResponse)
            if action.fixed_response_config().and_then(|c| c.status_code()) == Some("404") =>
        {
            DefaultAction::NotFound
        }
        Some(ActionTypeEnum::Redirect)
            if action
                .redirect_config()
                .is_some_and(|r| r.protocol() == Some("HTTPS") && r.port().is_none_or(|p| p == "443")) =>
        {
            DefaultAction::RedirectToHttps
        }
        other => DefaultAction::Other(other.map(|t| t.as_str().to_owned()).unwrap_or_default()),
    }
}

fn forwards_to(actions: &[Action]) -> Vec<String> {
    let mut groups: Vec<String> = actions
        .iter()
        .filter(|a| a.r#type() == Some(&ActionTypeEnum::Forward))
        .flat_map(|a| {
            let single = a.target_group_arn().map(str::to_owned);
            let weighted = a
                .forward_config()
                .map(|f| {
                    f.target_groups()
                        .iter()
                        .filter_map(|t| t.target_group_arn().map(str::to_owned))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            single.into_iter().chain(weighted)
        })
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

/// A rule's conditions, from the field configs (or the older `Values`, which some endpoints send).
fn conditions(found: &[RuleCondition]) -> RuleConditions {
    let mut conditions = RuleConditions::default();
    for condition in found {
        let values = |config: Option<&[String]>| -> Vec<String> {
            let mut values = config.filter(|v| !v.is_empty()).unwrap_or(condition.values()).to_vec();
            values.sort();
            values
        };
        match condition.field() {
            Some("host-header") => {
                conditions.hosts = values(condition.host_header_config().map(|c| c.values()));
            }
            Some("path-pattern") => {
                conditions.paths = values(condition.path_pattern_config().map(|c| c.values()));
            }
            Some("source-ip") => {
                conditions.source_cidrs = values(condition.source_ip_config().map(|c| c.values()));
            }
            _ => {}
        }
    }
    conditions
}
