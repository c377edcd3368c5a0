//! A sign-in rule's client secret reaches ELB and nothing people or tools read: the controller runs
//! an account with a signed-in service to Ready against moto while every log line is kept (at
//! `trace`, through the operator's own filter), then the status, the events and the logs are
//! searched for the secret's value.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::controller::{ACCOUNTS, account_json, account_spec, context};
use crate::support::ApiServer;
use dataplatform_api::DataPlatformAccount;
use dataplatform_operator::controller::account;
use dataplatform_tests::{Moto, boto3, request_certificate, unique_account_id, unique_name};
use serde_json::json;
use tracing::instrument::WithSubscriber;

/// A log writer into shared memory.
#[derive(Clone, Default)]
struct Kept(Arc<Mutex<Vec<u8>>>);

impl Write for Kept {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_client_secret_is_in_no_status_event_or_log_line_of_a_run() {
    let account_id = unique_account_id();
    let host = "dagster.camden.example.org";
    let certificate = request_certificate(&account_id, host);
    let value = format!("never-show-{}", unique_name("secret"));
    let secret_arn = boto3(
        &account_id,
        &format!(
            "print(client('secretsmanager').create_secret(Name='{}', SecretString='{value}')['ARN'])",
            unique_name("sign-in")
        ),
    );
    let mut spec = account_spec(&account_id);
    let extra = json!({
        "network": {"vpc": {"cidr": "10.40.0.0/16"}},
        "database": {"enabled": false},
        "loadBalancer": {"certificateArn": certificate},
        "services": [{
            "name": "webserver", "image": "dagster:1.9.0", "cpu": 256, "memory": 512, "port": 3000,
            "expose": {"hosts": [host], "signIn": {"oidc": {
                "issuer": "https://login.example.org",
                "authorizationEndpoint": "https://login.example.org/authorize",
                "tokenEndpoint": "https://login.example.org/token",
                "userInfoEndpoint": "https://login.example.org/userinfo",
                "clientId": "dagster",
                "clientSecret": {"secretArn": secret_arn},
            }}},
        }],
    });
    spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (client, server) = ApiServer::start();
    let (namespace, name) = ("tenant", unique_name("camden"));
    server.create(ACCOUNTS, account_json(namespace, &name, spec));

    let logs = Kept::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(dataplatform_operator::log_filter(Some("trace"), "info"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let cluster = dataplatform_api::names::AccountNames::new(namespace, &name, &account_id).ecs_cluster();
    let ready = async {
        let stored = || -> DataPlatformAccount {
            serde_json::from_value(server.get(ACCOUNTS, namespace, &name).unwrap()).unwrap()
        };
        let ctx = context(client, &[stored()]).await;
        for _ in 0..10 {
            let _ = account::reconcile(Arc::new(stored()), ctx.clone()).await;
            let object = server.get(ACCOUNTS, namespace, &name).unwrap();
            if object["status"]["cluster"].is_object() {
                Moto::shared().start_tasks(&account_id, &cluster).await;
            }
            let conditions = object["status"]["conditions"].as_array().cloned().unwrap_or_default();
            if conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True") {
                return true;
            }
        }
        false
    }
    .with_subscriber(subscriber)
    .await;
    assert!(
        ready,
        "Ready: {}",
        server.get(ACCOUNTS, namespace, &name).unwrap()["status"]
    );

    // The secret went to ELB (moto returns it; AWS would not)...
    let sent = boto3(
        &account_id,
        "e = client('elbv2')\n\
         for lb in e.describe_load_balancers()['LoadBalancers']:\n\
         \x20   for l in e.describe_listeners(LoadBalancerArn=lb['LoadBalancerArn'])['Listeners']:\n\
         \x20       for r in e.describe_rules(ListenerArn=l['ListenerArn'])['Rules']:\n\
         \x20           for a in r['Actions']:\n\
         \x20               print(a.get('AuthenticateOidcConfig', {}).get('ClientSecret', ''))",
    );
    assert!(sent.contains(&value), "the rule holds the secret: {sent}");
    // ...and nowhere else.
    let status = server.get(ACCOUNTS, namespace, &name).unwrap()["status"].to_string();
    assert!(status.contains("/oauth2/idpresponse"), "{status}");
    assert!(!status.contains(&value), "status: {status}");
    let events = serde_json::to_string(&server.events()).unwrap();
    assert!(events.contains("Created"), "{events}");
    assert!(!events.contains(&value), "events: {events}");
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("AWS action done") && logged.contains("elb:rule/webserver"),
        "the logs were kept: {} bytes",
        logged.len()
    );
    assert!(!logged.contains(&value), "a log line holds the secret");
}
