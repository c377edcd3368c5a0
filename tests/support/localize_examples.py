"""Copy examples/ into OUT_DIR with the placeholder KMS key, certificate and sign-in secret replaced
by real ones of a local moto.

The examples' networks are the managed form (the operator builds them), so they need no ids. A
placeholder subnet-0a1b2c3d / sg-0a1b2c3d (the existing form, should an example use it) is still
replaced by a default subnet and the default security group of the account the example manages.

Usage: localize_examples.py ENDPOINT_URL OUT_DIR
"""

import pathlib
import sys

import boto3
import yaml

PLACEHOLDER_SUBNET = "subnet-0a1b2c3d"
PLACEHOLDER_GROUP = "sg-0a1b2c3d"
PLACEHOLDER_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
PLACEHOLDER_CERTIFICATE = "arn:aws:acm:eu-west-2:111111111111:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
PLACEHOLDER_SIGN_IN_SECRET = "arn:aws:secretsmanager:eu-west-2:111111111111:secret:camden/sign-in-AbCdEf"


def client(service: str, endpoint: str, role_arn: str, region: str):
    common = {"endpoint_url": endpoint, "region_name": region}
    credentials = boto3.client("sts", **common).assume_role(
        RoleArn=role_arn, RoleSessionName="localize-examples"
    )["Credentials"]
    return boto3.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        **common,
    )


def new_key(endpoint: str, role_arn: str, region: str) -> str:
    """A KMS key of the account, for the examples' placeholder key (the operator refuses a key that
    does not exist)."""
    return client("kms", endpoint, role_arn, region).create_key(Description="examples")["KeyMetadata"]["KeyId"]


def new_certificate(endpoint: str, role_arn: str, region: str) -> str:
    """An ACM certificate of the account (moto checks an HTTPS listener's certificate exists)."""
    acm = client("acm", endpoint, role_arn, region)
    return acm.request_certificate(DomainName="*.camden.example.org")["CertificateArn"]


def new_sign_in_secret(endpoint: str, role_arn: str, region: str) -> str:
    """A client secret in Secrets Manager (a sign-in rule waits for a secret that does not exist)."""
    secrets = client("secretsmanager", endpoint, role_arn, region)
    try:
        return secrets.create_secret(Name="camden/sign-in", SecretString='{"clientSecret": "example"}')["ARN"]
    except secrets.exceptions.ResourceExistsException:
        return secrets.describe_secret(SecretId="camden/sign-in")["ARN"]


def default_network(endpoint: str, role_arn: str, region: str) -> tuple[str, str]:
    ec2 = client("ec2", endpoint, role_arn, region)
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]
    group = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["default"]}, {"Name": "vpc-id", "Values": [subnet["VpcId"]]}]
    )["SecurityGroups"][0]
    return subnet["SubnetId"], group["GroupId"]


def main() -> None:
    endpoint, out_dir = sys.argv[1], pathlib.Path(sys.argv[2])
    examples = pathlib.Path(__file__).resolve().parents[2] / "examples"
    out_dir.mkdir(parents=True, exist_ok=True)
    for source in sorted(examples.glob("*.yaml")):
        text = source.read_text()
        if PLACEHOLDER_SUBNET in text or PLACEHOLDER_GROUP in text:
            # A file may start with the Namespace its account lives in.
            spec = next(d["spec"] for d in yaml.safe_load_all(text) if d and d.get("kind") == "DataPlatformAccount")
            subnet, group = default_network(endpoint, spec["roleArn"], spec["region"])
            text = text.replace(PLACEHOLDER_SUBNET, subnet).replace(PLACEHOLDER_GROUP, group)
        if PLACEHOLDER_KEY_ID in text:
            spec = next(d["spec"] for d in yaml.safe_load_all(text) if d and d.get("kind") == "DataPlatformAccount")
            text = text.replace(PLACEHOLDER_KEY_ID, new_key(endpoint, spec["roleArn"], spec["region"]))
        for placeholder, make in [
            (PLACEHOLDER_CERTIFICATE, new_certificate),
            (PLACEHOLDER_SIGN_IN_SECRET, new_sign_in_secret),
        ]:
            if placeholder in text:
                spec = next(
                    d["spec"] for d in yaml.safe_load_all(text) if d and d.get("kind") == "DataPlatformAccount"
                )
                text = text.replace(placeholder, make(endpoint, spec["roleArn"], spec["region"]))
        (out_dir / source.name).write_text(text)


if __name__ == "__main__":
    main()
