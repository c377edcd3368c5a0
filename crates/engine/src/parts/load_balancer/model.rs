//! What the load-balancer part wants and finds: per exposed scheme a load balancer with its
//! listeners, per exposed service a target group and a listener rule, and what ELB holds under
//! the account's names.

use std::collections::BTreeMap;

use dataplatform_api::{DataPlatformAccountSpec, ExposeProtocol, Scheme, SignInSpec};
use dataplatform_aws::elb::{
    CognitoSettings, DefaultAction, HealthCheck, ListenerSettings, LoadBalancerObservation, OidcSettings,
    RuleConditions, TargetGroupObservation, TargetGroupSettings,
};
use sha2::{Digest, Sha256};

use crate::account::AccountContext;
use crate::vocabulary::{LoadBalancerPlacement, ours};

const HTTP_PORT: i32 = 80;
const HTTPS_PORT: i32 = 443;
/// Priorities per band: a rule's band orders it by how specific it is, its slot in the band comes
/// from its service's name. 20 bands of 2000 stay inside ELB's 1..=50000.
const BAND_WIDTH: i32 = 2000;

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredLoadBalancing {
    /// Exposed schemes only.
    pub balancers: BTreeMap<Scheme, DesiredBalancer>,
    pub targets: Vec<DesiredTarget>,
    pub idle_timeout: i32,
    /// Both schemes' names, so a load balancer no service needs any more is found and deleted.
    pub every_balancer_name: Vec<String>,
    pub target_group_prefix: String,
    pub tags: BTreeMap<String, String>,
    /// From the network part's facts.
    pub placement: BTreeMap<Scheme, LoadBalancerPlacement>,
    pub vpc: Option<String>,
    /// Whether ELB is read at all: not when nothing is exposed and the last status lists no load
    /// balancer, so an account that never exposed a service pays no ELB read.
    pub observe: bool,
    /// The certificate is the one the operator requests (the certificate part's facts).
    pub requested_certificate: bool,
    /// That certificate is not issued yet: the HTTPS listeners (and the rules on them) wait.
    pub certificate_pending: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredBalancer {
    pub name: String,
    pub scheme: Scheme,
    pub listeners: Vec<ListenerSettings>,
    /// The listener the rules are on: 443 with a certificate, 80 without.
    pub forwarding_port: i32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredTarget {
    pub service: String,
    pub scheme: Scheme,
    /// The target group's name: it changes with the port or protocol, which ELB cannot change in
    /// place, so a new group is made and the old one removed.
    pub name: String,
    pub settings: TargetGroupSettings,
    pub conditions: RuleConditions,
    pub priority: i32,
    /// How people reach it: the first host (else the load balancer's DNS name) and the path up to
    /// its first wildcard.
    pub host: Option<String>,
    pub path_prefix: String,
    /// `expose.signIn`: the rule signs people in before it forwards.
    pub sign_in: Option<DesiredSignIn>,
}

/// A rule's sign-in, and where the identity provider sends people back.
#[derive(Clone, Debug, PartialEq)]
pub struct DesiredSignIn {
    pub method: SignInMethod,
    /// The first host that is not a wildcard: where the identity provider sends people back.
    pub callback_host: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SignInMethod {
    /// The OIDC settings and where their client secret is.
    Oidc {
        settings: OidcSettings,
        secret_arn: String,
        json_key: Option<String>,
    },
    /// The account's user pool: its settings once the pool, its domain and its app client exist
    /// (`complete`, from the user pool part's facts).
    UserPool {
        settings: Option<CognitoSettings>,
        session_timeout: i64,
    },
}

/// The rule tag that says which client secret a sign-in rule was written with: a digest of the
/// secret's ARN, JSON key and AWSCURRENT version (not of its value, which the operator reads only
/// to write the rule), so a rotated secret rewrites the rule.
pub const SECRET_DIGEST_TAG: &str = "dataplatform.io/client-secret-digest";

/// The digest of a client secret's ARN, JSON key and `version`.
pub fn secret_digest(secret_arn: &str, json_key: Option<&str>, version: &str) -> String {
    let text = format!("{secret_arn}\n{}\n{version}", json_key.unwrap_or(""));
    let digest = Sha256::digest(text.as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// What the load balancers ask of the user pool's app client (its allowed scopes hold these).
pub const USER_POOL_SCOPE: &str = "openid email";

impl DesiredLoadBalancing {
    pub fn new(account: &AccountContext, spec: &DataPlatformAccountSpec) -> Self {
        let names = &account.names;
        let shared = spec.load_balancer.clone().unwrap_or_default();
        let certificate = shared.certificate_arn.clone();
        let certificate = certificate.or_else(|| spec.requests_certificate().then(String::new));
        let mut targets = Vec::new();
        for service in &spec.services {
            let (Some(expose), Some(port)) = (&service.expose, service.port) else {
                continue;
            };
            let grpc = expose.protocol == ExposeProtocol::Grpc;
            let health_check = match (&expose.health_check_path, grpc) {
                (Some(path), true) => HealthCheck {
                    path: path.clone(),
                    matcher: "0".to_owned(),
                },
                (None, true) => HealthCheck {
                    path: "/AWS.ALB/healthcheck".to_owned(),
                    matcher: "12".to_owned(),
                },
                (path, false) => HealthCheck {
                    path: path.clone().unwrap_or_else(|| "/".to_owned()),
                    matcher: "200-399".to_owned(),
                },
            };
            let mut hosts = expose.hosts.clone();
            hosts.sort();
            let mut cidrs = expose.allowed_cidrs.clone();
            cidrs.sort();
            targets.push(DesiredTarget {
                service: service.name.clone(),
                scheme: expose.scheme,
                name: names.target_group(&service.name, &format!("{port}:{}", if grpc { "grpc" } else { "http" })),
                settings: TargetGroupSettings {
                    port,
                    grpc,
                    health_check,
                },
                conditions: RuleConditions {
                    hosts,
                    paths: vec![expose.path.clone()],
                    source_cidrs: cidrs,
                },
                priority: 0,
                host: expose.hosts.first().cloned(),
                path_prefix: expose.path.split(['*', '?']).next().unwrap_or("/").to_owned(),
                sign_in: expose
                    .sign_in
                    .as_ref()
                    .map(|sign_in| desired_sign_in(sign_in, &expose.hosts)),
            });
        }
        assign_priorities(&mut targets);
        let balancers = targets
            .iter()
            .map(|t| t.scheme)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|scheme| {
                (
                    scheme,
                    balancer(names.load_balancer(scheme), scheme, certificate.as_deref()),
                )
            })
            .collect();
        Self {
            balancers,
            targets,
            idle_timeout: shared.idle_timeout_seconds,
            every_balancer_name: Scheme::ALL.into_iter().map(|s| names.load_balancer(s)).collect(),
            target_group_prefix: names.target_group_prefix(),
            tags: account.tags.clone(),
            placement: BTreeMap::new(),
            vpc: None,
            observe: true,
            requested_certificate: spec.requests_certificate(),
            certificate_pending: false,
        }
    }

    /// With a certificate the operator requests: HTTPS with it once issued; until then no
    /// listener (a plain-HTTP one would forward before sign-in and TLS are there).
    pub(super) fn use_requested_certificate(&mut self, issued: Option<&str>) {
        if !self.requested_certificate {
            return;
        }
        for (scheme, desired) in self.balancers.iter_mut() {
            *desired = balancer(desired.name.clone(), *scheme, Some(issued.unwrap_or_default()));
            if issued.is_none() {
                desired.listeners.clear();
            }
        }
        self.certificate_pending = issued.is_none();
    }

    /// What the last status says (`None`, as for the CLI: look).
    pub(super) fn remember(&mut self, status: Option<&dataplatform_api::DataPlatformAccountStatus>) {
        self.observe = !self.targets.is_empty() || status.is_none_or(|s| !s.load_balancers.is_empty());
    }

    /// The client secrets the rules sign in with.
    pub fn sign_in_secrets(&self) -> std::collections::BTreeSet<&str> {
        let sign_ins = self.targets.iter().filter_map(|t| t.sign_in.as_ref());
        sign_ins
            .filter_map(|s| match &s.method {
                SignInMethod::Oidc { secret_arn, .. } => Some(secret_arn.as_str()),
                SignInMethod::UserPool { .. } => None,
            })
            .collect()
    }

    /// The user pool's settings for the rules that sign in through it, once it has them.
    pub(super) fn use_user_pool(&mut self, pool: Option<&crate::vocabulary::UserPoolFact>) {
        for target in &mut self.targets {
            if let Some(DesiredSignIn {
                method:
                    SignInMethod::UserPool {
                        settings,
                        session_timeout,
                    },
                ..
            }) = &mut target.sign_in
            {
                *settings = pool.map(|pool| CognitoSettings {
                    user_pool_arn: pool.arn.clone(),
                    client_id: pool.client_id.clone(),
                    domain: pool.domain.clone(),
                    scope: USER_POOL_SCOPE.to_owned(),
                    session_timeout: *session_timeout,
                });
            }
        }
    }

    /// Whether the target's rule is on an HTTPS listener (the only kind that signs people in).
    pub fn forwards_over_https(&self, target: &DesiredTarget) -> bool {
        self.balancers
            .get(&target.scheme)
            .is_some_and(|b| b.forwarding_port == HTTPS_PORT)
    }

    pub fn url_scheme(&self, scheme: Scheme) -> &'static str {
        match self.balancers.get(&scheme) {
            Some(b) if b.forwarding_port == HTTPS_PORT => "https",
            _ => "http",
        }
    }
}

fn desired_sign_in(sign_in: &SignInSpec, hosts: &[String]) -> DesiredSignIn {
    let method = match &sign_in.oidc {
        Some(oidc) => SignInMethod::Oidc {
            settings: OidcSettings {
                issuer: oidc.issuer.clone(),
                authorization_endpoint: oidc.authorization_endpoint.clone(),
                token_endpoint: oidc.token_endpoint.clone(),
                user_info_endpoint: oidc.user_info_endpoint.clone(),
                client_id: oidc.client_id.clone(),
                scope: oidc.scope.clone(),
                session_timeout: sign_in.session_timeout_seconds,
            },
            secret_arn: oidc.client_secret.secret_arn.clone(),
            json_key: oidc.client_secret.json_key.clone(),
        },
        None => SignInMethod::UserPool {
            settings: None,
            session_timeout: sign_in.session_timeout_seconds,
        },
    };
    DesiredSignIn {
        method,
        callback_host: hosts.iter().find(|h| !h.starts_with('*')).cloned(),
    }
}

fn balancer(name: String, scheme: Scheme, certificate: Option<&str>) -> DesiredBalancer {
    let listeners = match certificate {
        Some(certificate) => vec![
            ListenerSettings {
                port: HTTP_PORT,
                certificate: None,
                default_action: DefaultAction::RedirectToHttps,
            },
            ListenerSettings {
                port: HTTPS_PORT,
                certificate: Some(certificate.to_owned()),
                default_action: DefaultAction::NotFound,
            },
        ],
        None => vec![ListenerSettings {
            port: HTTP_PORT,
            certificate: None,
            default_action: DefaultAction::NotFound,
        }],
    };
    DesiredBalancer {
        name,
        scheme,
        forwarding_port: if certificate.is_some() { HTTPS_PORT } else { HTTP_PORT },
        listeners,
    }
}

/// Rules with hosts before rules without, deeper literal paths before shallower ones (ELB takes
/// the lowest priority that matches). Within its band a rule's slot is a hash of its service's
/// name, so adding or removing a service moves no other rule; two names on one slot (rare) take
/// the next free slots in name order.
fn assign_priorities(targets: &mut [DesiredTarget]) {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|a, b| targets[*a].service.cmp(&targets[*b].service));
    let mut taken: BTreeMap<Scheme, std::collections::BTreeSet<i32>> = BTreeMap::new();
    for index in order {
        let target = &targets[index];
        let depth = target.path_prefix.split('/').filter(|s| !s.is_empty()).count().min(9) as i32;
        let band = if target.conditions.hosts.is_empty() { 10 } else { 0 } + (9 - depth);
        let digest = Sha256::digest(target.service.as_bytes());
        let hashed = i32::from(u16::from_be_bytes([digest[0], digest[1]])) % BAND_WIDTH;
        let used = taken.entry(target.scheme).or_default();
        let slot = (0..BAND_WIDTH)
            .map(|step| (hashed + step) % BAND_WIDTH)
            .find(|slot| !used.contains(&(band * BAND_WIDTH + slot + 1)))
            .unwrap_or(hashed);
        let priority = band * BAND_WIDTH + slot + 1;
        used.insert(priority);
        targets[index].priority = priority;
    }
}

/// What ELB holds under the account's names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObservedLoadBalancing {
    pub balancers: Vec<LoadBalancerObservation>,
    /// Target groups named with the account's prefix.
    pub target_groups: Vec<TargetGroupObservation>,
    /// Per sign-in client secret (ARN), its AWSCURRENT version; `None` when it does not exist.
    pub secret_versions: BTreeMap<String, Option<String>>,
}

impl ObservedLoadBalancing {
    pub fn balancer(&self, name: &str) -> Option<&LoadBalancerObservation> {
        self.balancers.iter().find(|b| b.name == name)
    }

    pub fn target_group(&self, name: &str) -> Option<&TargetGroupObservation> {
        self.target_groups.iter().find(|g| g.name == name)
    }

    /// Whether a rule of our load balancers forwards to the target group. (A group's own list of
    /// load balancers is not used: moto keeps a load balancer in it after its rules are gone.)
    pub fn in_use(&self, group: &TargetGroupObservation) -> bool {
        self.balancers.iter().any(|b| {
            b.listeners
                .iter()
                .any(|l| l.rules.iter().any(|r| r.target_groups.contains(&group.arn)))
        })
    }

    /// Our target groups' ARNs.
    pub fn our_target_groups<'a>(&'a self, owner: &'a str) -> impl Iterator<Item = &'a TargetGroupObservation> + 'a {
        self.target_groups.iter().filter(move |g| ours(&g.tags, owner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(service: &str, hosts: &[&str], path: &str) -> DesiredTarget {
        DesiredTarget {
            service: service.to_owned(),
            scheme: Scheme::Internal,
            name: service.to_owned(),
            settings: TargetGroupSettings {
                port: 80,
                grpc: false,
                health_check: HealthCheck {
                    path: "/".into(),
                    matcher: "200-399".into(),
                },
            },
            conditions: RuleConditions {
                hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
                paths: vec![path.to_owned()],
                source_cidrs: vec![],
            },
            priority: 0,
            host: None,
            path_prefix: path.split('*').next().unwrap().to_owned(),
            sign_in: None,
        }
    }

    #[test]
    fn priorities_order_specific_rules_first_and_do_not_move_when_services_come_and_go() {
        let mut two = vec![target("frontend", &[], "/*"), target("api", &[], "/api/*")];
        assign_priorities(&mut two);
        let (frontend, api) = (two[0].priority, two[1].priority);
        assert!(api < frontend, "the deeper path is evaluated first: {api} {frontend}");
        let mut three = vec![
            target("frontend", &[], "/*"),
            target("webserver", &["dagster.example.org"], "/*"),
            target("api", &[], "/api/*"),
        ];
        assign_priorities(&mut three);
        assert_eq!(
            (three[0].priority, three[2].priority),
            (frontend, api),
            "others keep theirs"
        );
        assert!(three[1].priority < api, "a rule with hosts comes before rules without");
        assert!(three.iter().all(|t| (1..=50000).contains(&t.priority)));
    }
}
