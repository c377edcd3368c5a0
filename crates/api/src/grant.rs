//! `SharedBucketGrant`: a tenant lets another account read (or read and write) its `shared` bucket.

// `printcolumn(type_ = ...)` repeats inside the kube attribute by design; clippy reads it as a
// duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::patterns::{self, cel_all_match, cel_matches};

/// Who may reach the shared bucket, how, and until when.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "dataplatform.io",
    version = "v1alpha1",
    kind = "SharedBucketGrant",
    namespaced,
    status = "SharedBucketGrantStatus",
    shortname = "sbg",
    category = "dataplatform",
    derive = "PartialEq",
    doc = "Lets another AWS account read (or read and write) the shared bucket of a DataPlatformAccount in the same namespace. Deleting the grant revokes it; so does expiresAt passing.",
    printcolumn(
        name = "Account",
        type_ = "string",
        json_path = ".spec.accountRef.name",
        description = "the granting DataPlatformAccount"
    ),
    printcolumn(name = "Grantee", type_ = "string", json_path = ".spec.grantee.accountId"),
    printcolumn(name = "Access", type_ = "string", json_path = ".spec.access"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(name = "Expires", type_ = "date", json_path = ".spec.expiresAt"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct SharedBucketGrantSpec {
    /// The granting DataPlatformAccount, in this grant's namespace.
    pub account_ref: AccountRef,

    /// The account (and optionally the principals in it) that gets access.
    pub grantee: Grantee,

    /// Read (list and get objects) or ReadWrite (also put and delete objects; never bucket settings).
    #[serde(default)]
    pub access: Access,

    /// Key prefixes the grant is limited to, e.g. "exports/". Empty: the whole bucket.
    #[x_kube(validation = Rule::new("self.all(p, size(p) >= 1 && !p.startsWith('/') && !p.contains('*') && !p.contains('?'))")
        .message("spec.prefixes entries must be non-empty key prefixes such as exports/, without a leading '/' and without wildcards (* or ?)"))]
    #[schemars(length(max = 20), inner(length(max = 1024)))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,

    /// When the grant stops: after this time its statements are removed and status.revokedAt set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Time>,
}

/// Reference to a DataPlatformAccount in the grant's own namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
pub struct AccountRef {
    /// metadata.name of the DataPlatformAccount.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Must be empty or this grant's own namespace: only an account's own namespace may share its
    /// bucket, so RBAC on that namespace decides who may grant.
    #[schemars(length(max = 63))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Who gets access.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Grantee {
    /// 12-digit AWS account id of the grantee, as a quoted string; not the grantor's own account.
    #[x_kube(validation = Rule::new(cel_matches(patterns::ACCOUNT_ID))
        .message("spec.grantee.accountId must be exactly 12 digits, e.g. \"999999999999\" (quote it in YAML so it stays a string)"))]
    #[schemars(length(max = 12))]
    pub account_id: String,

    /// IAM principals of the grantee account (roles or users, or the account root). Empty: the
    /// grantee account's root, which lets that account delegate with its own IAM policies.
    #[x_kube(validation = Rule::new(cel_all_match(patterns::PRINCIPAL_ARN))
        .message("spec.grantee.principals entries must be IAM ARNs of a role, a user or the root of spec.grantee.accountId, e.g. arn:aws:iam::999999999999:role/org-daemon"))]
    #[schemars(length(max = 20), inner(length(max = 600)))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
}

/// Level of access granted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Access {
    #[default]
    Read,
    ReadWrite,
}

/// What the operator last did for the grant.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SharedBucketGrantStatus {
    /// The metadata.generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready: the statements (and KMS grant, and grantee policy) are in place. Synced: the last
    /// reconcile finished without error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Name of the granting account's shared bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Sids of the bucket-policy statements this grant owns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statement_ids: Vec<String>,
    /// Whether the grantee's task role (a managed Organisation account) got the matching policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grantee_role_updated: Option<bool>,
    /// When the grant was revoked because expiresAt passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Time>,
}
