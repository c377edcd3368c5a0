//! What only AWS can tell is wrong with `spec.network` (and the subnets its load balancers need):
//! subnets and groups that do not exist, subnets of several VPCs or of too few zones. Found
//! before any write and reported as `InvalidSpec`, naming the field.

use dataplatform_api::{DataPlatformAccountSpec, Scheme, SpecProblem};

use super::model::{DesiredNetwork, NetworkForm, ObservedNetwork};

/// What only AWS can tell is wrong with `spec.network`, found before any write.
pub fn spec_problems(
    spec: &DataPlatformAccountSpec,
    desired: &DesiredNetwork,
    observed: &ObservedNetwork,
) -> Vec<SpecProblem> {
    let where_ = format!("in account {} region {}", spec.account_id, spec.region);
    let mut problems = Vec::new();
    match &desired.form {
        NetworkForm::Absent => {}
        NetworkForm::Managed(vpc) => {
            if observed.zones.len() < vpc.zones {
                problems.push(SpecProblem {
                    field: "spec.network.vpc.availabilityZones".to_owned(),
                    message: format!(
                        "{} has {} available zone(s) ({}); ask for at most that many",
                        spec.region,
                        observed.zones.len(),
                        observed.zones.join(", ")
                    ),
                });
            }
        }
        NetworkForm::Existing { subnets, groups, .. } => {
            for (i, id) in subnets.iter().enumerate() {
                if !observed.subnets.iter().any(|s| &s.id == id) {
                    problems.push(SpecProblem {
                        field: format!("spec.network.subnetIds[{i}]"),
                        message: format!("subnet {id} does not exist {where_}; name one of the account's subnets (aws ec2 describe-subnets)"),
                    });
                }
            }
            for (i, id) in groups.iter().enumerate() {
                if observed.missing_groups.contains(id) {
                    problems.push(SpecProblem {
                        field: format!("spec.network.securityGroupIds[{i}]"),
                        message: format!("security group {id} does not exist {where_}; name one of the account's security groups (aws ec2 describe-security-groups)"),
                    });
                }
            }
            existing_layout_problems(desired, observed, &mut problems);
            load_balancer_problems(spec, desired, observed, &mut problems);
        }
    }
    problems
}

/// A load balancer needs subnets of two zones: the existing form's for an internal one,
/// `spec.loadBalancer.publicSubnetIds` (which must exist, in the tasks' VPC) for an internet-facing one.
fn load_balancer_problems(
    spec: &DataPlatformAccountSpec,
    desired: &DesiredNetwork,
    observed: &ObservedNetwork,
    problems: &mut Vec<SpecProblem>,
) {
    let zones = |subnets: &[dataplatform_aws::network::SubnetObservation]| -> std::collections::BTreeSet<String> {
        subnets.iter().map(|s| s.zone.clone()).collect()
    };
    if desired.exposure.contains_key(&Scheme::Internal)
        && !observed.subnets.is_empty()
        && zones(&observed.subnets).len() < 2
    {
        problems.push(SpecProblem {
            field: "spec.network.subnetIds".to_owned(),
            message: "an internal load balancer (a service is exposed Internal) needs subnets in at least two availability zones; add a subnet of another zone".to_owned(),
        });
    }
    if !desired.exposure.contains_key(&Scheme::InternetFacing) {
        return;
    }
    for (i, id) in desired.public_subnets.iter().enumerate() {
        match observed.public_subnets.iter().find(|s| &s.id == id) {
            None => problems.push(SpecProblem {
                field: format!("spec.loadBalancer.publicSubnetIds[{i}]"),
                message: format!(
                    "subnet {id} does not exist in account {} region {}",
                    spec.account_id, spec.region
                ),
            }),
            Some(found) if observed.vpc_id().is_some_and(|vpc| vpc != found.vpc_id) => problems.push(SpecProblem {
                field: format!("spec.loadBalancer.publicSubnetIds[{i}]"),
                message: format!(
                    "subnet {id} is in {}, not in the tasks' VPC; a load balancer reaches targets of its own VPC",
                    found.vpc_id
                ),
            }),
            Some(_) => {}
        }
    }
    if !observed.public_subnets.is_empty() && zones(&observed.public_subnets).len() < 2 {
        problems.push(SpecProblem {
            field: "spec.loadBalancer.publicSubnetIds".to_owned(),
            message: "an internet-facing load balancer needs public subnets in at least two availability zones"
                .to_owned(),
        });
    }
}

/// The existing form's subnets must share one VPC, and span two zones for a DB subnet group.
fn existing_layout_problems(desired: &DesiredNetwork, observed: &ObservedNetwork, problems: &mut Vec<SpecProblem>) {
    let vpcs: std::collections::BTreeSet<&str> = observed.subnets.iter().map(|s| s.vpc_id.as_str()).collect();
    if vpcs.len() > 1 {
        problems.push(SpecProblem {
            field: "spec.network.subnetIds".to_owned(),
            message: format!(
                "the subnets are in {} VPCs ({}); tasks and the database need subnets of one VPC",
                vpcs.len(),
                vpcs.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
        return;
    }
    let zones: std::collections::BTreeSet<&str> = observed.subnets.iter().map(|s| s.zone.as_str()).collect();
    if desired.database && !observed.subnets.is_empty() && zones.len() < 2 {
        problems.push(SpecProblem {
            field: "spec.network.subnetIds".to_owned(),
            message: format!(
                "the subnets are all in {}; the database's DB subnet group needs subnets in at least two availability zones (RDS requires it so a standby can run in another zone): add a subnet of another zone, or set spec.database.enabled: false",
                zones.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
}
