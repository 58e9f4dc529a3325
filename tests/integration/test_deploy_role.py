"""The CI roles' template on the strict endpoint: it deploys (it ended in ROLLBACK_COMPLETE while its
policies were one Fn::Sub'd JSON string each), and its boundary is what `permissions_boundary: project`
names.  What the roles may do, the endpoint judges call by call: test_deploy_role_on_the_endpoint.py."""

from __future__ import annotations

import json

from automl_cfn import deploy_role, synth
from automl_cfn.settings import load_settings

from .conftest import act_as, github_session, template_url

ACCOUNT, REGION = "123456789012", "us-east-1"
OIDC = "https://token.actions.githubusercontent.com"


def deploy_role_stack(clients, cli, env: str = "dev", *settings: str) -> dict[str, str]:
    """The verb's template (for these --var settings), deployed as an administrator would: its outputs."""
    provider = clients("iam").create_open_id_connect_provider(Url=OIDC, ClientIDList=["sts.amazonaws.com"],
                                                              ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    code, out, err = cli("deploy-role", "--env", env, "--format", "template", *settings)
    assert code == 0, err
    cfn = clients("cloudformation")
    name = f"automl-{env}-ci"
    cfn.create_stack(StackName=name, TemplateURL=template_url(clients.aws, out, f"{name}.json"), Capabilities=["CAPABILITY_NAMED_IAM"], Parameters=[
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
    act_as(monkeypatch, github_session(aws, role, "repo:example/automl:ref:refs/heads/main"))
    code, out, err = cli("preflight", "--env", "dev", "--format", "json")
    [check] = [c for c in json.loads(out)["checks"] if c["name"] == "permissions-boundary"]
    assert code == 3 and check["status"] == "fail" and check["fix"] == "set permissions_boundary: project"
    assert check["detail"] == "automl-dev-ci-deploy creates roles only with automl-dev-boundary on them"
    code, out, err = cli("preflight", "--env", "dev", "--format", "json", "--var", "permissions_boundary=project")
    assert [c["status"] for c in json.loads(out)["checks"] if c["name"] == "permissions-boundary"] == ["pass"]
