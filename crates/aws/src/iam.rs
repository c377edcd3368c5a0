//! IAM roles: the trust policy, the inline policies the operator owns (the role's own, and one per
//! SharedBucketGrant on a grantee's task role), and tags. Policies the operator did not write (other
//! inline or attached policies) are never read into a decision.

use std::collections::BTreeMap;

use aws_sdk_iam::types::{SummaryKeyType, Tag};

use dataplatform_api::names::GRANTEE_POLICY_PREFIX;

use crate::error::{AwsError, optional};
use crate::permissions as op;
use crate::quotas::{AccountQuotas, IAM_ROLE_INLINE_POLICIES, IAM_ROLE_TRUST_POLICY};
use crate::session::AccountSession;
use crate::tags::TagUpdate;

const SERVICE: &str = "iam";

/// Name of the inline policy the operator writes on each of its roles.
pub const INLINE_POLICY_NAME: &str = "dataplatform";

#[derive(Clone, Debug, PartialEq)]
pub struct RoleObservation {
    pub name: String,
    pub arn: String,
    pub trust_policy: String,
    pub tags: BTreeMap<String, String>,
    /// Our inline policy's document, when present.
    pub inline_policy: Option<String>,
    /// Every other inline policy of the role, by name (hand-written ones, and grant policies an
    /// earlier version of the operator wrote): they share the role's policy-size quota with ours.
    pub other_policies: BTreeMap<String, String>,
}

pub struct Iam<'a> {
    session: &'a AccountSession,
}

impl AccountSession {
    pub fn iam(&self) -> Iam<'_> {
        Iam { session: self }
    }
}

