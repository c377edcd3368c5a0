//! The writes of the load balancers. Creates are never repeated after a lost answer (ELB makes a
//! second load balancer of the same name in some endpoints, and a second rule always); they carry
//! their tags, so the next pass finds what the lost answer made.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, HostHeaderConditionConfig, LoadBalancerAttribute,
    LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher, PathPatternConditionConfig, ProtocolEnum,
    RedirectActionConfig, RedirectActionStatusCodeEnum, RuleCondition, RulePriorityPair, SourceIpConditionConfig,
    TargetTypeEnum,
};

use super::sign_in::{RuleSignIn, rule_actions};
use super::{DefaultAction, Elb, HealthCheck, IDLE_TIMEOUT_ATTRIBUTE, RuleConditions, SSL_POLICY, to_tags};
use crate::error::AwsError;
use crate::permissions as op;
use crate::tags::TagUpdate;

/// A listener as the spec wants it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerSettings {
    pub port: i32,
    pub certificate: Option<String>,
    pub default_action: DefaultAction,
}

impl ListenerSettings {
    pub fn protocol(&self) -> &'static str {
        if self.certificate.is_some() { "HTTPS" } else { "HTTP" }
    }
}

/// A target group as the spec wants it (target type `ip`, in the tasks' VPC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetGroupSettings {
    pub port: i32,
    pub grpc: bool,
    pub health_check: HealthCheck,
}

fn default_actions(action: &DefaultAction) -> Vec<Action> {
    let action = match action {
        DefaultAction::RedirectToHttps => Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port("443")
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build(),
        // What no rule matches is not found; `Other` is never planned.
        DefaultAction::NotFound | DefaultAction::Other(_) => Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code("404")
                    .content_type("text/plain")
                    .message_body("not found")
                    .build(),
            )
            .build(),
    };
    vec![action]
}

fn rule_conditions(conditions: &RuleConditions) -> Vec<RuleCondition> {
    let mut found = Vec::new();
    if !conditions.hosts.is_empty() {
        found.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(conditions.hosts.clone()))
                        .build(),
                )
                .build(),
        );
    }
    if !conditions.paths.is_empty() {
        found.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(conditions.paths.clone()))
                        .build(),
                )
                .build(),
        );
    }
    if !conditions.source_cidrs.is_empty() {
        found.push(
            RuleCondition::builder()
                .field("source-ip")
                .source_ip_config(
                    SourceIpConditionConfig::builder()
                        .set_values(Some(conditions.source_cidrs.clone()))
                        .build(),
                )
                .build(),
        );
    }
    found
}

