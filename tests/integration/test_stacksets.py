"""StackSets rollout on the strict endpoint: an organisation of accounts, two regions, failure tolerance."""

from __future__ import annotations

import json

import boto3
import pytest

from .conftest import credentials_in

REGIONS = ("us-east-1", "eu-west-1")
ADMIN = "123456789012"
# A trust policy IAM stores (it refuses "{}"); whom it trusts does not matter here.
ANY_TRUST = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
             '"ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')


def as_account(aws, account: str, service: str, region: str = "us-east-1"):
    return boto3.client(service, endpoint_url=aws.url, region_name=region, **credentials_in(aws, account))


def trust(principal: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})


@pytest.fixture
def organisation(aws, clients, project):
    """An organisation managed from this account: an OU with three member accounts (sorted by ID, the order
    an operation takes them in), the StackSets administration role here, and the execution role in every
    member but the last."""
    organizations = clients("organizations")
    org = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = organizations.list_roots()["Roots"][0]["Id"]
    unit = organizations.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    members = []
    for name in ("one", "two", "three"):
        account = organizations.create_account(Email=f"{name}@example.com", AccountName=name)[
            "CreateAccountStatus"]["AccountId"]
        organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=unit)
        members.append(account)
    members.sort()
    clients("iam").create_role(RoleName="AWSCloudFormationStackSetAdministrationRole",
                               AssumeRolePolicyDocument=trust("*"))
    for account in members[:2]:
        as_account(aws, account, "iam").create_role(
            RoleName="AWSCloudFormationStackSetExecutionRole",
            AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ADMIN}:role/AWSCloudFormationStackSetAdministrationRole"))
    settings = project / "config" / "dev.yaml"
    settings.write_text(settings.read_text() + f"organization_id: {org}\n")
    return {"org": org, "unit": unit, "members": members}


def targets(project, text: str):
    path = project / "targets.yaml"
    path.write_text(text)
    return str(path)


def stacks_in(aws, account: str, region: str) -> dict[str, str]:
    cfn = as_account(aws, account, "cloudformation", region)
    return {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}


def test_failure_tolerance_stops_the_rollout_and_a_second_run_finishes_it(aws, run, project, organisation):
    one, two, three = organisation["members"]
    path = targets(project, f'accounts: ["{one}", "{two}", "{three}"]\nregions: [us-east-1, eu-west-1]\n')
    code, out, err = run("stackset", "diff", "--env", "dev", "--targets", path)
    assert code == 0, err
    assert "Stack set automl-dev in account 123456789012, region us-east-1 (new stack set)" in out
    assert out.count("\tcreate\t") == 6 and "StackSets create no change sets" in err
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    # Defaults: us-east-1 first, one account at a time, no failure tolerated. The third account has no
    # execution role: it fails, and eu-west-1 never starts.
    assert code == 1
    assert f"Account {three} should have 'AWSCloudFormationStackSetExecutionRole' role" in out
    assert "1 failed, 3 cancelled" in err
    for account in (one, two):
        roots = [n for n, status in stacks_in(aws, account, "us-east-1").items()
                 if n.startswith("StackSet-automl-dev-") and n.count("-") == 7 and status == "CREATE_COMPLETE"]
        assert len(roots) == 1, stacks_in(aws, account, "us-east-1")
        # Its nested stacks were read from the administrator's bucket, through the organisation statement.
        assert len([n for n in stacks_in(aws, account, "us-east-1") if n.startswith(roots[0] + "-")]) >= 8
    assert stacks_in(aws, three, "us-east-1") == {} and stacks_in(aws, one, "eu-west-1") == {}
    code, out, _ = run("stackset", "status", "--env", "dev")
    assert code == 1 and "CANCELLED" in out and "FAILED" in out
    # The missing role is created; the same command finishes the rollout.
    as_account(aws, three, "iam").create_role(
        RoleName="AWSCloudFormationStackSetExecutionRole",
        AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ADMIN}:role/AWSCloudFormationStackSetAdministrationRole"))
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    for account in (one, two, three):
        for region in REGIONS:
            assert any(s == "CREATE_COMPLETE" for n, s in stacks_in(aws, account, region).items()
                       if n.startswith("StackSet-automl-dev-")), (account, region)
    code, out, _ = run("stackset", "status", "--env", "dev", "--format", "json")
    assert code == 0 and {i["Status"] for i in json.loads(out)["instances"]} == {"CURRENT"}
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0 and "No changes: automl-dev and its instances are up to date." in out


