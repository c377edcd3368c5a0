//! What a grant wants in AWS, as plain values: the bucket-policy statements it owns and the KMS grants
//! on the grantor's key. A managed Organisation grantee needs nothing per grant: its task role
//! carries one fixed statement for every shared bucket granted to it (the identity part), so the
//! grantor's bucket policy is the one place a grant is given and revoked.

use std::collections::{BTreeMap, BTreeSet};

use dataplatform_api::names::{AccountNames, BucketPurpose, GrantNames};
use dataplatform_api::{Access as Level, Tier, owner_tag_value};
use serde_json::Value;

use crate::account::{AccountObject, ObjectId, partition};
use crate::grant::object::GrantObject;
use crate::policy::{self, Statement};

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredGrant {
    pub names: GrantNames,
    /// The grantor's shared bucket; `None` when the grantor account is not known (nothing of the
    /// grant can then be reached).
    pub bucket: Option<String>,
    /// The owner tag value the grantor's resources carry (its namespace/name): the grant writes to the
    /// bucket only once the bucket carries it.
    pub grantor_owner: Option<String>,
    /// False once `expiresAt` has passed (or the grant is being deleted): every half is revoked.
    pub active: bool,
    /// The bucket-policy statements this grant owns; empty when revoked.
    pub statements: Vec<Value>,
    /// The grantor's bucket key, when it uses SSE-KMS.
    pub key: Option<DesiredKeyGrants>,
    /// The grantee, when it is a managed Organisation account: whether the grant trusts its task role
    /// (which then reaches the bucket through its fixed shared-bucket statement).
    pub grantee_role: Option<GranteeRole>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DesiredKeyGrants {
    pub key: String,
    /// The KMS grants' name (KMS grant names are not unique; ours tell them apart from others').
    pub name: String,
    /// Grantee principal → operations; empty when revoked.
    pub grants: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GranteeRole {
    pub account: ObjectId,
    pub role: String,
    /// The bucket policy names the account's root or this role: the role may use the grant.
    pub trusted: bool,
}

impl DesiredGrant {
    pub fn new(
        grant: &GrantObject,
        grantor: Option<&AccountObject>,
        organisations: &[&AccountObject],
        active: bool,
    ) -> Self {
        let spec = &grant.spec;
        let names = GrantNames::new(&grant.id.namespace, &grant.id.name);
        let region = grantor
            .or(organisations.first().copied())
            .map_or("", |a| a.spec.region.as_str());
        let partition = partition(region);
        let bucket = grantor.map(|grantor| {
            AccountNames::new(&grantor.id.namespace, &grantor.id.name, &grantor.spec.account_id)
                .bucket(BucketPurpose::Shared)
        });
        let active = active && grantor.is_some();
        let key_arn = grantor.and_then(|g| g.bucket_key());
        let access = GrantedAccess::new(
            partition,
            bucket.as_deref().unwrap_or_default(),
            spec.access,
            &spec.prefixes,
        );
        let grantee = &spec.grantee.account_id;
        let principals: Vec<String> = if spec.grantee.principals.is_empty() {
            vec![root_arn(partition, grantee)]
        } else {
            spec.grantee.principals.clone()
        };

        let statements = if active {
            access.bucket_statements(&names, &principals)
        } else {
            vec![]
        };
        let key = key_arn.as_ref().map(|key| DesiredKeyGrants {
            key: key.clone(),
            name: names.kms_grant(),
            grants: principals
                .iter()
                .filter(|_| active)
                .map(|p| (p.clone(), access.key_operations()))
                .collect(),
        });
        let grantee_role = organisations
            .iter()
            .find(|org| org.spec.tier == Tier::Organisation && org.spec.account_id == *grantee)
            .map(|org| {
                let role = AccountNames::new(&org.id.namespace, &org.id.name, &org.spec.account_id).task_role();
                let role_arn = format!("arn:{partition}:iam::{}:role/{role}", org.spec.account_id);
                GranteeRole {
                    account: org.id.clone(),
                    trusted: principals
                        .iter()
                        .any(|p| *p == role_arn || *p == root_arn(partition, grantee)),
                    role,
                }
            });
        Self {
            names,
            bucket,
            grantor_owner: grantor.map(|g| owner_tag_value(&g.id.namespace, &g.id.name)),
            active,
            statements,
            key,
            grantee_role,
        }
    }

    pub fn statement_ids(&self) -> Vec<String> {
        self.statements
            .iter()
            .filter_map(|s| policy::sid(s).map(str::to_owned))
            .collect()
    }
}

fn root_arn(partition: &str, account_id: &str) -> String {
    format!("arn:{partition}:iam::{account_id}:root")
}

/// What `access` and `prefixes` allow on one bucket, written as each kind of policy needs it.
struct GrantedAccess<'a> {
    level: Level,
    bucket_arn: String,
    prefixes: &'a [String],
}

impl<'a> GrantedAccess<'a> {
    fn new(partition: &str, bucket: &str, level: Level, prefixes: &'a [String]) -> Self {
        Self {
            level,
            bucket_arn: format!("arn:{partition}:s3:::{bucket}"),
            prefixes,
        }
    }

    /// Listing is limited to the prefixes by condition; objects by resource.
    fn list_statement(&self, sid: &str) -> Statement {
        let statement = Statement::allow(sid)
            .action("s3:ListBucket")
            .resource(self.bucket_arn.clone());
        if self.prefixes.is_empty() {
            return statement;
        }
        let patterns: Vec<String> = self.prefixes.iter().map(|p| format!("{p}*")).collect();
        statement.condition("StringLike", "s3:prefix", patterns)
    }

    fn objects_statement(&self, sid: &str) -> Statement {
        let mut actions = vec!["s3:GetObject"];
        if self.level == Level::ReadWrite {
            actions.extend(["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]);
        }
        let resources: Vec<String> = if self.prefixes.is_empty() {
            vec![format!("{}/*", self.bucket_arn)]
        } else {
            self.prefixes
                .iter()
                .map(|p| format!("{}/{p}*", self.bucket_arn))
                .collect()
        };
        Statement::allow(sid).actions(&actions).resources(resources)
    }

    fn bucket_statements(&self, names: &GrantNames, principals: &[String]) -> Vec<Value> {
        [
            self.list_statement(&names.statement_id("List")),
            self.objects_statement(&names.statement_id("Objects")),
        ]
        .into_iter()
        .map(|statement| statement.principal("AWS", principals).build())
        .collect()
    }

    fn key_operations(&self) -> BTreeSet<String> {
        let mut operations = vec!["Decrypt", "DescribeKey"];
        if self.level == Level::ReadWrite {
            operations.extend(["Encrypt", "GenerateDataKey"]);
        }
        operations.into_iter().map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::ObjectId;

    fn account(namespace: &str, name: &str, yaml: &str) -> AccountObject {
        AccountObject {
            id: ObjectId {
                namespace: namespace.into(),
                name: name.into(),
            },
            generation: Some(1),
            annotations: Default::default(),
            spec: serde_json::from_str(yaml).expect("account spec"),
            status: None,
            child_accounts: Default::default(),
        }
    }

    fn grant(spec: &str) -> GrantObject {
        GrantObject {
            id: ObjectId {
                namespace: "la-camden".into(),
                name: "to-region".into(),
            },
            generation: Some(1),
            annotations: Default::default(),
            spec: serde_json::from_str(spec).expect("grant spec"),
            status: None,
        }
    }

    const TENANT: &str = r#"{"accountId": "111111111111", "region": "eu-west-2", "roleArn": "arn:aws:iam::111111111111:role/op",
        "storage": {"kmsKeyArn": "arn:aws:kms:eu-west-2:111111111111:key/k"}}"#;
    const ORG: &str = r#"{"accountId": "999999999999", "region": "eu-west-2", "roleArn": "arn:aws:iam::999999999999:role/op",
        "tier": "Organisation"}"#;

    #[test]
    fn the_organisation_role_may_use_a_grant_only_when_the_bucket_policy_trusts_it() {
        let (tenant, org) = (
            account("la-camden", "camden", TENANT),
            account("platform", "region", ORG),
        );
        let root = grant(
            r#"{"accountRef": {"name": "camden"}, "grantee": {"accountId": "999999999999"}, "access": "ReadWrite"}"#,
        );
        let desired = DesiredGrant::new(&root, Some(&tenant), &[&org], true);
        assert!(
            desired.grantee_role.as_ref().is_some_and(|r| r.trusted),
            "root trusts every role of the account"
        );
        let text = serde_json::to_string(&desired.statements).expect("json");
        assert!(
            text.contains("s3:PutObject") && text.contains("arn:aws:iam::999999999999:root"),
            "{text}"
        );
        assert_eq!(
            desired
                .key
                .as_ref()
                .map(|k| k.grants.keys().cloned().collect::<Vec<_>>()),
            Some(vec!["arn:aws:iam::999999999999:root".to_owned()])
        );

        let other_role = grant(
            r#"{"accountRef": {"name": "camden"}, "grantee": {"accountId": "999999999999",
                "principals": ["arn:aws:iam::999999999999:role/org-daemon"]}}"#,
        );
        let desired = DesiredGrant::new(&other_role, Some(&tenant), &[&org], true);
        assert!(
            desired.grantee_role.as_ref().is_some_and(|r| !r.trusted),
            "the task role is not a principal"
        );

        let expired = DesiredGrant::new(&root, Some(&tenant), &[&org], false);
        assert!(expired.statements.is_empty());
        assert!(expired.key.as_ref().is_some_and(|k| k.grants.is_empty()));
    }
}
