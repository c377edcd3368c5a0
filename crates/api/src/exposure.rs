//! How services are reached: `services[].expose` opts one service in, `spec.loadBalancer` holds
//! what the account's load balancers share. Nothing is reachable unless asked.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::patterns::{self, cel_all_match, cel_matches};

/// Reach the service through the account's Application Load Balancer of `scheme`: the operator
/// makes the load balancer (one per scheme, shared by the account's services), a target group for
/// this service (target type ip, the service's port, its health check) and a listener rule
/// forwarding requests that match `hosts` and `path` (and come from `allowedCidrs`, when given) to
/// it. The listener is HTTPS on 443 when spec.loadBalancer.certificateArn is set (HTTP on 80 then
/// redirects to it), HTTP on 80 otherwise; requests no rule matches get 404. Rules are ordered
/// most specific first (rules with hosts before rules without, deeper paths before shallower) and
/// their priorities derive from the service's name, so adding or removing a service moves no other
/// rule. The service's port must be set. A service with replicas 0 keeps its target group and rule,
/// so scaling it up is the one change needed to reach it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("(has(self.hosts) ? size(self.hosts) : 0) + (has(self.allowedCidrs) ? size(self.allowedCidrs) : 0) <= 4")
    .message("spec.services[].expose: hosts and allowedCidrs together take at most 4 entries (a listener rule matches at most 5 values, and the path takes one)")
    .field_path(".hosts"))]
#[serde(rename_all = "camelCase")]
pub struct ExposeSpec {
    /// Internal (default): a load balancer in the private subnets, reachable from the VPC and what
    /// is connected to it (a VPN, peered networks). InternetFacing: in the public subnets, reachable
    /// from the internet; an explicit choice.
    #[serde(default)]
    pub scheme: Scheme,

    /// Host names the rule matches (the Host header), e.g. files.camden.example.org or
    /// *.camden.example.org. Empty (default): any host.
    #[x_kube(validation = Rule::new(cel_all_match(patterns::HOST_NAME))
        .message("spec.services[].expose.hosts entries must be host names such as files.example.org or *.example.org"))]
    #[schemars(length(max = 4), inner(length(max = 128)))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,

    /// Path pattern the rule matches, case-sensitive; `*` and `?` are wildcards. Default /* (every
    /// path).
    #[x_kube(validation = Rule::new(cel_matches(patterns::PATH_PATTERN))
        .message("spec.services[].expose.path must start with / and hold letters, digits and _.~/*?&:+@$- only"))]
    #[schemars(length(min = 1, max = 128))]
    #[serde(default = "default_path")]
    pub path: String,

    /// Path the load balancer checks each task on. Default: / for HTTP (healthy on 200-399),
    /// /AWS.ALB/healthcheck for GRPC (healthy on gRPC code 12, which any gRPC server answers).
    /// A path given for GRPC is healthy on code 0.
    #[x_kube(validation = Rule::new(cel_matches(patterns::HEALTH_CHECK_PATH))
        .message("spec.services[].expose.healthCheckPath must start with / and hold no wildcards"))]
    #[schemars(length(min = 1, max = 1024))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_path: Option<String>,

    /// HTTP (default) or GRPC (HTTP/2 to the tasks; needs spec.loadBalancer.certificateArn, since
    /// the load balancer speaks gRPC over HTTPS only).
    #[serde(default)]
    pub protocol: ExposeProtocol,

    /// IPv4 ranges that may reach the service, e.g. 10.8.0.0/16 for a VPN's clients. Default: the
    /// VPC's range for Internal; for InternetFacing, anywhere (0.0.0.0/0, which plan says). The
    /// load balancer's security group admits the union over its services, and the rule matches
    /// only these sources.
    #[x_kube(validation = Rule::new(cel_all_match(patterns::ANY_IPV4_CIDR))
        .message("spec.services[].expose.allowedCidrs entries must be IPv4 ranges such as 10.8.0.0/16"))]
    #[schemars(length(max = 4), inner(length(max = 18)))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_cidrs: Vec<String>,

    /// Seconds ECS ignores failing load-balancer health checks of a new task while it starts.
    #[serde(default = "default_grace_period")]
    #[schemars(range(min = 0, max = 7200))]
    pub health_check_grace_period_seconds: i32,
}

fn default_path() -> String {
    "/*".to_owned()
}

fn default_grace_period() -> i32 {
    60
}

/// Who can reach a load balancer.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
pub enum Scheme {
    #[default]
    Internal,
    InternetFacing,
}

impl Scheme {
    pub const ALL: [Scheme; 2] = [Scheme::Internal, Scheme::InternetFacing];

    /// As ELB names it.
    pub fn aws_name(self) -> &'static str {
        match self {
            Scheme::Internal => "internal",
            Scheme::InternetFacing => "internet-facing",
        }
    }

    /// As our names and status name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Internal => "Internal",
            Scheme::InternetFacing => "InternetFacing",
        }
    }
}

/// What a load balancer speaks to its targets.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ExposeProtocol {
    #[default]
    #[serde(rename = "HTTP")]
    Http,
    #[serde(rename = "GRPC")]
    Grpc,
}

/// What the account's load balancers share. Only used when a service sets `expose`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerSpec {
    /// ACM certificate for HTTPS, in the account and spec.region, e.g.
    /// arn:aws:acm:eu-west-2:111111111111:certificate/0a1b2c3d-.... With it the listeners are HTTPS
    /// on 443 (TLS 1.2 and 1.3) and HTTP on 80 redirecting there; without it, HTTP on 80.
    #[x_kube(validation = Rule::new(cel_matches(patterns::CERTIFICATE_ARN))
        .message("spec.loadBalancer.certificateArn must be an ACM certificate ARN such as arn:aws:acm:eu-west-2:111111111111:certificate/0a1b2c3d"))]
    #[schemars(length(max = 2048))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,

    /// Seconds a connection may stay idle before the load balancer closes it (1 to 4000; Dagster's
    /// long-lived requests may want 3600).
    #[serde(default = "default_idle_timeout")]
    #[schemars(range(min = 1, max = 4000))]
    pub idle_timeout_seconds: i32,

    /// The existing network form (spec.network.subnetIds) only: public subnets, in at least two
    /// availability zones, for an InternetFacing load balancer (required then). Internal load
    /// balancers use spec.network.subnetIds; the managed form uses its own public subnets.
    #[x_kube(validation = Rule::new(cel_all_match(patterns::SUBNET_ID))
        .message("spec.loadBalancer.publicSubnetIds entries must be subnet ids such as subnet-0a1b2c3d"))]
    #[schemars(length(max = 16), inner(length(max = 24)))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_subnet_ids: Vec<String>,
}

fn default_idle_timeout() -> i32 {
    60
}

impl Default for LoadBalancerSpec {
    fn default() -> Self {
        Self {
            certificate_arn: None,
            idle_timeout_seconds: default_idle_timeout(),
            public_subnet_ids: vec![],
        }
    }
}

/// One load balancer the operator runs for the account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerStatus {
    pub scheme: Scheme,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// provisioning, active, failed, ... as ELB reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}
