//! What both forms make for the database and the tasks: the security groups the operator owns
//! (their rules compared as sets, so a rule added by hand is revoked and a removed one put back)
//! and the DB subnet group.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_aws::network::Direction;
use dataplatform_aws::quotas::SECURITY_GROUP_INBOUND_RULES;

use super::managed::Planner;
use dataplatform_api::Scheme;

use super::model::{GroupRole, NetworkForm};
use super::security::{RulePeers, all_traffic_anywhere, planned};
use super::writes::NetworkWrite;
use crate::plan::{Action, Ec2Ref, FieldChange, Part, PlannedPeer, PlannedRule};
use crate::vocabulary::{Outcome, list_text, ours};

impl Planner<'_> {
    /// The security groups of the form, in the VPC `vpc`; how later ops name each.
    pub fn groups(&mut self, vpc: Option<&Ec2Ref>) -> BTreeMap<GroupRole, Ec2Ref> {
        let mut made = BTreeMap::new();
        let Some(vpc) = vpc else {
            return made;
        };
        let vpc_cidr = match self.desired.managed() {
            Some(managed) => Some(managed.cidr.to_string()),
            None => self.observed.vpc_cidr.clone(),
        };
        for role in self.desired.groups() {
            let tasks: Vec<PlannedPeer> = match &self.desired.form {
                NetworkForm::Existing { groups, .. } => groups
                    .iter()
                    .map(|g| PlannedPeer::Group(Ec2Ref::Known(g.clone())))
                    .collect(),
                _ => made
                    .get(&GroupRole::Tasks)
                    .cloned()
                    .map(PlannedPeer::Group)
                    .into_iter()
                    .collect(),
            };
            let own = match self.observed.group_named(&self.desired.names.group(role)) {
                Some(seen) => Ec2Ref::Known(seen.id.clone()),
                None => Ec2Ref::Made(group_resource(role)),
            };
            let peers = RulePeers {
                made: &made,
                tasks: &tasks,
                vpc_cidr: vpc_cidr.as_deref(),
                own,
            };
            let (ingress, egress) = self.desired.rules(role, &peers);
            if let Some(group) = self.group(vpc, role, ingress, egress) {
                made.insert(role, group);
            }
        }
        made
    }

    /// Load-balancer groups of ours that no scheme needs any more, deleted once no network interface
    /// uses them (the load balancer goes in the same pass; its interfaces linger a few minutes).
    pub fn unwanted_groups(&mut self) {
        let wanted = self.desired.groups();
        let leftovers: Vec<(String, String)> = Scheme::ALL
            .into_iter()
            .map(GroupRole::LoadBalancer)
            .filter(|role| !wanted.contains(role))
            .filter_map(|role| self.observed.group_named(&self.desired.names.group(role)))
            .filter(|group| ours(&group.tags, &self.account.owner))
            .map(|group| (group.id.clone(), group.name.clone()))
            .collect();
        for (id, name) in leftovers {
            if self.observed.leftover_group_interfaces.is_empty() {
                self.outcomes.push(Outcome::create(Action::delete(
                    Part::Network,
                    "ec2:security-group",
                    &id,
                    vec![NetworkWrite::DeleteSecurityGroup { group: id.clone() }],
                )));
            } else {
                self.outcomes.push(Outcome::waiting(format!(
                    "ec2:security-group ({name}) is no longer needed and is deleted once the load balancer's network interfaces ({}) are gone",
                    self.observed.leftover_group_interfaces.join(", ")
                )));
            }
        }
    }

    fn group(
        &mut self,
        vpc: &Ec2Ref,
        role: GroupRole,
        ingress: BTreeSet<PlannedRule>,
        egress: BTreeSet<PlannedRule>,
    ) -> Option<Ec2Ref> {
        let name = self.desired.names.group(role);
        // EC2's quota can be raised through Service Quotas, which EC2 does not report: the default
        // is what is checked (one rule per peer and port, as EC2 counts them).
        let subject = format!("the inbound rules of security group {name}");
        if let Err(refused) = SECURITY_GROUP_INBOUND_RULES.check_count(ingress.len(), &subject) {
            self.outcomes.push(Outcome::quota_exceeded(refused));
            return None;
        }
        let seen = self.observed.group_named(&name);
        let resource = group_resource(role);
        let made = Ec2Ref::Made(resource.clone());
        self.resource(
            resource,
            &name,
            seen.map(|g| (g.id.as_str(), &g.tags)),
            |tags| {
                let mut ops = vec![NetworkWrite::CreateSecurityGroup {
                    vpc: vpc.clone(),
                    name: name.clone(),
                    description: role.description().to_owned(),
                    tags,
                }];
                let fresh_egress: BTreeSet<PlannedRule> = [all_traffic_anywhere()].into();
                ops.extend(rule_ops(&made, Direction::Ingress, &ingress, &BTreeSet::new()));
                ops.extend(rule_ops(&made, Direction::Egress, &egress, &fresh_egress));
                ops
            },
            |id| {
                let group = Ec2Ref::Known(id.to_owned());
                let mut changes = Vec::new();
                let mut ops = Vec::new();
                if let Some(seen) = seen {
                    for (direction, want, have) in [
                        (Direction::Ingress, &ingress, &seen.ingress),
                        (Direction::Egress, &egress, &seen.egress),
                    ] {
                        let have: BTreeSet<PlannedRule> = have.iter().map(planned).collect();
                        if *want != have {
                            changes.push(FieldChange::new(
                                direction.as_str(),
                                rules_text(&have),
                                rules_text(want),
                            ));
                            ops.extend(rule_ops(&group, direction, want, &have));
                        }
                    }
                }
                (changes, ops)
            },
        )
    }

    /// The DB subnet group on `subnets`, when the database is enabled.
    pub fn subnet_group(&mut self, subnets: &[Ec2Ref]) {
        if !self.desired.database || subnets.is_empty() {
            return;
        }
        let name = self.desired.names.db_subnet_group.clone();
        let resource = "rds:subnet-group".to_owned();
        let tags = self.desired.tags.clone();
        let Some(seen) = &self.observed.subnet_group else {
            self.outcomes.push(Outcome::create(Action::create(
                Part::Network,
                resource,
                &name,
                vec![NetworkWrite::CreateDbSubnetGroup {
                    name: name.clone(),
                    subnets: subnets.to_vec(),
                    tags,
                }],
            )));
            return;
        };
        if let Err(conflict) = self.owner.check(&resource, &name, &seen.tags) {
            self.outcomes.push(Outcome::conflict(conflict));
            return;
        }
        let known: Option<BTreeSet<String>> = subnets
            .iter()
            .map(|s| match s {
                Ec2Ref::Known(id) => Some(id.clone()),
                Ec2Ref::Made(_) => None,
            })
            .collect();
        let mut changes = crate::vocabulary::tag_changes(&tags, &seen.tags);
        let mut ops = Vec::new();
        if !changes.is_empty() {
            ops.push(NetworkWrite::TagDbResource {
                arn: seen.arn.clone(),
                tags: crate::vocabulary::tag_update(&tags, &seen.tags),
            });
        }
        // A subnet made in this pass joins the group on the next one.
        if let Some(want) = known.filter(|want| *want != seen.subnets) {
            let text = |set: &BTreeSet<String>| list_text(&set.iter().cloned().collect::<Vec<_>>());
            changes.push(FieldChange::new("subnets", text(&seen.subnets), text(&want)));
            ops.push(NetworkWrite::ModifyDbSubnetGroup {
                name: name.clone(),
                subnets: want.into_iter().collect(),
            });
        }
        self.outcomes
            .push(Outcome::update(Part::Network, resource, &name, changes, ops));
    }
}

