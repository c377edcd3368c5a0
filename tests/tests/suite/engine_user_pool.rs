//! Sign-in through the account's Cognito user pool against moto (`spec.userPool`,
//! `expose.signIn.userPool`): the pool, its domain, its SAML provider and the load balancers' app
//! client are made; the listener rule authenticates with the pool before it forwards; the client is
//! put back when changed by hand; a domain prefix another pool holds is refused; under Delete the
//! domain goes before the pool; a create whose answer is lost makes one pool, not two.
//!
//! moto quirks met here: it lets a second pool take a domain prefix another holds and deletes a
//! pool that still has a domain (AWS refuses both; the operator never asks either, and these tests
//! check the domain in moto after each), and it returns the app client's secret (as AWS does; the
//! operator never keeps it).

use aws_sdk_cognitoidentityprovider::types::OAuthFlowType;
use aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum;
use dataplatform_api::names::AccountNames;
use dataplatform_engine::AccountObject;
use dataplatform_tests::{
    Moto, account_object, boto3, converge_running, engine, request_certificate, unique_account_id, unique_name,
};

const HOST: &str = "dagster.camden.example.org";
const FILES: &str = "files.camden.example.org";
const METADATA: &str =
    "https://login.microsoftonline.com/tenant-1/federationmetadata/2007-06/federationmetadata.xml?appid=app-1";

/// The webserver on `hosts`, VPN-only and signed in through the pool of `prefix`.
fn spec(certificate: &str, prefix: &str, hosts: &str) -> String {
    format!(
        "network: {{vpc: {{cidr: 10.40.0.0/16}}}}\ndatabase: {{enabled: false}}\ndeletionPolicy: Delete\nloadBalancer: {{certificateArn: {certificate}}}\n\
         userPool: {{domainPrefix: {prefix}, saml: {{providerName: EntraID, metadataUrl: '{METADATA}'}}}}\nservices:\n\
         - name: webserver\n  image: dagster:1.9.0\n  cpu: 256\n  memory: 512\n  port: 3000\n  expose:\n    hosts: [{hosts}]\n    allowedCidrs: [10.8.0.0/16]\n    signIn: {{userPool: true}}\n"
    )
}

/// A domain prefix no other test takes (prefixes are region-wide in moto too).
fn prefix() -> String {
    unique_name("camden").to_ascii_lowercase()
}

async fn cognito(account: &str) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::new(&Moto::shared().account_config(account).await)
}

/// The ids of the pools named for the object.
async fn our_pools(object: &AccountObject) -> Vec<String> {
    let name = AccountNames::new(&object.id.namespace, &object.id.name, &object.spec.account_id).user_pool();
    let listed = cognito(&object.spec.account_id)
        .await
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("pools");
    listed
        .user_pools()
        .iter()
        .filter(|p| p.name() == Some(name.as_str()))
        .filter_map(|p| p.id().map(str::to_owned))
        .collect()
}

/// The pool a domain prefix belongs to, if any.
async fn domain_owner(account: &str, prefix: &str) -> Option<String> {
    let described = cognito(account)
        .await
        .describe_user_pool_domain()
        .domain(prefix)
        .send()
        .await
        .expect("domain");
    described
        .domain_description()
        .and_then(|d| d.user_pool_id())
        .map(str::to_owned)
}

/// The pool's one app client.
async fn the_client(account: &str, pool: &str) -> aws_sdk_cognitoidentityprovider::types::UserPoolClientType {
    let cognito = cognito(account).await;
    let listed = cognito
        .list_user_pool_clients()
        .user_pool_id(pool)
        .send()
        .await
        .expect("clients");
    let ours: Vec<&str> = listed
        .user_pool_clients()
        .iter()
        .filter(|c| c.client_name() == Some("load-balancers"))
        .filter_map(|c| c.client_id())
        .collect();
    assert_eq!(ours.len(), 1, "{listed:?}");
    let id = ours[0];
    let described = cognito
        .describe_user_pool_client()
        .user_pool_id(pool)
        .client_id(id)
        .send()
        .await
        .expect("client");
    described.user_pool_client().cloned().expect("client")
}

fn callbacks(client: &aws_sdk_cognitoidentityprovider::types::UserPoolClientType) -> Vec<String> {
    let mut urls = client.callback_urls().to_vec();
    urls.sort();
    urls
}

