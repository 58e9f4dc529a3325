"""StackSets rollout on the strict endpoint: an organisation of accounts, two regions, failure tolerance."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from .conftest import act_as, credentials_in

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


STACKSETS_ADMIN = "member.org.stacksets.cloudformation.amazonaws.com"
SERVICE_MANAGED = dict(PermissionModel="SERVICE_MANAGED", TemplateBody='{"Resources": {"Topic": {"Type": '
                       '"AWS::SNS::Topic"}}}', AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": True})


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


def template_set_tag(clients, name: str = "automl-dev") -> tuple[str, set[str]]:
    """The prefix of the template set the stack set names, and the retention tags its objects carry."""
    document = clients("cloudformation").describe_stack_set(StackSetName=name)["StackSet"]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in document["Parameters"]}
    s3, bucket = clients("s3"), parameters["TemplatesBucket"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=parameters["TemplatesPrefix"])["Contents"]]
    return parameters["TemplatesPrefix"], {
        t["Value"] for key in keys for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        if t["Key"] == "automl-cfn:template-set"}


def test_overrides_reach_their_instance_and_destroy_keeps_the_data(aws, run, project, organisation, clients):
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
    # Accounts that join later read the set's nested templates: the rollout keeps them from expiring.
    prefix, tags = template_set_tag(clients)
    assert tags == {"kept-for-stack-sets"}
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
    bucket = f"automl-cfn-artifacts-{ADMIN}-us-east-1"
    keys = [o["Key"] for o in clients("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert {t["Value"] for t in clients("s3").get_object_tagging(Bucket=bucket, Key=keys[0])["TagSet"]} == {
        "expirable"}     # no stack set names it any more: back to expiry
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


# -- a delegated administrator (CallAs) ------------------------------------------------------

def run_as(monkeypatch, aws, account: str) -> None:
    """The commands that follow run as the administrator role of `account`."""
    act_as(monkeypatch, {key.upper(): value for key, value in credentials_in(aws, account).items()})


def refused(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    return f"{raised.value.response['Error']['Code']}: {raised.value.response['Error']['Message']}"


def test_a_member_account_deploys_service_managed_only_as_a_registered_delegated_admin(aws, run, project, organisation,
                                                                                      clients, monkeypatch):
    one, two, three = organisation["members"]
    member = as_account(aws, one, "cloudformation")
    # As SELF (no CallAs) a member account may not run a service-managed stack set: AWS's answer.
    assert refused(lambda: member.create_stack_set(StackSetName="probe", **SERVICE_MANAGED)) == (
        "ValidationError: You must be the management account or delegated admin account of an organization before "
        "operating a SERVICE_MANAGED stack set")
    clients("organizations").register_delegated_administrator(AccountId=one, ServicePrincipal=STACKSETS_ADMIN)
    run_as(monkeypatch, aws, one)
    path = targets(project, f"organizational_units: [{organisation['unit']}]\nregions: [us-east-1]\n")
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    assert f"called as DELEGATED_ADMIN from account {one}; the stack set lives in the management account {ADMIN}" in out
    # The stack set is the management account's (where AWS keeps service-managed ones), not the member's.
    found = clients("cloudformation").describe_stack_set(StackSetName="automl-dev")["StackSet"]
    assert found["StackSetARN"].startswith(f"arn:aws:cloudformation:us-east-1:{ADMIN}:stackset/automl-dev:")
    assert refused(lambda: member.describe_stack_set(StackSetName="automl-dev")).startswith("StackSetNotFoundException")
    for account in (one, two, three):
        assert any(n.startswith("StackSet-automl-dev-") for n in stacks_in(aws, account, "us-east-1")), account
    # Every later call finds it only with CallAs: status, drift and destroy, from the member account.
    code, out, err = run("stackset", "status", "--env", "dev", "--format", "json")
    assert code == 0, err + out
    assert json.loads(out)["call_as"] == "DELEGATED_ADMIN" and len(json.loads(out)["instances"]) == 3
    code, out, err = run("stackset", "drift", "--env", "dev")
    assert code == 0 and "IN_SYNC" in out, err + out
    code, out, err = run("stackset", "destroy", "--env", "dev", "--yes")
    assert code == 0, err + out
    assert refused(lambda: clients("cloudformation").describe_stack_set(StackSetName="automl-dev")).startswith(
        "StackSetNotFoundException")


def test_call_as_delegated_admin_needs_the_registration(aws, run, project, organisation, clients, monkeypatch):
    one, two, _ = organisation["members"]
    request = dict(StackSetName="probe", CallAs="DELEGATED_ADMIN", **SERVICE_MANAGED)
    # Neither a member that is not registered nor the management account itself may call as DELEGATED_ADMIN.
    for cloudformation in (as_account(aws, two, "cloudformation"), clients("cloudformation")):
        assert refused(lambda: cloudformation.create_stack_set(**request)) == (
            "ValidationError: Account used is not a delegated administrator")
    organizations = clients("organizations")
    organizations.register_delegated_administrator(AccountId=one, ServicePrincipal=STACKSETS_ADMIN)
    as_account(aws, one, "cloudformation").create_stack_set(**request)
    organizations.deregister_delegated_administrator(AccountId=one, ServicePrincipal=STACKSETS_ADMIN)
    assert refused(lambda: as_account(aws, one, "cloudformation").describe_stack_set(
        StackSetName="probe", CallAs="DELEGATED_ADMIN")) == "ValidationError: Account used is not a delegated administrator"
    # The command says so before it makes anything in the member account (no artifacts bucket, no upload).
    run_as(monkeypatch, aws, two)
    path = targets(project, f"organizational_units: [{organisation['unit']}]\nregions: [us-east-1]\n")
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 3 and f"account {two} is not registered as a StackSets delegated administrator" in err
    assert f"register-delegated-administrator --account-id {two}" in err and "Traceback" not in err
    assert "Creating the artifacts bucket" not in err and as_account(aws, two, "s3").list_buckets()["Buckets"] == []
    # A file that says SELF from a member account contradicts the organisation: refused, nothing made.
    path = targets(project, f"organizational_units: [{organisation['unit']}]\nregions: [us-east-1]\ncall_as: SELF\n")
    code, _, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 2 and f"call_as: SELF, but account {two} is a member of {organisation['org']}" in err


def test_call_as_delegated_admin_is_for_service_managed_stack_sets_only(aws, organisation, clients):
    one = organisation["members"][0]
    clients("organizations").register_delegated_administrator(AccountId=one, ServicePrincipal=STACKSETS_ADMIN)
    delegated = as_account(aws, one, "cloudformation")
    body = SERVICE_MANAGED["TemplateBody"]
    assert refused(lambda: delegated.create_stack_set(StackSetName="own", TemplateBody=body, CallAs="DELEGATED_ADMIN",
                                                      PermissionModel="SELF_MANAGED")).startswith(
        "ValidationError: CallAs DELEGATED_ADMIN is valid only for stack sets with the SERVICE_MANAGED permission model")
    # The management account's self-managed stack sets are its own; its service-managed ones the delegate's too.
    management = clients("cloudformation")
    management.create_stack_set(StackSetName="own", TemplateBody=body)
    management.create_stack_set(StackSetName="shared", **SERVICE_MANAGED)
    assert refused(lambda: delegated.describe_stack_set(StackSetName="own", CallAs="DELEGATED_ADMIN")).startswith(
        "StackSetNotFoundException")
    assert delegated.describe_stack_set(StackSetName="shared", CallAs="DELEGATED_ADMIN")["StackSet"][
        "PermissionModel"] == "SERVICE_MANAGED"
    assert [s["StackSetName"] for s in delegated.list_stack_sets(CallAs="DELEGATED_ADMIN")["Summaries"]] == ["shared"]


def test_call_as_takes_self_or_delegated_admin_only(aws, organisation):
    unchecked = boto3.client("cloudformation", endpoint_url=aws.url, region_name="us-east-1",
                             aws_access_key_id="testing", aws_secret_access_key="testing",
                             config=Config(parameter_validation=False))
    assert refused(lambda: unchecked.create_stack_set(StackSetName="probe", CallAs="ROOT", **SERVICE_MANAGED)) == (
        "ValidationError: 1 validation error detected: Value 'ROOT' at 'callAs' failed to satisfy constraint: Member "
        "must satisfy enum value set: [SELF, DELEGATED_ADMIN]")


# -- what a rollout says and the order it takes ----------------------------------------------

def operations_in_order(clients, name: str = "automl-dev") -> list[list[tuple[str, str]]]:
    """Each operation's (account, region) results, oldest operation first."""
    cfn = clients("cloudformation")
    operations = reversed(cfn.list_stack_set_operations(StackSetName=name)["Summaries"])
    return [[(r["Account"], r["Region"]) for r in cfn.list_stack_set_operation_results(
        StackSetName=name, OperationId=o["OperationId"])["Summaries"]] for o in operations]


