"""IAM proof: every role and policy in the generated templates, with intrinsic
ARNs resolved to realistic placeholders, passes parliament with no findings,
and each role's actions stay within the allow-list below."""

from __future__ import annotations

import json
import re

import pytest

ACCOUNT, REGION, PREFIX = "123456789012", "us-east-1", "automl-dev"
SUBSTITUTIONS = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                 "AWS::URLSuffix": "amazonaws.com", "ProjectName": "automl", "Environment": "dev"}

# What each role may do: a new action fails this test until it is reviewed here.
ALLOWED_ACTIONS = {
    "ExecutionRole": {"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
                      "ecr:GetDownloadUrlForLayer", "logs:CreateLogStream", "logs:PutLogEvents",
                      "secretsmanager:GetSecretValue", "kms:Decrypt"},
    # Each task: its own locations of the data bucket, and the key; train also publishes the quality metric.
    "OptimizeTaskRole": {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutObject",
                         "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "kms:Decrypt", "kms:GenerateDataKey"},
    "TrainTaskRole": {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutObject", "s3:AbortMultipartUpload",
                      "s3:ListMultipartUploadParts", "cloudwatch:PutMetricData", "kms:Decrypt", "kms:GenerateDataKey"},
    "PredictTaskRole": {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutObject",
                        "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "kms:Decrypt", "kms:GenerateDataKey"},
    "StepFunctionsRole": {"ecs:RunTask", "ecs:StopTask", "ecs:DescribeTasks", "ecs:TagResource", "iam:PassRole",
                          "events:PutTargets", "events:PutRule", "events:DescribeRule",
                          "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                          "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                          "logs:DescribeResourcePolicies", "logs:DescribeLogGroups", "xray:PutTraceSegments",
                          "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
                          "states:ListExecutions", "cloudwatch:GetMetricData"},
    "FlowLogsRole": {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"},
    # With a customer key the queues are encrypted: sending to the dead-letter queue needs a data key,
    # reading the retrain queue its decryption (through SQS only: kms:ViaService).
    "SchedulerRole": {"states:StartExecution", "sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"},
    "RetrainPipeRole": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "states:StartExecution",
                        "kms:Decrypt"},
    # Only AWS's managed policy for ECS traffic shifting (checked below).
    "EcsInfrastructureRole": set(),
}


def placeholder(name: str) -> str:
    """A realistic ARN or name for a Ref/GetAtt the IAM policies use."""
    for service in ("optimize", "train", "predict", "pipeline"):
        if name.startswith(service.capitalize()):
            if name.endswith("RepositoryArn"):
                return f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{PREFIX}-{service}"
            if name.endswith("LogGroupArn"):
                return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/{PREFIX}-{service}:*"
    if name == "KmsKeyArn":
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    if name == "ApiKeySecretArn":
        return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:automl/dev/api-key-AbCdEf"
    if name == "ApiKeyPreviousSecretArn":
        return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:automl/dev/api-key-previous-GhIjKl"
    if name == "DataBucketArn":
        return f"arn:aws:s3:::{PREFIX}-data-{ACCOUNT}-{REGION}"
    if name == "ExecutionRole" or name.endswith("TaskRole"):
        return f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-{name.lower()}-{REGION}"
    if name == "FlowLogsLogGroup":
        return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/vpc/{PREFIX}-flow-logs:*"
    raise KeyError(name)


def resolve(value):
    if isinstance(value, list):
        return [resolve(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return SUBSTITUTIONS.get(value["Ref"]) or placeholder(value["Ref"])
        if set(value) == {"Fn::If"}:   # an optional item, audited as if present
            return resolve(value["Fn::If"][1])
        if set(value) == {"Fn::GetAtt"}:
            return placeholder(value["Fn::GetAtt"][0])
        if set(value) == {"Fn::Sub"}:
            text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            names = {**SUBSTITUTIONS, **{k: resolve(v) for k, v in variables.items()}}
            return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], text)
        return {k: resolve(v) for k, v in value.items()}
    return value


def newer_reference_allows(finding, document) -> bool:
    """parliament's action database is older than cfn-lint's copy of the Service Authorization Reference:
    a RESOURCE_MISMATCH is allowed where the newer reference lists the statement's resource type for the
    action (states:ListExecutions on a state machine, not only on a map run)."""
    import os

    import cfnlint

    if finding.issue != "RESOURCE_MISMATCH":
        return False
    reference = json.loads(open(os.path.join(os.path.dirname(cfnlint.__file__), "data", "AdditionalSpecs",
                                             "Policies.json")).read())
    for mismatch in finding.detail:
        service, action = mismatch["action"].lower().split(":")
        allowed = reference[service]["Actions"][action]["Resources"]
        arns = [r for statement in document["Statement"] if mismatch["action"] in statement["Action"]
                for r in statement["Resource"]]
        if not arns or not all(re.split(r"[:/]", arn.split(":", 5)[5])[0].lower() in allowed for arn in arns):
            return False
    return True


def roles(templates):
    for name, doc in templates.items():
        for logical_id, body in doc["Resources"].items():
            if body["Type"] == "AWS::IAM::Role":
                yield f"{name}.{logical_id}", logical_id, body["Properties"]


def test_every_role_is_on_the_allow_list(templates):
    assert sorted(logical for _, logical, _ in roles(templates)) == sorted(ALLOWED_ACTIONS)


@pytest.mark.parametrize("which", sorted(ALLOWED_ACTIONS))
def test_parliament_finds_nothing_and_actions_are_allowed(templates, which):
    from parliament import analyze_policy_string

    (where, _, props), = [r for r in roles(templates) if r[1] == which]
    # Trust policies have no Resource by design; parliament audits permission
    # policies, and test_iam pins every trust policy.
    # Optional policies (Fn::If on a condition) are audited as if enabled.
    policies = [p["Fn::If"][1] if "Fn::If" in p else p for p in props.get("Policies", [])]
    managed = [resolve(arn) for arn in props.get("ManagedPolicyArns", [])]
    assert managed in ([], ["arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"]), managed
    documents = [
        (p["PolicyName"]["Fn::Sub"] if isinstance(p["PolicyName"], dict) else p["PolicyName"], p["PolicyDocument"])
        for p in policies]
    actions = set()
    for label, document in documents:
        resolved = resolve(document)
        text = json.dumps(resolved)
        assert "${" not in text and "Fn::" not in text, (where, label)
        findings = analyze_policy_string(text, ignore_private_auditors=True,
                                         include_community_auditors=False).findings
        findings = [f for f in findings if not newer_reference_allows(f, resolved)]
        assert [(f.issue, f.detail) for f in findings] == [], (where, label)
        actions |= {a for s in resolved["Statement"] for a in s["Action"]}
    assert actions <= ALLOWED_ACTIONS[which], actions - ALLOWED_ACTIONS[which]
