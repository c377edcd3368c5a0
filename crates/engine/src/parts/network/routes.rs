//! Route tables of the managed form: one public table routed to the internet gateway, one private
//! table per zone routed to its NAT gateway (or to nothing), each with its subnets associated. The
//! default route and the associations are put right when they drift.

use std::collections::BTreeMap;

use dataplatform_aws::network::RouteTarget;

use super::managed::Planner;
use super::model::{ANYWHERE, ObservedNetwork};
use super::writes::NetworkWrite;
use crate::plan::{Ec2Ref, FieldChange};

impl Planner<'_> {
    pub(super) fn public_route_table(&mut self, vpc: &Ec2Ref, gateway: &Ec2Ref, public: &[Ec2Ref]) {
        let name = self.desired.names.public_route_table();
        self.route_table(
            vpc,
            "ec2:route-table/public".to_owned(),
            &name,
            Some(gateway.clone()),
            public,
        );
    }

    pub(super) fn private_route_table(
        &mut self,
        vpc: &Ec2Ref,
        zone: &str,
        subnet: &Ec2Ref,
        nat: Option<Ec2Ref>,
    ) -> Option<Ec2Ref> {
        let name = self.desired.names.private_route_table(zone);
        self.route_table(
            vpc,
            format!("ec2:route-table/private/{zone}"),
            &name,
            nat,
            std::slice::from_ref(subnet),
        )
    }

    /// A route table with one default route (to `default`, or none) and its subnets associated.
    fn route_table(
        &mut self,
        vpc: &Ec2Ref,
        resource: String,
        name: &str,
        default: Option<Ec2Ref>,
        subnets: &[Ec2Ref],
    ) -> Option<Ec2Ref> {
        let seen = self.observed.route_table_named(name);
        let made = Ec2Ref::Made(resource.clone());
        let observed = self.observed;
        let associate = |table: &Ec2Ref| -> (Vec<FieldChange>, Vec<NetworkWrite>) {
            let mut changes = Vec::new();
            let mut ops = Vec::new();
            for subnet in subnets {
                let (here, elsewhere) = association(observed, seen.map(|t| t.id.as_str()), subnet);
                if !here {
                    changes.push(FieldChange::new("subnets", "(none)", subnet.to_string()));
                    ops.push(NetworkWrite::AssociateRouteTable {
                        table: table.clone(),
                        subnet: subnet.clone(),
                        existing: elsewhere,
                    });
                }
            }
            (changes, ops)
        };
        self.resource(
            resource.clone(),
            name,
            seen.map(|t| (t.id.as_str(), &t.tags)),
            |tags| {
                let mut ops = vec![NetworkWrite::CreateRouteTable { vpc: vpc.clone(), tags }];
                if let Some(target) = &default {
                    ops.push(NetworkWrite::PutRoute {
                        table: made.clone(),
                        destination: ANYWHERE.to_owned(),
                        target: target.clone(),
                        replace: false,
                    });
                }
                ops.extend(associate(&made).1);
                ops
            },
            |id| {
                let table = Ec2Ref::Known(id.to_owned());
                let (mut changes, mut ops) = route_changes(seen.map(|t| &t.routes), &table, default.as_ref());
                let (more_changes, more_ops) = associate(&table);
                changes.extend(more_changes);
                ops.extend(more_ops);
                (changes, ops)
            },
        )
    }
}

/// Whether `subnet` is associated with `table`, and its association with another table if so.
fn association(observed: &ObservedNetwork, table: Option<&str>, subnet: &Ec2Ref) -> (bool, Option<String>) {
    let Ec2Ref::Known(subnet) = subnet else {
        return (false, None);
    };
    for seen in &observed.route_tables {
        if let Some((association, _)) = seen.associations.iter().find(|(_, s)| s == subnet) {
            return if Some(seen.id.as_str()) == table {
                (true, None)
            } else {
                (false, Some(association.clone()))
            };
        }
    }
    (false, None)
}

/// The default route put right: added, pointed back at `want`, or removed when none is wanted.
fn route_changes(
    routes: Option<&BTreeMap<String, RouteTarget>>,
    table: &Ec2Ref,
    want: Option<&Ec2Ref>,
) -> (Vec<FieldChange>, Vec<NetworkWrite>) {
    let seen = routes.and_then(|r| r.get(ANYWHERE));
    let seen_id = seen.map(|t| match t {
        RouteTarget::Gateway(id) | RouteTarget::NatGateway(id) | RouteTarget::Other(id) => id.clone(),
    });
    let field = format!("routes.{ANYWHERE}");
    match (want, seen_id) {
        (None, None) => (vec![], vec![]),
        (None, Some(seen)) => (
            vec![FieldChange::new(field, seen, "(none)")],
            vec![NetworkWrite::DeleteRoute {
                table: table.to_string(),
                destination: ANYWHERE.to_owned(),
            }],
        ),
        (Some(Ec2Ref::Known(want)), Some(seen)) if *want == seen => (vec![], vec![]),
        (Some(want), seen) => (
            vec![FieldChange::new(
                field,
                seen.clone().unwrap_or_else(|| "(none)".to_owned()),
                want.to_string(),
            )],
            vec![NetworkWrite::PutRoute {
                table: table.clone(),
                destination: ANYWHERE.to_owned(),
                target: want.clone(),
                replace: seen.is_some(),
            }],
        ),
    }
}
