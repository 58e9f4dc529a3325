"""The account baseline on the strict endpoint: AWS Config's recorder, channel and rules, one recorder per region;
Config's delivery to its bucket as the recorder's role; the global IAM types recorded in the home region only."""

from __future__ import annotations

import gzip
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import outputs

ACCOUNT = "123456789012"
# What the baseline's bucket policy said before issue 26: Config's service principal granted the bucket, which
# Config uses only for another account's bucket (s3-bucket-policy.html); its role held AWS_ConfigRole alone.
SERVICE_PRINCIPAL_GRANTS = [
    {"Sid": "ConfigChecksTheBucket", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
     "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": "arn:aws:s3:::{bucket}",
     "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}},
    {"Sid": "ConfigDelivers", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
     "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{{bucket}}/AWSLogs/{ACCOUNT}/Config/*",
     "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}},
]
# A trust policy IAM stores (it refuses "{}"); whom it trusts does not matter here.
ANY_TRUST = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
             '"ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')


def baseline(cli, *extra):
    return cli("baseline", "deploy", "--env", "dev", "--yes", *extra)


def rules(config) -> set[str]:
    return {r["ConfigRuleName"] for r in config.describe_config_rules()["ConfigRules"]}


def in_region(aws, service: str, region: str):
    return boto3.client(service, endpoint_url=aws.url, region_name=region, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def recorder_role(cfn) -> str:
    [role] = [r["PhysicalResourceId"] for r in cfn.describe_stack_resources(StackName="automl-cfn-baseline")[
        "StackResources"] if r["LogicalResourceId"] == "ConfigRecorderRole"]
    return role


def history(s3, bucket: str, key: str) -> list[dict]:
    return json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))["configurationItems"]


def history_status(config) -> dict:
    """The one channel's configHistoryDeliveryInfo (DescribeDeliveryChannelStatus)."""
    [status] = config.describe_delivery_channel_status()["DeliveryChannelsStatus"]
    return status["configHistoryDeliveryInfo"]


def types_in(keys: list[str]) -> set[str]:
    """The resource type of each history file (..._ConfigHistory_<type>_<start>_<end>_1.json.gz)."""
    return {key.split("_ConfigHistory_", 1)[1].rsplit("_", 3)[0] for key in keys}


def test_the_baseline_records_and_checks_and_a_second_run_changes_nothing(aws, cli, clients):
    code, out, err = baseline(cli)
    assert code == 0, err
    assert "Account baseline automl-cfn-baseline in account 123456789012, region us-east-1 (creates a recorder" in out
    config = clients("config")
    [recorder] = config.describe_configuration_recorders()["ConfigurationRecorders"]
    assert "AWS::ECS::TaskDefinition" in recorder["recordingGroup"]["resourceTypes"]
    assert [c["name"] for c in config.describe_delivery_channels()["DeliveryChannels"]]
    assert "automl-cfn-s3-bucket-ssl-requests-only" in rules(config) and len(rules(config)) == 8
    code, out, _ = baseline(cli)
    assert code == 0 and "No changes: automl-cfn-baseline" in out
    # As a conformance pack: the region-limited rules stay single, the rest move into the pack.
    code, out, err = baseline(cli, "--rules-as", "conformance-pack")
    assert code == 0, err
    assert "Add\tWorkloadConformancePack" in out and rules(config) == {
        "automl-cfn-ecr-private-image-scanning-enabled", "automl-cfn-ecs-task-definition-nonroot-user"}
    assert len(config.describe_configuration_recorders()["ConfigurationRecorders"]) == 1
    # And back: the single rules come again (their names differ from the pack's, so creating them before the
    # pack goes collides with nothing), and the recorder is the same one.
    code, out, err = baseline(cli)
    assert code == 0, err
    assert "Remove\tWorkloadConformancePack" in out and len(rules(config)) == 8
    assert [r["name"] for r in config.describe_configuration_recorders()["ConfigurationRecorders"]] == [
        recorder["name"]]


