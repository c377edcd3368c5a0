//! Sign-in on exposed services against moto (`expose.signIn`): the listener rule authenticates with
//! the OIDC provider before it forwards, with the client secret read from Secrets Manager only when
//! the rule is written; a rotated secret rewrites the rule, other changes keep the secret the rule
//! holds; a missing secret holds the rule back; sign-in over HTTP is refused before any call.
//!
//! moto quirks met here: it accepts an authenticate action on an HTTP listener (AWS refuses it,
//! so we do first), and DescribeRules returns the client secret it was sent (AWS never does; the
//! operator never reads it, and these tests read it only to see what was sent).

use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, Listener, Rule};
use dataplatform_api::Scheme;
use dataplatform_api::names::AccountNames;
use dataplatform_engine::AccountObject;
use dataplatform_tests::{
    account_object, boto3, converge_running, engine, request_certificate, unique_account_id, unique_name,
};

const HOST: &str = "dagster.camden.example.org";
const ISSUER: &str = "https://login.microsoftonline.com/tenant-1/v2.0";

/// A Secrets Manager secret holding `{"client_secret": value}`; its ARN.
pub(crate) fn client_secret(account: &str, value: &str) -> String {
    let name = unique_name("sign-in");
    boto3(
        account,
        &format!(
            "print(client('secretsmanager').create_secret(Name='{name}', SecretString='{{\"client_secret\": \"{value}\"}}')['ARN'])"
        ),
    )
}

fn rotate(account: &str, arn: &str, value: &str) {
    boto3(
        account,
        &format!(
            "client('secretsmanager').put_secret_value(SecretId='{arn}', SecretString='{{\"client_secret\": \"{value}\"}}')"
        ),
    );
}

/// The webserver exposed on HOST, VPN-only and signed in, with `scope`.
fn spec(certificate: Option<&str>, secret_arn: &str, scope: &str) -> String {
    let balancer = certificate
        .map(|c| format!("loadBalancer: {{certificateArn: {c}}}\n"))
        .unwrap_or_default();
    format!(
        "network: {{vpc: {{cidr: 10.40.0.0/16}}}}\ndatabase: {{enabled: false}}\n{balancer}services:\n\
         - name: webserver\n  image: dagster:1.9.0\n  cpu: 256\n  memory: 512\n  port: 3000\n  expose:\n    hosts: [{HOST}]\n    allowedCidrs: [10.8.0.0/16]\n    signIn:\n      oidc:\n        issuer: {ISSUER}\n        authorizationEndpoint: https://login.microsoftonline.com/tenant-1/oauth2/v2.0/authorize\n        tokenEndpoint: https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token\n        userInfoEndpoint: https://graph.microsoft.com/oidc/userinfo\n        clientId: dagster-camden\n        clientSecret: {{secretArn: '{secret_arn}', jsonKey: client_secret}}\n        scope: {scope}\n"
    )
}

async fn elb(account: &str) -> aws_sdk_elasticloadbalancingv2::Client {
    aws_sdk_elasticloadbalancingv2::Client::new(&dataplatform_tests::Moto::shared().account_config(account).await)
}

/// The listeners of the object's internal load balancer.
pub(crate) async fn internal_listeners(object: &AccountObject) -> Vec<Listener> {
    let elb = elb(&object.spec.account_id).await;
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &object.spec.account_id);
    let balancers = elb
        .describe_load_balancers()
        .names(names.load_balancer(Scheme::Internal))
        .send()
        .await
        .expect("balancer");
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(balancers.load_balancers()[0].load_balancer_arn().unwrap_or_default())
        .send()
        .await
        .expect("listeners");
    listeners.listeners().to_vec()
}

/// The rules (but the default ones) of the internal balancer's listener on `port`.
pub(crate) async fn rules_on(object: &AccountObject, port: i32) -> Vec<Rule> {
    let listeners = internal_listeners(object).await;
    let Some(listener) = listeners.iter().find(|l| l.port() == Some(port)) else {
        return vec![];
    };
    let found = elb(&object.spec.account_id)
        .await
        .describe_rules()
        .listener_arn(listener.listener_arn().unwrap_or_default())
        .send()
        .await
        .expect("rules");
    found
        .rules()
        .iter()
        .filter(|r| r.is_default() != Some(true))
        .cloned()
        .collect()
}

/// The one rule that forwards to the webserver.
async fn the_rule(object: &AccountObject) -> Rule {
    let found = rules_on(object, 443).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    found[0].clone()
}

