"""deploy-role: the environment's CI deploy role, its pull-request diff role and the permissions boundary of
its roles, derived from the templates and the Service Authorization Reference.  What each policy allows is
asked of the generated documents through the local endpoint's evaluator (local_aws/policy/, IAM's evaluation
logic); what is on "*" is judged by parliament's IAM definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automl_cfn import deploy_role, providers, synth
from automl_cfn.deploy_role import needs as needs_module
from automl_cfn.deploy_role import reference
from automl_cfn.deploy_role.needs import collect, configurations, needed
from automl_cfn.intrinsics import Symbol
from automl_cfn.local_aws.policy.evaluation import Request, Subject, decide
from automl_cfn.local_aws.policy.language import Caller, Policy
from automl_cfn.settings import load_settings, with_overrides

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/automl-dev-boundary"
TAGS = {"Project": "automl", "Environment": "dev"}


CI_SESSION = Caller("role-session", ACCOUNT, f"arn:aws:sts::{ACCOUNT}:assumed-role/automl-dev-ci-deploy/github",
                    f"{ROLE}/automl-cfn/automl-dev-ci-deploy")


def allowed(documents: list[dict], action: str, resource: str, context: dict | None = None) -> bool:
    """Would a session of a role with these identity policies be allowed `action` on `resource`?"""
    request = Request(CI_SESSION, action, resource, context or {})
    return decide(request, Subject([Policy.of(d) for d in documents])).allowed


def tagged(kind: str, tags: dict = TAGS) -> dict:
    return {f"aws:{kind}/{key}": value for key, value in tags.items()}


@pytest.fixture(scope="module")
def documents(project_root):
    return synth.read_generated_documents(project_root / "generated")


@pytest.fixture(scope="module")
def dev(project_root):
    return load_settings(env="dev", root=project_root)


@pytest.fixture(scope="module")
def chosen(project_root, dev, documents):
    return deploy_role.policies(project_root, dev, documents, account=ACCOUNT)


@pytest.fixture(scope="module")
def deploy(chosen):
    return deploy_role.documents_of(chosen.deploy)


@pytest.fixture(scope="module")
def diff(chosen):
    return deploy_role.documents_of(chosen.diff)


@pytest.fixture(scope="module")
def every_configuration(project_root, dev, documents):
    return collect(documents, configurations(project_root, dev).values())


def granted(statements: list[dict]) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" for a in s["Action"]}


# ---------------------------------------------------------------------------
# what is needed
# ---------------------------------------------------------------------------

def test_every_action_the_deployed_resources_need_is_granted(chosen, every_configuration):
    wanted = every_configuration.actions - set(deploy_role.NEVER_ON_ROLES)   # removing a boundary: never
    assert "iam:DeleteRolePermissionsBoundary" in every_configuration.actions
    assert wanted and wanted <= granted(chosen.deploy)
    assert set(deploy_role.TOOL_ACTIONS) - granted(chosen.deploy) == set()


def test_another_service_is_granted_only_where_the_properties_refer_to_it(documents):
    def type_of(where, logical_id):
        return documents[where]["Resources"][logical_id]["Type"]

    machine = "AWS::StepFunctions::StateMachine"
    role = Symbol("iam", "StepFunctionsRole", "Arn")
    plain = needed(machine, {"RoleArn": role, "DefinitionString": "{}"}, type_of)
    assert "iam:PassRole" in plain and not {a for a in plain if a.startswith(("kms:", "s3:"))}
    encrypted = needed(machine, {"RoleArn": role, "EncryptionConfiguration": {
        "KmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"}}, type_of)
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= encrypted
    scaling = needed("AWS::ApplicationAutoScaling::ScalableTarget", {"ServiceNamespace": "ecs"}, type_of)
    assert "cloudwatch:PutMetricAlarm" in scaling and not {a for a in scaling if a.startswith("lambda:")}
    bucket = needed("AWS::S3::Bucket", {"BucketName": "x"}, type_of)
    assert "s3:CreateBucket" in bucket and not {a for a in bucket if a.startswith(("s3tables:", "iam:"))}


def test_services_no_template_refers_to_are_not_granted(chosen):
    services = {a.split(":")[0] for a in granted(chosen.deploy)}
    assert not services & {"s3tables", "lambda", "cognito-idp", "firehose", "vpc-lattice", "vpce", "autoscaling"}
    everything = {a for t in providers.template_types(synth.build_templates().values())
                  for a in providers.get(t).permissions}
    assert {"s3tables:CreateTable", "lambda:PutProvisionedConcurrencyConfig"} <= everything   # what was dropped


def test_what_no_configuration_deploys_is_not_granted(project_root, dev, documents):
    only_dev = collect(documents, [dev]).actions
    assert "states:CreateStateMachine" not in only_dev and "pipes:CreatePipe" not in only_dev
    assert "kms:CreateKey" not in only_dev and "elasticloadbalancing:CreateLoadBalancer" not in only_dev
    full = collect(documents, configurations(project_root, dev).values()).actions
    assert {"states:CreateStateMachine", "pipes:CreatePipe", "kms:CreateKey"} <= full


def test_a_type_listing_service_linked_roles_says_which(documents):
    for resource_type in providers.template_types(documents.values()):
        if "iam:CreateServiceLinkedRole" in providers.get(resource_type).permissions:
            assert resource_type in needs_module.SERVICE_LINKED_ROLES, resource_type


# ---------------------------------------------------------------------------
# item 6: the deploy role cannot escalate
# ---------------------------------------------------------------------------

def test_roles_are_created_and_changed_only_with_the_boundary(deploy):
    role = f"{ROLE}/automl-dev-task-role-us-east-1"
    with_boundary = {"iam:PermissionsBoundary": BOUNDARY}
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"):
        assert allowed(deploy, action, role, with_boundary), action
        assert not allowed(deploy, action, role), action
        assert not allowed(deploy, action, role, {"iam:PermissionsBoundary": f"{ROLE}/x"}), action
    other = f"arn:aws:iam::{ACCOUNT}:policy/automl-dev-other"
    assert not allowed(deploy, "iam:PutRolePermissionsBoundary", role, {"iam:PermissionsBoundary": other})
    assert not allowed(deploy, "iam:DeleteRolePermissionsBoundary", role, with_boundary)
    assert not allowed(deploy, "iam:CreateRole", f"{ROLE}/automl-prod-x", {"iam:PermissionsBoundary": BOUNDARY})


def test_only_the_templates_managed_policies_may_be_attached(deploy, documents):
    used = {arn["Fn::Sub"].replace("${AWS::Partition}", "aws") for d in documents.values()
            for body in d["Resources"].values() if body["Type"] == "AWS::IAM::Role"
            for arn in body["Properties"].get("ManagedPolicyArns", [])}
    assert used == {"arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"}
    role = f"{ROLE}/automl-dev-ecs-infrastructure-role-us-east-1"
    for policy in used:
        assert allowed(deploy, "iam:AttachRolePolicy", role,
                       {"iam:PermissionsBoundary": BOUNDARY, "iam:PolicyARN": policy})
    admin = {"iam:PermissionsBoundary": BOUNDARY, "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
    assert not allowed(deploy, "iam:AttachRolePolicy", role, admin)


def test_the_boundary_and_the_ci_roles_are_out_of_reach(deploy):
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy",
                   "iam:DeletePolicyVersion"):
        assert not allowed(deploy, action, BOUNDARY), action
    own = f"{ROLE}/automl-cfn/automl-dev-ci-deploy"
    for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy",
                   "iam:DeleteRolePermissionsBoundary"):
        assert not allowed(deploy, action, own, {"iam:PermissionsBoundary": BOUNDARY,
                                                 "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"})
    assert not allowed(deploy, "iam:CreatePolicyVersion",
                       f"arn:aws:iam::{ACCOUNT}:policy/automl-cfn/automl-dev-ci-deploy-1")


def test_roles_are_passed_to_exactly_the_services_that_trust_them(deploy, documents):
    trusted = {service for d in documents.values() for body in d["Resources"].values()
               if body["Type"] == "AWS::IAM::Role" and d is not documents.get("artifacts")
               for statement in body["Properties"]["AssumeRolePolicyDocument"]["Statement"]
               for service in [statement["Principal"]["Service"]]}
    assert {"scheduler.amazonaws.com", "pipes.amazonaws.com"} <= trusted
    role = f"{ROLE}/automl-dev-scheduler-role-us-east-1"
    for service in trusted:
        assert allowed(deploy, "iam:PassRole", role, {"iam:PassedToService": service}), service
    assert not allowed(deploy, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allowed(deploy, "iam:PassRole", f"{ROLE}/someone-else",
                       {"iam:PassedToService": "ecs-tasks.amazonaws.com"})


def test_service_linked_roles_only_for_the_services_the_types_use(deploy):
    for service in ("ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com",
                    "ecs.application-autoscaling.amazonaws.com"):   # the last only once there is an image
        role = f"{ROLE}/aws-service-role/{service}/AWSServiceRoleFor"
        assert allowed(deploy, "iam:CreateServiceLinkedRole", role, {"iam:AWSServiceName": service}), service
    other = "rds.amazonaws.com"
    assert not allowed(deploy, "iam:CreateServiceLinkedRole", f"{ROLE}/aws-service-role/{other}/x",
                       {"iam:AWSServiceName": other})


def test_every_role_the_stacks_create_is_within_the_ci_roles_reach(project_root, dev, documents):
    """Named `<project>-<env>-...`, so the deploy role can manage it (the flow logs role had no name)."""
    for name, settings in configurations(project_root, dev).items():
        roles = collect(documents, [settings]).names.get("AWS::IAM::Role", set())
        found = {logical for d in documents.values() for logical, b in d["Resources"].items()
                 if b["Type"] == "AWS::IAM::Role" and d is not documents["artifacts"]}
        assert roles and all(role.startswith("automl-dev-") for role in roles), name
    assert "FlowLogsRole" in found


def test_the_boundary_setting_project_names_the_environments_boundary():
    from automl_cfn import evaluate
    from automl_cfn.parameters import parameter_values

    settings = with_overrides(load_settings(env="dev", root=Path(__file__).parents[2]), permissions_boundary="project",
                              enable_flow_logs=True, enable_stepfunctions=True)
    stacks = evaluate.nested_stacks(synth.build_templates(), parameter_values(settings))
    roles = {**stacks["iam"].of_type("AWS::IAM::Role"), **stacks["network"].of_type("AWS::IAM::Role")}
    assert len(roles) >= 4
    assert {json.dumps(r["Properties"]["PermissionsBoundary"]) for r in roles.values()} == {json.dumps(
        {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${ProjectName}-${Environment}-boundary"})}


# ---------------------------------------------------------------------------
# item 7: scoped to the environment
# ---------------------------------------------------------------------------

def parliament_resource_types() -> dict[str, set[str]]:
    from parliament import iam_definition

    return {f"{service['prefix']}:{p['privilege']}".lower(): {r["resource_type"] for r in p["resource_types"]
                                                                 if r["resource_type"]}
            for service in iam_definition for p in service["privileges"]}


@pytest.mark.parametrize("role", ["deploy", "diff"])
def test_what_is_on_star_takes_no_resource_arn_or_carries_a_condition(chosen, role):
    """Judged by parliament's IAM definitions; an action it does not know by cfn-lint's newer copy."""
    types = parliament_resource_types()
    for statement in getattr(chosen, role):
        if statement["Resource"] != "*" or "Condition" in statement:
            continue
        for action in statement["Action"]:
            known = types.get(action.lower())
            assert (not known) if known is not None else reference.resource_types(action) == [], action


def test_no_action_that_takes_an_arn_is_left_on_star(chosen):
    """Before: 191 such actions on "*" (deploy_role.py at f63a5bd); now none without a condition."""
    types = parliament_resource_types()
    on_star = {a for s in chosen.deploy if s["Resource"] == "*" and "Condition" not in s for a in s["Action"]}
    assert on_star and not {a for a in on_star if types.get(a.lower())}


def test_names_the_project_gives_are_scoped_by_name(deploy):
    assert allowed(deploy, "s3:PutBucketPolicy", "arn:aws:s3:::automl-dev-data-123456789012-us-east-1")
    assert not allowed(deploy, "s3:PutBucketPolicy", "arn:aws:s3:::someone-elses-bucket")
    assert allowed(deploy, "sqs:SetQueueAttributes", f"arn:aws:sqs:us-east-1:{ACCOUNT}:automl-dev-retrain-requests")
    assert not allowed(deploy, "sqs:SetQueueAttributes", f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders")
    assert allowed(deploy, "logs:PutRetentionPolicy",
                   f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/automl-dev-train")
    assert not allowed(deploy, "logs:DeleteLogGroup", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/ecs/other")
    assert allowed(deploy, "scheduler:CreateSchedule",
                   f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/default/automl-dev-pipeline")
    assert allowed(deploy, "ecs:UpdateService",
                   f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/automl-dev-cluster/automl-dev-predict")
    assert not allowed(deploy, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/web")
    assert not allowed(deploy, "s3:GetObject", "arn:aws:s3:::automl-dev-data-123456789012-us-east-1/data/x.csv")


def test_one_role_per_environment(deploy):
    for action, arn in (("cloudformation:ExecuteChangeSet",
                         f"arn:aws:cloudformation:us-west-2:{ACCOUNT}:stack/automl-prod/1"),
                        ("s3:DeleteBucket", "arn:aws:s3:::automl-prod-data-123456789012-us-west-2"),
                        ("ecr:DeleteRepository", f"arn:aws:ecr:us-west-2:{ACCOUNT}:repository/automl-prod-train")):
        assert not allowed(deploy, action, arn), action
        assert allowed(deploy, action, arn.replace("automl-prod", "automl-dev")), action
    assert allowed(deploy, "cloudformation:UpdateStack",
                   f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/automl-dev-NetworkStack-1ABC/1")
    assert not allowed(deploy, "cloudformation:UpdateStack",   # the CI roles' own stack
                       f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/automl-dev-ci/1")


def test_what_aws_names_by_id_is_held_to_the_projects_tags(deploy):
    vpc = f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-0123456789abcdef0"
    assert allowed(deploy, "ec2:DeleteVpc", vpc, tagged("ResourceTag"))
    assert not allowed(deploy, "ec2:DeleteVpc", vpc)
    assert not allowed(deploy, "ec2:DeleteVpc", vpc, tagged("ResourceTag", {**TAGS, "Environment": "prod"}))
    assert allowed(deploy, "ec2:CreateVpc", vpc, tagged("RequestTag"))
    assert not allowed(deploy, "ec2:CreateVpc", vpc)
    group = f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0123456789abcdef0"
    assert not allowed(deploy, "ec2:AuthorizeSecurityGroupIngress", group)
    assert allowed(deploy, "ec2:AuthorizeSecurityGroupIngress", group, tagged("ResourceTag"))
    # A security group may go into a VPC the settings name (existing_vpc_id), which is not the project's.
    assert allowed(deploy, "ec2:CreateSecurityGroup", vpc) and allowed(deploy, "ec2:CreateSecurityGroup", group,
                                                                      tagged("RequestTag"))
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert allowed(deploy, "kms:ScheduleKeyDeletion", key, tagged("ResourceTag"))
    assert not allowed(deploy, "kms:ScheduleKeyDeletion", key) and not allowed(deploy, "kms:Decrypt", key)
    assert allowed(deploy, "kms:CreateKey", "*", tagged("RequestTag")) and not allowed(deploy, "kms:CreateKey", "*")
    balancer = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/autom-Predi-1ABC/50dc6c495c0c9188"
    assert allowed(deploy, "elasticloadbalancing:DeleteLoadBalancer", balancer, tagged("ResourceTag"))
    assert not allowed(deploy, "elasticloadbalancing:DeleteLoadBalancer", balancer)


def test_preflight_reads_the_existing_vpc_and_any_prefix_list_it_admits_from(project_root, documents, chosen):
    """A landing zone's VPC carries none of the project's tags, and the prefix lists its endpoints' groups admit
    from may be AWS's (account `aws`) or shared by a network account: preflight reads them all the same, that
    VPC only, and only with existing_vpc_id."""
    mine = "vpc-0123456789abcdef0"
    settings = with_overrides(load_settings(env="dev", root=project_root), existing_vpc_id=mine,
                              existing_private_subnet_ids="subnet-0123456789abcdef0,subnet-0123456789abcdef1")
    deploy = deploy_role.documents_of(deploy_role.policies(project_root, settings, documents, account=ACCOUNT).deploy)
    diff = deploy_role.documents_of(deploy_role.policies(project_root, settings, documents, account=ACCOUNT).diff)
    vpc = f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/{mine}"
    for role in (deploy, diff):
        assert allowed(role, "ec2:DescribeVpcAttribute", vpc)
        assert not allowed(role, "ec2:DescribeVpcAttribute", vpc.replace(mine, "vpc-0fedcba9876543210"))
        assert not allowed(role, "ec2:ModifyVpcAttribute", vpc) and not allowed(role, "ec2:DeleteVpc", vpc)
        for owner in ("aws", ACCOUNT, "210987654321"):
            assert allowed(role, "ec2:GetManagedPrefixListEntries",
                           f"arn:aws:ec2:us-east-1:{owner}:prefix-list/pl-0123456789abcdef0"), owner
        assert not allowed(role, "ec2:ModifyManagedPrefixList",
                           f"arn:aws:ec2:us-east-1:{ACCOUNT}:prefix-list/pl-0123456789abcdef0")
    # Without existing_vpc_id: neither read (the tags hold DescribeVpcAttribute to the project's own VPC).
    without = deploy_role.documents_of(chosen.deploy)
    assert not allowed(without, "ec2:DescribeVpcAttribute", vpc)
    assert allowed(without, "ec2:DescribeVpcAttribute", vpc, tagged("ResourceTag"))
    assert not allowed(without, "ec2:GetManagedPrefixListEntries",
                       "arn:aws:ec2:us-east-1:aws:prefix-list/pl-0123456789abcdef0")


def test_conditions_are_written_only_on_actions_that_take_them(chosen):
    for statement in chosen.deploy + chosen.diff:
        for operator, tests in statement.get("Condition", {}).items():
            for key in tests:
                # The reference writes a tag key's placeholder as ${TagKey} or, for S3, as <key>.
                generic = {key.split("/")[0] + (f"/{placeholder}" if "/" in key else "")
                           for placeholder in ("${TagKey}", "<key>")}
                for action in statement["Action"]:
                    assert generic & (reference.condition_keys(action) | {
                        k for t in reference.resource_types(action) or [] for k in reference.condition_keys(action, t)
                    }), (statement["Sid"], action, key)


def test_the_artifacts_bucket_for_any_project_name(project_root, documents):
    settings = with_overrides(load_settings(env="dev", root=project_root), project_name="acme")
    policy = deploy_role.documents_of(deploy_role.policies(project_root, settings, documents, account=ACCOUNT).deploy)
    bucket = f"arn:aws:s3:::automl-cfn-artifacts-{ACCOUNT}-us-east-1"
    for action in ("s3:CreateBucket", "s3:PutBucketPolicy", "s3:PutEncryptionConfiguration", "s3:ListBucket"):
        assert allowed(policy, action, bucket), action
    assert allowed(policy, "cloudformation:CreateChangeSet",
                   f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/automl-cfn-artifacts/1")
    assert allowed(policy, "s3:PutObject", f"{bucket}/templates/acme/0123456789abcdef/root.json")
    assert allowed(policy, "s3:PutObject", f"{bucket}/locks/acme-dev.json")
    assert not allowed(policy, "s3:PutObject", f"{bucket}/templates/automl/0123456789abcdef/root.json")
    assert not allowed(policy, "s3:PutObject", f"{bucket}/locks/acme-prod.json")


# ---------------------------------------------------------------------------
# the pull-request role
# ---------------------------------------------------------------------------

def test_the_diff_role_reads_and_creates_only_change_sets(chosen, diff):
    stack = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/automl-dev/1"
    for action in ("cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet",
                   "cloudformation:DescribeChangeSet", "cloudformation:DescribeStacks", "cloudformation:GetTemplate"):
        assert allowed(diff, action, stack), action
    for action in ("cloudformation:ExecuteChangeSet", "cloudformation:DeleteStack", "cloudformation:UpdateStack"):
        assert not allowed(diff, action, stack), action
    for statement in chosen.diff:
        if statement["Sid"].startswith("Artifacts"):   # template sets and releases (below)
            continue
        for action in statement["Action"]:
            assert deploy_role.read_only(action) or action in deploy_role.DIFF_WRITES, action
    assert not granted(chosen.diff) & {"secretsmanager:GetSecretValue", "iam:PassRole", "kms:Decrypt"}
    assert not allowed(diff, "s3:GetObject", "arn:aws:s3:::automl-dev-data-123456789012-us-east-1/data/x.csv")
    templates = f"arn:aws:s3:::automl-cfn-artifacts-{ACCOUNT}-us-east-1/templates/automl/0123456789abcdef/root.json"
    assert allowed(diff, "s3:PutObject", templates, {"s3:if-none-match": "*"})
    assert not allowed(diff, "s3:PutObject", templates)


def test_trust_deploys_from_the_default_branch_or_the_environment_and_diffs_from_pull_requests(chosen):
    from automl_cfn.deploy_role.template import OIDC_AUDIENCE, OIDC_SUBJECT, template

    resources = template(chosen)["Resources"]
    deploy_trust = resources["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    diff_trust = resources["DiffRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert list(deploy_trust) == ["StringEquals"] and deploy_trust["StringEquals"][OIDC_AUDIENCE] == "sts.amazonaws.com"
    subjects = json.dumps(deploy_trust["StringEquals"][OIDC_SUBJECT])
    assert "refs/heads/${DefaultBranch}" in subjects and "environment:${GitHubEnvironment}" in subjects
    assert "pull_request" not in subjects and "*" not in subjects
    assert diff_trust["StringEquals"][OIDC_SUBJECT] == [{"Fn::Sub": "repo:${GitHubRepository}:pull_request"}]
    for logical_id in ("DeployRole", "DiffRole"):
        properties = resources[logical_id]["Properties"]
        assert properties["Path"] == deploy_role.ROLE_PATH and properties["RoleName"].startswith("automl-dev-ci-")


# ---------------------------------------------------------------------------
# the boundary
# ---------------------------------------------------------------------------

def test_the_boundary_allows_what_the_roles_policies_allow(chosen, every_configuration):
    boundary = [chosen.boundary]
    allows = {a for s in chosen.boundary["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}
    assert every_configuration.role_actions <= allows
    for action, arns in every_configuration.role_arns.items():   # the ARNs the roles' policies spell out
        for arn in arns:
            parts = arn.split(":", 5)
            assert allowed(boundary, action, arn.replace(f":{parts[3]}:", ":us-east-1:", 1) if parts[3] else arn,
                           {"iam:PassedToService": "ecs-tasks.amazonaws.com"}), (action, arn)
    names = every_configuration.names   # and those the roles reach through other stacks' resources
    for bucket in names["AWS::S3::Bucket"]:
        if "-data-" in bucket:
            for action in ("s3:GetObject", "s3:PutObject"):
                assert allowed(boundary, action, f"arn:aws:s3:::{bucket}/models/m.pkl"), (action, bucket)
    for group in names["AWS::Logs::LogGroup"]:
        stream = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:log-stream:s"
        assert allowed(boundary, "logs:PutLogEvents", stream), group
    for repository in names["AWS::ECR::Repository"]:
        assert allowed(boundary, "ecr:BatchGetImage", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{repository}")
    for queue in names["AWS::SQS::Queue"]:
        assert allowed(boundary, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}"), queue
    for machine in names["AWS::StepFunctions::StateMachine"]:
        assert allowed(boundary, "states:StartExecution", f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:{machine}")
    assert not allowed(boundary, "s3:GetObject", "arn:aws:s3:::someone-elses-bucket/x")
    assert not allowed(boundary, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders")
    assert allowed(boundary, "events:PutRule",
                   f"arn:aws:events:us-east-1:{ACCOUNT}:rule/StepFunctionsGetEventsForECSTaskRule")
    assert allowed(boundary, "elasticloadbalancing:ModifyListener", "*")   # the attached AWS managed policy's


def test_the_boundary_denies_every_iam_write_but_passing_the_projects_roles(chosen):
    boundary = [chosen.boundary]
    for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreatePolicyVersion",
                   "iam:DeleteRolePermissionsBoundary", "iam:CreateAccessKey", "iam:UpdateAssumeRolePolicy"):
        assert not allowed(boundary, action, f"{ROLE}/automl-dev-task-role-us-east-1"), action
    role = f"{ROLE}/automl-dev-ecs-task-role-us-east-1"
    assert allowed(boundary, "iam:PassRole", role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not allowed(boundary, "iam:PassRole", f"{ROLE}/admin", {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not allowed(boundary, "sts:AssumeRole", f"{ROLE}/admin")


# ---------------------------------------------------------------------------
# documents, data, template, verb
# ---------------------------------------------------------------------------

def test_every_tag_taking_resource_carries_the_project_tags(project_root, dev, documents):
    """What the tag conditions rely on, in every configuration."""
    from automl_cfn.evaluate import environment
    from automl_cfn.parameters import parameter_values

    for name, settings in configurations(project_root, dev).items():
        values = {**parameter_values(settings), "TemplatesBucket": "b", "TemplatesPrefix": "p/"}
        for stack, evaluator in environment(documents, values, settings.aws_region).items():
            for logical_id, body in evaluator.resources().items():
                tags = evaluator.resolved(body.get("Properties", {})).get("Tags")
                if tags is None:
                    continue
                found = tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}
                assert {k: found.get(k) for k in TAGS} == TAGS, (name, stack, logical_id)


def test_each_document_fits_and_parliament_finds_only_newer_actions(chosen):
    from parliament import analyze_policy_string

    for role in ("deploy", "diff"):
        documents = deploy_role.documents_of(getattr(chosen, role))
        assert all(deploy_role._size(d) <= deploy_role.MANAGED_POLICY_MAX for d in documents), role
        assert [s for d in documents for s in d["Statement"]] == getattr(chosen, role)
    assert len(deploy_role.documents_of(chosen.deploy)) <= 9   # IAM's default quota: 10 managed policies a role
    assert deploy_role._size(chosen.boundary) <= deploy_role.MANAGED_POLICY_MAX   # a boundary is one policy
    for name, documents in (("deploy", deploy_role.documents_of(chosen.deploy)),
                            ("diff", deploy_role.documents_of(chosen.diff)), ("boundary", [chosen.boundary])):
        for document in documents:
            for finding in analyze_policy_string(json.dumps(document)).findings:
                if finding.issue == "UNKNOWN_ACTION":
                    assert reference.known(finding.detail.rsplit(" ", 1)[-1]), finding.detail   # newer than parliament
                elif finding.issue == "RESOURCE_MISMATCH":
                    # parliament's older definitions lack a resource type cfn-lint's newer copy gives the action
                    assert all(reference.resource_types(m["action"]) for m in finding.detail), finding.detail
                else:   # a boundary caps the roles' policies, which name the keys and load balancers
                    assert (name, finding.issue) == ("boundary", "RESOURCE_STAR"), (name, finding.issue, finding.detail)


def test_the_committed_reference_data_is_current(project_root):
    extracted = reference.extract(deploy_role.wanted_in_reference(project_root))
    from automl_cfn.deploy_role.boundary import managed_policy_actions

    extracted["managed"] = managed_policy_actions(synth.read_generated_documents(project_root / "generated"))
    assert extracted == json.loads(reference.DATA.read_text()), "run: python -m automl_cfn.deploy_role"


def test_the_committed_provider_data_is_current(templates):
    """providers' extract (data/providers.json): every type the templates use, each handler's permissions."""
    from automl_cfn.synth import build_baseline_template

    documents = [*templates.values(), build_baseline_template(templates)]
    assert providers.extract_all(providers.template_types(documents)) == providers._committed(), \
        "run: python -m automl_cfn.providers"


def test_the_template_passes_cfn_lint(chosen, tmp_path):
    from cfnlint.api import lint_all

    from automl_cfn.deploy_role.template import template

    text = json.dumps(template(chosen))
    assert ACCOUNT in text   # the fixture's account; the verb's template names none
    findings = [m for m in lint_all(text) if m.rule.id[0] in "EW"]
    assert findings == []


def test_the_verb_prints_documents_or_a_template(project_root, capsys):
    from automl_cfn.cli import main

    assert main(["deploy-role", "--env", "prod", "--account", ACCOUNT, "--project-dir", str(project_root)]) == 0
    documents = json.loads(capsys.readouterr().out)
    assert len(documents) > 1 and documents[0]["Statement"][0]["Sid"] == "IamRolesOnlyWithTheBoundary"
    assert "automl-prod-*" in json.dumps(documents) and "automl-dev" not in json.dumps(documents)
    assert main(["deploy-role", "--env", "prod", "--policy", "boundary", "--project-dir", str(project_root)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["Statement"][-1]["Sid"] == "BoundaryNoIamWrites"
    assert main(["deploy-role", "--env", "prod", "--format", "template", "--project-dir", str(project_root)]) == 0
    text = capsys.readouterr().out
    assert {"DeployRole", "DiffRole", "Boundary"} <= set(json.loads(text)["Resources"])
    assert "111111111111" not in text and "${AWS::AccountId}" in text
    assert main(["deploy-role", "--env", "prod", "--account", "12", "--project-dir", str(project_root)]) == 2
    assert "not a 12-digit AWS account ID" in capsys.readouterr().err
    assert main(["deploy-role", "--env", "prod", "--format", "template", "--policy", "diff",
                 "--project-dir", str(project_root)]) == 2
    assert "--policy chooses one policy's documents" in capsys.readouterr().err
