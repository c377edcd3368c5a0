//! `services[].expose` and `spec.loadBalancer`, as admission checks them, and what admission
//! cannot: a certificate in another account or region, two services claiming the same requests.

use std::collections::BTreeMap;

use super::Problems;
use crate::account::DataPlatformAccountSpec;
use crate::exposure::{ExposeProtocol, OidcSignIn, Scheme, SignInSpec};
use crate::patterns::{self, matches};

pub(super) fn validate_exposure(spec: &DataPlatformAccountSpec, p: &mut Problems) {
    let mut claimed: BTreeMap<(Scheme, Vec<String>, &str), &str> = BTreeMap::new();
    for service in &spec.services {
        let Some(expose) = &service.expose else { continue };
        let at = format!("spec.services[{}]", service.name);
        if service.port.is_none() {
            p.add(
                format!("{at}.port"),
                "is required when the service sets expose: the load balancer forwards to that container port",
            );
        }
        for (i, host) in expose.hosts.iter().enumerate() {
            if host.len() > 128 || !matches(patterns::HOST_NAME, host) {
                p.add(
                    format!("{at}.expose.hosts[{i}]"),
                    format!("{host:?} is not a host name such as files.example.org or *.example.org"),
                );
            }
        }
        if expose.hosts.len() + expose.allowed_cidrs.len() > 4 {
            p.add(
                format!("{at}.expose.hosts"),
                "hosts and allowedCidrs together take at most 4 entries (a listener rule matches at most 5 values, and the path takes one)",
            );
        }
        if expose.path.len() > 128 || !matches(patterns::PATH_PATTERN, &expose.path) {
            p.add(
                format!("{at}.expose.path"),
                format!(
                    "{:?} must start with / and hold letters, digits and _.~/*?&:+@$- only (at most 128)",
                    expose.path
                ),
            );
        }
        if let Some(path) = &expose.health_check_path {
            p.check_format(
                format!("{at}.expose.healthCheckPath"),
                path,
                patterns::HEALTH_CHECK_PATH,
                "a path starting with / without wildcards",
            );
        }
        for (i, cidr) in expose.allowed_cidrs.iter().enumerate() {
            let field = format!("{at}.expose.allowedCidrs[{i}]");
            match cidr.parse::<ipnet::Ipv4Net>() {
                Ok(range) if matches(patterns::ANY_IPV4_CIDR, cidr) && range.trunc() != range => p.add(
                    field,
                    format!("{cidr} is not the first address of its range; write {}", range.trunc()),
                ),
                Ok(_) if matches(patterns::ANY_IPV4_CIDR, cidr) => {}
                _ => p.add(field, format!("{cidr:?} is not an IPv4 range such as 10.8.0.0/16")),
            }
        }
        if !(0..=7200).contains(&expose.health_check_grace_period_seconds) {
            p.add(
                format!("{at}.expose.healthCheckGracePeriodSeconds"),
                "must be 0 to 7200 seconds",
            );
        }
        if let Some(sign_in) = &expose.sign_in {
            validate_sign_in(spec, sign_in, &expose.hosts, &format!("{at}.expose.signIn"), p);
        }
        let mut hosts = expose.hosts.clone();
        hosts.sort();
        if let Some(other) = claimed.insert((expose.scheme, hosts, &expose.path), &service.name) {
            p.add(
                format!("{at}.expose.path"),
                format!(
                    "service {other} is exposed with the same scheme, hosts and path; one of them would never be reached: give them different hosts or paths"
                ),
            );
        }
    }
    validate_load_balancer(spec, p);
    validate_dns(spec, p);
}