fn oidc(rule: &Rule) -> Option<&Action> {
    rule.actions()
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::AuthenticateOidc))
}

/// What the rule holds as its client secret (moto returns it; AWS does not).
fn secret_sent(rule: &Rule) -> Option<String> {
    oidc(rule)?
        .authenticate_oidc_config()?
        .client_secret()
        .map(str::to_owned)
}

async fn rule_tags(account: &str, rule: &Rule) -> std::collections::BTreeMap<String, String> {
    let described = elb(account)
        .await
        .describe_tags()
        .resource_arns(rule.rule_arn().unwrap_or_default())
        .send()
        .await
        .expect("tags");
    described.tag_descriptions()[0]
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_signed_in_service_is_authenticated_before_it_is_forwarded_and_the_secret_is_shown_nowhere() {
    let engine = engine().await;
    let account = unique_account_id();
    let certificate = request_certificate(&account, HOST);
    let value = format!("client-secret-{}", unique_name("v"));
    let secret = client_secret(&account, &value);
    let mut object = account_object(&account, &spec(Some(&certificate), &secret, "openid email"));

    let plan = engine.plan(&object).await.expect("plan");
    assert!(!format!("{}", plan.diff.plan).is_empty());
    converge_running(&engine, &mut object).await;

    // Sign in first, then forward; the secret sent is the JSON key's value.
    let rule = the_rule(&object).await;
    let orders: Vec<(String, Option<i32>)> = rule
        .actions()
        .iter()
        .map(|a| (a.r#type().map(|t| t.as_str().to_owned()).unwrap_or_default(), a.order()))
        .collect();
    assert_eq!(
        orders,
        [
            ("authenticate-oidc".to_owned(), Some(1)),
            ("forward".to_owned(), Some(2))
        ]
    );
    let config = oidc(&rule)
        .and_then(|a| a.authenticate_oidc_config())
        .expect("oidc config");
    assert_eq!(config.issuer(), Some(ISSUER));
    assert_eq!(config.client_id(), Some("dagster-camden"));
    assert_eq!(
        config.user_info_endpoint(),
        Some("https://graph.microsoft.com/oidc/userinfo")
    );
    assert_eq!(
        (config.scope(), config.session_timeout()),
        (Some("openid email"), Some(604_800))
    );
    assert_eq!(secret_sent(&rule).as_deref(), Some(value.as_str()));
    let tags = rule_tags(&account, &rule).await;
    assert_eq!(
        tags.get("dataplatform.io/client-secret-digest").map(String::len),
        Some(24),
        "{tags:?}"
    );
    assert!(!tags.values().any(|v| v.contains(&value)));
    // Nothing is on port 80 but the redirect: nobody reaches the service without signing in.
    assert!(rules_on(&object, 80).await.is_empty());

    // Status: the callback to register, and nowhere the secret.
    let status = object.status.clone().expect("status");
    let webserver = status
        .services
        .iter()
        .find(|s| s.name == "webserver")
        .expect("webserver");
    assert_eq!(
        webserver.sign_in_callback_url.as_deref(),
        Some("https://dagster.camden.example.org/oauth2/idpresponse")
    );
    assert_eq!(webserver.url.as_deref(), Some("https://dagster.camden.example.org/"));
    let text = serde_json::to_string(&status).expect("status as JSON");
    assert!(!text.contains(&value), "{text}");

    // Steady state: which version is current is read, the value is not.
    let calls = dataplatform_tests::steady_pass(&engine, &object).await;
    assert_eq!(
        (calls.of("DescribeSecret"), calls.of("GetSecretValue")),
        (1, 0),
        "{calls:?}"
    );
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

#[tokio::test]
async fn a_rotated_secret_rewrites_the_rule_and_other_changes_keep_the_secret_it_holds() {
    let engine = engine().await;
    let account = unique_account_id();
    let certificate = request_certificate(&account, HOST);
    let secret = client_secret(&account, "first-value");
    let mut object = account_object(&account, &spec(Some(&certificate), &secret, "openid"));
    converge_running(&engine, &mut object).await;
    let digest =
        |tags: std::collections::BTreeMap<String, String>| tags["dataplatform.io/client-secret-digest"].clone();
    let first_digest = digest(rule_tags(&account, &the_rule(&object).await).await);

    // Rotation: the next pass reads the new value once and writes the rule with it.
    rotate(&account, &secret, "second-value");
    engine.sessions().counter().reset();
    let pass = engine.reconcile(&object, Default::default()).await;
    object.status = Some(pass.status.clone());
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let changed: Vec<&str> = pass
        .applied
        .iter()
        .flat_map(|a| &a.changes)
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(changed, ["signIn.oidc.clientSecret"], "{:?}", pass.applied);
    assert_eq!(engine.sessions().counter().snapshot().of("GetSecretValue"), 1);
    let rule = the_rule(&object).await;
    assert_eq!(secret_sent(&rule).as_deref(), Some("second-value"));
    assert_ne!(digest(rule_tags(&account, &rule).await), first_digest);
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.applied.is_empty(), "written once: {:?}", pass.applied);

    // Another setting: the rule keeps the secret it holds, which is not read.
    object.spec = account_object(&account, &spec(Some(&certificate), &secret, "openid profile")).spec;
    object.status = Some(pass.status.clone());
    engine.sessions().counter().reset();
    let pass = engine.reconcile(&object, Default::default()).await;
    object.status = Some(pass.status.clone());
    assert!(pass.error.is_none(), "{:?}", pass.error);
    assert_eq!(engine.sessions().counter().snapshot().of("GetSecretValue"), 0);
    let rule = the_rule(&object).await;
    let config = oidc(&rule).and_then(|a| a.authenticate_oidc_config()).expect("oidc");
    assert_eq!(config.scope(), Some("openid profile"));
    assert_eq!(
        (config.use_existing_client_secret(), config.client_secret()),
        (Some(true), None),
        "moto keeps what it was sent: the secret was not sent again"
    );

    // Sign-in taken off the rule by hand: put back, with the secret read again.
    let group = rule
        .actions()
        .iter()
        .find_map(|a| a.target_group_arn())
        .expect("forwards");
    let forward_only = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(group)
        .build();
    elb(&account)
        .await
        .modify_rule()
        .rule_arn(rule.rule_arn().unwrap_or_default())
        .actions(forward_only)
        .send()
        .await
        .expect("sign-in removed by hand");
    assert!(oidc(&the_rule(&object).await).is_none());
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let rule = the_rule(&object).await;
    assert_eq!(secret_sent(&rule).as_deref(), Some("second-value"));
    assert!(
        pass.status.drift.iter().any(|d| d.contains("elb:rule/webserver")),
        "reported as drift: {:?}",
        pass.status.drift
    );
}

/// Fail closed: a service that is reached without sign-in today and asks for it with a secret that
/// is not there is not reachable until the secret is.
#[tokio::test]
async fn a_missing_client_secret_holds_the_rule_back_and_says_which() {
    let engine = engine().await;
    let account = unique_account_id();
    let certificate = request_certificate(&account, HOST);
    let missing = format!(
        "arn:aws:secretsmanager:{}:{account}:secret:not-there-AbCdEf",
        dataplatform_tests::TEST_REGION
    );
    let open = spec(Some(&certificate), &missing, "openid");
    let open = open[..open.find("    signIn:").expect("signIn")].to_owned();
    let mut object = account_object(&account, &open);
    converge_running(&engine, &mut object).await;
    assert_eq!(rules_on(&object, 443).await.len(), 1, "reached without sign-in");
    object.spec = account_object(&account, &spec(Some(&certificate), &missing, "openid")).spec;
    let mut last = None;
    for _ in 0..6 {
        let pass = engine.reconcile(&object, Default::default()).await;
        object.status = Some(pass.status.clone());
        assert!(pass.error.is_none(), "{:?}", pass.error);
        last = Some(pass);
    }
    let pass = last.expect("passes");
    assert!(!pass.ready);
    assert!(
        rules_on(&object, 443).await.is_empty(),
        "no rule forwards without its sign-in: the open one is gone"
    );
    let ready = pass
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready");
    assert!(
        ready.message.contains("client secret") && ready.message.contains("not-there"),
        "{}",
        ready.message
    );
}

#[tokio::test]
async fn sign_in_over_http_is_refused_before_any_call() {
    let engine = engine().await;
    let account = unique_account_id();
    let secret = format!(
        "arn:aws:secretsmanager:{}:{account}:secret:x-AbCdEf",
        dataplatform_tests::TEST_REGION
    );
    let object = account_object(&account, &spec(None, &secret, "openid"));
    engine.sessions().counter().reset();
    let pass = engine.reconcile(&object, Default::default()).await;
    let error = pass.error.expect("refused").to_string();
    assert!(
        error.contains("spec.loadBalancer.certificateArn") && error.contains("HTTPS"),
        "{error}"
    );
    assert_eq!(engine.sessions().counter().snapshot().total(), 0, "no AWS call");
}
