//! The load balancers' AWS writes and how they run. A create's ARN is kept under its action's
//! resource, for the writes after it that name it by [`Ec2Ref::Made`].

use std::collections::BTreeMap;

use dataplatform_aws::elb::{
    ClientSecret, CognitoSettings, ListenerSettings, OidcSettings, RuleConditions, RuleSignIn, SignInObservation,
    TargetGroupSettings,
};
use dataplatform_aws::secrets::SecretValue;
use dataplatform_aws::{AccountSession, AwsError, TagUpdate};

use super::model::SECRET_DIGEST_TAG;

use crate::plan::Made;
use crate::plan::{Ec2Ref, Lookup, Write};

/// The load balancer part's AWS writes.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadBalancerWrite {
    /// ELB creates, like EC2's, keep the ARN they make under their action's resource.
    CreateLoadBalancer {
        name: String,
        internal: bool,
        subnets: Vec<String>,
        groups: Vec<String>,
        tags: BTreeMap<String, String>,
    },
    SetLoadBalancerSubnets {
        arn: String,
        subnets: Vec<String>,
    },
    SetLoadBalancerGroups {
        arn: String,
        groups: Vec<String>,
    },
    SetIdleTimeout {
        load_balancer: Ec2Ref,
        seconds: i32,
    },
    DeleteLoadBalancer {
        arn: String,
    },
    CreateTargetGroup {
        name: String,
        vpc: String,
        settings: TargetGroupSettings,
        tags: BTreeMap<String, String>,
    },
    ModifyHealthCheck {
        arn: String,
        settings: TargetGroupSettings,
    },
    DeleteTargetGroup {
        arn: String,
    },
    CreateListener {
        load_balancer: Ec2Ref,
        settings: ListenerSettings,
        tags: BTreeMap<String, String>,
    },
    ModifyListener {
        arn: String,
        settings: ListenerSettings,
    },
    DeleteListener {
        arn: String,
    },
    CreateRule {
        listener: Ec2Ref,
        priority: i32,
        conditions: RuleConditions,
        target_group: Ec2Ref,
        sign_in: Option<SignInWrite>,
        tags: BTreeMap<String, String>,
    },
    ModifyRule {
        arn: String,
        conditions: RuleConditions,
        target_group: String,
        sign_in: Option<SignInWrite>,
    },
    SetRulePriority {
        arn: String,
        priority: i32,
    },
    DeleteRule {
        arn: String,
    },
    TagElb {
        arn: String,
        tags: TagUpdate,
    },
}

/// A rule's sign-in as a write carries it: for OIDC, where the client secret is, never its value
/// (plans are printed, kept and compared; the value is read by the write that sends it).
#[derive(Clone, Debug, PartialEq)]
pub enum SignInWrite {
    Oidc {
        settings: OidcSettings,
        secret_arn: String,
        json_key: Option<String>,
        /// Read the secret and send it: a new rule, a rule without sign-in, or a secret whose
        /// current version is not the one the rule was written with. Otherwise the rule keeps its
        /// own.
        send_secret: bool,
        /// The rule's [`SECRET_DIGEST_TAG`] once written.
        digest: String,
    },
    /// The user pool's: ELB reads the app client's secret from Cognito.
    Cognito(CognitoSettings),
}

impl SignInWrite {
    /// As a rule written with it reads back.
    pub fn as_observed(&self) -> SignInObservation {
        match self {
            Self::Oidc { settings, .. } => SignInObservation::Oidc(settings.clone()),
            Self::Cognito(settings) => SignInObservation::Cognito(settings.clone()),
        }
    }

    /// The rule's tags with this sign-in, and the action's settings (the secret read if sent).
    async fn written(&self, session: &AccountSession) -> Result<Written<'_>, AwsError> {
        Ok(match self {
            Self::Oidc {
                settings,
                secret_arn,
                json_key,
                send_secret,
                digest,
            } => Written::Oidc {
                settings,
                secret: match send_secret {
                    true => Some(session.secrets().value(secret_arn, json_key.as_deref()).await?),
                    false => None,
                },
                digest_tag: BTreeMap::from([(SECRET_DIGEST_TAG.to_owned(), digest.clone())]),
            },
            Self::Cognito(settings) => Written::Cognito(settings),
        })
    }
}

/// A sign-in ready to send: the OIDC secret read when it is sent.
enum Written<'a> {
    Oidc {
        settings: &'a OidcSettings,
        secret: Option<SecretValue>,
        digest_tag: BTreeMap<String, String>,
    },
    Cognito(&'a CognitoSettings),
}

impl Written<'_> {
    fn action(&self) -> RuleSignIn<'_> {
        match self {
            Self::Oidc {
                settings,
                secret: Some(secret),
                ..
            } => RuleSignIn::Oidc(settings, ClientSecret::New(secret)),
            Self::Oidc {
                settings, secret: None, ..
            } => RuleSignIn::Oidc(settings, ClientSecret::Existing),
            Self::Cognito(settings) => RuleSignIn::Cognito(settings),
        }
    }

    /// The digest tag to add once a new OIDC secret is written.
    fn new_digest_tag(&self) -> Option<&BTreeMap<String, String>> {
        match self {
            Self::Oidc {
                secret: Some(_),
                digest_tag,
                ..
            } => Some(digest_tag),
            _ => None,
        }
    }
}

impl Write for LoadBalancerWrite {
    async fn run(&self, session: &AccountSession, resource: &str, made: &mut Made) -> Result<(), AwsError> {
        match self.create(session, made).await? {
            Some(arn) => {
                made.ids.insert(resource.to_owned(), arn);
                Ok(())
            }
            None => self.change(session, made).await,
        }
    }

