"""IAM policy builders (awacs): grants derived from relationships, not hand-written blobs.

Each helper answers one question ("may this role read that prefix?") and
returns statements scoped to the ARNs it is given.  `Resource: "*"` appears
only in `grant_pull` (ecr:GetAuthorizationToken) and `grant_metrics`
(cloudwatch:PutMetricData, held to one namespace by a condition): those APIs
have no resource-level permissions.
"""

from __future__ import annotations

from awacs import cloudwatch, ecr, ecs, events, kms, logs, s3, secretsmanager, sqs, states, xray
from awacs import iam as iam_actions
from awacs.aws import (
    Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement, StringEquals, StringLike,
)
from awacs.sts import AssumeRole
from troposphere import Sub, iam

VERSION = "2012-10-17"


def document(statements: list[Statement]) -> PolicyDocument:
    return PolicyDocument(Version=VERSION, Statement=statements)


def trust(service: str, source_account: bool = True) -> PolicyDocument:
    """Only `service` acting for this account may assume the role (no confused deputy), where
    the service is known to send aws:SourceAccount."""
    condition = {"Condition": Condition(StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}")))} \
        if source_account else {}
    return document([Statement(Effect=Allow, Principal=Principal("Service", service), Action=[AssumeRole],
                               **condition)])


def inline(name: str, statements: list[Statement]) -> iam.Policy:
    return iam.Policy(PolicyName=name, PolicyDocument=document(statements))


def objects_at(bucket_arn, location: str) -> Sub:
    """The objects of a location: every key under a prefix (ending in "/"), or one object key."""
    pattern = f"{location}*" if location.endswith("/") else location
    return Sub(f"${{Bucket}}/{pattern}", Bucket=bucket_arn)


def grant_read(bucket_arn, location: str) -> list[Statement]:
    """Get the objects of a location; a prefix may be listed too, and only that prefix."""
    read = [Statement(Effect=Allow, Action=[s3.GetObject, s3.GetObjectVersion],
                      Resource=[objects_at(bucket_arn, location)])]
    if not location.endswith("/"):
        return read
    return read + [Statement(
        Effect=Allow, Action=[s3.ListBucket], Resource=[bucket_arn],
        Condition=Condition(StringLike("s3:prefix", [f"{location}*"])),
    )]


def grant_write(bucket_arn, location: str) -> list[Statement]:
    """Put the objects of a location (multipart included); no delete."""
    return [Statement(
        Effect=Allow, Action=[s3.PutObject, s3.AbortMultipartUpload, s3.ListMultipartUploadParts],
        Resource=[objects_at(bucket_arn, location)],
    )]


def grant_pull(repository_arns: list) -> list[Statement]:
    """Pull images from these repositories."""
    return [
        # GetAuthorizationToken has no resource-level permissions.
        Statement(Effect=Allow, Action=[ecr.GetAuthorizationToken], Resource=["*"]),
        Statement(
            Effect=Allow,
            Action=[ecr.BatchCheckLayerAvailability, ecr.BatchGetImage, ecr.GetDownloadUrlForLayer],
            Resource=list(repository_arns),
        ),
    ]


def grant_log_writes(log_group_arns: list) -> list[Statement]:
    """Write streams of these log groups (a LogGroup's Arn attribute ends in ':*')."""
    return [Statement(
        Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents], Resource=list(log_group_arns),
    )]


def grant_log_delivery(log_group_arns: list) -> list[Statement]:
    """What the VPC flow logs service needs to deliver into these log groups."""
    return [Statement(
        Effect=Allow, Action=[logs.CreateLogStream, logs.PutLogEvents, logs.DescribeLogStreams],
        Resource=list(log_group_arns),
    )]


def grant_metrics(namespace) -> list[Statement]:
    """Publish custom metrics, to one namespace only."""
    return [Statement(
        # PutMetricData has no resource-level permissions; the namespace condition scopes it.
        Effect=Allow, Action=[cloudwatch.PutMetricData], Resource=["*"],
        Condition=Condition(StringEquals("cloudwatch:namespace", namespace)),
    )]


def grant_read_secret(secret_arn) -> list[Statement]:
    """Read one Secrets Manager secret (ECS fetches it when a task starts)."""
    return [Statement(Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=[secret_arn])]


