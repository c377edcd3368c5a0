//! `dataplatform-operator iam-policy`: the IAM documents the operator's roles need, printed as JSON
//! from the permission catalogue every AWS call goes through (`dataplatform_aws::permissions`).

use std::path::PathBuf;

use dataplatform_api::DataPlatformAccount;
use dataplatform_aws::policy::{self, PodCredentials, PolicyScope};
use dataplatform_engine::ObjectId;
use kube::ResourceExt;
use serde_json::Value;

use crate::{cli, manifests};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Document {
    /// Permissions of the role the operator assumes in each account (spec.roleArn).
    AccountRole,
    /// Trust policy of that role: the operator's own role may assume it (needs --operator-role-arn).
    AccountTrust,
    /// Trust policy of the operator's own role: IRSA (the default) or EKS Pod Identity.
    OperatorTrust,
    /// Permissions of the operator's own role: sts:AssumeRole on the accounts' roles.
    OperatorRole,
}

#[derive(clap::Args, Debug)]
pub struct IamPolicyArgs {
    /// Which document to print.
    #[arg(long, value_enum, default_value_t = Document::AccountRole)]
    pub document: Document,
    /// Manifests of DataPlatformAccounts: scope account-role to the names one account uses (its
    /// buckets, roles, cluster, database, repositories, key); operator-role to their roleArns.
    #[arg(short = 'f', long = "filename")]
    pub paths: Vec<PathBuf>,
    /// Namespace for manifests that name none (names depend on it).
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// With several accounts in the manifests, the one (metadata.name) to scope account-role to.
    #[arg(long)]
    pub account: Option<String>,
    /// account-trust: ARN of the operator's own role.
    #[arg(long)]
    pub operator_role_arn: Option<String>,
    /// operator-trust: the EKS cluster's OIDC provider, e.g.
    /// oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE (IRSA).
    #[arg(long, default_value = "oidc.eks.<REGION>.amazonaws.com/id/<OIDC_ID>")]
    pub oidc_provider: String,
    /// operator-trust: the account of the cluster (and its OIDC provider) (IRSA).
    #[arg(long, default_value = "<CLUSTER_ACCOUNT_ID>")]
    pub cluster_account_id: String,
    /// operator-trust: trust EKS Pod Identity instead of IRSA.
    #[arg(long)]
    pub pod_identity: bool,
    /// operator-trust: the operator's ServiceAccount as namespace/name.
    #[arg(long, default_value = "dataplatform-system/dataplatform-operator")]
    pub service_account: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IamPolicyError {
    #[error(transparent)]
    Manifests(#[from] manifests::ManifestError),
    #[error("{0}")]
    Usage(String),
}

/// The document `args` asks for.
pub fn document(args: &IamPolicyArgs) -> Result<Value, IamPolicyError> {
    let accounts = accounts(args)?;
    Ok(match args.document {
        Document::AccountRole => match chosen(&accounts, args)? {
            Some(account) => policy::account_role_policy(&scope(account)),
            None => policy::account_role_policy(&PolicyScope::default()),
        },
        Document::AccountTrust => {
            let operator_role_arn = args.operator_role_arn.as_deref().ok_or_else(|| {
                IamPolicyError::Usage(
                    "--document account-trust needs --operator-role-arn, the ARN of the operator's own role".into(),
                )
            })?;
            let external_id = chosen(&accounts, args)?.and_then(|a| a.spec.external_id.as_deref());
            policy::account_role_trust(operator_role_arn, external_id)
        }
        Document::OperatorTrust => {
            let (namespace, service_account) = args.service_account.split_once('/').ok_or_else(|| {
                IamPolicyError::Usage(format!(
                    "--service-account {:?}: write it as namespace/name, e.g. dataplatform-system/dataplatform-operator",
                    args.service_account
                ))
            })?;
            let credentials = if args.pod_identity {
                PodCredentials::PodIdentity
            } else {
                PodCredentials::Irsa {
                    oidc_provider: args.oidc_provider.trim_start_matches("https://").to_owned(),
                    account_id: args.cluster_account_id.clone(),
                }
            };
            policy::operator_role_trust(&credentials, namespace, service_account)
        }
        Document::OperatorRole => {
            let role_arns: Vec<String> = accounts.iter().filter_map(|a| a.spec.role_arn.clone()).collect();
            policy::operator_role_policy(&role_arns)
        }
    })
}

fn accounts(args: &IamPolicyArgs) -> Result<Vec<DataPlatformAccount>, IamPolicyError> {
    if args.paths.is_empty() {
        return Ok(vec![]);
    }
    let manifests = manifests::load(&args.paths, &args.namespace)?.objects;
    Ok(cli::accounts(&manifests).cloned().collect())
}

/// The account to scope to: none without manifests, else the only one or the one --account names.
fn chosen<'a>(
    accounts: &'a [DataPlatformAccount],
    args: &IamPolicyArgs,
) -> Result<Option<&'a DataPlatformAccount>, IamPolicyError> {
    let names = || accounts.iter().map(|a| a.name_any()).collect::<Vec<_>>().join(", ");
    match (&args.account, accounts) {
        (_, []) if args.paths.is_empty() => Ok(None),
        (_, []) => Err(IamPolicyError::Usage(
            "-f: the manifests hold no DataPlatformAccount".into(),
        )),
        (None, [only]) => Ok(Some(only)),
        (None, _) => Err(IamPolicyError::Usage(format!(
            "the manifests hold several accounts ({}); choose one with --account NAME",
            names()
        ))),
        (Some(wanted), _) => accounts
            .iter()
            .find(|a| &a.name_any() == wanted)
            .map(Some)
            .ok_or_else(|| {
                IamPolicyError::Usage(format!(
                    "--account {wanted}: no such account in the manifests (they hold {})",
                    names()
                ))
            }),
    }
}

/// Exactly the names the engine uses for this account: each part's own contribution.
fn scope(account: &DataPlatformAccount) -> PolicyScope {
    let id = ObjectId {
        namespace: account.namespace().unwrap_or_default(),
        name: account.name_any(),
    };
    dataplatform_engine::parts::policy_scope(&id, &account.spec)
}
