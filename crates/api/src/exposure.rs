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
#[x_kube(
    validation = Rule::new("(has(self.hosts) ? size(self.hosts) : 0) + (has(self.allowedCidrs) ? size(self.allowedCidrs) : 0) <= 4")
        .message("spec.services[].expose: hosts and allowedCidrs together take at most 4 entries (a listener rule matches at most 5 values, and the path takes one)")
        .field_path(".hosts"),
    validation = Rule::new("!has(self.signIn) || !has(self.signIn.userPool) || !self.signIn.userPool || (has(self.hosts) && self.hosts.exists(h, !h.startsWith('*')))")
        .message("spec.services[].expose.hosts needs a host that is not a wildcard with signIn.userPool: the user pool's app client allows https://<host>/oauth2/idpresponse, and Cognito takes no wildcards there")
        .field_path(".hosts")
)]
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

    /// Sign people in before the load balancer forwards their requests: the listener rule
    /// authenticates with the identity provider first (open-source Dagster, for one, has no sign-in
    /// of its own). Needs HTTPS (spec.loadBalancer.certificateArn): the load balancer
    /// authenticates on HTTPS listeners only. The identity provider must allow the callback
    /// status.services[].signInCallbackUrl (`https://<host>/oauth2/idpresponse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<SignInSpec>,
}

/// How people sign in to an exposed service: through an OpenID Connect provider the load
/// balancer talks to (`oidc`), or through the account's Cognito user pool (`userPool: true`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new("has(self.oidc) != (has(self.userPool) && self.userPool)")
    .message("spec.services[].expose.signIn takes oidc (an OpenID Connect provider) or userPool: true (the account's spec.userPool), one of the two"))]
#[serde(rename_all = "camelCase")]
pub struct SignInSpec {
    /// An OpenID Connect identity provider, e.g. Microsoft Entra ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcSignIn>,

    /// Sign in through the account's Cognito user pool (spec.userPool, required then), and so
    /// through its SAML identity provider. The service needs a host that is not a wildcard: the
    /// pool's app client allows `https://<host>/oauth2/idpresponse` of each such host.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub user_pool: bool,

    /// Seconds a sign-in lasts before the load balancer asks the identity provider again (1 to
    /// 604800; default 604800, seven days, as the load balancer's own default).
    #[serde(default = "default_session_timeout")]
    #[schemars(range(min = 1, max = 604800))]
    pub session_timeout_seconds: i64,
}

fn default_session_timeout() -> i64 {
    604_800
}

/// An OpenID Connect client registered at the identity provider. For Microsoft Entra ID (tenant
/// `<tenant>`): issuer https://login.microsoftonline.com/<tenant>/v2.0, authorizationEndpoint
/// https://login.microsoftonline.com/<tenant>/oauth2/v2.0/authorize, tokenEndpoint
/// https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token, userInfoEndpoint
/// https://graph.microsoft.com/oidc/userinfo (each is in the provider's
/// `.well-known/openid-configuration`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcSignIn {
    /// The provider's issuer (`iss` of its tokens), an https URL.
    #[x_kube(validation = Rule::new(cel_matches(patterns::HTTPS_URL))
        .message("spec.services[].expose.signIn.oidc.issuer must be an https URL such as https://login.microsoftonline.com/<tenant>/v2.0"))]
    #[schemars(length(max = 2048))]
    pub issuer: String,

    /// Where people are sent to sign in, an https URL.
    #[x_kube(validation = Rule::new(cel_matches(patterns::HTTPS_URL))
        .message("spec.services[].expose.signIn.oidc.authorizationEndpoint must be an https URL"))]
    #[schemars(length(max = 2048))]
    pub authorization_endpoint: String,

    /// Where the load balancer exchanges the code for tokens, an https URL.
    #[x_kube(validation = Rule::new(cel_matches(patterns::HTTPS_URL))
        .message("spec.services[].expose.signIn.oidc.tokenEndpoint must be an https URL"))]
    #[schemars(length(max = 2048))]
    pub token_endpoint: String,

    /// Where the load balancer reads the person's claims, an https URL.
    #[x_kube(validation = Rule::new(cel_matches(patterns::HTTPS_URL))
        .message("spec.services[].expose.signIn.oidc.userInfoEndpoint must be an https URL"))]
    #[schemars(length(max = 2048))]
    pub user_info_endpoint: String,

    /// The client (application) id the provider gave the registration.
    #[x_kube(validation = Rule::new(cel_matches(patterns::OIDC_CLIENT_ID))
        .message("spec.services[].expose.signIn.oidc.clientId must be printable characters without spaces"))]
    #[schemars(length(min = 1, max = 255))]
    pub client_id: String,

    /// Where the client secret is: a Secrets Manager secret of the account and region. The
    /// operator reads it only when it writes the listener rule and never shows it; a new value
    /// (a new AWSCURRENT version) rewrites the rule.
    pub client_secret: ClientSecretRef,

    /// Scopes asked for, space-separated (default `openid`).
    #[x_kube(validation = Rule::new(cel_matches(patterns::OIDC_SCOPE))
        .message("spec.services[].expose.signIn.oidc.scope must be scopes separated by single spaces, such as openid email"))]
    #[schemars(length(min = 1, max = 255))]
    #[serde(default = "default_scope")]
    pub scope: String,
}

fn default_scope() -> String {
    "openid".to_owned()
}

/// A client secret in Secrets Manager.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientSecretRef {
    /// The secret's ARN, e.g. arn:aws:secretsmanager:eu-west-2:111111111111:secret:camden/dagster-sign-in-AbCdEf.
    #[x_kube(validation = Rule::new(cel_matches(patterns::SECRET_ARN))
        .message("spec.services[].expose.signIn.oidc.clientSecret.secretArn must be a Secrets Manager secret ARN"))]
    #[schemars(length(max = 2048))]
    pub secret_arn: String,

    /// The key of the secret's JSON that holds the client secret (default: the whole secret
    /// string).
    #[x_kube(validation = Rule::new(cel_matches(patterns::JSON_KEY))
        .message("spec.services[].expose.signIn.oidc.clientSecret.jsonKey must be letters, digits and '_', '.' or '-'"))]
    #[schemars(length(min = 1, max = 255))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_key: Option<String>,
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
    /// on 443 (TLS 1.2 and 1.3) and HTTP on 80 redirecting there; without it, HTTP on 80, unless
    /// spec.dns.hostedZoneId is given: then the operator requests one (status.certificate).
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
