//! Names against moto (`spec.dns`): each exposed host gets an alias record to its load balancer and
//! an owner record beside it, in a zone the account has or a private zone the operator makes for
//! the VPC; records that are not ours are never touched; a record changed by hand is put back; a
//! host that leaves the spec loses its records; deletion takes our records and our zone.
//!
//! moto quirks met here: it refuses a CREATE over an existing record only when the very same
//! change was made before (AWS always refuses it), so the operator never counts on that refusal:
//! it reads the zone and leaves records without its owner record alone.

use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};
use dataplatform_api::Scheme;
use dataplatform_api::names::AccountNames;
use dataplatform_engine::{AccountObject, ReconcileError};
use dataplatform_tests::{Moto, account_object, converge_running, engine, unique_account_id};

const NETWORK: &str = "network: {vpc: {cidr: 10.40.0.0/16}}\ndatabase: {enabled: false}\n";

fn spec(dns: &str, frontend_hosts: &str, webserver_hosts: &str) -> String {
    let quoted = |hosts: &str| {
        let hosts: Vec<String> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| format!("'{h}'"))
            .collect();
        hosts.join(", ")
    };
    let (frontend_hosts, webserver_hosts) = (quoted(frontend_hosts), quoted(webserver_hosts));
    format!(
        "{NETWORK}dns: {dns}\nservices:\n\
         - {{name: frontend, image: nginx:1.27, cpu: 256, memory: 512, port: 8080, expose: {{hosts: [{frontend_hosts}]}}}}\n\
         - {{name: webserver, image: dagster:1.9.0, cpu: 256, memory: 512, port: 3000, replicas: 0, expose: {{path: /dagster/*, hosts: [{webserver_hosts}]}}}}\n"
    )
}

async fn route53(account: &str) -> aws_sdk_route53::Client {
    aws_sdk_route53::Client::new(&Moto::shared().account_config(account).await)
}

pub(crate) async fn public_zone(account: &str, name: &str) -> String {
    let made = route53(account)
        .await
        .create_hosted_zone()
        .name(name)
        .caller_reference(dataplatform_tests::unique_name("zone"))
        .send()
        .await
        .expect("zone");
    made.hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_owned()
}

/// A plain record someone else wrote: `kind` with one value.
async fn write_record(account: &str, zone: &str, name: &str, kind: RrType, value: &str) {
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(kind)
        .ttl(60)
        .resource_records(ResourceRecord::builder().value(value).build().unwrap())
        .build()
        .unwrap();
    let change = Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(set)
        .build()
        .unwrap();
    route53(account)
        .await
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(ChangeBatch::builder().changes(change).build().unwrap())
        .send()
        .await
        .expect("record written");
}

/// The zone's record sets but SOA, NS and CNAME as (name, type, alias target or values), read with boto3: the SDK reads
/// moto's values (sent in CDATA) as empty. The owner label `_dataplatform-<hash>` is written `_dp`.
fn records(account: &str, zone: &str) -> Vec<(String, String, String)> {
    let listed = dataplatform_tests::boto3(
        account,
        &format!(
            "for r in client('route53').list_resource_record_sets(HostedZoneId='{zone}')['ResourceRecordSets']:\n\
             \x20   what = 'alias ' + r['AliasTarget']['DNSName'].rstrip('.') if 'AliasTarget' in r else ' '.join(v['Value'] for v in r.get('ResourceRecords', []))\n\
             \x20   print(r['Name'].rstrip('.') + '|' + r['Type'] + '|' + what)"
        ),
    );
    let mut found: Vec<(String, String, String)> = listed
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, '|');
            let (name, kind, what) = (fields.next()?, fields.next()?, fields.next()?);
            let name = match name.split_once('.') {
                Some((label, rest)) if label.starts_with("_dataplatform-") => {
                    let wildcard = if label.ends_with("-wildcard") { "-wildcard" } else { "" };
                    format!("_dp{wildcard}.{rest}")
                }
                _ => name.to_owned(),
            };
            Some((name, kind.to_owned(), what.to_owned()))
        })
        // The zone also holds the validation CNAMEs of the certificate the operator requests for a
        // zone the account has (engine_certificate.rs).
        .filter(|(_, kind, _)| kind != "SOA" && kind != "NS" && kind != "CNAME")
        .collect();
    found.sort();
    found
}

