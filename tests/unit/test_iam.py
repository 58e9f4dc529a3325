"""IAM template: the execution role, one role per task, the pipeline's roles; least privilege, scoped to what the
stacks create."""

from __future__ import annotations

import pytest

from automl_cfn.model import BEST_PARAMS_KEY, REPOSITORIES, SERVICES

TASK_ROLES = [f"{s.capitalize()}TaskRole" for s in SERVICES]

# Resource "*" is allowed only for these actions, which have no resource-level permissions.
WILDCARD_RESOURCE_ACTIONS = {
    "ecr:GetAuthorizationToken", "cloudwatch:PutMetricData",
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
}


def statements(role):
    for policy in role["Properties"]["Policies"]:
        yield from policy["PolicyDocument"]["Statement"]


def actions_on(role, resource):
    return {a for s in statements(role) if resource in s["Resource"] for a in s["Action"]}


def roles(stack, **overrides):
    return stack("iam", **overrides).of_type("AWS::IAM::Role")


def test_step_functions_role_only_when_enabled(stack):
    assert sorted(roles(stack, enable_stepfunctions=False)) == sorted(["ExecutionRole", *TASK_ROLES])
    assert sorted(roles(stack, enable_stepfunctions=True)) == sorted(["ExecutionRole", "StepFunctionsRole", *TASK_ROLES])


def test_no_wildcard_actions_and_wildcard_resources_only_where_unavoidable(templates, stack):
    every_role = {**roles(stack, enable_stepfunctions=True), **stack("network", enable_flow_logs=True).of_type(
        "AWS::IAM::Role")}
    for name, role in every_role.items():
        for statement in statements(role):
            assert all("*" not in action for action in statement["Action"]), name
            if "*" in statement["Resource"]:
                assert set(statement["Action"]) <= WILDCARD_RESOURCE_ACTIONS, (name, statement["Action"])


def test_execution_role_pulls_only_our_repositories_and_writes_only_our_logs(stack):
    role = roles(stack)["ExecutionRole"]
    for repo in REPOSITORIES:
        assert actions_on(role, {"Ref": f"{repo.capitalize()}RepositoryArn"}) == {
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
    for service in SERVICES:
        assert actions_on(role, {"Ref": f"{service.capitalize()}LogGroupArn"}) == {
            "logs:CreateLogStream", "logs:PutLogEvents"}
    assert actions_on(role, "*") == {"ecr:GetAuthorizationToken"}


def object_grants(role) -> dict[str, set[str]]:
    """Data bucket location (`data/*`, `models/best_params.json`...) -> the actions granted on it."""
    grants = {}
    for statement in statements(role):
        for resource in statement["Resource"]:
            if isinstance(resource, dict) and "Fn::Sub" in resource:
                grants.setdefault(resource["Fn::Sub"][0].removeprefix("${Bucket}/"), set()).update(statement["Action"])
    return grants


READ, WRITE = {"s3:GetObject", "s3:GetObjectVersion"}, {"s3:PutObject", "s3:AbortMultipartUpload",
                                                       "s3:ListMultipartUploadParts"}


@pytest.mark.parametrize("service, locations, listed", [
    # optimize reads the data and writes its result, one object; train reads both and writes models;
    # predict reads models and writes predictions.  Nothing deletes.
    ("optimize", {"data/*": READ, BEST_PARAMS_KEY: WRITE}, {"data/*"}),
    ("train", {"data/*": READ, BEST_PARAMS_KEY: READ, "models/*": WRITE}, {"data/*"}),
    ("predict", {"models/*": READ, "predictions/*": WRITE}, {"models/*"}),
])
def test_each_task_role_reads_and_writes_only_its_own_locations(stack, service, locations, listed):
    role = roles(stack)[f"{service.capitalize()}TaskRole"]
    assert role["Properties"]["RoleName"] == {"Fn::Sub": f"${{ProjectName}}-${{Environment}}-{service}-task-role-"
                                                         "${AWS::Region}"}
    assert object_grants(role) == locations
    listing = [s for s in statements(role) if s["Action"] == ["s3:ListBucket"]]
    assert {p for s in listing for p in s["Condition"]["StringLike"]["s3:prefix"]} == listed
    assert all(s["Resource"] == [{"Ref": "DataBucketArn"}] for s in listing)
    assert not any("Delete" in a for s in statements(role) for a in s["Action"])


def test_only_train_publishes_metrics_and_only_to_the_environments_namespace(stack):
    publishing = {name: [s for s in statements(role) if s["Action"] == ["cloudwatch:PutMetricData"]]
                  for name, role in roles(stack).items() if name in TASK_ROLES}
    assert {name for name, found in publishing.items() if found} == {"TrainTaskRole"}
    (metrics,) = publishing["TrainTaskRole"]
    assert metrics["Condition"]["StringEquals"]["cloudwatch:namespace"] == {
        "Fn::Sub": "${ProjectName}-${Environment}/pipeline"}


def test_step_functions_role_runs_only_our_families_and_passes_only_our_roles(stack):
    role = roles(stack, enable_stepfunctions=True)["StepFunctionsRole"]
    run = next(s for s in statements(role) if s["Action"] == ["ecs:RunTask"])
    assert run["Resource"] == [
        {"Fn::Sub": f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:task-definition/"
                    f"${{ProjectName}}-${{Environment}}-{s}:*"} for s in SERVICES
    ]
    assert "ecs:cluster" in run["Condition"]["ArnEquals"]
    passing = next(s for s in statements(role) if s["Action"] == ["iam:PassRole"])
    assert passing["Resource"] == [{"Fn::GetAtt": [name, "Arn"]} for name in ("ExecutionRole", *TASK_ROLES)]
    assert passing["Condition"]["StringEquals"]["iam:PassedToService"] == "ecs-tasks.amazonaws.com"
    events = next(s for s in statements(role) if "events:PutRule" in s["Action"])
    assert "StepFunctionsGetEventsForECSTaskRule" in events["Resource"][0]["Fn::Sub"]


def test_roles_trust_one_service_for_this_account_only(stack):
    for name, role in roles(stack, enable_stepfunctions=True).items():
        trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert len(trust) == 1
        assert trust[0]["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Fn::Sub": "${AWS::AccountId}"}
        service = trust[0]["Principal"]["Service"]
        assert service == ("states.amazonaws.com" if name == "StepFunctionsRole" else "ecs-tasks.amazonaws.com")


def test_policy_names_keep_the_seeds_troubleshooting_commands(templates):
    role = templates["iam"]["Resources"]["ExecutionRole"]["Properties"]
    assert role["RoleName"] == {"Fn::Sub": "${ProjectName}-${Environment}-ecs-execution-role-${AWS::Region}"}
    names = [p["PolicyName"]["Fn::Sub"] for p in role["Policies"] if "PolicyName" in p]
    assert "${ProjectName}-${Environment}-ecs-execution-ecr-policy" in names
    for service in SERVICES:
        task = templates["iam"]["Resources"][f"{service.capitalize()}TaskRole"]["Properties"]
        assert f"${{ProjectName}}-${{Environment}}-{service}-task-s3-policy" in [
            p["PolicyName"]["Fn::Sub"] for p in task["Policies"] if "PolicyName" in p]
