//! The bucket key's policy. KMS requires every key policy to let the account administer the key
//! (its lockout check); here the account root may administer it but not use it, so who may
//! administer is the account's IAM policies' choice (the operator's account role among them), and
//! only the account's task roles may encrypt and decrypt with it. Cross-account readers of the
//! shared bucket use it through KMS grants (SharedBucketGrant), which need no statement here.
//! KMS Developer Guide, "Default key policy" (key administrators, key users).

use serde_json::Value;

use crate::account::AccountContext;
use crate::policy::{self, Statement};

/// What the account's administrators may do: everything but use the key.
const ADMINISTRATION: &[&str] = &[
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
    "kms:RetireGrant",
];

/// What S3 needs of the key for a task's reads and writes (SSE-KMS with bucket keys).
const USE: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
    "kms:DescribeKey",
];

pub(super) fn key_policy(account: &AccountContext) -> Value {
    let root = format!("arn:{}:iam::{}:root", account.partition, account.account_id);
    // The roles by ARN in a condition rather than as principals: KMS refuses a policy naming a
    // role it cannot see yet, and the roles are made after the key.
    let task_roles = vec![
        account.role_arn(&account.names.task_role()),
        account.role_arn(&account.names.run_launcher_role()),
    ];
    policy::document(vec![
        Statement::allow("AccountAdministersKey")
            .principal("AWS", root.clone())
            .actions(ADMINISTRATION)
            .resource("*")
            .build(),
        Statement::allow("TaskRolesUseKey")
            .principal("AWS", root)
            .actions(USE)
            .resource("*")
            .condition("ArnEquals", "aws:PrincipalArn", task_roles)
            .build(),
    ])
}