/// Authorize what is wanted and missing, revoke what is held and not wanted.
fn rule_ops(
    group: &Ec2Ref,
    direction: Direction,
    want: &BTreeSet<PlannedRule>,
    have: &BTreeSet<PlannedRule>,
) -> Vec<NetworkWrite> {
    let missing: Vec<PlannedRule> = want.difference(have).cloned().collect();
    let extra: Vec<PlannedRule> = have.difference(want).cloned().collect();
    let mut ops = Vec::new();
    if !extra.is_empty() {
        ops.push(NetworkWrite::ChangeRules {
            group: group.clone(),
            direction,
            revoke: true,
            rules: extra,
        });
    }
    if !missing.is_empty() {
        ops.push(NetworkWrite::ChangeRules {
            group: group.clone(),
            direction,
            revoke: false,
            rules: missing,
        });
    }
    ops
}

pub fn rules_text(rules: &BTreeSet<PlannedRule>) -> String {
    let texts: Vec<String> = rules.iter().map(rule_text).collect();
    list_text(&texts)
}

fn rule_text(rule: &PlannedRule) -> String {
    let what = match (rule.protocol.as_str(), rule.ports) {
        ("-1", _) => "all".to_owned(),
        (protocol, Some((from, to))) if from == to => format!("{protocol}/{from}"),
        (protocol, Some((from, to))) => format!("{protocol}/{from}-{to}"),
        (protocol, None) => protocol.to_owned(),
    };
    match &rule.peer {
        PlannedPeer::Cidr(cidr) => format!("{what}<-{cidr}"),
        PlannedPeer::Group(group) => format!("{what}<-{group}"),
    }
}

/// The plan's resource of a group of ours, under which its create keeps the id it makes.
fn group_resource(role: GroupRole) -> String {
    format!("ec2:security-group/{}", role.as_str())
}