fn balancer_dns(object: &AccountObject) -> String {
    let names = AccountNames::new(&object.id.namespace, &object.id.name, &object.spec.account_id);
    let status = object.status.as_ref().expect("status");
    let balancer = status
        .load_balancers
        .iter()
        .find(|b| b.name == names.load_balancer(Scheme::Internal))
        .expect("internal balancer");
    balancer.dns_name.clone().expect("dns name").to_ascii_lowercase()
}

#[tokio::test]
async fn hosts_are_published_in_a_zone_the_account_has_and_records_not_ours_are_left_alone() {
    let engine = engine().await;
    let account = unique_account_id();
    let zone = public_zone(&account, "camden.example.org").await;
    write_record(&account, &zone, "other.camden.example.org", RrType::A, "10.9.9.9").await;
    let dns = format!("{{hostedZoneId: {zone}}}");
    let mut object = account_object(
        &account,
        &spec(&dns, "files.camden.example.org", "dagster.camden.example.org"),
    );
    converge_running(&engine, &mut object).await;
    let target = format!("alias {}", balancer_dns(&object));
    let owner = format!(
        "\"dataplatform-operator owner={}/{}\"",
        object.id.namespace, object.id.name
    );
    let row = |name: &str, kind: &str, what: &str| (name.to_owned(), kind.to_owned(), what.to_owned());
    assert_eq!(
        records(&account, &zone),
        [
            row("_dp.dagster.camden.example.org", "TXT", &owner),
            row("_dp.files.camden.example.org", "TXT", &owner),
            row("dagster.camden.example.org", "A", &target),
            row("files.camden.example.org", "A", &target),
            row("other.camden.example.org", "A", "10.9.9.9"),
        ]
    );
    let status = object.status.clone().unwrap().dns.expect("status.dns");
    assert_eq!(status.zone_id.as_deref(), Some(zone.as_str()));
    assert_eq!(
        status.records,
        ["dagster.camden.example.org", "files.camden.example.org"]
    );
    let calls = dataplatform_tests::steady_pass(&engine, &object).await;
    // One read of the zone serves the names and the validation records of the certificate the
    // zone brings.
    assert_eq!(
        (calls.of("ListResourceRecordSets"), calls.of("GetHostedZone")),
        (1, 1),
        "{calls:?}"
    );

    // Changed by hand: put back, and said.
    write_record(&account, &zone, "files.camden.example.org", RrType::A, "10.1.1.1").await;
    let pass = engine.reconcile(&object, Default::default()).await;
    object.status = Some(pass.status.clone());
    assert!(pass.error.is_none(), "{:?}", pass.error);
    assert!(
        pass.status
            .drift
            .iter()
            .any(|d| d.contains("route53:record/files.camden.example.org")),
        "{:?}",
        pass.status.drift
    );
    assert!(records(&account, &zone).contains(&row("files.camden.example.org", "A", &target)));

    // A host that leaves the spec loses its record and owner record; others' stay.
    object.spec = account_object(&account, &spec(&dns, "files.camden.example.org", "")).spec;
    let pass = engine.reconcile(&object, Default::default()).await;
    object.status = Some(pass.status.clone());
    assert!(pass.error.is_none(), "{:?}", pass.error);
    let left = records(&account, &zone);
    assert!(!left.iter().any(|(name, _, _)| name.contains("dagster")), "{left:?}");
    assert!(
        left.contains(&row("other.camden.example.org", "A", "10.9.9.9")),
        "{left:?}"
    );

    // A host whose name someone else's record holds: a conflict, and their record is not touched.
    object.spec = account_object(
        &account,
        &spec(&dns, "files.camden.example.org", "other.camden.example.org"),
    )
    .spec;
    let before = records(&account, &zone);
    let pass = engine.reconcile(&object, Default::default()).await;
    object.status = Some(pass.status.clone());
    let Some(ReconcileError::Conflict(conflicts)) = &pass.error else {
        panic!("expected a conflict, got {:?}", pass.error);
    };
    assert!(
        conflicts
            .iter()
            .any(|c| c.contains("other.camden.example.org") && c.contains("not the operator's")),
        "{conflicts:?}"
    );
    assert_eq!(records(&account, &zone), before);

    // spec.dns removed: our records leave the zone the status named, then the status forgets it.
    object.spec = account_object(&account, &spec(&dns, "files.camden.example.org", "")).spec;
    object.spec.dns = None;
    for _ in 0..2 {
        let pass = engine.reconcile(&object, Default::default()).await;
        assert!(pass.error.is_none(), "{:?}", pass.error);
        object.status = Some(pass.status.clone());
    }
    assert_eq!(
        records(&account, &zone),
        [row("other.camden.example.org", "A", "10.9.9.9")]
    );
    assert_eq!(object.status.as_ref().and_then(|s| s.dns.clone()), None);

    // Hosts outside the zone, or a zone the account does not have: refused before any write.
    for (dns, hosts) in [
        (dns.clone(), "files.elsewhere.example.org"),
        ("{hostedZoneId: ZNOTHERE000000}".to_owned(), "files.camden.example.org"),
    ] {
        let wrong = account_object(&account, &spec(&dns, hosts, "dagster.camden.example.org"));
        let refused = engine
            .plan(&wrong)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            refused.contains("spec.dns.hostedZoneId") || refused.contains("not in hosted zone"),
            "{refused}"
        );
    }
    dataplatform_tests::assert_every_call_is_catalogued(&engine);
}