impl Elb<'_> {
    pub async fn create_load_balancer(
        &self,
        name: &str,
        internal: bool,
        subnets: &[String],
        groups: &[String],
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let client = self.session.elbv2();
        let scheme = if internal {
            LoadBalancerSchemeEnum::Internal
        } else {
            LoadBalancerSchemeEnum::InternetFacing
        };
        let output = self
            .session
            .call_not_repeated(&op::ELB_CREATE_LOAD_BALANCER, || {
                client
                    .create_load_balancer()
                    .name(name)
                    .r#type(LoadBalancerTypeEnum::Application)
                    .scheme(scheme.clone())
                    .set_subnets(Some(subnets.to_vec()))
                    .set_security_groups(Some(groups.to_vec()))
                    .set_tags(Some(to_tags(tags)))
                    .send()
            })
            .await?;
        Ok(output
            .load_balancers()
            .first()
            .and_then(|lb| lb.load_balancer_arn())
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn set_subnets(&self, arn: &str, subnets: &[String]) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        self.session
            .call(&op::ELB_SET_SUBNETS, || {
                client
                    .set_subnets()
                    .load_balancer_arn(arn)
                    .set_subnets(Some(subnets.to_vec()))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn set_security_groups(&self, arn: &str, groups: &[String]) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        self.session
            .call(&op::ELB_SET_SECURITY_GROUPS, || {
                client
                    .set_security_groups()
                    .load_balancer_arn(arn)
                    .set_security_groups(Some(groups.to_vec()))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn set_idle_timeout(&self, arn: &str, seconds: i32) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        let attribute = LoadBalancerAttribute::builder()
            .key(IDLE_TIMEOUT_ATTRIBUTE)
            .value(seconds.to_string())
            .build();
        self.session
            .call(&op::ELB_MODIFY_LOAD_BALANCER_ATTRIBUTES, || {
                client
                    .modify_load_balancer_attributes()
                    .load_balancer_arn(arn)
                    .attributes(attribute.clone())
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn delete_load_balancer(&self, arn: &str) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        self.session
            .delete_if_exists(&op::ELB_DELETE_LOAD_BALANCER, || {
                client.delete_load_balancer().load_balancer_arn(arn).send()
            })
            .await
    }

    pub async fn create_target_group(
        &self,
        name: &str,
        vpc: &str,
        settings: &TargetGroupSettings,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let client = self.session.elbv2();
        let output = self
            .session
            .call_not_repeated(&op::ELB_CREATE_TARGET_GROUP, || {
                client
                    .create_target_group()
                    .name(name)
                    .vpc_id(vpc)
                    .target_type(TargetTypeEnum::Ip)
                    .protocol(ProtocolEnum::Http)
                    .protocol_version(if settings.grpc { "GRPC" } else { "HTTP1" })
                    .port(settings.port)
                    .health_check_path(&settings.health_check.path)
                    .matcher(matcher(settings))
                    .set_tags(Some(to_tags(tags)))
                    .send()
            })
            .await?;
        Ok(output
            .target_groups()
            .first()
            .and_then(|g| g.target_group_arn())
            .unwrap_or_default()
            .to_owned())
    }

    /// Puts the health check right (port and protocol cannot change: a new target group then).
    pub async fn modify_health_check(&self, arn: &str, settings: &TargetGroupSettings) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        self.session
            .call(&op::ELB_MODIFY_TARGET_GROUP, || {
                client
                    .modify_target_group()
                    .target_group_arn(arn)
                    .health_check_path(&settings.health_check.path)
                    .matcher(matcher(settings))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn delete_target_group(&self, arn: &str) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        self.session
            .delete_if_exists(&op::ELB_DELETE_TARGET_GROUP, || {
                client.delete_target_group().target_group_arn(arn).send()
            })
            .await
    }

    pub async fn create_listener(
        &self,
        load_balancer: &str,
        settings: &ListenerSettings,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let client = self.session.elbv2();
        let https = settings.certificate.is_some();
        let output = self
            .session
            .call_not_repeated(&op::ELB_CREATE_LISTENER, || {
                client
                    .create_listener()
                    .load_balancer_arn(load_balancer)
                    .port(settings.port)
                    .protocol(ProtocolEnum::from(settings.protocol()))
                    .set_ssl_policy(https.then(|| SSL_POLICY.to_owned()))
                    .set_certificates(certificates(settings))
                    .set_default_actions(Some(default_actions(&settings.default_action)))
                    .set_tags(Some(to_tags(tags)))
                    .send()
            })
            .await?;
        Ok(output
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn modify_listener(&self, arn: &str, settings: &ListenerSettings) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        let https = settings.certificate.is_some();
        self.session
            .call(&op::ELB_MODIFY_LISTENER, || {
                client
                    .modify_listener()
                    .listener_arn(arn)
                    .port(settings.port)
                    .protocol(ProtocolEnum::from(settings.protocol()))
                    .set_ssl_policy(https.then(|| SSL_POLICY.to_owned()))
                    .set_certificates(certificates(settings))
                    .set_default_actions(Some(default_actions(&settings.default_action)))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn delete_listener(&self, arn: &str) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        self.session
            .delete_if_exists(&op::ELB_DELETE_LISTENER, || {
                client.delete_listener().listener_arn(arn).send()
            })
            .await
    }

    pub async fn create_rule(
        &self,
        listener: &str,
        priority: i32,
        conditions: &RuleConditions,
        target_group: &str,
        sign_in: Option<RuleSignIn<'_>>,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let client = self.session.elbv2();
        let actions = rule_actions(target_group, sign_in);
        let output = self
            .session
            .call_not_repeated(&op::ELB_CREATE_RULE, || {
                client
                    .create_rule()
                    .listener_arn(listener)
                    .priority(priority)
                    .set_conditions(Some(rule_conditions(conditions)))
                    .set_actions(Some(actions.clone()))
                    .set_tags(Some(to_tags(tags)))
                    .send()
            })
            .await?;
        Ok(output
            .rules()
            .first()
            .and_then(|r| r.rule_arn())
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn modify_rule(
        &self,
        arn: &str,
        conditions: &RuleConditions,
        target_group: &str,
        sign_in: Option<RuleSignIn<'_>>,
    ) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        let actions = rule_actions(target_group, sign_in);
        self.session
            .call(&op::ELB_MODIFY_RULE, || {
                client
                    .modify_rule()
                    .rule_arn(arn)
                    .set_conditions(Some(rule_conditions(conditions)))
                    .set_actions(Some(actions.clone()))
                    .send()
            })
            .await
            .map(drop)
    }

    pub async fn set_rule_priority(&self, arn: &str, priority: i32) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        let pair = RulePriorityPair::builder().rule_arn(arn).priority(priority).build();
        self.session
            .call(&op::ELB_SET_RULE_PRIORITIES, || {
                client.set_rule_priorities().rule_priorities(pair.clone()).send()
            })
            .await
            .map(drop)
    }

    pub async fn delete_rule(&self, arn: &str) -> Result<(), AwsError> {
        let client = self.session.elbv2();
        self.session
            .delete_if_exists(&op::ELB_DELETE_RULE, || client.delete_rule().rule_arn(arn).send())
            .await
    }

    pub async fn retag(&self, arn: &str, update: &TagUpdate) -> Result<(), AwsError> {
        let (session, client) = (self.session, &self.session.elbv2());
        update
            .apply(
                |add| {
                    session.write(&op::ELB_ADD_TAGS, move || {
                        client
                            .add_tags()
                            .resource_arns(arn)
                            .set_tags(Some(to_tags(&add)))
                            .send()
                    })
                },
                |remove| {
                    session.write(&op::ELB_REMOVE_TAGS, move || {
                        client
                            .remove_tags()
                            .resource_arns(arn)
                            .set_tag_keys(Some(remove.clone()))
                            .send()
                    })
                },
            )
            .await
    }
}

fn matcher(settings: &TargetGroupSettings) -> Matcher {
    let code = settings.health_check.matcher.clone();
    if settings.grpc {
        Matcher::builder().grpc_code(code).build()
    } else {
        Matcher::builder().http_code(code).build()
    }
}

fn certificates(settings: &ListenerSettings) -> Option<Vec<Certificate>> {
    settings
        .certificate
        .as_ref()
        .map(|arn| vec![Certificate::builder().certificate_arn(arn).build()])
}
