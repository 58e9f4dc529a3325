"""The CI roles' template on the strict endpoint: it deploys (it ended in ROLLBACK_COMPLETE while its
policies were one Fn::Sub'd JSON string each), its boundary is what `permissions_boundary: project`
names, and every call deploy, diff, destroy and stackset deploy make is one the roles' policies grant.

The endpoint does not evaluate IAM here: the calls are recorded as the verbs make them and judged against
the generated documents (tests/iam_simulation.py), resource by resource where the call names one."""

from __future__ import annotations

import json

import botocore.client
import pytest

from automl_cfn import deploy_role, synth
from automl_cfn.settings import load_settings
from tests.iam_simulation import allowed

from .test_stacksets import organisation, targets  # noqa: F401  (the fixture, shared)

ACCOUNT, REGION = "123456789012", "us-east-1"
OIDC = "https://token.actions.githubusercontent.com"
# IAM's prefix where it is not the API's signing name, and S3's calls under the action IAM checks.
PREFIXES = {"monitoring": "cloudwatch"}
S3_ACTIONS = {"HeadBucket": "ListBucket", "ListObjectsV2": "ListBucket", "ListObjectVersions": "ListBucketVersions",
              "HeadObject": "GetObject", "DeleteObjects": "DeleteObject"}


def deploy_role_stack(clients, cli, env: str = "dev") -> dict[str, str]:
    """The verb's template, deployed as an administrator would: its outputs."""
    provider = clients("iam").create_open_id_connect_provider(Url=OIDC, ClientIDList=["sts.amazonaws.com"],
                                                              ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    code, out, err = cli("deploy-role", "--env", env, "--format", "template")
    assert code == 0, err
    cfn = clients("cloudformation")
    name = f"automl-{env}-ci"
    cfn.create_stack(StackName=name, TemplateBody=out, Capabilities=["CAPABILITY_NAMED_IAM"], Parameters=[
        {"ParameterKey": "GitHubRepository", "ParameterValue": "example/automl"},
        {"ParameterKey": "OidcProviderArn", "ParameterValue": provider}])
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 600})
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_the_template_deploys_and_its_policies_are_the_generated_ones(aws, clients, cli, project_root):
    outputs = deploy_role_stack(clients, cli)
    assert outputs["BoundaryArn"] == f"arn:aws:iam::{ACCOUNT}:policy/automl-dev-boundary"
    assert outputs["DeployRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/automl-cfn/automl-dev-ci-deploy"
    assert outputs["DiffRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/automl-cfn/automl-dev-ci-diff"
    iam = clients("iam")
    settings = load_settings(env="dev", root=project_root)
    chosen = deploy_role.policies(project_root, settings, synth.read_generated_documents(project_root / "generated"),
                                  account=ACCOUNT)
    deployed = []
    for attached in iam.list_attached_role_policies(RoleName="automl-dev-ci-deploy")["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        deployed.append(iam.get_policy_version(PolicyArn=attached["PolicyArn"],
                                               VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"])
    assert [s for d in deployed for s in d["Statement"]] == chosen.deploy
    boundary = iam.get_policy(PolicyArn=outputs["BoundaryArn"])["Policy"]
    document = iam.get_policy_version(PolicyArn=outputs["BoundaryArn"], VersionId=boundary["DefaultVersionId"])
    assert document["PolicyVersion"]["Document"] == chosen.boundary
    trust = iam.get_role(RoleName="automl-dev-ci-diff")["Role"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == \
        ["repo:example/automl:pull_request"]


def test_the_project_boundary_is_checked_then_carried_by_every_role(aws, clients, cli):
    code, out, err = cli("preflight", "--env", "dev", "--format", "json", "--var", "permissions_boundary=project")
    [check] = [c for c in json.loads(out)["checks"] if c["name"] == "permissions-boundary"]
    assert code == 3 and check["status"] == "fail"
    assert check["detail"] == f"policy arn:aws:iam::{ACCOUNT}:policy/automl-dev-boundary does not exist"
    assert "automl-cfn deploy-role --env dev --format template" in check["fix"]
    boundary = deploy_role_stack(clients, cli)["BoundaryArn"]
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", "permissions_boundary=project",
                         "--var", "enable_flow_logs=true", "--var", "enable_stepfunctions=true")
    assert code == 0, err + out
    roles = [r for r in clients("iam").list_roles()["Roles"] if r["RoleName"].startswith("automl-dev-")
             and r["Path"] == "/"]   # the CI roles (/automl-cfn/) are the administrator's
    assert len(roles) >= 4 and {r["RoleName"] for r in roles} >= {"automl-dev-flow-logs-role-us-east-1",
                                                                   "automl-dev-stepfunctions-role-us-east-1"}
    for role in roles:
        found = clients("iam").get_role(RoleName=role["RoleName"])["Role"]
        assert found.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == boundary, role["RoleName"]


def test_the_ci_role_deploys_only_with_the_project_boundary(aws, clients, cli, monkeypatch):
    role = deploy_role_stack(clients, cli)["DeployRoleArn"]
    given = clients("sts").assume_role(RoleArn=role, RoleSessionName="github")["Credentials"]
    for key, value in (("AWS_ACCESS_KEY_ID", "AccessKeyId"), ("AWS_SECRET_ACCESS_KEY", "SecretAccessKey"),
                       ("AWS_SESSION_TOKEN", "SessionToken")):
        monkeypatch.setenv(key, given[value])
    code, out, err = cli("preflight", "--env", "dev", "--format", "json")
    [check] = [c for c in json.loads(out)["checks"] if c["name"] == "permissions-boundary"]
    assert code == 3 and check["status"] == "fail" and check["fix"] == "set permissions_boundary: project"
    assert check["detail"] == "automl-dev-ci-deploy creates roles only with automl-dev-boundary on them"
    code, out, err = cli("preflight", "--env", "dev", "--format", "json", "--var", "permissions_boundary=project")
    assert [c["status"] for c in json.loads(out)["checks"] if c["name"] == "permissions-boundary"] == ["pass"]


@pytest.fixture
def recorded(monkeypatch):
    """Every AWS call made in this process from now on: (IAM action, resource ARN or "*", condition keys
    the request sets)."""
    calls: list[tuple[str, str, dict]] = []
    original = botocore.client.BaseClient._make_api_call

    def record(client, operation, params):
        model = client.meta.service_model
        prefix = PREFIXES.get(model.signing_name, model.signing_name)
        name = S3_ACTIONS.get(operation, operation) if prefix == "s3" else operation
        calls.append((f"{prefix}:{name}", resource_of(prefix, params, client.meta.region_name), context_of(params)))
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    return calls


def resource_of(prefix: str, params: dict, region: str) -> str:
    """The ARN a call acts on, where its parameters name it plainly (S3 and CloudFormation); else "*"
    (judged by action only)."""
    if prefix == "s3" and "Bucket" in params:
        return f"arn:aws:s3:::{params['Bucket']}" + (f"/{params['Key']}" if "Key" in params else "")
    if prefix == "cloudformation" and isinstance(params.get("StackName"), str):
        name = params["StackName"]
        return name if name.startswith("arn:") else f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{name}/id"
    if prefix == "cloudformation" and isinstance(params.get("StackSetName"), str):
        return f"arn:aws:cloudformation:{region}:{ACCOUNT}:stackset/{params['StackSetName']}:id"
    return "*"


def context_of(params: dict) -> dict:
    """The condition keys a request sets: its tags, S3's If-None-Match."""
    context = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in params.get("Tags") or [] if isinstance(t, dict)}
    if "IfNoneMatch" in params:
        context["s3:if-none-match"] = params["IfNoneMatch"]
    return context


def judged(calls, documents) -> list[tuple[str, str]]:
    """The calls the documents do not allow: on the named resource, or (by action) on any."""
    refused = set()
    for action, resource, context in calls:
        if resource == "*":
            statements = [s for d in documents for s in d["Statement"] if s["Effect"] == "Allow"]
            if not any(action.lower() in {a.lower() for a in s["Action"]} for s in statements):
                refused.add((action, resource))
        elif not allowed(documents, action, resource, context):
            refused.add((action, resource))
    return sorted(refused)


def test_every_call_of_deploy_diff_and_destroy_is_granted(aws, cli, project_root, recorded, tmp_path):
    chosen = deploy_role.policies(project_root, load_settings(env="dev", root=project_root),
                                  synth.read_generated_documents(project_root / "generated"), account=ACCOUNT)
    deploy, diff = deploy_role.documents_of(chosen.deploy), deploy_role.documents_of(chosen.diff)
    code, out, err = cli("deploy", "--env", "dev", "--yes")
    assert code == 0, err + out
    deployed = list(recorded)
    recorded.clear()
    code, out, err = cli("diff", "--env", "dev", "--var", "log_retention_days=30")
    assert code == 0, err + out
    diffed = list(recorded)
    recorded.clear()
    code, out, err = cli("destroy", "--env", "dev", "--yes", "--backup", str(tmp_path / "backup"))
    assert code == 0, err + out
    destroyed = list(recorded)
    assert {a for a, _, _ in deployed} >= {"cloudformation:CreateChangeSet", "s3:PutObject", "sts:GetCallerIdentity"}
    assert judged(deployed + diffed + destroyed, deploy) == []
    assert judged(diffed, diff) == []
    assert "cloudformation:ExecuteChangeSet" not in {a for a, _, _ in diffed}


def test_every_call_of_stackset_deploy_is_granted(aws, run, project, organisation, recorded):  # noqa: F811
    chosen = deploy_role.policies(project, load_settings(env="dev", root=project),
                                  synth.read_generated_documents(project / "generated"), account=ACCOUNT)
    one, two, _ = organisation["members"]
    path = targets(project, f'accounts: ["{one}", "{two}"]\nregions: [us-east-1]\n')
    code, out, err = run("stackset", "deploy", "--env", "dev", "--targets", path, "--yes")
    assert code == 0, err + out
    assert "cloudformation:CreateStackInstances" in {a for a, _, _ in recorded}
    assert judged(recorded, deploy_role.documents_of(chosen.deploy)) == []