def test_overrides_reach_their_instance_and_destroy_keeps_the_data(aws, run, project, organisation):
    one, three, _ = organisation["members"]
    path = targets(project, f'accounts: ["{one}", "{three}"]\nregions: [us-east-1]\n'
                            f'overrides:\n  "{three}": {{log_retention_days: 30}}\n'
                            "preferences: {max_concurrent_accounts: 2, failure_tolerance: 1}\n")
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    groups = as_account(aws, three, "logs").describe_log_groups(logGroupNamePrefix="/ecs/automl-dev-")["logGroups"]
    assert {g.get("retentionInDays") for g in groups} == {30}
    groups = as_account(aws, one, "logs").describe_log_groups(logGroupNamePrefix="/ecs/automl-dev-")["logGroups"]
    assert {g.get("retentionInDays") for g in groups} == {7}
    # The override goes from the file: the instance returns to the set's value.
    path = targets(project, f'accounts: ["{one}", "{three}"]\nregions: [us-east-1]\n')
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    assert "update overrides" in out
    groups = as_account(aws, three, "logs").describe_log_groups(logGroupNamePrefix="/ecs/automl-dev-")["logGroups"]
    assert {g.get("retentionInDays") for g in groups} == {7}
    code, out, err = run("stackset", "destroy", "--env", "dev", "--yes")
    assert code == 0, err + out
    assert not any(n.startswith("StackSet-") for n in stacks_in(aws, one, "us-east-1"))
    buckets = [b["Name"] for b in as_account(aws, one, "s3").list_buckets()["Buckets"]]
    assert f"automl-dev-data-{one}-us-east-1" in buckets    # retained, as destroy retains it
    code, _, err = run("stackset", "status", "--env", "dev")
    assert code == 2 and "stack set automl-dev does not exist" in err
    # Rolling out again: the new instance cannot import what the old one retained (StackSets make no change
    # sets), so it fails on the retained names and says which; the README tells how to adopt them instead.
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 1 and "already exists" in out and "1 failed" in err


def test_organizational_units_deploy_to_every_member_without_execution_roles(aws, run, project, organisation):
    path = targets(project, f"organizational_units: [{organisation['unit']}]\nregions: [us-east-1]\n")
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    for account in organisation["members"]:
        assert any(n.startswith("StackSet-automl-dev-") for n in stacks_in(aws, account, "us-east-1"))
    code, out, _ = run("stackset", "drift", "--env", "dev")
    assert code == 0 and "IN_SYNC" in out


def test_nested_templates_need_the_organisation_statement(aws, run, project, organisation):
    """An account outside the organisation has the execution role but may not read the nested templates."""
    outsider = "222222222222"
    as_account(aws, outsider, "iam").create_role(
        RoleName="AWSCloudFormationStackSetExecutionRole",
        AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ADMIN}:role/AWSCloudFormationStackSetAdministrationRole"))
    path = targets(project, f'accounts: ["{outsider}"]\nregions: [us-east-1]\n')
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 1 and "S3 error: Access Denied" in out


def test_stacksets_need_organization_id(aws, run, project, organisation):
    settings = project / "config" / "dev.yaml"
    settings.write_text(settings.read_text().replace(f"organization_id: {organisation['org']}\n", ""))
    path = targets(project, f'accounts: ["{organisation["members"][0]}"]\nregions: [us-east-1]\n')
    code, _, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 2 and "stackset needs organization_id" in err and "Traceback" not in err


