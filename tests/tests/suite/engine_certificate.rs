//! The load balancers' certificate requested by the operator against moto: with a zone the account
//! has and no certificate named, an ACM certificate for the exposed hosts, validated by records the
//! operator writes in the zone; the HTTPS listeners wait until it is issued, then use it (HTTP
//! redirects there); under Delete it goes after the load balancers.
//!
//! moto quirks met here: it issues a DNS-validated certificate after a wait whatever the zone holds
//! (tests/support/moto_server.py sets the wait to a second), so that the operator wrote the
//! validation records is checked in the zone, not by the issue.

use dataplatform_api::names::AccountNames;
use dataplatform_engine::AccountObject;
use dataplatform_tests::{Moto, account_object, engine, start_tasks, unique_account_id};

/// Passes a second apart (moto issues the certificate after one) until one finds nothing to do.
async fn settle(engine: &dataplatform_engine::Engine, object: &mut AccountObject) -> Vec<String> {
    let cluster = AccountNames::new(&object.id.namespace, &object.id.name, &object.spec.account_id).ecs_cluster();
    let mut waits = Vec::new();
    for _ in 0..10 {
        let pass = engine.reconcile(object, Default::default()).await;
        object.status = Some(pass.status.clone());
        assert!(pass.error.is_none(), "{:?}", pass.error);
        let ready = pass
            .status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.message.clone());
        waits.extend(ready);
        if pass.applied.is_empty() && pass.ready {
            return waits;
        }
        if pass.status.cluster.is_some() {
            start_tasks(&object.spec.account_id, &cluster).await;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    panic!("did not settle: {waits:?}");
}

#[tokio::test]
async fn a_zone_the_account_has_gets_a_certificate_the_https_listeners_wait_for() {
    let engine = engine().await;
    let account = unique_account_id();
    let zone = crate::engine_dns::public_zone(&account, "camden.example.org").await;
    let spec = format!(
        "network: {{vpc: {{cidr: 10.40.0.0/16}}}}\ndatabase: {{enabled: false}}\ndeletionPolicy: Delete\ndns: {{hostedZoneId: {zone}}}\nservices:\n\
         - {{name: frontend, image: nginx:1.27, cpu: 256, memory: 512, port: 8080, expose: {{hosts: [files.camden.example.org, dagster.camden.example.org]}}}}\n"
    );
    let mut object = account_object(&account, &spec);
    let waits = settle(&engine, &mut object).await;
    assert!(
        waits
            .iter()
            .any(|w| w.contains("certificate for dagster.camden.example.org, files.camden.example.org is")),
        "Ready said it waited for the certificate: {waits:?}"
    );
    let status = object.status.clone().unwrap();
    let certificate = status.certificate.clone().expect("status.certificate");
    assert_eq!(certificate.status, "ISSUED");
    assert_eq!(
        certificate.names,
        ["dagster.camden.example.org", "files.camden.example.org"]
    );

    // ACM's validation records are in the zone.
    let config = Moto::shared().account_config(&account).await;
    let acm = aws_sdk_acm::Client::new(&config);
    let described = acm
        .describe_certificate()
        .certificate_arn(&certificate.arn)
        .send()
        .await
        .expect("certificate");
    let wanted: std::collections::BTreeSet<String> = described
        .certificate()
        .unwrap()
        .domain_validation_options()
        .iter()
        .filter_map(|o| o.resource_record().map(|r| r.name().trim_end_matches('.').to_owned()))
        .collect();
    let route53 = aws_sdk_route53::Client::new(&config);
    let records = route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .expect("records");
    let cnames: std::collections::BTreeSet<String> = records
        .resource_record_sets()
        .iter()
        .filter(|r| r.r#type().as_str() == "CNAME")
        .map(|r| r.name().trim_end_matches('.').to_owned())
        .collect();
    assert!(
        !wanted.is_empty() && wanted.is_subset(&cnames),
        "{wanted:?} in {cnames:?}"
    );

    // HTTPS with it, and HTTP redirecting there; the URL says https.
    let listeners = crate::engine_sign_in::internal_listeners(&object).await;
    let mut seen: Vec<(i32, Option<String>)> = listeners
        .iter()
        .map(|l| {
            (
                l.port().unwrap_or_default(),
                l.certificates()
                    .first()
                    .and_then(|c| c.certificate_arn().map(str::to_owned)),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen, [(80, None), (443, Some(certificate.arn.clone()))]);
    let url = status
        .services
        .iter()
        .find(|s| s.name == "frontend")
        .and_then(|s| s.url.clone());
    assert_eq!(url.as_deref(), Some("https://files.camden.example.org/"));
    dataplatform_tests::steady_pass(&engine, &object).await;

    // Deletion: the load balancer, then the certificate.
    dataplatform_tests::delete_until_finished(&engine, &object).await;
    let gone = acm
        .describe_certificate()
        .certificate_arn(&certificate.arn)
        .send()
        .await;
    assert!(gone.is_err(), "the certificate is deleted");
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

/// ACM validates public names only: a private zone the account has cannot bring a certificate, and
/// that is said before any write.
#[tokio::test]
async fn a_private_zone_cannot_bring_a_certificate() {
    let engine = engine().await;
    let account = unique_account_id();
    let config = Moto::shared().account_config(&account).await;
    let vpcs = aws_sdk_ec2::Client::new(&config)
        .describe_vpcs()
        .send()
        .await
        .expect("vpcs");
    let vpc = vpcs.vpcs()[0].vpc_id().unwrap_or_default().to_owned();
    let route53 = aws_sdk_route53::Client::new(&config);
    let made = route53
        .create_hosted_zone()
        .name("camden.example.org")
        .caller_reference(dataplatform_tests::unique_name("zone"))
        .hosted_zone_config(
            // moto fails (500) on a private zone's create without a comment.
            aws_sdk_route53::types::HostedZoneConfig::builder()
                .comment("the network team's")
                .private_zone(true)
                .build(),
        )
        .vpc(
            aws_sdk_route53::types::Vpc::builder()
                .vpc_id(vpc)
                .vpc_region(aws_sdk_route53::types::VpcRegion::EuWest2)
                .build(),
        )
        .send()
        .await
        .expect("private zone");
    let zone = made
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned();
    let spec = format!(
        "network: {{vpc: {{cidr: 10.40.0.0/16}}}}\ndatabase: {{enabled: false}}\ndns: {{hostedZoneId: {zone}}}\nservices:\n\
         - {{name: frontend, image: nginx:1.27, cpu: 256, memory: 512, port: 8080, expose: {{hosts: [files.camden.example.org]}}}}\n"
    );
    let refused = engine
        .plan(&account_object(&account, &spec))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("spec.loadBalancer.certificateArn") && refused.contains("private zone"),
        "{refused}"
    );
}
