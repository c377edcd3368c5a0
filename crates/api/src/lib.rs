//! The public contract of the operator (`dataplatform.io/v1alpha1`): the two custom resources,
//! their defaults and validation, condition helpers, and the deterministic names every AWS resource
//! gets. Nothing here knows of AWS SDKs or of a Kubernetes client.

pub mod account;
mod account_status;
pub mod admission;
pub mod conditions;
pub mod dns;
pub mod exposure;
pub mod grant;
pub mod meta;
pub mod names;
pub mod patterns;
pub mod scaling;
pub mod service;
pub mod user_pool;
pub mod validation;

pub use account::{
    Capacity, DataPlatformAccount, DataPlatformAccountSpec, DataPlatformAccountStatus, DatabaseSpec, DeletionPolicy,
    EndpointService, LoggingSpec, ManagementPolicy, NatGateway, NetworkSpec, RegistrySpec, SecretRef, ServiceSpec,
    StorageSpec, Tier, VpcSpec,
};
pub use exposure::{
    ClientSecretRef, ExposeProtocol, ExposeSpec, LoadBalancerSpec, LoadBalancerStatus, OidcSignIn, Scheme, SignInSpec,
};
pub use grant::{Access, AccountRef, Grantee, SharedBucketGrant, SharedBucketGrantSpec, SharedBucketGrantStatus};
pub use meta::{
    ADOPT_ANNOTATION, CLEANUP_FINALIZER, KNOWN_ANNOTATIONS, MANAGED_TAGS_TAG, NO_MANAGED_TAGS, OWNER_TAG,
    PAUSED_ANNOTATION, RESYNC_INTERVAL_ANNOTATION, TAG_VALUE_LIMIT, annotation_is_true, annotation_problems,
    check_annotations, managed_tag_keys, managed_tags_value, owner_tag_value,
};
pub use scaling::{ScalingSpec, ScalingStatus, ScheduleSpec};
pub use validation::{InvalidSpec, SpecProblem, first_few, validate_object_name, validate_owner_tag};

/// API group of both kinds.
pub const GROUP: &str = "dataplatform.io";
/// API version of both kinds.
pub const VERSION: &str = "v1alpha1";
