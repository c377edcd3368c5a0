//! The writes of the network. Creates are never repeated after a lost answer (EC2 has no
//! idempotency token for most of them, and a second VPC or Elastic IP would be a duplicate); they
//! carry their tags, so the next pass finds what the lost answer made.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{AttributeBooleanValue, DomainType, ResourceType, Tag, TagSpecification, VpcEndpointType};

use super::Network;
use crate::error::AwsError;
use crate::permissions as op;
use crate::tags::TagUpdate;

pub(super) fn tagged(kind: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

/// Where an endpoint lives: a gateway endpoint in route tables, an interface endpoint in subnets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointPlacement {
    Gateway { route_tables: Vec<String> },
    Interface { subnets: Vec<String>, groups: Vec<String> },
}

impl Network<'_> {
    pub async fn create_vpc(&self, cidr: &str, tags: &BTreeMap<String, String>) -> Result<String, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call_not_repeated(&op::EC2_CREATE_VPC, || {
                ec2.create_vpc()
                    .cidr_block(cidr)
                    .tag_specifications(tagged(ResourceType::Vpc, tags))
                    .send()
            })
            .await?;
        Ok(output.vpc().and_then(|v| v.vpc_id()).unwrap_or_default().to_owned())
    }

    /// Turns on DNS resolution and DNS host names, which interface endpoints' private DNS needs.
    pub async fn enable_dns(&self, vpc: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        let on = || AttributeBooleanValue::builder().value(true).build();
        // One attribute per request: EC2 refuses both in one.
        self.session
            .call(&op::EC2_MODIFY_VPC_ATTRIBUTE, || {
                ec2.modify_vpc_attribute().vpc_id(vpc).enable_dns_support(on()).send()
            })
            .await?;
        self.session
            .call(&op::EC2_MODIFY_VPC_ATTRIBUTE, || {
                ec2.modify_vpc_attribute().vpc_id(vpc).enable_dns_hostnames(on()).send()
            })
            .await
            .map(drop)
    }

    pub async fn create_subnet(
        &self,
        vpc: &str,
        cidr: &str,
        zone: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call_not_repeated(&op::EC2_CREATE_SUBNET, || {
                ec2.create_subnet()
                    .vpc_id(vpc)
                    .cidr_block(cidr)
                    .availability_zone(zone)
                    .tag_specifications(tagged(ResourceType::Subnet, tags))
                    .send()
            })
            .await?;
        Ok(output
            .subnet()
            .and_then(|s| s.subnet_id())
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn create_internet_gateway(&self, tags: &BTreeMap<String, String>) -> Result<String, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call_not_repeated(&op::EC2_CREATE_INTERNET_GATEWAY, || {
                ec2.create_internet_gateway()
                    .tag_specifications(tagged(ResourceType::InternetGateway, tags))
                    .send()
            })
            .await?;
        Ok(output
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .unwrap_or_default()
            .to_owned())
    }

    /// An attach whose answer was lost is sent again by the retry and refused as
    /// `Resource.AlreadyAssociated`: attached to this VPC, that is done.
    pub async fn attach_internet_gateway(&self, gateway: &str, vpc: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        let attached = self
            .session
            .call(&op::EC2_ATTACH_INTERNET_GATEWAY, || {
                ec2.attach_internet_gateway()
                    .internet_gateway_id(gateway)
                    .vpc_id(vpc)
                    .send()
            })
            .await;
        match attached {
            Err(e) if e.code.as_deref() == Some("Resource.AlreadyAssociated") => {
                let described = self
                    .session
                    .call(&op::EC2_DESCRIBE_INTERNET_GATEWAYS, || {
                        ec2.describe_internet_gateways().internet_gateway_ids(gateway).send()
                    })
                    .await?;
                let to_this_vpc = described
                    .internet_gateways()
                    .iter()
                    .flat_map(|g| g.attachments())
                    .any(|a| a.vpc_id() == Some(vpc));
                if to_this_vpc { Ok(()) } else { Err(e) }
            }
            other => other.map(drop),
        }
    }

    pub async fn detach_internet_gateway(&self, gateway: &str, vpc: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_DETACH_INTERNET_GATEWAY, || {
                ec2.detach_internet_gateway()
                    .internet_gateway_id(gateway)
                    .vpc_id(vpc)
                    .send()
            })
            .await
    }

    pub async fn create_route_table(&self, vpc: &str, tags: &BTreeMap<String, String>) -> Result<String, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call_not_repeated(&op::EC2_CREATE_ROUTE_TABLE, || {
                ec2.create_route_table()
                    .vpc_id(vpc)
                    .tag_specifications(tagged(ResourceType::RouteTable, tags))
                    .send()
            })
            .await?;
        Ok(output
            .route_table()
            .and_then(|t| t.route_table_id())
            .unwrap_or_default()
            .to_owned())
    }

    /// Routes `destination` to an internet gateway (`igw-`) or a NAT gateway (`nat-`); `replace`
    /// when the table already has a route for it.
    pub async fn put_route(&self, table: &str, destination: &str, target: &str, replace: bool) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        let nat = target.starts_with("nat-");
        if replace {
            let request = ec2
                .replace_route()
                .route_table_id(table)
                .destination_cidr_block(destination);
            let request = if nat {
                request.nat_gateway_id(target)
            } else {
                request.gateway_id(target)
            };
            return self
                .session
                .call(&op::EC2_REPLACE_ROUTE, || request.clone().send())
                .await
                .map(drop);
        }
        let request = ec2
            .create_route()
            .route_table_id(table)
            .destination_cidr_block(destination);
        let request = if nat {
            request.nat_gateway_id(target)
        } else {
            request.gateway_id(target)
        };
        self.session
            .call(&op::EC2_CREATE_ROUTE, || request.clone().send())
            .await
            .map(drop)
    }

    pub async fn delete_route(&self, table: &str, destination: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_DELETE_ROUTE, || {
                ec2.delete_route()
                    .route_table_id(table)
                    .destination_cidr_block(destination)
                    .send()
            })
            .await
    }

    /// Associates `subnet` with `table`; `existing`: the subnet's association with another table,
    /// which is moved instead (a subnet has one).
    pub async fn associate_route_table(
        &self,
        table: &str,
        subnet: &str,
        existing: Option<&str>,
    ) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        match existing {
            Some(association) => self
                .session
                .call(&op::EC2_REPLACE_ROUTE_TABLE_ASSOCIATION, || {
                    ec2.replace_route_table_association()
                        .association_id(association)
                        .route_table_id(table)
                        .send()
                })
                .await
                .map(drop),
            None => self
                .session
                .call(&op::EC2_ASSOCIATE_ROUTE_TABLE, || {
                    ec2.associate_route_table()
                        .route_table_id(table)
                        .subnet_id(subnet)
                        .send()
                })
                .await
                .map(drop),
        }
    }

    pub async fn disassociate_route_table(&self, association: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_DISASSOCIATE_ROUTE_TABLE, || {
                ec2.disassociate_route_table().association_id(association).send()
            })
            .await
    }

    pub async fn allocate_address(&self, tags: &BTreeMap<String, String>) -> Result<String, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call_not_repeated(&op::EC2_ALLOCATE_ADDRESS, || {
                ec2.allocate_address()
                    .domain(DomainType::Vpc)
                    .tag_specifications(tagged(ResourceType::ElasticIp, tags))
                    .send()
            })
            .await?;
        Ok(output.allocation_id().unwrap_or_default().to_owned())
    }

    pub async fn release_address(&self, allocation: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_RELEASE_ADDRESS, || {
                ec2.release_address().allocation_id(allocation).send()
            })
            .await
    }

    pub async fn create_nat_gateway(
        &self,
        subnet: &str,
        allocation: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let ec2 = self.session.ec2_client();
        let output = self
            .session
            .call_not_repeated(&op::EC2_CREATE_NAT_GATEWAY, || {
                ec2.create_nat_gateway()
                    .subnet_id(subnet)
                    .allocation_id(allocation)
                    .tag_specifications(tagged(ResourceType::Natgateway, tags))
                    .send()
            })
            .await?;
        Ok(output
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn delete_nat_gateway(&self, nat: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_DELETE_NAT_GATEWAY, || {
                ec2.delete_nat_gateway().nat_gateway_id(nat).send()
            })
            .await
    }

    /// An interface endpoint gets private DNS, so the service's usual host name resolves to it.
    pub async fn create_endpoint(
        &self,
        vpc: &str,
        service: &str,
        placement: &EndpointPlacement,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let ec2 = self.session.ec2_client();
        let request = ec2
            .create_vpc_endpoint()
            .vpc_id(vpc)
            .service_name(service)
            .tag_specifications(tagged(ResourceType::VpcEndpoint, tags));
        let request = match placement {
            EndpointPlacement::Gateway { route_tables } => request
                .vpc_endpoint_type(VpcEndpointType::Gateway)
                .set_route_table_ids(Some(route_tables.clone())),
            EndpointPlacement::Interface { subnets, groups } => request
                .vpc_endpoint_type(VpcEndpointType::Interface)
                .set_subnet_ids(Some(subnets.clone()))
                .set_security_group_ids(Some(groups.clone()))
                .private_dns_enabled(true),
        };
        let output = self
            .session
            .call_not_repeated(&op::EC2_CREATE_VPC_ENDPOINT, || request.clone().send())
            .await?;
        Ok(output
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .unwrap_or_default()
            .to_owned())
    }

    pub async fn delete_endpoint(&self, endpoint: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_DELETE_VPC_ENDPOINTS, || {
                ec2.delete_vpc_endpoints().vpc_endpoint_ids(endpoint).send()
            })
            .await
    }

    pub async fn delete_subnet(&self, subnet: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_DELETE_SUBNET, || ec2.delete_subnet().subnet_id(subnet).send())
            .await
    }

    pub async fn delete_route_table(&self, table: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_DELETE_ROUTE_TABLE, || {
                ec2.delete_route_table().route_table_id(table).send()
            })
            .await
    }

    pub async fn delete_internet_gateway(&self, gateway: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_DELETE_INTERNET_GATEWAY, || {
                ec2.delete_internet_gateway().internet_gateway_id(gateway).send()
            })
            .await
    }

    pub async fn delete_vpc(&self, vpc: &str) -> Result<(), AwsError> {
        let ec2 = self.session.ec2_client();
        self.session
            .delete_if_exists(&op::EC2_DELETE_VPC, || ec2.delete_vpc().vpc_id(vpc).send())
            .await
    }

    /// Adds or overwrites tags on EC2 resources of any kind.
    pub async fn retag(&self, id: &str, update: &TagUpdate) -> Result<(), AwsError> {
        let (session, ec2) = (self.session, &self.session.ec2_client());
        update
            .apply(
                |add| {
                    let tags: Vec<Tag> = add
                        .iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect();
                    session.write(&op::EC2_CREATE_TAGS, move || {
                        ec2.create_tags().resources(id).set_tags(Some(tags.clone())).send()
                    })
                },
                |remove| {
                    // A tag named by its key alone is removed whatever its value.
                    let tags: Vec<Tag> = remove.iter().map(|k| Tag::builder().key(k).build()).collect();
                    session.write(&op::EC2_DELETE_TAGS, move || {
                        ec2.delete_tags().resources(id).set_tags(Some(tags.clone())).send()
                    })
                },
            )
            .await
    }
}