#[tokio::test]
async fn a_private_zone_is_made_for_the_vpc_and_goes_with_the_account() {
    let engine = engine().await;
    let account = unique_account_id();
    let extra = "deletionPolicy: Delete\n";
    let mut object = account_object(
        &account,
        &format!(
            "{extra}{}",
            spec(
                "{privateZone: camden.example.org}",
                "files.camden.example.org",
                "*.dagster.camden.example.org"
            )
        ),
    );
    converge_running(&engine, &mut object).await;
    let status = object.status.clone().unwrap();
    let dns = status.dns.clone().expect("status.dns");
    let zone = dns.zone_id.clone().expect("zone id");
    let described = route53(&account)
        .await
        .get_hosted_zone()
        .id(&zone)
        .send()
        .await
        .expect("zone");
    let config = described.hosted_zone().and_then(|z| z.config()).expect("config");
    assert!(config.private_zone());
    assert_eq!(
        config.comment(),
        Some(format!("dataplatform-operator owner={}/{}", object.id.namespace, object.id.name).as_str())
    );
    let vpcs: Vec<Option<&str>> = described.vpcs().iter().map(|v| v.vpc_id()).collect();
    let vpc = status.network.and_then(|n| n.vpc_id).expect("vpc");
    assert_eq!(vpcs, [Some(vpc.as_str())]);
    let names: Vec<String> = records(&account, &zone)
        .into_iter()
        .map(|(n, k, _)| format!("{k} {n}"))
        .collect();
    assert_eq!(
        names,
        [
            "A *.dagster.camden.example.org",
            "TXT _dp-wildcard.dagster.camden.example.org",
            "TXT _dp.files.camden.example.org",
            "A files.camden.example.org",
        ],
        "moto keeps the wildcard as `*` (AWS answers `\\052`; the adapter reads both)"
    );
    assert_eq!(
        dns.records,
        ["*.dagster.camden.example.org", "files.camden.example.org"]
    );

    dataplatform_tests::delete_until_finished(&engine, &object).await;
    let gone = route53(&account).await.get_hosted_zone().id(&zone).send().await;
    assert!(gone.is_err(), "the private zone is deleted: {gone:?}");
}
