"""IAM policy builders (awacs): grants derived from relationships, not hand-written blobs.

Each helper answers one question ("may this role read that prefix?") and
returns statements scoped to the ARNs it is given.  `Resource: "*"` appears
only in `grant_pull` (ecr:GetAuthorizationToken) and `grant_metrics`
(cloudwatch:PutMetricData, held to one namespace by a condition): those APIs
have no resource-level permissions; and in resource policies (key, endpoint),
where the resource is the one the policy is attached to.

A service principal is granted something only for this account's own
resources: each grant names the source (aws:SourceArn, aws:SourceAccount) the
service's documentation says it sends, the "confused deputy" guard
(docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html).
"""

from __future__ import annotations

from awacs import aws as awacs_aws
from awacs import cloudwatch, ecr, ecs, events, kms, logs, s3, secretsmanager, sns, sqs, states, xray
from awacs import iam as iam_actions
from awacs.aws import (
    Allow, ArnEquals, ArnLike, Bool, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals, StringLike,
)
from awacs.sts import AssumeRole
from troposphere import Sub, iam

from . import names

VERSION = "2012-10-17"

# What a service names as the source when it assumes a role (aws:SourceArn), where its documentation says
# so; each of them sends aws:SourceAccount as well.  Services absent here are held to aws:SourceAccount only.
TRUST_SOURCES = {
    # AmazonECS/latest/developerguide/task-iam-roles.html (trust policy with aws:SourceArn arn:aws:ecs:region:account:*)
    "ecs-tasks.amazonaws.com": names.ecs_arn_pattern,
    # step-functions/latest/dg/procedure-create-iam-role.html (the source is the state machine)
    "states.amazonaws.com": names.state_machine_arn,
    # scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role (the source is the schedule group,
    # never the schedule)
    "scheduler.amazonaws.com": names.default_schedule_group_arn,
    # vpc/latest/userguide/flow-logs-iam-role.html (the source is the flow log)
    "vpc-flow-logs.amazonaws.com": names.flow_log_arn_pattern,
}

# The actions an SNS topic policy may name: those of the policy SNS writes on a new topic
# (sns/latest/dg/sns-access-policy-use-cases.html); a TopicPolicy replaces that default.
SNS_TOPIC_ACTIONS = [sns.GetTopicAttributes, sns.SetTopicAttributes, sns.AddPermission, sns.RemovePermission,
                     sns.DeleteTopic, sns.Subscribe, sns.ListSubscriptionsByTopic, sns.Publish]


def document(statements: list[Statement]) -> PolicyDocument:
    return PolicyDocument(Version=VERSION, Statement=statements)


def this_account() -> Sub:
    return Sub("${AWS::AccountId}")


def from_source(source_arn=None) -> Condition:
    """This account, and where given the one resource (or ARN pattern) the service acts for."""
    keys = [StringEquals("aws:SourceAccount", this_account())]
    if source_arn is not None:
        keys.append(ArnLike("aws:SourceArn", source_arn))
    return Condition(keys)


def trust(service: str, source_account: bool = True) -> PolicyDocument:
    """Only `service` acting for this account may assume the role (no confused deputy), where
    the service is known to send aws:SourceAccount; and for the source it documents (TRUST_SOURCES)."""
    source = TRUST_SOURCES.get(service)
    condition = {"Condition": from_source(source() if source else None)} if source_account else {}
    return document([Statement(Effect=Allow, Principal=Principal("Service", service), Action=[AssumeRole],
                               **condition)])


def deny_insecure_transport(actions: list, resources: list) -> Statement:
    """Refuse every request made without TLS, whoever makes it (a resource policy statement)."""
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=list(actions),
        Resource=list(resources),
        # The string form: IAM accepts both, and policy scanners match the string.
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )


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


def grant_config_delivery(bucket_arn) -> list[Statement]:
    """What AWS Config's recorder role needs to deliver configuration history and snapshots to a bucket of its
    account, which it does as that role (config/latest/developerguide/iamrole-permissions.html#iam-role-policies-
    S3-bucket; s3-bucket-policy.html): s3:PutObject under AWSLogs/<account>/Config/, with the
    bucket-owner-full-control ACL Config sends; s3:GetBucketAcl, which PutDeliveryChannel checks
    (InsufficientDeliveryPolicyException); s3:ListBucket, its HeadBucket existence check.  s3:PutObjectAcl is
    for a bucket in another account only."""
    return [
        Statement(Effect=Allow, Action=[s3.PutObject],
                  Resource=[Sub("${Bucket}/AWSLogs/${AWS::AccountId}/Config/*", Bucket=bucket_arn)],
                  Condition=Condition(StringEquals("s3:x-amz-acl", "bucket-owner-full-control"))),
        Statement(Effect=Allow, Action=[s3.GetBucketAcl, s3.ListBucket], Resource=[bucket_arn]),
    ]


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


