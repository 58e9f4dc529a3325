"""The local endpoint: each strict rule, shown against plain moto (lenient mode),
and each moto patch, shown by the case it mends.

Strict-rule tests run the same request on both endpoints: lenient accepts it,
strict refuses it the way CloudFormation does.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from .conftest import client_factory
# A trust policy IAM stores (it refuses "{}"); whom it trusts does not matter here.
ANY_TRUST = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
             '"ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')


@pytest.fixture
def strict(aws):
    return client_factory(aws)


def template(resources: dict, **sections) -> str:
    return json.dumps({"Resources": resources, **sections})


def create(clients, name: str, resources: dict, **kwargs) -> dict:
    cfn = clients("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=template(resources), Capabilities=["CAPABILITY_NAMED_IAM"],
                     **kwargs)
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


def update(clients, name: str, resources: dict, **kwargs) -> dict:
    cfn = clients("cloudformation")
    cfn.update_stack(StackName=name, TemplateBody=template(resources), Capabilities=["CAPABILITY_NAMED_IAM"],
                     **kwargs)
    return cfn.describe_stacks(StackName=name)["Stacks"][0]


def reasons(clients, name: str) -> list[str]:
    events = clients("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
    return [e.get("ResourceStatusReason") or "" for e in events]


def resources_of(clients, name: str) -> dict[str, str]:
    summaries = clients("cloudformation").list_stack_resources(StackName=name)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries}


def vpc(clients, zones=("us-east-1a", "us-east-1b")) -> tuple[str, list[str]]:
    ec2 = clients("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for i, zone in enumerate(zones)]
    return vpc_id, subnets


# ---------------------------------------------------------------------------
# replacement
# ---------------------------------------------------------------------------

TOPIC = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": "a"}}


def test_strict_replaces_a_resource_when_a_create_only_property_changes(strict, lenient):
    """A log group's name is create-only: strict mode makes the new group and deletes the old one;
    moto keeps the old group under its old name."""
    for clients, replaced in ((lenient, False), (strict, True)):
        group = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/one"}}
        create(clients, "s", {"Group": group})
        group["Properties"]["LogGroupName"] = "/two"
        assert update(clients, "s", {"Group": group})["StackStatus"] == "UPDATE_COMPLETE"
        names = {g["logGroupName"] for g in clients("logs").describe_log_groups()["logGroups"]}
        assert names == ({"/two"} if replaced else {"/one"})
        assert resources_of(clients, "s")["Group"] == ("/two" if replaced else "/one")


def test_strict_refuses_to_replace_a_custom_named_resource(strict, lenient):
    def repository(kms: bool) -> dict:
        encryption = {"EncryptionType": "KMS"} if kms else {"EncryptionType": "AES256"}
        return {"Repo": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Retain",
                         "Properties": {"RepositoryName": "named", "EncryptionConfiguration": encryption}}}

    create(lenient, "s", repository(False))
    assert update(lenient, "s", repository(True))["StackStatus"] == "UPDATE_COMPLETE"
    create(strict, "s", repository(False))
    stack = update(strict, "s", repository(True))
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert ("CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename named and "
            "update the stack again.") in reasons(strict, "s")


def test_strict_creates_before_it_deletes(strict, lenient):
    """Two listeners on port 80 under opposite conditions: the new one is created while the old one still
    exists, so the update fails; moto deletes first and lets it pass."""
    def balancer_with(listener: str) -> dict:
        action = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}]
        return {
            "Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Subnets": subnets}},
            listener: {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
                "LoadBalancerArn": {"Ref": "Lb"}, "Port": 80, "Protocol": "HTTP", "DefaultActions": action}},
        }

    for clients, outcome in ((lenient, "UPDATE_COMPLETE"), (strict, "UPDATE_ROLLBACK_COMPLETE")):
        _, subnets = vpc(clients)
        create(clients, "s", balancer_with("PlainListener"))
        assert update(clients, "s", balancer_with("RedirectListener"))["StackStatus"] == outcome
    assert any("listener with the specified port already exists" in r for r in reasons(strict, "s"))


def test_strict_refuses_a_target_group_on_two_load_balancers(strict, lenient):
    for clients, outcome in ((lenient, "CREATE_COMPLETE"), (strict, "ROLLBACK_COMPLETE")):
        vpc_id, subnets = vpc(clients)
        group = {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                 "Properties": {"Port": 80, "Protocol": "HTTP", "VpcId": vpc_id, "TargetType": "ip"}}
        resources = {"Group": group}
        for name in ("One", "Two"):
            resources[f"{name}Lb"] = {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                                      "Properties": {"Subnets": subnets}}
            resources[f"{name}Listener"] = {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
                "LoadBalancerArn": {"Ref": f"{name}Lb"}, "Port": 80, "Protocol": "HTTP",
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Group"}}]}}
        assert create(clients, "s", resources)["StackStatus"] == outcome
    assert any("cannot be associated with more than one load balancer" in r for r in reasons(strict, "s"))


# ---------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------

NAMED = {
    "repository": ({"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": "taken"}},
                   lambda c: c("ecr").create_repository(repositoryName="taken")),
    "log group": ({"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/taken"}},
                  lambda c: c("logs").create_log_group(logGroupName="/taken")),
    "secret": ({"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "taken", "SecretString": "x"}},
               lambda c: c("secretsmanager").create_secret(Name="taken", SecretString="x")),
    "role": ({"Type": "AWS::IAM::Role", "Properties": {"RoleName": "taken", "AssumeRolePolicyDocument": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}}},
             lambda c: c("iam").create_role(RoleName="taken", AssumeRolePolicyDocument=ANY_TRUST)),
    "bucket": ({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "taken"}},
               lambda c: c("s3").create_bucket(Bucket="taken")),
}


@pytest.mark.parametrize("kind", sorted(NAMED))
def test_strict_refuses_names_that_exist(strict, lenient, kind):
    """A retained resource of an earlier stack, say: CloudFormation fails the create and rolls back."""
    body, make = NAMED[kind]
    make(strict)
    stack = create(strict, "s", {"Named": body})
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert any("already exists" in r for r in reasons(strict, "s"))
    make(lenient)
    try:
        accepted = create(lenient, "s", {"Named": body})["StackStatus"] == "CREATE_COMPLETE"
    except Exception:  # moto raised the service error from CreateStack itself, leaving a half-made stack
        accepted = False
    if kind == "secret":
        assert accepted, "plain moto takes it over silently"


def in_region(clients, region: str):
    """The same endpoint and account, another region."""
    import boto3

    def client(name):
        return boto3.client(name, endpoint_url=clients.aws.url, region_name=region, aws_access_key_id="testing",
                            aws_secret_access_key="testing")
    client.aws = clients.aws
    return client


DASHBOARD = {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
    "DashboardName": "shared", "DashboardBody": json.dumps({"widgets": []})}}


def test_strict_dashboard_names_are_account_wide(strict, lenient):
    """A dashboard belongs to the account, not to a region: every region reads it, and a stack in another
    region cannot create one of its name (CloudFormation's handler fails where PutDashboard would replace it)."""
    assert create(strict, "s", {"Board": DASHBOARD})["StackStatus"] == "CREATE_COMPLETE"
    elsewhere = in_region(strict, "eu-west-1")
    assert [d["DashboardName"] for d in elsewhere("cloudwatch").list_dashboards()["DashboardEntries"]] == ["shared"]
    assert elsewhere("cloudwatch").get_dashboard(DashboardName="shared")["DashboardArn"] == \
        "arn:aws:cloudwatch::123456789012:dashboard/shared"
    assert create(elsewhere, "s", {"Board": DASHBOARD})["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Resource of type 'AWS::CloudWatch::Dashboard' with identifier 'shared' already exists." in \
        reasons(elsewhere, "s")
    # The first stack's dashboard is untouched, and a delete anywhere deletes it everywhere.
    assert strict("cloudwatch").get_dashboard(DashboardName="shared")["DashboardBody"] == json.dumps({"widgets": []})
    elsewhere("cloudwatch").delete_dashboards(DashboardNames=["shared"])
    assert strict("cloudwatch").list_dashboards()["DashboardEntries"] == []
    # Plain moto keeps a dashboard per region: the second region's stack makes its own.
    assert create(lenient, "s", {"Board": DASHBOARD})["StackStatus"] == "CREATE_COMPLETE"
    other = in_region(lenient, "eu-west-1")
    assert other("cloudwatch").list_dashboards()["DashboardEntries"] == []
    assert create(other, "s", {"Board": DASHBOARD})["StackStatus"] == "CREATE_COMPLETE"


def test_strict_role_names_are_account_wide(strict):
    """IAM is global: a role a stack in one region made stops a stack in another region naming it."""
    role = NAMED["role"][0]
    assert create(strict, "s", {"Named": role})["StackStatus"] == "CREATE_COMPLETE"
    elsewhere = in_region(strict, "eu-west-1")
    assert create(elsewhere, "s", {"Named": role})["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Resource of type 'AWS::IAM::Role' with identifier 'taken' already exists." in reasons(elsewhere, "s")


def test_strict_reserves_a_deleted_secret_name_until_its_recovery_window_ends(strict, lenient):
    body = NAMED["secret"][0]
    for clients in (strict, lenient):
        secrets = clients("secretsmanager")
        arn = secrets.create_secret(Name="taken", SecretString="x")["ARN"]
        secrets.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    assert create(strict, "s", {"Named": body})["StackStatus"] == "ROLLBACK_COMPLETE"
    assert any("already scheduled for deletion" in r for r in reasons(strict, "s"))
    assert create(lenient, "s", {"Named": body})["StackStatus"] == "CREATE_COMPLETE"


@pytest.mark.parametrize("resource_type,properties,limit", [
    ("AWS::S3::Bucket", {"BucketName": "b" * 64}, 63),
    ("AWS::IAM::Role", {"RoleName": "r" * 65, "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
     64),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", {"Name": "t" * 33, "Port": 80, "Protocol": "HTTP"}, 32),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", {"Name": "l" * 33}, 32),
])
def test_strict_refuses_names_over_their_limit(strict, lenient, resource_type, properties, limit):
    """Strict mode fails the resource and rolls back, as CloudFormation does; moto accepts the name, or fails
    the whole CreateStack request with the service's error and leaves the stack half made."""
    for clients in (lenient, strict):
        if resource_type.endswith("TargetGroup"):
            properties["VpcId"] = vpc(clients)[0]
        if resource_type.endswith("LoadBalancer"):
            properties["Subnets"] = vpc(clients)[1]
        try:
            outcome = create(clients, "s", {"Named": {"Type": resource_type, "Properties": properties}})["StackStatus"]
        except ClientError as exc:
            outcome = exc.response["Error"]["Code"]
        assert (outcome == "ROLLBACK_COMPLETE") is (clients is strict), outcome
    assert any(str(limit) in r for r in reasons(strict, "s") if "longer" in r or "maxLength" in r)


def test_strict_refuses_a_load_balancer_in_one_zone(strict, lenient):
    for clients, outcome in ((lenient, "CREATE_COMPLETE"), (strict, "ROLLBACK_COMPLETE")):
        _, subnets = vpc(clients, zones=("us-east-1a", "us-east-1a"))
        balancer = {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Subnets": subnets}}
        assert create(clients, "s", {"Lb": balancer})["StackStatus"] == outcome
    assert any("two different Availability Zones" in r for r in reasons(strict, "s"))


# ---------------------------------------------------------------------------
# rollback and retention
# ---------------------------------------------------------------------------

def failing_create(policy: str) -> dict:
    """A bucket, then a role that cannot be created (its name is taken): the create fails after the bucket."""
    return {
        "Data": {"Type": "AWS::S3::Bucket", "DeletionPolicy": policy, "Properties": {"BucketName": "made-first"}},
        "Blocked": {"Type": "AWS::IAM::Role", "DependsOn": "Data", "Properties": {
            "RoleName": "taken", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}}},
    }


def test_strict_deletes_retain_except_on_create_resources_when_the_create_fails(strict, lenient):
    for clients in (strict, lenient):
        clients("iam").create_role(RoleName="taken", AssumeRolePolicyDocument=ANY_TRUST)
    stack = create(strict, "s", failing_create("RetainExceptOnCreate"))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "made-first" not in {b["Name"] for b in strict("s3").list_buckets()["Buckets"]}
    strict("cloudformation").delete_stack(StackName="s")
    stack = create(strict, "s", failing_create("Retain"))   # plain Retain keeps what the failed create made
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "made-first" in {b["Name"] for b in strict("s3").list_buckets()["Buckets"]}
    try:  # moto never rolls back: the stack fails half made, or the request fails outright
        status = create(lenient, "s", failing_create("RetainExceptOnCreate"))["StackStatus"]
    except ClientError:
        status = "error"
    assert status != "ROLLBACK_COMPLETE"
    assert "made-first" in {b["Name"] for b in lenient("s3").list_buckets()["Buckets"]}


def test_strict_refuses_replacement_with_rollback_disabled(strict, lenient):
    """EXPRESS mode with rollback off, as the deploy used to send it: the stack is left UPDATE_FAILED.
    moto ignores the deployment mode and replaces."""
    lenient_cfn = lenient("cloudformation")
    group = {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "one", "VpcId": vpc(lenient)[0]}}
    create(lenient, "s", {"Group": group})
    group["Properties"]["GroupDescription"] = "two"
    lenient_cfn.create_change_set(StackName="s", ChangeSetName="c", TemplateBody=template({"Group": group}),
                                  ChangeSetType="UPDATE", DeploymentConfig={"Mode": "EXPRESS"})
    lenient_cfn.execute_change_set(ChangeSetName="c", StackName="s")
    assert lenient_cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    cfn = strict("cloudformation")
    vpc_id, _ = vpc(strict)
    group = {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "one", "VpcId": vpc_id}}
    create(strict, "s", {"Group": group})
    group["Properties"]["GroupDescription"] = "two"
    for config, outcome in (({"Mode": "EXPRESS"}, "UPDATE_FAILED"),
                            ({"Mode": "EXPRESS", "DisableRollback": False}, "UPDATE_COMPLETE")):
        if outcome == "UPDATE_COMPLETE":
            cfn.rollback_stack(StackName="s")
            assert cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        change_set = cfn.create_change_set(StackName="s", ChangeSetName="c", TemplateBody=template({"Group": group}),
                                           ChangeSetType="UPDATE", DeploymentConfig=config)["Id"]
        cfn.execute_change_set(ChangeSetName=change_set)
        assert cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == outcome
    assert "Replacement type updates not supported on stack with disable-rollback." in reasons(strict, "s")


def test_strict_enforces_stack_policies(strict, lenient):
    for clients, outcome in ((lenient, "UPDATE_COMPLETE"), (strict, "UPDATE_ROLLBACK_COMPLETE")):
        vpc_id, _ = vpc(clients)
        group = {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "one", "VpcId": vpc_id}}
        create(clients, "s", {"Group": group})
        clients("cloudformation").set_stack_policy(StackName="s", StackPolicyBody=json.dumps({"Statement": [
            {"Effect": "Deny", "Action": "Update:Replace", "Principal": "*", "Resource": "LogicalResourceId/Group"},
            {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}))
        group["Properties"]["GroupDescription"] = "two"
        assert update(clients, "s", {"Group": group})["StackStatus"] == outcome
    assert any(r.startswith("Action denied by stack policy") for r in reasons(strict, "s"))


# ---------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------

def kept_bucket(clients, objects: int = 3) -> None:
    s3 = clients("s3")
    s3.create_bucket(Bucket="kept")
    for index in range(objects):
        s3.put_object(Bucket="kept", Key=f"data/{index}", Body=b"x")


def test_strict_imports_with_resources_to_import(strict, lenient):
    body = {"Kept": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": {"BucketName": "kept"}}}
    for clients in (strict, lenient):
        kept_bucket(clients)
    cfn = strict("cloudformation")
    change_set = cfn.create_change_set(
        StackName="s", ChangeSetName="c", ChangeSetType="IMPORT", TemplateBody=template(body),
        ResourcesToImport=[{"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": "Kept",
                            "ResourceIdentifier": {"BucketName": "kept"}}])["Id"]
    changes = cfn.describe_change_set(ChangeSetName=change_set)["Changes"]
    assert [c["ResourceChange"]["Action"] for c in changes] == ["Import"]
    cfn.execute_change_set(ChangeSetName=change_set)
    assert cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"] == "IMPORT_COMPLETE"
    assert strict("s3").list_objects_v2(Bucket="kept")["KeyCount"] == 3   # untouched
    owner = cfn.describe_stack_resources(PhysicalResourceId="kept")["StackResources"][0]
    assert owner["StackName"] == "s" and owner["LogicalResourceId"] == "Kept"
    lenient_cfn = lenient("cloudformation")
    lenient_cfn.create_change_set(  # moto makes an ordinary change set and ignores the import
        StackName="s", ChangeSetName="c", ChangeSetType="IMPORT", TemplateBody=template(body),
        ResourcesToImport=[{"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": "Kept",
                            "ResourceIdentifier": {"BucketName": "kept"}}])
    actions = [c["ResourceChange"]["Action"] for c in
               lenient_cfn.describe_change_set(ChangeSetName="c", StackName="s")["Changes"]]
    assert actions == ["Add"]


@pytest.mark.parametrize("name,imported", [("kept", True), ({"Fn::Sub": "kep${Suffix}"}, False)])
def test_strict_import_existing_resources_needs_a_literal_name(strict, name, imported):
    """As AWS documents: auto-import takes only names written as literals; a Fn::Sub name is created,
    and collides."""
    kept_bucket(strict)
    body = {"Kept": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "RetainExceptOnCreate",
                     "Properties": {"BucketName": name}}}
    cfn = strict("cloudformation")
    change_set = cfn.create_change_set(
        StackName="s", ChangeSetName="c", ChangeSetType="CREATE", ImportExistingResources=True,
        TemplateBody=json.dumps({"Parameters": {"Suffix": {"Type": "String", "Default": "t"}}, "Resources": body}))["Id"]
    action = cfn.describe_change_set(ChangeSetName=change_set)["Changes"][0]["ResourceChange"]["Action"]
    assert action == ("Import" if imported else "Add")
    cfn.execute_change_set(ChangeSetName=change_set)
    status = cfn.describe_stacks(StackName="s")["Stacks"][0]["StackStatus"]
    assert status == ("CREATE_COMPLETE" if imported else "ROLLBACK_COMPLETE")
    assert strict("s3").list_objects_v2(Bucket="kept")["KeyCount"] == 3


# ---------------------------------------------------------------------------
# change sets
# ---------------------------------------------------------------------------

def test_strict_executing_a_change_set_deletes_the_others(strict, lenient):
    """Two deploys that each made a change set: only the first can run."""
    for clients in (strict, lenient):
        cfn = clients("cloudformation")
        create(clients, "s", {"Topic": TOPIC})
        ids = [cfn.create_change_set(StackName="s", ChangeSetName=f"c{i}", ChangeSetType="UPDATE",
                                     TemplateBody=template({"Topic": {**TOPIC, "Properties": {"DisplayName": str(i)}}})
                                     )["Id"] for i in (1, 2)]
        cfn.execute_change_set(ChangeSetName=ids[0])
        if clients is strict:
            with pytest.raises(ClientError, match="ChangeSetNotFound|does not exist"):
                cfn.execute_change_set(ChangeSetName=ids[1])
        else:
            cfn.execute_change_set(ChangeSetName=ids[1])   # moto runs the second too: both "succeed"


def test_strict_client_request_token_makes_execution_idempotent(strict):
    cfn = strict("cloudformation")
    create(strict, "s", {"Topic": TOPIC})
    change_set = cfn.create_change_set(StackName="s", ChangeSetName="c", ChangeSetType="UPDATE",
                                       TemplateBody=template({"Topic": {**TOPIC, "Properties": {"DisplayName": "b"}}}))
    cfn.execute_change_set(ChangeSetName=change_set["Id"], ClientRequestToken="token-1")
    events = len(cfn.describe_stack_events(StackName="s")["StackEvents"])
    cfn.execute_change_set(ChangeSetName=change_set["Id"], ClientRequestToken="token-1")   # a retry
    assert len(cfn.describe_stack_events(StackName="s")["StackEvents"]) == events


def test_strict_refuses_parameters_outside_their_constraints(strict):
    body = json.dumps({"Parameters": {"Size": {"Type": "String", "AllowedValues": ["a", "b"]}},
                       "Resources": {"Topic": TOPIC}})
    with pytest.raises(ClientError, match="Parameter 'Size' must be one of AllowedValues"):
        strict("cloudformation").create_stack(StackName="s", TemplateBody=body,
                                              Parameters=[{"ParameterKey": "Size", "ParameterValue": "c"}])


def test_strict_refuses_named_iam_without_the_capability(strict):
    role = NAMED["role"][0]
    with pytest.raises(ClientError, match=r"Requires capabilities : \[CAPABILITY_NAMED_IAM\]"):
        strict("cloudformation").create_stack(StackName="s", TemplateBody=template({"Role": role}))


# ---------------------------------------------------------------------------
# moto's defects, patched in both modes
# ---------------------------------------------------------------------------

def test_tls_only_bucket_policy_allows_requests(strict, lenient):
    """A Deny on aws:SecureTransport false must not deny the endpoint's requests (they stand in for HTTPS)."""
    for clients in (strict, lenient):
        s3 = clients("s3")
        s3.create_bucket(Bucket="tls")
        s3.put_bucket_policy(Bucket="tls", Policy=json.dumps({"Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::tls", "arn:aws:s3:::tls/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        s3.put_object(Bucket="tls", Key="k", Body=b"x")
        assert s3.get_object(Bucket="tls", Key="k")["Body"].read() == b"x"


def test_json_and_yaml_template_bodies_read_alike(strict, lenient):
    """JSON bodies skip moto's pure-Python YAML reading; YAML (with short-form tags) still gets it, and a
    change set reads its body the same way."""
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "${AWS::StackName}-b"}}}
    yaml_body = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n" \
                "      BucketName: !Sub '${AWS::StackName}-b'\n"
    for clients in (strict, lenient):
        cfn = clients("cloudformation")
        assert create(clients, "from-json", {"Bucket": bucket})["StackStatus"] == "CREATE_COMPLETE"
        cfn.create_stack(StackName="from-yaml", TemplateBody=yaml_body)
        cfn.create_change_set(StackName="by-change-set", ChangeSetName="c", ChangeSetType="CREATE",
                              TemplateBody=template({"Bucket": bucket}))
        cfn.execute_change_set(ChangeSetName="c", StackName="by-change-set")
        for name in ("from-json", "from-yaml", "by-change-set"):
            assert resources_of(clients, name)["Bucket"] == f"{name}-b"


def test_the_endpoint_leaves_what_it_imports_out_of_garbage_collection(aws, strict):
    def frozen() -> int:
        with urllib.request.urlopen(f"{aws.url}/_automl/requests") as answer:
            return json.load(answer)["frozen"]

    at_start = frozen()
    assert at_start > 100_000          # moto and the patches, frozen once the server was set up
    strict("glacier").list_vaults()    # a service no test here uses: moto imports its backend now
    assert frozen() > at_start
    strict("glacier").list_vaults()
    after = frozen()
    strict("glacier").list_vaults()    # nothing new imported: nothing more frozen
    assert frozen() == after


def test_log_retention_is_updated_in_place(strict, lenient):
    for clients in (strict, lenient):
        group = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/g", "RetentionInDays": 7}}
        create(clients, "s", {"Group": group})
        group["Properties"]["RetentionInDays"] = 14
        update(clients, "s", {"Group": group})
        assert clients("logs").describe_log_groups(logGroupNamePrefix="/g")["logGroups"][0]["retentionInDays"] == 14


def test_kms_key_from_cloudformation(strict, lenient):
    administers = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*",
                   "Resource": "*"}
    key = {"Type": "AWS::KMS::Key", "Properties": {"Tags": [{"Key": "Project", "Value": "automl"}],
                                                   "KeyPolicy": {"Version": "2012-10-17", "Statement": [administers]}}}
    for clients in (strict, lenient):
        assert create(clients, "s", {"Key": key})["StackStatus"] == "CREATE_COMPLETE"
        key_id = resources_of(clients, "s")["Key"]
        assert clients("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id


def test_strict_refuses_a_key_policy_that_locks_out_its_creator(strict, lenient):
    """KMS's lockout safety check: a policy the caller could not change again is refused (CreateKey, PutKeyPolicy,
    and so CloudFormation), unless the request bypasses the check."""
    locked = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:*", "Resource": "*"}]})
    with pytest.raises(ClientError, match="will not allow you to update the key policy in the future"):
        strict("kms").create_key(Policy=locked)
    assert strict("kms").create_key(Policy=locked, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]["KeyId"]
    lenient("kms").create_key(Policy=locked)
    key = {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": json.loads(locked)}}
    failed = create(strict, "s", {"Key": key})
    assert failed["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e["ResourceStatusReason"] for e in strict("cloudformation").describe_stack_events(StackName="s")[
        "StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert any("update the key policy in the future" in r for r in reasons), reasons


def test_strict_refuses_a_template_body_over_51200_bytes(strict, lenient):
    """CloudFormation takes a template body of 51,200 bytes at most: a bigger one must be sent from S3."""
    padding = {"Padding": {"Type": "AWS::SQS::Queue", "Metadata": {"x": "y" * 51_200}}}
    with pytest.raises(ClientError, match="less than or equal to 51200"):
        strict("cloudformation").create_stack(StackName="big", TemplateBody=template(padding))
    with pytest.raises(ClientError, match="less than or equal to 51200"):
        strict("cloudformation").create_change_set(StackName="big", ChangeSetName="c", ChangeSetType="CREATE",
                                                   TemplateBody=template(padding))
    lenient("cloudformation").create_stack(StackName="big", TemplateBody=template(padding))


def test_load_balancer_full_names(strict, lenient):
    for clients in (strict, lenient):
        vpc_id, subnets = vpc(clients)
        resources = {
            "Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Subnets": subnets}},
            "Group": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                      "Properties": {"Port": 80, "Protocol": "HTTP", "VpcId": vpc_id}}}
        clients("cloudformation").create_stack(StackName="s", TemplateBody=template(resources, Outputs={
            "Lb": {"Value": {"Fn::GetAtt": ["Lb", "LoadBalancerFullName"]}},
            "Group": {"Value": {"Fn::GetAtt": ["Group", "TargetGroupFullName"]}}}))
        found = {o["OutputKey"]: o["OutputValue"] for o in
                 clients("cloudformation").describe_stacks(StackName="s")["Stacks"][0]["Outputs"]}
        assert found["Lb"].startswith("app/") and found["Group"].startswith("targetgroup/")


def test_load_balancer_attributes_and_deletion_protection(strict):
    """Attributes from the template reach the load balancer (on create and update), and a protected
    load balancer is not deleted: its stack's deletion fails, as on AWS, until protection is off."""
    vpc_id, subnets = vpc(strict)
    cfn, elb = strict("cloudformation"), strict("elbv2")

    def body(protected: str) -> str:
        return template({"Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Subnets": subnets, "LoadBalancerAttributes": [
                {"Key": "deletion_protection.enabled", "Value": protected}]}}})

    cfn.create_stack(StackName="p", TemplateBody=body("true"))
    arn = elb.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
    attributes = {a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
    assert attributes["deletion_protection.enabled"] == "true"
    with pytest.raises(ClientError) as refused:
        elb.delete_load_balancer(LoadBalancerArn=arn)
    assert refused.value.response["Error"]["Code"] == "OperationNotPermitted"
    assert refused.value.response["Error"]["Message"] == (
        f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled")
    assert elb.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]     # still there
    cfn.update_stack(StackName="p", TemplateBody=body("false"))   # an update changes the attribute
    assert {a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}[
        "deletion_protection.enabled"] == "false"
    cfn.update_stack(StackName="p", TemplateBody=body("true"))
    cfn.delete_stack(StackName="p")
    assert cfn.describe_stacks(StackName="p")["Stacks"][0]["StackStatus"] == "DELETE_FAILED"
    [failed] = [e for e in cfn.describe_stack_events(StackName="p")["StackEvents"]
                if e["LogicalResourceId"] == "Lb" and e["ResourceStatus"] == "DELETE_FAILED"]
    assert "deletion protection is enabled" in failed["ResourceStatusReason"]
    assert "OperationNotPermitted" in failed["ResourceStatusReason"]
    elb.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[
        {"Key": "deletion_protection.enabled", "Value": "false"}])
    cfn.delete_stack(StackName="p")
    assert elb.describe_load_balancers()["LoadBalancers"] == []
    elb.delete_load_balancer(LoadBalancerArn=arn)        # gone already: DeleteLoadBalancer succeeds