#[tokio::test]
async fn the_user_pool_signs_people_in_through_its_saml_provider_and_is_put_back_when_changed() {
    let engine = engine().await;
    let account = unique_account_id();
    let certificate = request_certificate(&account, HOST);
    let prefix = prefix();
    let mut object = account_object(&account, &spec(&certificate, &prefix, HOST));
    converge_running(&engine, &mut object).await;

    // One pool, owning the domain; its SAML provider; the load balancers' client.
    let pools = our_pools(&object).await;
    assert_eq!(pools.len(), 1, "{pools:?}");
    let pool = pools[0].clone();
    assert_eq!(domain_owner(&account, &prefix).await.as_deref(), Some(pool.as_str()));
    let provider = cognito(&account)
        .await
        .describe_identity_provider()
        .user_pool_id(&pool)
        .provider_name("EntraID")
        .send()
        .await
        .expect("provider");
    let provider = provider.identity_provider().expect("provider");
    assert_eq!(provider.provider_type().map(|t| t.as_str()), Some("SAML"));
    assert_eq!(
        provider
            .provider_details()
            .and_then(|d| d.get("MetadataURL"))
            .map(String::as_str),
        Some(METADATA)
    );
    let client = the_client(&account, &pool).await;
    assert_eq!(callbacks(&client), [format!("https://{HOST}/oauth2/idpresponse")]);
    assert_eq!(client.allowed_o_auth_flows(), [OAuthFlowType::Code]);
    assert_eq!(client.allowed_o_auth_flows_user_pool_client(), Some(true));
    assert_eq!(client.supported_identity_providers(), ["EntraID"]);
    assert!(
        client.client_secret().is_some_and(|s| !s.is_empty()),
        "the load balancers need a secret"
    );

    // The rule: the pool's sign-in first, then forward.
    let rules = crate::engine_sign_in::rules_on(&object, 443).await;
    assert_eq!(rules.len(), 1, "{rules:#?}");
    let actions = rules[0].actions();
    let cognito_action = actions
        .iter()
        .find(|a| a.r#type() == Some(&ActionTypeEnum::AuthenticateCognito))
        .expect("authenticate-cognito");
    assert_eq!(cognito_action.order(), Some(1));
    let config = cognito_action.authenticate_cognito_config().expect("config");
    let status = object.status.clone().expect("status");
    let shown = status.user_pool.clone().expect("status.userPool");
    assert_eq!(config.user_pool_arn(), Some(shown.arn.as_str()));
    assert_eq!(config.user_pool_client_id(), client.client_id());
    assert_eq!(config.user_pool_domain(), Some(prefix.as_str()));
    assert!(
        actions
            .iter()
            .any(|a| a.r#type() == Some(&ActionTypeEnum::Forward) && a.order() == Some(2))
    );

    // Status: what to register at the identity provider; never the client's secret.
    assert_eq!(shown.id, pool);
    assert_eq!(shown.saml_entity_id, format!("urn:amazon:cognito:sp:{pool}"));
    assert_eq!(
        shown.saml_reply_url,
        Some(format!(
            "https://{prefix}.auth.eu-west-2.amazoncognito.com/saml2/idpresponse"
        ))
    );
    let text = serde_json::to_string(&status).expect("status as JSON");
    assert!(!text.contains(client.client_secret().unwrap_or("-")), "{text}");

    let calls = dataplatform_tests::steady_pass(&engine, &object).await;
    assert_eq!(calls.of("GetSecretValue"), 0, "{calls:?}");
    dataplatform_tests::assert_every_call_is_catalogued(&engine);

    // By hand: the client's callbacks and the provider's metadata change; both are put back.
    let id = client.client_id().unwrap_or_default();
    boto3(
        &account,
        &format!(
            "client('cognito-idp').update_user_pool_client(UserPoolId='{pool}', ClientId='{id}', CallbackURLs=['https://elsewhere.example.org/cb'], AllowedOAuthFlows=['implicit'], AllowedOAuthScopes=['openid'], SupportedIdentityProviders=['EntraID'], AllowedOAuthFlowsUserPoolClient=True)"
        ),
    );
    boto3(
        &account,
        &format!(
            "client('cognito-idp').update_identity_provider(UserPoolId='{pool}', ProviderName='EntraID', ProviderDetails={{'MetadataURL': 'https://elsewhere.example.org/metadata.xml'}})"
        ),
    );
    let pass = engine.reconcile(&object, Default::default()).await;
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let changed: Vec<&str> = pass
        .applied
        .iter()
        .flat_map(|a| &a.changes)
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(
        changed,
        ["saml.metadataUrl", "callbackUrls", "scopes", "codeGrant"],
        "{:?}",
        pass.applied
    );
    let client = the_client(&account, &pool).await;
    assert_eq!(callbacks(&client), [format!("https://{HOST}/oauth2/idpresponse")]);
    assert_eq!(client.allowed_o_auth_flows(), [OAuthFlowType::Code]);

    // A client and a provider added by hand are someone else's; a second host's callback is allowed
    // in our client; a renamed provider replaces ours.
    boto3(
        &account,
        &format!(
            "c = client('cognito-idp'); c.create_user_pool_client(UserPoolId='{pool}', ClientName='reporting'); c.create_identity_provider(UserPoolId='{pool}', ProviderName='Partner', ProviderType='SAML', ProviderDetails={{'MetadataURL': 'https://partner.example.org/metadata.xml'}})"
        ),
    );
    let renamed = spec(&certificate, &prefix, &format!("{HOST}, {FILES}"))
        .replace("providerName: EntraID", "providerName: EntraID-2");
    object.spec = account_object(&account, &renamed).spec;
    object.status = Some(pass.status);
    converge_running(&engine, &mut object).await;
    let client = the_client(&account, &pool).await;
    assert_eq!(
        callbacks(&client),
        [
            format!("https://{HOST}/oauth2/idpresponse"),
            format!("https://{FILES}/oauth2/idpresponse")
        ]
    );
    assert_eq!(client.supported_identity_providers(), ["EntraID-2"]);
    let providers = cognito(&account)
        .await
        .list_identity_providers()
        .user_pool_id(&pool)
        .send()
        .await
        .expect("providers");
    let mut names: Vec<&str> = providers.providers().iter().filter_map(|p| p.provider_name()).collect();
    names.sort();
    assert_eq!(names, ["EntraID-2", "Partner"]);
    let clients = cognito(&account)
        .await
        .list_user_pool_clients()
        .user_pool_id(&pool)
        .send()
        .await
        .expect("clients");
    assert!(
        clients
            .user_pool_clients()
            .iter()
            .any(|c| c.client_name() == Some("reporting"))
    );
    assert_eq!(our_pools(&object).await, [pool]);
}

#[tokio::test]
async fn a_prefix_another_pool_holds_is_refused_and_deletion_takes_the_domain_before_the_pool() {
    let engine = engine().await;
    let account = unique_account_id();
    let certificate = request_certificate(&account, HOST);
    let taken = prefix();
    boto3(
        &account,
        &format!(
            "c = client('cognito-idp'); p = c.create_user_pool(PoolName='someone-elses')['UserPool']['Id']; c.create_user_pool_domain(UserPoolId=p, Domain='{taken}')"
        ),
    );
    let mut object = account_object(&account, &spec(&certificate, &taken, HOST));
    let pass = engine.reconcile(&object, Default::default()).await;
    let said = format!("{:?} {:?}", pass.error, pass.status.conditions);
    assert!(said.contains("belongs to user pool"), "{said}");
    assert!(our_pools(&object).await.is_empty(), "nothing made for a taken prefix");
    assert!(
        !pass.applied.iter().any(|a| a.resource.contains("rule")),
        "no rule forwards without the sign-in: {:?}",
        pass.applied
    );

    let free = prefix();
    object.spec = account_object(&account, &spec(&certificate, &free, HOST)).spec;
    object.status = Some(pass.status);
    converge_running(&engine, &mut object).await;
    let pool = our_pools(&object).await.pop().expect("pool");
    assert_eq!(domain_owner(&account, &free).await, Some(pool));

    dataplatform_tests::delete_until_finished(&engine, &object).await;
    assert!(our_pools(&object).await.is_empty());
    assert_eq!(
        domain_owner(&account, &free).await,
        None,
        "the domain is deleted with the pool"
    );
    assert!(
        domain_owner(&account, &taken).await.is_some(),
        "someone else's domain is kept"
    );
}

#[tokio::test]
async fn a_pool_whose_create_answer_is_lost_is_made_once() {
    let proxy = Moto::shared().losing_answers("CreateUserPool", 1).expect("fault proxy");
    let engine = proxy.engine().await;
    let account = unique_account_id();
    let certificate = request_certificate(&account, HOST);
    let mut object = account_object(&account, &spec(&certificate, &prefix(), HOST));
    converge_running(&engine, &mut object).await;
    assert_eq!(our_pools(&object).await.len(), 1);
    assert_eq!(
        engine.sessions().counter().snapshot().of("CreateUserPool"),
        1,
        "found, not sent again"
    );
}
