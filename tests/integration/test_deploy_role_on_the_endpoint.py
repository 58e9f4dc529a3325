"""The CI roles as a real account judges them: the role template deployed on the strict endpoint, assumed with
a GitHub OIDC token, and every verb CI runs run as the role.  The endpoint evaluates each call, CloudFormation's
resource handlers included (local_aws/policy/handlers.py): what the verbs do must be allowed, and what lies
outside the environment's names, or would let the role escalate, must be refused."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import act_as, github_session, template_url
from .test_deploy_role import deploy_role_stack
from .test_stacksets import organisation, targets  # noqa: F401  (the fixture, shared)

REPOSITORY = "example/automl"    # what deploy_role_stack passes
MAIN = f"repo:{REPOSITORY}:ref:refs/heads/main"
PULL_REQUEST = f"repo:{REPOSITORY}:pull_request"
BOUNDARY = ("--var", "permissions_boundary=project")


def client_as(aws, credentials: dict[str, str], service: str):
    return boto3.client(service, endpoint_url=aws.url, region_name=aws.region,
                        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                        aws_session_token=credentials["AWS_SESSION_TOKEN"])


@pytest.fixture
def roles(aws, clients, cli):
    return deploy_role_stack(clients, cli)


def test_only_the_default_branch_assumes_the_deploy_role_and_pull_requests_the_diff_role(aws, roles):
    assert github_session(aws, roles["DeployRoleArn"], MAIN)
    assert github_session(aws, roles["DiffRoleArn"], PULL_REQUEST)
    for role, subject in ((roles["DeployRoleArn"], PULL_REQUEST), (roles["DeployRoleArn"], f"repo:{REPOSITORY}:ref:"
                          "refs/heads/feature"), (roles["DiffRoleArn"], MAIN),
                          (roles["DeployRoleArn"], "repo:someone-else/automl:ref:refs/heads/main")):
        with pytest.raises(ClientError, match="sts:AssumeRoleWithWebIdentity"):
            github_session(aws, role, subject)


def test_the_deploy_role_deploys_diffs_and_destroys_and_every_call_is_allowed(aws, roles, cli, monkeypatch, tmp_path):
    """A whole life as CI lives it: deploy, a diff, an update that changes a role's policies, destroy, deploy
    again over what the destroy retained, destroy."""
    act_as(monkeypatch, github_session(aws, roles["DeployRoleArn"], MAIN))
    full = (*BOUNDARY, "--var", "enable_stepfunctions=true", "--var", "retrain_on_new_data=true",
            "--var", "kms_key=create", "--var", "pipeline_schedule=rate(1 day)", "--var", "enable_flow_logs=true",
            "--var", "load_balancer=internal")
    steps = [("deploy", "--env", "dev", "--yes", *full),
             ("diff", "--env", "dev", *full, "--var", "log_retention_days=30"),
             ("deploy", "--env", "dev", "--yes", *full, "--var", "model_quality_metric=validation_accuracy"),
             ("destroy", "--env", "dev", "--yes", "--backup", str(tmp_path / "backup")),
             ("deploy", "--env", "dev", "--yes", *full),
             ("destroy", "--env", "dev", "--yes", "--backup", str(tmp_path / "backup2"))]
    for step in steps:
        code, out, err = cli(*step)
        assert code == 0, (step[0], (err + out)[-3000:])
        assert aws.refusals() == [], step[0]


def test_the_diff_role_reviews_but_cannot_deploy(aws, roles, cli, clients, monkeypatch):
    assert cli("deploy", "--env", "dev", "--yes", *BOUNDARY)[0] == 0          # an administrator deployed it
    act_as(monkeypatch, github_session(aws, roles["DiffRoleArn"], PULL_REQUEST))
    code, out, err = cli("diff", "--env", "dev", *BOUNDARY, "--var", "log_retention_days=30")
    assert code == 0, (err + out)[-3000:]
    assert "LogRetentionDays" in out or "RetentionInDays" in out
    code, out, err = cli("deploy", "--env", "dev", "--yes", *BOUNDARY, "--var", "log_retention_days=30")
    assert code != 0 and "is not authorized to perform" in err + out      # the deploy lock, first
    groups = clients("logs").describe_log_groups(logGroupNamePrefix="/ecs/automl-dev-")["logGroups"]
    assert {g["retentionInDays"] for g in groups} == {7}


def test_the_deploy_role_cannot_leave_its_environment_or_raise_itself(aws, roles, clients, monkeypatch):
    session = github_session(aws, roles["DeployRoleArn"], MAIN)
    iam = client_as(aws, session, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    administrator = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    refused = []
    attempts = {
        "a role without the boundary": lambda: iam.create_role(RoleName="automl-dev-escape", AssumeRolePolicyDocument=trust),
        "a role with another boundary": lambda: iam.create_role(
            RoleName="automl-dev-escape", AssumeRolePolicyDocument=trust,
            PermissionsBoundary="arn:aws:iam::aws:policy/AdministratorAccess"),
        "a role outside the environment": lambda: iam.create_role(
            RoleName="automl-prod-escape", AssumeRolePolicyDocument=trust, PermissionsBoundary=roles["BoundaryArn"]),
        "administrator on the CI role itself": lambda: iam.put_role_policy(
            RoleName="automl-dev-ci-deploy", PolicyName="more", PolicyDocument=administrator),
        "a new version of the boundary": lambda: iam.create_policy_version(
            PolicyArn=roles["BoundaryArn"], PolicyDocument=administrator, SetAsDefault=True),
        "another account's trust on the CI role": lambda: iam.update_assume_role_policy(
            RoleName="automl-dev-ci-deploy", PolicyDocument=trust),
        "a bucket outside the project": lambda: client_as(aws, session, "s3").create_bucket(Bucket="not-the-projects"),
        "the prod stack": lambda: client_as(aws, session, "cloudformation").create_change_set(
            StackName="automl-prod", ChangeSetName="automl-cfn-x", ChangeSetType="CREATE",
            TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})),
    }
    for what, attempt in attempts.items():
        try:
            attempt()
        except ClientError as error:
            if "not authorized" in str(error):
                refused.append(what)
    assert refused == list(attempts)
    # The role that may be made is bounded: administrator inline, the boundary still caps it.
    iam.create_role(RoleName="automl-dev-ok", AssumeRolePolicyDocument=trust, PermissionsBoundary=roles["BoundaryArn"])
    with pytest.raises(ClientError, match="not authorized to perform: iam:DeleteRolePermissionsBoundary"):
        iam.delete_role_permissions_boundary(RoleName="automl-dev-ok")


def test_cloudformation_refuses_a_template_role_without_the_boundary_as_the_handler_would(aws, roles, clients):
    """CloudFormation's IAM handler calls iam:CreateRole as the CI role: a template role without the boundary
    fails the stack, one with it is made."""
    cfn = client_as(aws, github_session(aws, roles["DeployRoleArn"], MAIN), "cloudformation")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}

    def stack(name: str, **role) -> str:
        template = {"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": f"automl-dev-{name.rsplit('-', 1)[1]}-role", "AssumeRolePolicyDocument": trust, **role}}}}
        cfn.create_change_set(StackName=name, ChangeSetName="automl-cfn-test", ChangeSetType="CREATE",
                              TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"])
        cfn.execute_change_set(StackName=name, ChangeSetName="automl-cfn-test")
        return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]

    assert stack("automl-dev-TestStack-unbounded") == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason", "") for e in clients("cloudformation").describe_stack_events(
        StackName="automl-dev-TestStack-unbounded")["StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert any("not authorized to perform: iam:CreateRole" in r for r in reasons), reasons
    assert stack("automl-dev-TestStack-bounded", PermissionsBoundary=roles["BoundaryArn"]) == "CREATE_COMPLETE"


def test_the_deploy_role_rolls_out_the_stack_set(aws, run, project, organisation, monkeypatch):  # noqa: F811
    one, two, _ = organisation["members"]
    path = targets(project, f'accounts: ["{one}", "{two}"]\nregions: [us-east-1]\n')
    code, out, err = run("deploy-role", "--env", "dev", "--format", "template")
    assert code == 0, err
    roles = deploy_role_stack_from(aws, out)
    act_as(monkeypatch, github_session(aws, roles["DeployRoleArn"], MAIN))
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, (err + out)[-3000:]
    assert aws.refusals() == []


def deploy_role_stack_from(aws, template: str) -> dict[str, str]:
    admin = {"endpoint_url": aws.url, "region_name": aws.region, "aws_access_key_id": "testing",
             "aws_secret_access_key": "testing"}
    iam = boto3.client("iam", **admin)
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    provider = providers[0]["Arn"] if providers else iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    cfn = boto3.client("cloudformation", **admin)
    cfn.create_stack(StackName="automl-dev-ci", TemplateURL=template_url(aws, template, "ci.json"), Capabilities=["CAPABILITY_NAMED_IAM"],
                     Parameters=[{"ParameterKey": "GitHubRepository", "ParameterValue": REPOSITORY},
                                 {"ParameterKey": "OidcProviderArn", "ParameterValue": provider}])
    stack = cfn.describe_stacks(StackName="automl-dev-ci")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