/// `spec.dns`: one zone; with a private zone the operator makes, every exposed host in it (a zone
/// the account has is read to check that, by the engine); a host published for one load balancer.
fn validate_dns(spec: &DataPlatformAccountSpec, p: &mut Problems) {
    let Some(dns) = &spec.dns else { return };
    if dns.hosted_zone_id.is_some() == dns.private_zone.is_some() {
        p.add(
            "spec.dns",
            "takes hostedZoneId (a zone the account has) or privateZone (one the operator makes), not both",
        );
    }
    if let Some(id) = &dns.hosted_zone_id {
        p.check_format(
            "spec.dns.hostedZoneId",
            id,
            patterns::HOSTED_ZONE_ID,
            "a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ",
        );
    }
    let mut published: BTreeMap<&str, Scheme> = BTreeMap::new();
    for service in &spec.services {
        let Some(expose) = &service.expose else { continue };
        for (i, host) in expose.hosts.iter().enumerate() {
            let field = format!("spec.services[{}].expose.hosts[{i}]", service.name);
            if let Some(zone) = &dns.private_zone
                && !in_zone(host, zone)
            {
                p.add(
                    field.clone(),
                    format!("{host} is not in spec.dns.privateZone {zone}: its record could not be written there"),
                );
            }
            if published
                .insert(host, expose.scheme)
                .is_some_and(|other| other != expose.scheme)
            {
                p.add(
                    field,
                    format!("{host} is exposed on both load balancers; its one DNS record can point at only one"),
                );
            }
        }
    }
    let Some(zone) = &dns.private_zone else { return };
    if zone.len() > 253 || !matches(patterns::DNS_NAMESPACE, zone) {
        p.add(
            "spec.dns.privateZone",
            format!("{zone:?} is not a domain name such as camden.example.org"),
        );
    }
    if spec.network.is_none() {
        p.add(
            "spec.dns.privateZone",
            "needs spec.network: the private zone is associated with the account's VPC",
        );
    }
}

/// Whether `host` (a name or `*.` a domain) is `zone` or under it.
pub fn in_zone(host: &str, zone: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let zone = zone.trim_end_matches('.').to_ascii_lowercase();
    host == zone || host.ends_with(&format!(".{zone}"))
}

/// One of the two ways to sign in, and how long a sign-in lasts.
fn validate_sign_in(
    spec: &DataPlatformAccountSpec,
    sign_in: &SignInSpec,
    hosts: &[String],
    at: &str,
    p: &mut Problems,
) {
    match (&sign_in.oidc, sign_in.user_pool) {
        (Some(oidc), false) => validate_oidc(spec, oidc, at, p),
        (None, true) => super::user_pool::validate_user_pool_sign_in(spec, hosts, at, p),
        _ => p.add(
            at,
            "takes oidc (an OpenID Connect provider) or userPool: true (the account's spec.userPool), one of the two",
        ),
    }
    if !(1..=604_800).contains(&sign_in.session_timeout_seconds) {
        p.add(
            format!("{at}.sessionTimeoutSeconds"),
            "must be 1 to 604800 seconds (seven days)",
        );
    }
}

/// An OIDC client's settings, and the secret: in the account and region, since the operator reads
/// it with the account's role when it writes the rule.
fn validate_oidc(spec: &DataPlatformAccountSpec, oidc: &OidcSignIn, at: &str, p: &mut Problems) {
    for (field, url) in [
        ("issuer", &oidc.issuer),
        ("authorizationEndpoint", &oidc.authorization_endpoint),
        ("tokenEndpoint", &oidc.token_endpoint),
        ("userInfoEndpoint", &oidc.user_info_endpoint),
    ] {
        if url.len() > 2048 || !matches(patterns::HTTPS_URL, url) {
            p.add(
                format!("{at}.oidc.{field}"),
                format!(
                    "{url:?} is not an https URL (the load balancer talks to the identity provider over HTTPS only)"
                ),
            );
        }
    }
    p.check_format(
        format!("{at}.oidc.clientId"),
        &oidc.client_id,
        patterns::OIDC_CLIENT_ID,
        "a client id (1 to 255 printable characters, no spaces)",
    );
    if oidc.scope.len() > 255 || !matches(patterns::OIDC_SCOPE, &oidc.scope) {
        p.add(
            format!("{at}.oidc.scope"),
            format!(
                "{:?} is not scopes separated by single spaces, such as \"openid email\"",
                oidc.scope
            ),
        );
    }
    let secret = &oidc.client_secret;
    let field = format!("{at}.oidc.clientSecret.secretArn");
    if secret.secret_arn.len() > 2048 || !matches(patterns::SECRET_ARN, &secret.secret_arn) {
        p.add(
            field,
            format!("{:?} is not a Secrets Manager secret ARN", secret.secret_arn),
        );
    } else {
        let (region, account) = super::arn_region_account(&secret.secret_arn);
        if region != spec.region || account != spec.account_id {
            p.add(
                field,
                format!(
                    "the secret is in account {account} region {region}; the operator reads it with the account's role, so it must be in {} {}: store the client secret there",
                    spec.account_id, spec.region
                ),
            );
        }
    }
    if let Some(key) = &secret.json_key {
        p.check_format(
            format!("{at}.oidc.clientSecret.jsonKey"),
            key,
            patterns::JSON_KEY,
            "a JSON key of letters, digits and '_', '.' or '-'",
        );
    }
}