def grant_read_secret(*secret_arns) -> list[Statement]:
    """Read these Secrets Manager secrets (ECS fetches them when a task starts)."""
    return [Statement(Effect=Allow, Action=[secretsmanager.GetSecretValue], Resource=list(secret_arns))]


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
    return [Statement(Sid="NewDataRuleSends", Effect=Allow, Principal=Principal("Service", "events.amazonaws.com"),
                      Action=[sqs.SendMessage], Resource=[queue_arn],
                      Condition=Condition(ArnEquals("aws:SourceArn", rule_arn)))]


def grant_queue_key(key_arn, send: bool) -> list[Statement]:
    """What reading (kms:Decrypt) or also sending (kms:GenerateDataKey) messages of a queue encrypted with the
    key needs of it, and only through SQS (AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html,
    "Configure KMS permissions for producers / consumers")."""
    actions = [kms.GenerateDataKey, kms.Decrypt] if send else [kms.Decrypt]
    return [Statement(Effect=Allow, Action=actions, Resource=[key_arn],
                      Condition=Condition(StringEquals("kms:ViaService", Sub("sqs.${AWS::Region}.amazonaws.com"))))]


def queue_policy_statements(queue_arn, grants: list[Statement] = ()) -> list[Statement]:
    """A queue's policy: TLS only, then whatever services the queue admits."""
    return [deny_insecure_transport([sqs.Action("*")], [queue_arn]), *grants]


def alarm_topic_statements(topic_arn) -> list[Statement]:
    """The alarm topic's policy, which replaces SNS's default one: TLS only; the account manages the topic
    as the default policy let it; and CloudWatch publishes for this environment's alarms only
    (AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html, SNS topic policy with aws:SourceArn
    and aws:SourceAccount)."""
    return [
        deny_insecure_transport(SNS_TOPIC_ACTIONS, [topic_arn]),
        Statement(Sid="AccountManagesTheTopic", Effect=Allow,
                  Principal=Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")),
                  Action=SNS_TOPIC_ACTIONS, Resource=[topic_arn]),
        Statement(Sid="AlarmsPublish", Effect=Allow, Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                  Action=[sns.Publish], Resource=[topic_arn], Condition=from_source(names.alarm_arn_pattern())),
    ]


def account_endpoint_policy() -> PolicyDocument:
    """An interface endpoint carries the calls of this account's principals only
    (vpc/latest/privatelink/vpc-endpoints-access.html, aws:PrincipalAccount)."""
    return document([Statement(Sid="ThisAccountsPrincipals", Effect=Allow, Principal=Principal("*"),
                               Action=[awacs_aws.Action("*")], Resource=["*"],
                               Condition=Condition(StringEquals("aws:PrincipalAccount", this_account())))])


def full_access_endpoint_policy() -> PolicyDocument:
    """The policy AWS attaches to an endpoint created without one (vpc/latest/privatelink/vpc-endpoints-access.html)."""
    return document([Statement(Effect=Allow, Principal=Principal("*"), Action=[awacs_aws.Action("*")],
                               Resource=["*"])])


def s3_endpoint_policy() -> PolicyDocument:
    """The S3 gateway endpoint reaches this account's buckets (aws:ResourceAccount), and the one AWS bucket
    ECR keeps image layers in, which a pull reads with a URL ECR signed
    (AmazonECR/latest/userguide/vpc-endpoints.html, "Minimum Amazon S3 bucket permissions for Amazon ECR")."""
    return document([
        Statement(Sid="ThisAccountsBuckets", Effect=Allow, Principal=Principal("*"), Action=[s3.Action("*")],
                  Resource=["*"], Condition=Condition(StringEquals("aws:ResourceAccount", this_account()))),
        Statement(Sid="EcrImageLayers", Effect=Allow, Principal=Principal("*"), Action=[s3.GetObject],
                  Resource=[Sub("arn:${AWS::Partition}:s3:::prod-${AWS::Region}-starport-layer-bucket/*")]),
    ])