impl Iam<'_> {
    pub async fn observe_role(&self, role: &str) -> Result<Option<RoleObservation>, AwsError> {
        let iam = self.session.iam_client();
        let Some(output) = optional(
            self.session
                .call(&op::IAM_GET_ROLE, || iam.get_role().role_name(role).send())
                .await,
        )?
        else {
            return Ok(None);
        };
        let Some(found) = output.role() else {
            return Ok(None);
        };
        // Every inline policy the role lists, ours among them: they share one quota.
        let mut other_policies = BTreeMap::new();
        for name in self.policy_names(role).await?.unwrap_or_default() {
            if let Some(document) = self.inline_policy(role, &name).await? {
                other_policies.insert(name, document);
            }
        }
        let inline_policy = other_policies.remove(INLINE_POLICY_NAME);
        Ok(Some(RoleObservation {
            name: found.role_name().to_owned(),
            arn: found.arn().to_owned(),
            trust_policy: found.assume_role_policy_document().map(url_decode).unwrap_or_default(),
            tags: found
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
            inline_policy,
            other_policies,
        }))
    }

    /// The names of the role's inline policies; `None` when the role is gone.
    async fn policy_names(&self, role: &str) -> Result<Option<Vec<String>>, AwsError> {
        let iam = self.session.iam_client();
        let listed = optional(
            self.session
                .call(&op::IAM_LIST_ROLE_POLICIES, || {
                    iam.list_role_policies().role_name(role).send()
                })
                .await,
        )?;
        Ok(listed.map(|l| l.policy_names().to_vec()))
    }

    /// The account's applied IAM quotas, read once per account (GetAccountSummary): an account AWS
    /// raised a quota for is not held to the default. Defaults where the summary does not say.
    pub async fn account_quotas(&self) -> Result<AccountQuotas, AwsError> {
        self.session
            .account_quotas_cell()
            .get_or_try_init(|| async {
                let iam = self.session.iam_client();
                let summary = self
                    .session
                    .call(&op::IAM_GET_ACCOUNT_SUMMARY, || iam.get_account_summary().send())
                    .await?;
                let map = summary.summary_map();
                let read = |key: SummaryKeyType, default: usize| {
                    map.and_then(|m| m.get(&key))
                        .and_then(|v| usize::try_from(*v).ok())
                        .filter(|v| *v > 0)
                        .unwrap_or(default)
                };
                let defaults = AccountQuotas::default();
                Ok(AccountQuotas {
                    role_policy_size: read(SummaryKeyType::RolePolicySizeQuota, defaults.role_policy_size),
                    trust_policy_size: read(SummaryKeyType::AssumeRolePolicySizeQuota, defaults.trust_policy_size),
                })
            })
            .await
            .copied()
    }

    /// Creates the role with its tags in the same request. Returns its ARN.
    pub async fn create_role(
        &self,
        role: &str,
        description: &str,
        trust_policy: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, AwsError> {
        let limit = self.account_quotas().await?.trust_policy_size;
        IAM_ROLE_TRUST_POLICY
            .check(
                limit,
                IAM_ROLE_TRUST_POLICY.measure(trust_policy),
                &format!("the trust policy of role {role}"),
            )
            .map_err(|refused| refused.refused(SERVICE, "CreateRole"))?;
        let iam = self.session.iam_client();
        let tags = to_tags(tags)?;
        let output = self
            .session
            .call(&op::IAM_CREATE_ROLE, || {
                iam.create_role()
                    .role_name(role)
                    .description(description)
                    .assume_role_policy_document(trust_policy)
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await?;
        Ok(output.role().map(|r| r.arn().to_owned()).unwrap_or_default())
    }

    pub async fn update_trust_policy(&self, role: &str, trust_policy: &str) -> Result<(), AwsError> {
        let iam = self.session.iam_client();
        self.session
            .call(&op::IAM_UPDATE_ASSUME_ROLE_POLICY, || {
                iam.update_assume_role_policy()
                    .role_name(role)
                    .policy_document(trust_policy)
                    .send()
            })
            .await
            .map(drop)
    }

    /// The document of the inline policy `name` on `role`; `None` when either is missing.
    async fn inline_policy(&self, role: &str, name: &str) -> Result<Option<String>, AwsError> {
        let iam = self.session.iam_client();
        Ok(optional(
            self.session
                .call(&op::IAM_GET_ROLE_POLICY, || {
                    iam.get_role_policy().role_name(role).policy_name(name).send()
                })
                .await,
        )?
        .map(|p| url_decode(p.policy_document())))
    }

    /// Writes the inline policy `name`; the operator's own policy on each role is [`INLINE_POLICY_NAME`],
    /// grants add theirs beside it.
    /// A document that alone passes the role's policy-size quota is never sent (the engine checks
    /// the role's policies together before it plans the write).
    pub async fn put_inline_policy(&self, role: &str, name: &str, document: &str) -> Result<(), AwsError> {
        let limit = self.account_quotas().await?.role_policy_size;
        IAM_ROLE_INLINE_POLICIES
            .check(
                limit,
                IAM_ROLE_INLINE_POLICIES.measure(document),
                &format!("the inline policy {name} of role {role}"),
            )
            .map_err(|refused| refused.refused(SERVICE, "PutRolePolicy"))?;
        let iam = self.session.iam_client();
        self.session
            .call(&op::IAM_PUT_ROLE_POLICY, || {
                iam.put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(document)
                    .send()
            })
            .await
            .map(drop)
    }

    /// Removing a policy (or from a role) that is already gone is not an error.
    pub async fn delete_inline_policy(&self, role: &str, name: &str) -> Result<(), AwsError> {
        let iam = self.session.iam_client();
        self.session
            .delete_if_exists(&op::IAM_DELETE_ROLE_POLICY, || {
                iam.delete_role_policy().role_name(role).policy_name(name).send()
            })
            .await
    }

    pub async fn retag_role(&self, role: &str, update: &TagUpdate) -> Result<(), AwsError> {
        let (session, iam) = (self.session, &self.session.iam_client());
        update
            .apply(
                |add| async move {
                    let tags = to_tags(&add)?;
                    session
                        .write(&op::IAM_TAG_ROLE, || {
                            iam.tag_role().role_name(role).set_tags(Some(tags.clone())).send()
                        })
                        .await
                },
                |remove| {
                    session.write(&op::IAM_UNTAG_ROLE, move || {
                        iam.untag_role()
                            .role_name(role)
                            .set_tag_keys(Some(remove.clone()))
                            .send()
                    })
                },
            )
            .await
    }

    /// Deletes our inline policies (the role's own and any a grant put there), then the role. A role
    /// that still has policies somebody else put on it fails with a Conflict (DeleteConflict) and is
    /// left in place.
    pub async fn delete_role(&self, role: &str) -> Result<(), AwsError> {
        let Some(names) = self.policy_names(role).await? else {
            return Ok(());
        };
        for name in names.iter().filter(|n| is_operator_policy(n)) {
            self.delete_inline_policy(role, name).await?;
        }
        let iam = self.session.iam_client();
        self.session
            .delete_if_exists(&op::IAM_DELETE_ROLE, || iam.delete_role().role_name(role).send())
            .await
    }
}

fn is_operator_policy(name: &str) -> bool {
    name == INLINE_POLICY_NAME || name.starts_with(GRANTEE_POLICY_PREFIX)
}

fn to_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError::request(SERVICE, "TagRole", e))
        })
        .collect()
}

/// IAM returns policy documents percent-encoded (RFC 3986).
fn url_decode(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                decoded.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::url_decode;

    #[test]
    fn policy_documents_are_percent_decoded_and_plain_ones_pass_through() {
        assert_eq!(
            url_decode("%7B%22Version%22%3A%222012-10-17%22%7D"),
            r#"{"Version":"2012-10-17"}"#
        );
        assert_eq!(url_decode(r#"{"a": "100%"}"#), r#"{"a": "100%"}"#);
    }
}
