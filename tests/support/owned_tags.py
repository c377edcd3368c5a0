"""The tags of every resource one DataPlatformAccount owns, by kind, read with boto3 from moto.

`owned(client, owner)` gives [(kind, id, {key: value})] for each resource whose tag
dataplatform.io/owner is `owner`; `tag_by_hand(client, owner, key, value)` adds a tag to each of
them as someone other than the operator would. Used by the tag tests (tests/tests/suite/).
"""

OWNER = "dataplatform.io/owner"


def _pairs(tags, key="Key", value="Value"):
    return {t[key]: t[value] for t in tags or []}


def _resources(client):
    s3 = client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        try:
            tags = _pairs(s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"])
        except s3.exceptions.ClientError:
            tags = {}
        yield "s3:bucket", bucket["Name"], tags
    iam = client("iam")
    for role in iam.list_roles()["Roles"]:
        yield "iam:role", role["RoleName"], _pairs(iam.list_role_tags(RoleName=role["RoleName"])["Tags"])
    rds = client("rds")
    for cluster in rds.describe_db_clusters()["DBClusters"]:
        yield "rds:cluster", cluster["DBClusterArn"], _pairs(cluster.get("TagList"))
    for instance in rds.describe_db_instances()["DBInstances"]:
        yield "rds:instance", instance["DBInstanceArn"], _pairs(instance.get("TagList"))
    for group in rds.describe_db_subnet_groups()["DBSubnetGroups"]:
        arn = group["DBSubnetGroupArn"]
        yield "rds:subnet-group", arn, _pairs(rds.list_tags_for_resource(ResourceName=arn)["TagList"])
    ecs = client("ecs")
    for cluster in ecs.list_clusters()["clusterArns"]:
        yield "ecs:cluster", cluster, _pairs(ecs.list_tags_for_resource(resourceArn=cluster)["tags"], "key", "value")
        for service in ecs.list_services(cluster=cluster)["serviceArns"]:
            tags = ecs.list_tags_for_resource(resourceArn=service)["tags"]
            yield "ecs:service", service, _pairs(tags, "key", "value")
    by_id = {}
    for tag in client("ec2").describe_tags(MaxResults=1000)["Tags"]:
        by_id.setdefault((tag["ResourceType"], tag["ResourceId"]), {})[tag["Key"]] = tag["Value"]
    for (kind, resource), tags in by_id.items():
        yield "ec2:" + kind, resource, tags
    elb = client("elbv2")
    arns = [b["LoadBalancerArn"] for b in elb.describe_load_balancers()["LoadBalancers"]]
    arns += [g["TargetGroupArn"] for g in elb.describe_target_groups()["TargetGroups"]]
    for described in (elb.describe_tags(ResourceArns=arns)["TagDescriptions"] if arns else []):
        kind = "elb:target-group" if ":targetgroup/" in described["ResourceArn"] else "elb:load-balancer"
        yield kind, described["ResourceArn"], _pairs(described["Tags"])
    logs = client("logs")
    for group in logs.describe_log_groups()["logGroups"]:
        arn = group["arn"].removesuffix(":*")
        yield "logs:group", arn, logs.list_tags_for_resource(resourceArn=arn)["tags"]
    ecr = client("ecr")
    for repository in ecr.describe_repositories()["repositories"]:
        arn = repository["repositoryArn"]
        yield "ecr:repository", arn, _pairs(ecr.list_tags_for_resource(resourceArn=arn)["tags"])


def owned(client, owner):
    return [(kind, resource, tags) for kind, resource, tags in _resources(client) if tags.get(OWNER) == owner]


def tag_by_hand(client, owner, key, value):
    for kind, resource, _ in owned(client, owner):
        pair = [{"Key": key, "Value": value}]
        if kind == "s3:bucket":
            s3 = client("s3")
            tags = _pairs(s3.get_bucket_tagging(Bucket=resource)["TagSet"])
            tags[key] = value
            s3.put_bucket_tagging(Bucket=resource, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
        elif kind == "iam:role":
            client("iam").tag_role(RoleName=resource, Tags=pair)
        elif kind.startswith("rds:"):
            client("rds").add_tags_to_resource(ResourceName=resource, Tags=pair)
        elif kind.startswith("ecs:"):
            client("ecs").tag_resource(resourceArn=resource, tags=[{"key": key, "value": value}])
        elif kind.startswith("ec2:"):
            client("ec2").create_tags(Resources=[resource], Tags=pair)
        elif kind.startswith("elb:"):
            client("elbv2").add_tags(ResourceArns=[resource], Tags=pair)
        elif kind == "logs:group":
            client("logs").tag_resource(resourceArn=resource, tags={key: value})
        elif kind == "ecr:repository":
            client("ecr").tag_resource(resourceArn=resource, tags=pair)