def test_the_baseline_goes_organisation_wide_and_an_account_that_records_keeps_its_recorder(aws, run, project,
                                                                                          organisation):
    one, two, _ = organisation["members"]
    role = as_account(aws, two, "iam").create_role(RoleName="config", AssumeRolePolicyDocument=ANY_TRUST)["Role"]["Arn"]
    as_account(aws, two, "config").put_configuration_recorder(ConfigurationRecorder={
        "name": "existing", "roleARN": role, "recordingGroup": {"allSupported": True}})
    path = targets(project, f'accounts: ["{one}", "{two}"]\nregions: [us-east-1]\n')
    code, out, err = run("baseline", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 1 and "MaxNumberOfConfigurationRecordersExceeded" in out   # one recorder per region
    path = targets(project, f'accounts: ["{one}", "{two}"]\nregions: [us-east-1]\n'
                            f'overrides:\n  "{two}": {{create_recorder: false}}\n')
    code, out, err = run("baseline", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    assert [r["name"] for r in as_account(aws, two, "config").describe_configuration_recorders()[
        "ConfigurationRecorders"]] == ["existing"]
    assert len(as_account(aws, one, "config").describe_configuration_recorders()["ConfigurationRecorders"]) == 1
    for account in (one, two):
        names = {r["ConfigRuleName"] for r in as_account(aws, account, "config").describe_config_rules()["ConfigRules"]}
        assert "automl-cfn-vpc-flow-logs-enabled" in names, account
    path = targets(project, f'accounts: ["{one}"]\nregions: [us-east-1]\noverrides:\n  "{one}": {{create_recorder: 1}}\n')
    code, _, err = run("baseline", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 2 and "create_recorder: expected bool" in err


def test_an_organisation_wide_baseline_records_the_global_iam_types_in_the_home_region_only(aws, run, project,
                                                                                           organisation):
    """One rollout over two regions: only the home region's recorder (dev's aws_region, us-east-1) lists the
    global IAM types, so each role is one configuration item, not one per region (select-resources.html); a
    rollout whose regions leave the home region out is told it records them nowhere."""
    one = organisation["members"][0]
    path = targets(project, f'accounts: ["{one}"]\nregions: [{", ".join(REGIONS)}]\n')
    code, out, err = run("baseline", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    listed = {}
    for region in REGIONS:
        [recorder] = as_account(aws, one, "config", region).describe_configuration_recorders()[
            "ConfigurationRecorders"]
        listed[region] = set(recorder["recordingGroup"]["resourceTypes"])
    global_types = {region: {t for t in types if t.startswith("AWS::IAM::")} for region, types in listed.items()}
    assert global_types == {"us-east-1": {"AWS::IAM::Role"}, "eu-west-1": set()}
    assert listed["eu-west-1"] == listed["us-east-1"] - {"AWS::IAM::Role"}
    path = targets(project, f'accounts: ["{one}"]\nregions: [eu-west-1]\n')
    code, out, err = run("baseline", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    assert "none of the target regions is the home region us-east-1" in err


def test_a_release_rolls_out_as_published(aws, run, project, organisation, clients):
    one = organisation["members"][0]
    code, out, err = run("publish", "--env", "dev", "--format", "json")
    assert code == 0, err
    release = json.loads(out)["release"]
    settings = project / "config" / "dev.yaml"
    settings.write_text(settings.read_text().replace("log_retention_days: 7", "log_retention_days: 30"))
    path = targets(project, f'accounts: ["{one}"]\nregions: [us-east-1]\n')
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--release", release, "--yes")
    assert code == 0, err + out
    assert f"Release {release}" in err and "config differs from the release in LogRetentionDays" in err
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in
                  clients("cloudformation").describe_stack_set(StackSetName="automl-dev")["StackSet"]["Parameters"]}
    assert parameters["LogRetentionDays"] == "7" and parameters["TemplatesRegion"] == "us-east-1"


def test_self_managed_targets_need_the_administration_role_before_anything_is_made(aws, run, project, organisation,
                                                                                 clients):
    clients("iam").delete_role(RoleName="AWSCloudFormationStackSetAdministrationRole")
    before = aws.requests()
    path = targets(project, f'accounts: ["{organisation["members"][0]}"]\nregions: [us-east-1]\n')
    code, _, err = run("stackset", "diff", "--env", "dev", "--targets", path)
    assert code == 3   # refused: nothing created, nothing uploaded
    assert "need the role AWSCloudFormationStackSetAdministrationRole in this account" in err
    assert "Creating the artifacts bucket" not in err and aws.requests() - before <= 3
