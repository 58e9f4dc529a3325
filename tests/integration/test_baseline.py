"""The account baseline on the strict endpoint: AWS Config's recorder, channel and rules, one recorder per region."""

from __future__ import annotations

import pytest
# A trust policy IAM stores (it refuses "{}"); whom it trusts does not matter here.
ANY_TRUST = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
             '"ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')


def baseline(cli, *extra):
    return cli("baseline", "deploy", "--env", "dev", "--yes", *extra)


def rules(config) -> set[str]:
    return {r["ConfigRuleName"] for r in config.describe_config_rules()["ConfigRules"]}


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
])
def test_bad_baseline_flags(aws, cli, args, message):
    code, _, err = cli(*args)
    assert code == 2 and message in err and aws.requests() == 0