    /// A balancer and a target group are named, and tagged in their create.
    async fn look_after_failure(&self, session: &AccountSession, made: &Made) -> Result<Lookup, AwsError> {
        match self {
            Self::CreateLoadBalancer { name, tags, .. } => {
                let (balancers, _) = session.elb().observe(std::slice::from_ref(name), name).await?;
                let named = balancers.into_iter().filter(|b| &b.name == name);
                Ok(Lookup::by_owner(named.map(|b| (b.arn, b.tags)), tags))
            }
            Self::CreateTargetGroup { name, tags, .. } => {
                let (_, groups) = session.elb().observe(&[], name).await?;
                let named = groups.into_iter().filter(|g| &g.name == name);
                Ok(Lookup::by_owner(named.map(|g| (g.arn, g.tags)), tags))
            }
            // ELB holds one listener per port of a balancer, and the balancer is ours.
            Self::CreateListener {
                load_balancer,
                settings,
                ..
            } => {
                let listeners = session.elb().listeners(&made.id(load_balancer)?).await?;
                let on_port = listeners.into_iter().filter(|l| l.port == settings.port);
                Ok(Lookup::only(on_port.map(|l| l.arn)))
            }
            // One rule per priority of a listener: ours when it forwards where ours would.
            Self::CreateRule {
                listener,
                priority,
                target_group,
                ..
            } => {
                let rules = session.elb().rules(&made.id(listener)?).await?;
                let target = made.id(target_group)?;
                match rules.into_iter().find(|r| r.priority == Some(*priority)) {
                    Some(rule) if rule.target_groups == [target] => Ok(Lookup::Made(rule.arn)),
                    Some(_) => Ok(Lookup::CannotTell),
                    None => Ok(Lookup::NotMade),
                }
            }
            _ => Ok(Lookup::CannotTell),
        }
    }
}

impl LoadBalancerWrite {
    /// The ARN of what the write created; `None` for a write that makes nothing new.
    async fn create(&self, session: &AccountSession, made: &Made) -> Result<Option<String>, AwsError> {
        let elb = session.elb();
        let arn = match self {
            Self::CreateLoadBalancer {
                name,
                internal,
                subnets,
                groups,
                tags,
            } => elb.create_load_balancer(name, *internal, subnets, groups, tags).await?,
            Self::CreateTargetGroup {
                name,
                vpc,
                settings,
                tags,
            } => elb.create_target_group(name, vpc, settings, tags).await?,
            Self::CreateListener {
                load_balancer,
                settings,
                tags,
            } => elb.create_listener(&made.id(load_balancer)?, settings, tags).await?,
            Self::CreateRule {
                listener,
                priority,
                conditions,
                target_group,
                sign_in,
                tags,
            } => {
                let (listener, target_group) = (made.id(listener)?, made.id(target_group)?);
                match sign_in {
                    None => {
                        elb.create_rule(&listener, *priority, conditions, &target_group, None, tags)
                            .await?
                    }
                    Some(sign_in) => {
                        let written = sign_in.written(session).await?;
                        let mut tags = tags.clone();
                        tags.extend(written.new_digest_tag().cloned().unwrap_or_default());
                        let with = Some(written.action());
                        elb.create_rule(&listener, *priority, conditions, &target_group, with, &tags)
                            .await?
                    }
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(arn))
    }

    /// The writes that make nothing new.
    async fn change(&self, session: &AccountSession, made: &Made) -> Result<(), AwsError> {
        let elb = session.elb();
        match self {
            Self::CreateLoadBalancer { .. }
            | Self::CreateTargetGroup { .. }
            | Self::CreateListener { .. }
            | Self::CreateRule { .. } => Ok(()),
            Self::SetLoadBalancerSubnets { arn, subnets } => elb.set_subnets(arn, subnets).await,
            Self::SetLoadBalancerGroups { arn, groups } => elb.set_security_groups(arn, groups).await,
            Self::SetIdleTimeout { load_balancer, seconds } => {
                elb.set_idle_timeout(&made.id(load_balancer)?, *seconds).await
            }
            Self::DeleteLoadBalancer { arn } => elb.delete_load_balancer(arn).await,
            Self::ModifyHealthCheck { arn, settings } => elb.modify_health_check(arn, settings).await,
            Self::DeleteTargetGroup { arn } => elb.delete_target_group(arn).await,
            Self::ModifyListener { arn, settings } => elb.modify_listener(arn, settings).await,
            Self::DeleteListener { arn } => elb.delete_listener(arn).await,
            Self::ModifyRule {
                arn,
                conditions,
                target_group,
                sign_in,
            } => modify_rule(session, arn, conditions, target_group, sign_in.as_ref()).await,
            Self::SetRulePriority { arn, priority } => elb.set_rule_priority(arn, *priority).await,
            Self::DeleteRule { arn } => elb.delete_rule(arn).await,
            Self::TagElb { arn, tags } => elb.retag(arn, tags).await,
        }
    }
}

/// A rule's conditions and actions; with a new client secret, then its digest tag (a pass stopped
/// between the two sends the secret again, which is harmless).
async fn modify_rule(
    session: &AccountSession,
    arn: &str,
    conditions: &RuleConditions,
    target_group: &str,
    sign_in: Option<&SignInWrite>,
) -> Result<(), AwsError> {
    let elb = session.elb();
    let Some(sign_in) = sign_in else {
        return elb.modify_rule(arn, conditions, target_group, None).await;
    };
    let written = sign_in.written(session).await?;
    elb.modify_rule(arn, conditions, target_group, Some(written.action()))
        .await?;
    match written.new_digest_tag() {
        Some(tag) => {
            let tags = TagUpdate {
                add: tag.clone(),
                remove: vec![],
            };
            elb.retag(arn, &tags).await
        }
        None => Ok(()),
    }
}