def test_the_summary_counts_every_instance_of_every_override_group(aws, run, project, organisation):
    path = targets(project, f"organizational_units: [{organisation['unit']}]\nregions: [us-east-1, eu-west-1]\n"
                            "overrides:\n  eu-west-1: {log_retention_days: 30}\n")
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    made = {(account, region) for account in organisation["members"] for region in REGIONS
            if any(n.startswith("StackSet-automl-dev-") for n in stacks_in(aws, account, region))}
    assert len(made) == 6   # three accounts of the OU, two regions, two override groups
    assert "automl-dev: rolled out to 6 instances (6 created, 0 updated)" in out


def test_region_order_holds_across_override_groups(aws, run, project, organisation, clients):
    one, two, _ = organisation["members"]   # both have the execution role
    path = targets(project, f'accounts: ["{one}", "{two}"]\nregions: [us-east-1, eu-west-1]\n'
                            f'overrides:\n  "{two}": {{log_retention_days: 30}}\n'
                            "preferences: {region_order: [eu-west-1]}\n")
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    taken = [region for operation in operations_in_order(clients) for _, region in operation]
    # Every eu-west-1 instance, of either override group, before any us-east-1 one.
    assert taken == ["eu-west-1", "eu-west-1", "us-east-1", "us-east-1"], operations_in_order(clients)
    assert "rolled out to 4 instances (4 created, 0 updated)" in out


def test_a_repeated_region_in_region_order_is_refused(aws, run, project, organisation, clients):
    before = aws.requests()
    path = targets(project, f'accounts: ["{organisation["members"][0]}"]\nregions: [us-east-1, eu-west-1]\n'
                            "preferences: {region_order: [eu-west-1, us-east-1, eu-west-1]}\n")
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 2 and "preferences: region_order: lists eu-west-1 twice" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert aws.requests() == before and clients("cloudformation").list_stack_sets()["Summaries"] == []


def test_stack_set_listing_filters_by_status(clients):
    cfn = clients("cloudformation")
    body = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    for name in ("kept", "gone"):
        cfn.create_stack_set(StackSetName=name, TemplateBody=body)
    cfn.delete_stack_set(StackSetName="gone")
    listed = {s["StackSetName"]: s["Status"] for s in cfn.list_stack_sets()["Summaries"]}
    assert listed == {"kept": "ACTIVE", "gone": "DELETED"}
    assert [s["StackSetName"] for s in cfn.list_stack_sets(Status="ACTIVE")["Summaries"]] == ["kept"]
    assert [s["StackSetName"] for s in cfn.list_stack_sets(Status="DELETED")["Summaries"]] == ["gone"]