fn validate_load_balancer(spec: &DataPlatformAccountSpec, p: &mut Problems) {
    let exposed = || spec.services.iter().filter_map(|s| s.expose.as_ref());
    let balancer = spec.load_balancer.clone().unwrap_or_default();
    let certificate = balancer.certificate_arn.as_deref();
    let https = spec.has_certificate();
    if exposed().any(|e| e.protocol == ExposeProtocol::Grpc) && !https {
        p.add(
            "spec.loadBalancer.certificateArn",
            "(or spec.dns.hostedZoneId, for a certificate the operator requests) is required when a service is exposed with protocol GRPC: the load balancer speaks gRPC over HTTPS only",
        );
    }
    if exposed().any(|e| e.sign_in.is_some()) && !https {
        p.add(
            "spec.loadBalancer.certificateArn",
            "(or spec.dns.hostedZoneId, for a certificate the operator requests) is required when a service is exposed with signIn: the load balancer signs people in on HTTPS listeners only",
        );
    }
    if let Some(arn) = certificate {
        p.check_format(
            "spec.loadBalancer.certificateArn",
            arn,
            patterns::CERTIFICATE_ARN,
            "an ACM certificate ARN such as arn:aws:acm:eu-west-2:111111111111:certificate/0a1b2c3d",
        );
        let (region, account) = super::arn_region_account(arn);
        if matches(patterns::CERTIFICATE_ARN, arn) && (region != spec.region || account != spec.account_id) {
            p.add(
                "spec.loadBalancer.certificateArn",
                format!(
                    "the certificate is in account {account} region {region}; a load balancer takes certificates of its own account and region ({} {}): import or request it there",
                    spec.account_id, spec.region
                ),
            );
        }
    }
    if !(1..=4000).contains(&balancer.idle_timeout_seconds) {
        p.add("spec.loadBalancer.idleTimeoutSeconds", "must be 1 to 4000 seconds");
    }
    for (i, id) in balancer.public_subnet_ids.iter().enumerate() {
        p.check_format(
            format!("spec.loadBalancer.publicSubnetIds[{i}]"),
            id,
            patterns::SUBNET_ID,
            "a subnet id such as subnet-0a1b2c3d",
        );
    }
    let existing_form = spec.network.as_ref().is_some_and(|n| n.vpc.is_none());
    if !balancer.public_subnet_ids.is_empty() && !existing_form {
        p.add(
            "spec.loadBalancer.publicSubnetIds",
            "applies to the spec.network.subnetIds form only: spec.network.vpc has its own public subnets; remove it",
        );
    }
    if existing_form && balancer.public_subnet_ids.is_empty() && exposed().any(|e| e.scheme == Scheme::InternetFacing) {
        p.add(
            "spec.loadBalancer.publicSubnetIds",
            "is required when a service is exposed InternetFacing in the spec.network.subnetIds form: name public subnets (routed to an internet gateway) in two availability zones",
        );
    }
}