def test_an_account_that_already_records_keeps_its_recorder(aws, cli, clients):
    config, iam = clients("config"), clients("iam")
    role = iam.create_role(RoleName="control-tower-config", AssumeRolePolicyDocument=ANY_TRUST)["Role"]["Arn"]
    config.put_configuration_recorder(ConfigurationRecorder={
        "name": "aws-controltower-BaselineConfigRecorder", "roleARN": role,
        "recordingGroup": {"allSupported": False, "includeGlobalResourceTypes": False,
                           "resourceTypes": ["AWS::S3::Bucket"], "recordingStrategy": {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"}}})
    code, out, err = baseline(cli)
    assert code == 0, err
    assert "recorder aws-controltower-BaselineConfigRecorder" in err and "CreateRecorder=false" in err
    assert "that recorder does not record AWS::CloudFormation::Stack" in err
    assert [r["name"] for r in config.describe_configuration_recorders()["ConfigurationRecorders"]] == [
        "aws-controltower-BaselineConfigRecorder"]
    assert len(rules(config)) == 8


def test_status_needs_the_baseline(aws, cli):
    code, _, err = cli("baseline", "status", "--env", "dev")
    assert code == 2 and "the account baseline is not deployed in account 123456789012, region us-east-1" in err


@pytest.mark.parametrize("args, message", [
    (["baseline", "deploy", "--env", "dev", "--rules-as", "pack"], "invalid choice: 'pack'"),
    (["baseline", "audit", "--env", "dev"], "invalid choice: 'audit'"),
    (["baseline", "deploy", "--env", "dev", "--var", "config_home_region=il-central-1"],
     "config_home_region: AWS Config cannot record the global IAM resource types in il-central-1"),
    (["baseline", "deploy", "--env", "dev", "--var", "aws_region=eu-central-2", "--region", "eu-central-2"],
     "aws_region (config_home_region is empty, so the environment's region records the global IAM types): AWS "
     "Config cannot record the global IAM resource types in eu-central-2"),
])
def test_bad_baseline_flags(aws, cli, args, message):
    code, _, err = cli(*args)
    assert code == 2 and message in err and aws.requests() == 0


def test_config_delivers_history_only_while_its_role_may_write(aws, cli, clients):
    """Config writes to a bucket of its own account as the recorder's role, and PutDeliveryChannel checks that it
    can (iamrole-permissions.html#iam-role-policies-S3-bucket, API_PutDeliveryChannel.html).  The role with
    AWS_ConfigRole alone, even beside a bucket policy that grants Config's service principal, cannot."""
    code, _, err = baseline(cli)
    assert code == 0, err
    cfn, config, iam, s3 = clients("cloudformation"), clients("config"), clients("iam"), clients("s3")
    bucket, role = outputs(cfn, "automl-cfn-baseline")["ConfigHistoryBucketName"], recorder_role(cfn)
    [status] = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["recording"]   # CloudFormation starts the recorder once the channel exists

    assert history_status(config) == {}   # nothing delivered yet
    delivered = aws.deliver_config_history()["delivered"]
    assert {"AWS::IAM::Role", "AWS::S3::Bucket"} <= types_in(delivered)
    delivered_at = history_status(config)
    assert delivered_at["lastStatus"] == "SUCCESS" and "lastErrorCode" not in delivered_at
    assert all(key.startswith(f"AWSLogs/{ACCOUNT}/Config/us-east-1/") for key in delivered)
    [roles] = [key for key in delivered if "_AWS::IAM::Role_" in key]
    assert role in {item["resourceName"] for item in history(s3, bucket, roles)}

    # The role as it was: AWS_ConfigRole only, and the service principal granted in the bucket policy.
    [grant] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=grant)["PolicyDocument"]
    iam.delete_role_policy(RoleName=role, PolicyName=grant)
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    grants = json.loads(json.dumps(SERVICE_PRINCIPAL_GRANTS).replace("{bucket}", bucket))
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({**policy, "Statement": policy["Statement"] + grants}))
    before = s3.list_objects_v2(Bucket=bucket)["KeyCount"]
    refused = aws.deliver_config_history()
    assert refused["delivered"] == [] and "is not authorized to perform: s3:PutObject" in refused["refused"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == before
    failed = history_status(config)   # what the console and describe-delivery-channel-status show
    assert (failed["lastStatus"], failed["lastErrorCode"]) == ("FAILURE", "AccessDenied")
    assert "s3:PutObject" in failed["lastErrorMessage"]
    assert failed["lastSuccessfulTime"] == delivered_at["lastSuccessfulTime"] <= failed["lastAttemptTime"]
    [channel] = config.describe_delivery_channels()["DeliveryChannels"]
    with pytest.raises(ClientError) as info:
        config.put_delivery_channel(DeliveryChannel=channel)
    assert info.value.response["Error"]["Code"] == "InsufficientDeliveryPolicyException"
    assert info.value.response["Error"]["Message"] == (
        f"Insufficient delivery policy to s3 bucket: {bucket}, unable to write to bucket, provided s3 key prefix is "
        "'null', provided kms key is 'null'.")

    # The grant back: the channel is accepted and history delivered again.
    iam.put_role_policy(RoleName=role, PolicyName=grant, PolicyDocument=json.dumps(document))
    config.put_delivery_channel(DeliveryChannel=channel)
    assert "AWS::IAM::Role" in types_in(aws.deliver_config_history()["delivered"])
    assert history_status(config)["lastStatus"] == "SUCCESS" and "lastErrorCode" not in history_status(config)


def test_put_delivery_channel_needs_a_bucket_and_a_role_config_may_assume(aws, clients):
    """The bucket must exist, and Config be let assume the recorder's role (API_PutDeliveryChannel.html)."""
    config, iam, s3 = clients("config"), clients("iam"), clients("s3")
    role = iam.create_role(RoleName="config-role", AssumeRolePolicyDocument=ANY_TRUST)["Role"]["Arn"]
    iam.attach_role_policy(RoleName="config-role", PolicyArn="arn:aws:iam::aws:policy/service-role/AWS_ConfigRole")
    config.put_configuration_recorder(ConfigurationRecorder={"name": "default", "roleARN": role})
    with pytest.raises(ClientError) as info:
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "no-such-history"})
    assert info.value.response["Error"]["Code"] == "NoSuchBucketException"
    s3.create_bucket(Bucket="config-history")
    with pytest.raises(ClientError) as info:
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-history"})
    assert info.value.response["Error"]["Message"] == (
        f"Insufficient delivery policy to s3 bucket: config-history, unable to assume role: {role}.")
    assert config.describe_delivery_channels()["DeliveryChannels"] == []
    with pytest.raises(ClientError) as info:
        config.describe_delivery_channel_status(DeliveryChannelNames=["default"])
    assert info.value.response["Error"]["Code"] == "NoSuchDeliveryChannelException"


def test_the_global_iam_types_are_recorded_in_the_home_region_only(aws, cli, clients):
    """An IAM role is one item for the whole account: a recorder that lists the type records it in its own
    region, so only the home region's (dev's aws_region, us-east-1) lists it (select-resources.html)."""
    code, out, err = baseline(cli)
    assert code == 0, err
    assert "records the global IAM types" in out
    code, out, err = baseline(cli, "--region", "us-west-2")
    assert code == 0, err
    assert "leaves to us-east-1 the global IAM types" in out
    found = {}
    for region in ("us-east-1", "us-west-2"):
        [recorder] = in_region(aws, "config", region).describe_configuration_recorders()["ConfigurationRecorders"]
        delivered = aws.deliver_config_history(region)["delivered"]
        found[region] = (set(recorder["recordingGroup"]["resourceTypes"]), types_in(delivered))
    assert "AWS::IAM::Role" in found["us-east-1"][0] and "AWS::IAM::Role" in found["us-east-1"][1]
    assert not {t for t in found["us-west-2"][0] | found["us-west-2"][1] if t.startswith("AWS::IAM::")}
    assert found["us-west-2"][0] == found["us-east-1"][0] - {"AWS::IAM::Role"}
    assert "AWS::S3::Bucket" in found["us-west-2"][1]   # each region delivers its own regional items