def test_unimplemented_action_is_an_aws_error(strict):
    with pytest.raises(ClientError) as error:
        strict("cloudformation").detect_stack_drift(StackName="nothing")
    assert error.value.response["Error"]["Code"] == "InvalidAction"


def test_lenient_endpoint_runs_the_nested_templates(aws, lenient, cli, monkeypatch):
    """moto's own engine, with the CloudFormation patches: nested outputs wired (Fn::GetAtt Outputs.X, outputs after
    ExecuteChangeSet, lists shown as text), subnets carved (Fn::Cidr, NoValue in lists), nested stacks updated in
    place, task definitions re-registered whole, resources moto cannot update kept."""
    from .conftest import outputs

    for key, value in {"AWS_ENDPOINT_URL": lenient("s3").meta.endpoint_url}.items():
        monkeypatch.setenv(key, value)
    code, out, err = cli("deploy", "--env", "dev", "--yes")
    assert code == 0, err
    cfn = lenient("cloudformation")
    root = outputs(cfn, "automl-dev")
    assert root["ClusterName"] == "automl-dev-cluster" and len(root["PublicSubnets"].split(",")) == 2
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", "log_retention_days=14", "--var",
                         "optimize_memory=8192")
    assert code == 0, err
    groups = lenient("logs").describe_log_groups(logGroupNamePrefix="/ecs/automl-dev-")["logGroups"]
    assert {g["retentionInDays"] for g in groups} == {14}
    container = lenient("ecs").describe_task_definition(taskDefinition="automl-dev-optimize")["taskDefinition"][
        "containerDefinitions"][0]
    assert container["memory"] == 8192 and container["image"].endswith(":latest")