def grant_decrypt(key_arn) -> list[Statement]:
    return [Statement(Effect=Allow, Action=[kms.Decrypt], Resource=[key_arn])]


def grant_encrypt_decrypt(key_arn) -> list[Statement]:
    """What reading and writing SSE-KMS objects needs of the key."""
    return [Statement(Effect=Allow, Action=[kms.Decrypt, kms.GenerateDataKey], Resource=[key_arn])]


def grant_run_tasks(task_definition_arns: list, cluster_arn, task_arns, role_arns: list) -> list[Statement]:
    """Run these task families on one cluster, watch and stop their tasks, and
    hand them only their own roles: what Step Functions' ecs:runTask.sync needs."""
    return [
        Statement(
            Effect=Allow, Action=[ecs.RunTask], Resource=list(task_definition_arns),
            Condition=Condition(ArnEquals("ecs:cluster", cluster_arn)),
        ),
        Statement(Effect=Allow, Action=[ecs.StopTask, ecs.DescribeTasks], Resource=[task_arns]),
        Statement(
            Effect=Allow, Action=[ecs.TagResource], Resource=[task_arns],
            Condition=Condition(StringEquals("ecs:CreateAction", "RunTask")),
        ),
        Statement(
            Effect=Allow, Action=[iam_actions.PassRole], Resource=list(role_arns),
            Condition=Condition(StringEquals("iam:PassedToService", "ecs-tasks.amazonaws.com")),
        ),
    ]


def grant_sync_events_rule(rule_arn) -> list[Statement]:
    """The `.sync` integration waits on a managed EventBridge rule of this name."""
    return [Statement(Effect=Allow, Action=[events.PutTargets, events.PutRule, events.DescribeRule], Resource=[rule_arn])]


def grant_vended_log_delivery() -> list[Statement]:
    """Step Functions' log delivery APIs have no resource-level permissions."""
    return [Statement(Effect=Allow, Resource=["*"], Action=[
        logs.CreateLogDelivery, logs.GetLogDelivery, logs.UpdateLogDelivery, logs.DeleteLogDelivery,
        logs.ListLogDeliveries, logs.PutResourcePolicy, logs.DescribeResourcePolicies, logs.DescribeLogGroups,
    ])]


def grant_tracing() -> list[Statement]:
    """X-Ray's segment and sampling APIs have no resource-level permissions."""
    return [Statement(Effect=Allow, Resource=["*"], Action=[
        xray.PutTraceSegments, xray.PutTelemetryRecords, xray.GetSamplingRules, xray.GetSamplingTargets,
    ])]


def grant_gate(state_machine_arn) -> list[Statement]:
    """The pipeline's first state lists its own running executions (at most one runs at a time)."""
    return [Statement(Effect=Allow, Action=[states.ListExecutions], Resource=[state_machine_arn])]


def grant_read_metrics() -> list[Statement]:
    """The quality check reads the metric train published; GetMetricData has no resource-level permissions."""
    return [Statement(Effect=Allow, Action=[cloudwatch.GetMetricData], Resource=["*"])]


def grant_start_execution(state_machine_arn) -> list[Statement]:
    """Start executions of one state machine (what the schedule and the new-data pipe do)."""
    return [Statement(Effect=Allow, Action=[states.StartExecution], Resource=[state_machine_arn])]


def grant_send(queue_arn) -> list[Statement]:
    """Send to one queue (the schedule parks an invocation that failed in its dead-letter queue)."""
    return [Statement(Effect=Allow, Action=[sqs.SendMessage], Resource=[queue_arn])]


def grant_drain_queue(queue_arn) -> list[Statement]:
    """What EventBridge Pipes needs to read a batch from an SQS source and delete it."""
    return [Statement(Effect=Allow, Action=[sqs.ReceiveMessage, sqs.DeleteMessage, sqs.GetQueueAttributes],
                      Resource=[queue_arn])]


def grant_events_send(queue_arn, rule_arn) -> list[Statement]:
    """Queue policy: EventBridge may send to the queue, for this rule only."""
    return [Statement(Effect=Allow, Principal=Principal("Service", "events.amazonaws.com"), Action=[sqs.SendMessage],
                      Resource=[queue_arn], Condition=Condition(ArnEquals("aws:SourceArn", rule_arn)))]