#[cfg(test)]
mod tests {
    /// What admission cannot check: a certificate or client secret of another account or region,
    /// two services claiming the same requests, a range not at its first address.
    #[test]
    fn certificates_elsewhere_twin_rules_and_misaligned_ranges_are_refused() {
        let spec = |extra: &str| -> crate::DataPlatformAccountSpec {
            serde_yaml_ng::from_str(&format!(
                "accountId: '111111111111'\nregion: eu-west-2\nnetwork: {{vpc: {{cidr: 10.20.0.0/16}}}}\n{extra}"
            ))
            .expect("spec")
        };
        let service = |name: &str, expose: &str| {
            format!("- {{name: {name}, image: x, cpu: 256, memory: 512, port: 80, expose: {expose}}}\n")
        };
        let sign_in = |secret: &str| {
            format!(
                "{{signIn: {{oidc: {{issuer: 'https://id.example.org', authorizationEndpoint: 'https://id.example.org/a', tokenEndpoint: 'https://id.example.org/t', userInfoEndpoint: 'https://id.example.org/u', clientId: c, clientSecret: {{secretArn: '{secret}'}}}}}}}}"
            )
        };
        let ok = spec(&format!(
            "loadBalancer: {{certificateArn: 'arn:aws:acm:eu-west-2:111111111111:certificate/abc'}}\nservices:\n{}{}",
            service("a", "{hosts: [a.example.org]}"),
            service("b", "{path: /b/*, allowedCidrs: [10.8.0.0/16]}")
        ));
        let signed_in = spec(&format!(
            "loadBalancer: {{certificateArn: 'arn:aws:acm:eu-west-2:111111111111:certificate/abc'}}\nservices:\n{}",
            service(
                "a",
                &sign_in("arn:aws:secretsmanager:eu-west-2:111111111111:secret:x-AbCdEf")
            )
        ));
        assert!(signed_in.validate().is_ok(), "{:?}", signed_in.validate());
        // A zone the account has brings a certificate the operator requests for the hosts.
        let zone_certificate = spec(&format!(
            "dns: {{hostedZoneId: Z0123456789ABCDEFGHIJ}}\nservices:\n{}",
            service(
                "a",
                &sign_in("arn:aws:secretsmanager:eu-west-2:111111111111:secret:x-AbCdEf")
                    .replace("{signIn", "{hosts: [a.example.org], signIn")
            )
        ));
        assert!(zone_certificate.validate().is_ok(), "{:?}", zone_certificate.validate());
        let no_hosts = spec(&format!(
            "dns: {{hostedZoneId: Z0123456789ABCDEFGHIJ}}\nservices:\n{}",
            service(
                "a",
                &sign_in("arn:aws:secretsmanager:eu-west-2:111111111111:secret:x-AbCdEf")
            )
        ));
        assert!(no_hosts.validate().is_err(), "no host, no certificate to request");
        assert!(ok.validate().is_ok(), "{:?}", ok.validate());
        for (extra, field, says) in [
            (
                format!(
                    "loadBalancer: {{certificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/abc'}}\nservices:\n{}",
                    service("a", "{}")
                ),
                "spec.loadBalancer.certificateArn",
                "us-east-1",
            ),
            (
                format!("services:\n{}{}", service("a", "{}"), service("b", "{}")),
                "spec.services[b].expose.path",
                "service a",
            ),
            (
                format!("services:\n{}", service("a", "{allowedCidrs: [10.8.1.0/16]}")),
                "spec.services[a].expose.allowedCidrs[0]",
                "write 10.8.0.0/16",
            ),
            (
                format!(
                    "loadBalancer: {{certificateArn: 'arn:aws:acm:eu-west-2:111111111111:certificate/abc'}}\nservices:\n{}",
                    service(
                        "a",
                        &sign_in("arn:aws:secretsmanager:eu-west-2:222222222222:secret:x-AbCdEf")
                    )
                ),
                "spec.services[a].expose.signIn.oidc.clientSecret.secretArn",
                "222222222222",
            ),
        ] {
            let problems = spec(&extra).validate().expect_err("refused").problems;
            assert!(
                problems.iter().any(|p| p.field == field && p.message.contains(says)),
                "{field}: {problems:?}"
            );
        }
    }
}
