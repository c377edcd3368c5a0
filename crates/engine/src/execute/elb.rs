//! The load balancers' writes. A create's ARN is kept under its action's resource, for the ops
//! after it that name it by [`Ec2Ref::Made`].

use dataplatform_aws::{AccountSession, AwsError};

use super::network::Made;
use crate::plan::Op;

/// Runs `op` when it is a load-balancer op; `None` for any other op.
pub async fn run(op: &Op, session: &AccountSession, resource: &str, made: &mut Made) -> Option<Result<(), AwsError>> {
    let elb = session.elb();
    let created = match op {
        Op::CreateLoadBalancer {
            name,
            internal,
            subnets,
            groups,
            tags,
        } => elb.create_load_balancer(name, *internal, subnets, groups, tags).await,
        Op::CreateTargetGroup {
            name,
            vpc,
            settings,
            tags,
        } => elb.create_target_group(name, vpc, settings, tags).await,
        Op::CreateListener {
            load_balancer,
            settings,
            tags,
        } => match made.id(load_balancer) {
            Ok(arn) => elb.create_listener(&arn, settings, tags).await,
            Err(error) => Err(error),
        },
        Op::CreateRule {
            listener,
            priority,
            conditions,
            target_group,
            tags,
        } => match (made.id(listener), made.id(target_group)) {
            (Ok(listener), Ok(group)) => elb.create_rule(&listener, *priority, conditions, &group, tags).await,
            (Err(error), _) | (_, Err(error)) => Err(error),
        },
        _ => return run_changes(op, session, made).await,
    };
    Some(created.map(|arn| {
        made.ids.insert(resource.to_owned(), arn);
    }))
}

async fn run_changes(op: &Op, session: &AccountSession, made: &Made) -> Option<Result<(), AwsError>> {
    let elb = session.elb();
    Some(match op {
        Op::SetLoadBalancerSubnets { arn, subnets } => elb.set_subnets(arn, subnets).await,
        Op::SetLoadBalancerGroups { arn, groups } => elb.set_security_groups(arn, groups).await,
        Op::SetIdleTimeout { load_balancer, seconds } => match made.id(load_balancer) {
            Ok(arn) => elb.set_idle_timeout(&arn, *seconds).await,
            Err(error) => Err(error),
        },
        Op::DeleteLoadBalancer { arn } => elb.delete_load_balancer(arn).await,
        Op::ModifyHealthCheck { arn, settings } => elb.modify_health_check(arn, settings).await,
        Op::DeleteTargetGroup { arn } => elb.delete_target_group(arn).await,
        Op::ModifyListener { arn, settings } => elb.modify_listener(arn, settings).await,
        Op::DeleteListener { arn } => elb.delete_listener(arn).await,
        Op::ModifyRule {
            arn,
            conditions,
            target_group,
        } => elb.modify_rule(arn, conditions, target_group).await,
        Op::SetRulePriority { arn, priority } => elb.set_rule_priority(arn, *priority).await,
        Op::DeleteRule { arn } => elb.delete_rule(arn).await,
        Op::TagElb { arn, tags } => elb.retag(arn, tags).await,
        _ => return None,
    })
}
