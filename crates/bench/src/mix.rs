//! What the bench reconciles. `plain`: N accounts with buckets, roles and a database, nothing else
//! (the mix of the first benchmark, kept for comparison). `real`: N tenants as a regional platform
//! runs them (a managed network, a database, three services of which one is exposed through a load
//! balancer, two grants each to the Organisation account) and that Organisation account, with a
//! registry. `shares`: the plain accounts with the real mix's grants and Organisation account (what
//! `--controller` takes to Ready: moto starts no ECS task, so accounts with services never are).

use dataplatform_engine::{AccountObject, GrantObject, ObjectId};
use serde_json::{Value, json};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    Plain,
    Real,
    Shares,
}

pub struct Objects {
    pub accounts: Vec<AccountObject>,
    pub grants: Vec<GrantObject>,
}

const NAMESPACE: &str = "bench";
const ORGANISATION_ID: &str = "299999999999";

pub fn objects(mix: Mix, tenants: usize, region: &str) -> Objects {
    let mut accounts: Vec<AccountObject> = (0..tenants)
        .map(|i| {
            let account_id = format!("{:012}", 300_000_000_000u64 + i as u64);
            let spec = match mix {
                Mix::Real => with(base_spec(&account_id, region), tenant_parts(i)),
                Mix::Plain | Mix::Shares => base_spec(&account_id, region),
            };
            account(&format!("tenant-{i}"), spec)
        })
        .collect();
    let mut grants = Vec::new();
    if mix != Mix::Plain {
        let organisation = json!({
            "tier": "Organisation",
            "database": {"enabled": false},
            // Named by organisation: a pull statement naming each Child passes ECR's quota past
            // about 300 of them (issue 30).
            "registry": {"repositories": ["dagster", "code-server", "frontend"], "organizationId": "o-bench00000"},
        });
        accounts.push(account(
            "organisation",
            with(base_spec(ORGANISATION_ID, region), organisation),
        ));
        for i in 0..tenants {
            for (name, prefix) in [("exports", "exports/"), ("reports", "reports/")] {
                grants.push(grant(&format!("tenant-{i}-{name}"), &format!("tenant-{i}"), prefix));
            }
        }
    }
    Objects { accounts, grants }
}

/// Issue 36's scenario, as measured on a real API server: an Organisation account with a registry
/// and one service, a Child with a network, a database and three services (one exposed), and the
/// Child's grant to the Organisation.
pub fn time_to_ready(region: &str) -> Objects {
    let network = json!({"vpc": {"cidr": "10.20.0.0/16", "natGateway": "None"}});
    let organisation = json!({
        "tier": "Organisation",
        "database": {"enabled": false},
        "network": network,
        "registry": {"repositories": ["dagster"], "organizationId": "o-bench00000"},
        "services": [{"name": "portal", "image": "portal:1.0.0", "cpu": 256, "memory": 512}],
    });
    let child = with(tenant_parts(0), json!({"network": network}));
    Objects {
        accounts: vec![
            account("organisation", with(base_spec(ORGANISATION_ID, region), organisation)),
            account("tenant-0", with(base_spec("300000000000", region), child)),
        ],
        grants: vec![grant("tenant-0-exports", "tenant-0", "exports/")],
    }
}

fn base_spec(account_id: &str, region: &str) -> Value {
    json!({
        "accountId": account_id,
        "region": region,
        "roleArn": format!("arn:aws:iam::{account_id}:role/dataplatform-operator"),
        "tags": {"cost-centre": "bench"},
    })
}

/// `spec` with the fields of `extra` added.
fn with(mut spec: Value, extra: Value) -> Value {
    if let (Value::Object(fields), Value::Object(more)) = (&mut spec, extra) {
        fields.extend(more);
    }
    spec
}

/// Every other tenant encrypts with a key the operator makes and keeps access logs, so the bench
/// measures both key forms (and the key policy's and the log bucket's quotas).
fn tenant_parts(i: usize) -> Value {
    let storage = if i.is_multiple_of(2) {
        json!({"encryption": "Managed", "accessLogs": {"retentionDays": 365}})
    } else {
        json!({})
    };
    json!({
        "storage": storage,
        "network": {"vpc": {"cidr": "10.20.0.0/16", "natGateway": "None"}},
        "database": {"enabled": true, "deletionProtection": false},
        "services": [
            {"name": "daemon", "image": "dagster:1.9.0", "cpu": 512, "memory": 1024},
            {"name": "code-server", "image": "code-server:1.9.0", "cpu": 512, "memory": 1024, "port": 4000},
            {"name": "frontend", "image": "frontend:2.3.1", "cpu": 256, "memory": 512, "port": 8080,
             "expose": {"hosts": [format!("files.tenant-{i}.example.org")]}},
        ],
    })
}

fn account(name: &str, spec: Value) -> AccountObject {
    AccountObject {
        id: ObjectId {
            namespace: NAMESPACE.to_owned(),
            name: name.to_owned(),
        },
        generation: Some(1),
        annotations: Default::default(),
        spec: serde_json::from_value(spec).expect("the bench spec is valid"),
        status: None,
        child_accounts: Default::default(),
    }
}

fn grant(name: &str, account: &str, prefix: &str) -> GrantObject {
    let spec = json!({
        "accountRef": {"name": account},
        "grantee": {"accountId": ORGANISATION_ID},
        "prefixes": [prefix],
    });
    GrantObject {
        id: ObjectId {
            namespace: NAMESPACE.to_owned(),
            name: name.to_owned(),
        },
        generation: Some(1),
        annotations: Default::default(),
        spec: serde_json::from_value(spec).expect("the bench grant is valid"),
        status: None,
    }
}
