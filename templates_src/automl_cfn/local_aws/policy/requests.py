"""What one API request asks IAM for: the action, the resource's ARN and the request's condition keys.

Most actions are the service's IAM prefix and the operation's name; the
exceptions are the documented ones (S3's REST operations, SQS and batch
operations that need the single action, HeadBucket needing s3:ListBucket).
An action that acts on no resource type is asked for on `*` (actions.py).
The ARN comes from the request's parameters, shaped as the Service
Authorization Reference gives each resource type's ARN.

Some requests ask for more than one thing:
- a call that uses a customer key on the caller's behalf (SendMessage to an
  SSE-KMS queue, PutObject into an SSE-KMS bucket, Publish to an encrypted
  topic, GetSecretValue) also asks KMS, with kms:ViaService set
  (resources.py names the key; the `key_uses` below);
- ecs:RunTask also asks iam:PassRole for the task definition's roles
  (task-iam-roles.html, "iam:PassRole"); DeleteObjects asks s3:DeleteObject for
  each key.

Tests: tests/integration/test_permission_paths.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import actions, resources

PARTITION = "aws"
# Signing names that are not the IAM prefix.
IAM_PREFIX = {"monitoring": "cloudwatch", "elasticloadbalancingv2": "elasticloadbalancing", "elbv2":
              "elasticloadbalancing", "email": "ses", "states": "states", "execute-api": "execute-api"}
# Operations whose IAM action has another name.
ACTION_NAME = {
    "sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl": "sqs:GetQueueUrl",
    "s3:HeadBucket": "s3:ListBucket", "s3:ListObjectsV2": "s3:ListBucket", "s3:ListObjects": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject", "s3:ListObjectVersions": "s3:ListBucketVersions",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "ecr:BatchDeleteImage": "ecr:BatchDeleteImage",
}
# S3 sub-resources (query parameters) -> (GET, PUT, DELETE) IAM actions, for the bucket-level REST calls
# moto's map leaves out (AmazonS3/latest/userguide/using-with-s3-policy-actions.html).
S3_BUCKET_SUBRESOURCES = {
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    "ownershipControls": ("GetBucketOwnershipControls", "PutBucketOwnershipControls", "PutBucketOwnershipControls"),
    "object-lock": ("GetBucketObjectLockConfiguration", "PutBucketObjectLockConfiguration", None),
    "replication": ("GetReplicationConfiguration", "PutReplicationConfiguration", "PutReplicationConfiguration"),
    "intelligent-tiering": ("GetIntelligentTieringConfiguration", "PutIntelligentTieringConfiguration",
                            "PutIntelligentTieringConfiguration"),
    "publicAccessBlock": ("GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "PutBucketPublicAccessBlock"),
    "notification": ("GetBucketNotification", "PutBucketNotification", None),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "policyStatus": ("GetBucketPolicyStatus", None, None),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "logging": ("GetBucketLogging", "PutBucketLogging", None),
    "cors": ("GetBucketCORS", "PutBucketCORS", "PutBucketCORS"),
    "acl": ("GetBucketAcl", "PutBucketAcl", None),
    "location": ("GetBucketLocation", None, None),
    "versions": ("ListBucketVersions", None, None),
    "uploads": ("ListBucketMultipartUploads", None, None),
    "website": ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
    "accelerate": ("GetAccelerateConfiguration", "PutAccelerateConfiguration", None),
    "requestPayment": ("GetBucketRequestPayment", "PutBucketRequestPayment", None),
}


@dataclass
class KeyUse:
    """The service uses a KMS key for the caller in the same call."""

    action: str
    key: str                  # as the resource names it (ID, ARN or alias)
    service: str              # the service that calls KMS: kms:ViaService = <service>.<region>.amazonaws.com
    encryption_context: dict[str, str] = field(default_factory=dict)


@dataclass
class Ask:
    """One thing a request asks IAM for."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    resource_account: str = ""
    resource_policy: Any = None                 # language.Policy of the resource, if it has one
    key_uses: list[KeyUse] = field(default_factory=list)
    policy_required: bool = False               # the resource's policy must allow (a KMS key)


def param(response, name: str, default: Any = None) -> Any:
    """A request parameter whatever the protocol (query, JSON body, URI)."""
    try:
        value = response._get_param(name)
    except Exception:
        value = None
    if value is None:
        body = getattr(response, "body", None)
        if isinstance(body, (str, bytes)) and body[:1] in ("{", b"{"):
            try:
                value = json.loads(body).get(name)
            except (ValueError, AttributeError):
                value = None
        if value is None:
            value = (getattr(response, "uri_match", None) or {}).get(name)
    return default if value is None else value


def condition_keys(response, named: dict[str, str]) -> dict[str, Any]:
    """Condition keys a request sets by its parameters: parameter name -> condition key."""
    return {key: value for name, key in named.items() if (value := param(response, name))}


def arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def asks(response, service: str, operation: str, account: str, region: str, resource_hint: str) -> list[Ask]:
    """What the request asks for: usually one action on one resource."""
    prefix = IAM_PREFIX.get(service, service)
    action = ACTION_NAME.get(f"{prefix}:{operation}", f"{prefix}:{operation}")
    resolver = RESOLVERS.get(prefix)
    found = resolver(response, action, account, region, resource_hint) if resolver else None
    if found is None:
        found = [Ask(action, generic_resource(response, action, resource_hint))]
    for ask in found:
        if actions.takes_no_resource(ask.action):
            ask.resource = "*"
    return found


def generic_resource(response, action: str, hint: str) -> str:
    """An ARN the request names outright, or the hint moto gave, or `*`."""
    if hint and hint != "*":
        return hint
    service = action.split(":")[0]
    for name in ("ResourceArn", "resourceArn", "Arn", "arn", "ResourceARN"):
        value = param(response, name)
        if isinstance(value, str) and value.startswith(f"arn:{PARTITION}:{service}:"):
            return value
    return "*"


# ---------------------------------------------------------------------------
# per-service resources
# ---------------------------------------------------------------------------

def s3(response, action: str, account: str, region: str, hint: str) -> list[Ask]:
    """S3's REST calls: the action from method, sub-resource and headers; the bucket's policy and key."""
    bucket_and_key = hint.split(":::", 1)[1] if ":::" in hint else ""
    bucket, _, key = bucket_and_key.partition("/")
    method = getattr(response, "method", "GET")
    query = getattr(response, "querystring", {}) or {}
    name = s3_action(method, query, bool(key), response.headers)
    owner = resources.bucket_owner(bucket) if bucket and bucket != "*" else ""
    policy = resources.bucket_policy(account, bucket) if owner else None
    context = {"s3:prefix": _first(query.get("prefix")) or "", "s3:delimiter": _first(query.get("delimiter"))}
    context = {k: v for k, v in context.items() if v is not None}
    if "x-amz-server-side-encryption" in response.headers:
        context["s3:x-amz-server-side-encryption"] = response.headers["x-amz-server-side-encryption"]
    for header in ("If-None-Match", "If-Match"):      # conditional writes (s3:if-none-match, s3:if-match)
        if response.headers.get(header):
            context[f"s3:{header.lower()}"] = response.headers[header]
    if method == "POST" and "delete" in query:       # DeleteObjects: s3:DeleteObject on each key it names
        return [Ask("s3:DeleteObject", f"arn:{PARTITION}:s3:::{bucket}/{key_name}", context, owner, policy)
                for key_name in deleted_keys(getattr(response, "raw_body", b""))]
    found = [Ask(f"s3:{name}", hint if hint else "*", context, owner, policy)]
    if name == "PutObject":
        chosen = response.headers.get("x-amz-server-side-encryption-aws-kms-key-id") or (
            resources.bucket_default_key(bucket) if response.headers.get("x-amz-server-side-encryption")
            in (None, "aws:kms", "aws:kms:dsse") else None)
        if chosen:
            context_ = {"aws:s3:arn": f"arn:{PARTITION}:s3:::{bucket}"}
            found[0].key_uses += [KeyUse("kms:GenerateDataKey", chosen, "s3", context_)]
        if response.headers.get("x-amz-tagging"):
            # Tags given with the object need s3:PutObjectTagging too (API_PutObject.html, "x-amz-tagging").
            found.append(Ask("s3:PutObjectTagging", hint if hint else "*", {**context, **{
                f"s3:RequestObjectTag/{k}": v for k, v in s3_tags(response.headers).items()}}, owner, policy))
        source = response.headers.get("x-amz-copy-source")
        if source:
            source = source.lstrip("/").split("?")[0]
            from urllib.parse import unquote

            source = unquote(source)
            src_bucket = source.split("/", 1)[0]
            found.append(Ask("s3:GetObject", f"arn:{PARTITION}:s3:::{source}", {},
                             resources.bucket_owner(src_bucket), resources.bucket_policy(account, src_bucket)))
    if name in ("GetObject", "GetObjectVersion") and method in ("GET", "HEAD") and key:
        stored = resources.object_key(bucket, key)
        if stored and method == "GET":
            found[0].key_uses += [KeyUse("kms:Decrypt", stored, "s3", {"aws:s3:arn": f"arn:{PARTITION}:s3:::{bucket}"})]
    return found


def bucket_ask(action: str, bucket: str, key: str = "", context: dict | None = None) -> Ask:
    """An S3 action a service makes itself on a bucket (key "") or one of its objects: the bucket's policy, and
    for PutObject the bucket's default customer key (kms:GenerateDataKey through S3)."""
    resource = f"arn:{PARTITION}:s3:::{bucket}" + (f"/{key}" if key else "")
    ask = Ask(action, resource, dict(context or {}), resources.bucket_owner(bucket),
              resources.bucket_policy("", bucket))
    default_key = resources.bucket_default_key(bucket) if action == "s3:PutObject" else None
    if default_key:
        ask.key_uses = [KeyUse("kms:GenerateDataKey", default_key, "s3",
                               {"aws:s3:arn": f"arn:{PARTITION}:s3:::{bucket}"})]
    return ask


def deleted_keys(body) -> list[str]:
    """The keys of a DeleteObjects request (<Delete><Object><Key>...)."""
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(body if isinstance(body, (bytes, str)) else b"")
    except ElementTree.ParseError:
        return []
    return [element.text or "" for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "Key"]


def s3_tags(headers) -> dict[str, str]:
    """aws:RequestTag/* of an S3 request: only its x-amz-tagging header (object tags); never its body."""
    from urllib.parse import parse_qsl

    return dict(parse_qsl(headers.get("x-amz-tagging") or "", keep_blank_values=True))


def s3_action(method: str, query: dict, on_object: bool, headers) -> str:
    if on_object:
        if method in ("GET", "HEAD"):
            if "uploadId" in query:
                return "ListMultipartUploadParts"
            if "tagging" in query:
                return "GetObjectVersionTagging" if "versionId" in query else "GetObjectTagging"
            if "acl" in query:
                return "GetObjectAcl"
            if "attributes" in query:
                return "GetObjectAttributes"
            return "GetObjectVersion" if "versionId" in query else "GetObject"
        if method in ("PUT", "POST"):
            if "tagging" in query:
                return "PutObjectTagging"
            if "acl" in query:
                return "PutObjectAcl"
            if "restore" in query:
                return "RestoreObject"
            return "PutObject"
        if method == "DELETE":
            if "uploadId" in query:
                return "AbortMultipartUpload"
            return "DeleteObjectVersion" if "versionId" in query else "DeleteObject"
    if method == "HEAD":
        return "ListBucket"
    if method == "POST" and "delete" in query:
        return "DeleteObject"
    column = {"GET": 0, "PUT": 1, "DELETE": 2}.get(method)
    for sub, names in S3_BUCKET_SUBRESOURCES.items():
        if sub in query and column is not None and names[column]:
            return names[column]
    return {"GET": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, "ListBucket")


def _first(value):
    return value[0] if isinstance(value, list) and value else value


def sqs(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    if action in ("sqs:ListQueues", "sqs:CreateQueue") and not hint.startswith("arn:"):
        name = param(response, "QueueName")
        return [Ask(action, arn("sqs", region, account, name) if name else "*")]
    url = param(response, "QueueUrl") or ""
    name = url.rstrip("/").split("/")[-1] if url else (hint.split(":")[-1] if hint.startswith("arn:") else "")
    if not name:
        return [Ask(action, hint or "*")]
    # moto serves the queue of that name in the account the request is routed to, whatever account the URL
    # names: that is the queue to judge.
    return [queue_ask(action, arn("sqs", region, account, name))]


def queue_ask(action: str, queue_arn: str) -> Ask:
    """An SQS action on a queue: its policy, and its customer key for sending (GenerateDataKey and Decrypt)
    and receiving (Decrypt), sqs-key-management.html#sqs-what-permissions-for-sse."""
    _, _, _, region, account, name = queue_arn.split(":", 5)
    ask = Ask(action, queue_arn, {}, account, resources.queue_policy(account, region, name))
    key = resources.queue_key(account, region, name)
    if key:
        context = {"aws:sqs:arn": queue_arn}
        if action == "sqs:SendMessage":
            ask.key_uses = [KeyUse("kms:GenerateDataKey", key, "sqs", context),
                            KeyUse("kms:Decrypt", key, "sqs", context)]
        elif action == "sqs:ReceiveMessage":
            ask.key_uses = [KeyUse("kms:Decrypt", key, "sqs", context)]
    return ask


def sns(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    topic = param(response, "TopicArn") or param(response, "ResourceArn") or ""
    if not topic:
        name = param(response, "Name")
        return [Ask(action, arn("sns", region, account, name) if name and action == "sns:CreateTopic" else "*")]
    return [topic_ask(action, topic)]


def topic_ask(action: str, topic: str) -> Ask:
    """An SNS action on a topic: its access policy, and its customer key for publishing
    (GenerateDataKey and Decrypt), sns-key-management.html#sns-what-permissions-for-sse."""
    ask = Ask(action, topic, {}, topic.split(":")[4], resources.topic_policy(topic))
    key = resources.topic_key(topic)
    if key and action == "sns:Publish":
        context = {"aws:sns:topicArn": topic}
        ask.key_uses = [KeyUse("kms:GenerateDataKey", key, "sns", context), KeyUse("kms:Decrypt", key, "sns", context)]
    return ask


def kms(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    reference = param(response, "KeyId") or param(response, "TargetKeyId") or ""
    if not reference:
        return None
    if "alias/" in reference and resources.kms_key(region, reference, account) is None:
        return []   # an alias that names no key: KMS answers NotFoundException before any authorization
    return [key_ask(action, reference, region, account)]


def key_ask(action: str, reference: str, region: str, account: str) -> Ask:
    """A KMS action on a key: its key policy must allow it (key-policy-overview.html)."""
    key = resources.kms_key(region, reference, account)
    if key is None:
        return Ask(action, arn("kms", region, account, f"key/{reference}"), {"kms:CallerAccount": account})
    return Ask(action, key.arn, {"kms:CallerAccount": account}, key.account, key.policy, policy_required=True)


def secretsmanager(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    secret_id = param(response, "SecretId") or param(response, "Name") or ""
    if not secret_id:
        return None
    found = resources.secret(account, region, secret_id)
    resource = found.arn if found is not None else (secret_id if secret_id.startswith("arn:") else
                                                    arn("secretsmanager", region, account, f"secret:{secret_id}-*"))
    ask = Ask(action, resource, {"secretsmanager:SecretId": resource}, account, resources.secret_policy(found))
    if action == "secretsmanager:GetSecretValue" and found is not None:
        ask.key_uses = [KeyUse("kms:Decrypt", resources.secret_key(found), "secretsmanager",
                               {"SecretARN": found.arn})]
    return [ask]


def logs(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    group = param(response, "logGroupName") or param(response, "logGroupIdentifier")
    if not group:
        return None
    if str(group).startswith("arn:"):
        return [Ask(action, str(group).removesuffix(":*"))]
    stream = param(response, "logStreamName")
    resource = f"log-group:{group}" + (f":log-stream:{stream}" if stream else "")
    return [Ask(action, arn("logs", region, account, resource))]


def states(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    for name in ("stateMachineArn", "executionArn", "mapRunArn", "resourceArn"):
        value = param(response, name)
        if value:
            return [Ask(action, value)]
    name = param(response, "name")
    if name and action == "states:CreateStateMachine":
        return [Ask(action, arn("states", region, account, f"stateMachine:{name}"))]
    return None


def ecs(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    cluster = param(response, "cluster") or "default"
    cluster_arn = cluster if str(cluster).startswith("arn:") else arn("ecs", region, account, f"cluster/{cluster}")
    context = {"ecs:cluster": cluster_arn}
    if action in ("ecs:RunTask", "ecs:StartTask"):
        definition = param(response, "taskDefinition") or ""
        definition_arn = task_definition_arn(account, region, definition)
        found = [Ask(action, definition_arn, context)]
        for role in task_roles(account, region, definition, response):
            found.append(Ask("iam:PassRole", role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"}))
        return found
    if action in ("ecs:DescribeTasks", "ecs:StopTask"):
        tasks = param(response, "tasks") or ([param(response, "task")] if param(response, "task") else [])
        cluster_name = cluster_arn.rsplit("/", 1)[-1]
        return [Ask(action, t if str(t).startswith("arn:") else arn("ecs", region, account, f"task/{cluster_name}/{t}"),
                    context) for t in tasks] or None
    if action in ("ecs:UpdateService", "ecs:DescribeServices", "ecs:DeleteService", "ecs:CreateService"):
        services = param(response, "services") or [param(response, "service") or param(response, "serviceName")]
        cluster_name = cluster_arn.rsplit("/", 1)[-1]
        return [Ask(action, s if str(s).startswith("arn:") else arn("ecs", region, account,
                                                                   f"service/{cluster_name}/{s}"), context)
                for s in services if s] or None
    if action in ("ecs:DescribeClusters",):
        clusters = param(response, "clusters") or []
        return [Ask(action, c if str(c).startswith("arn:") else arn("ecs", region, account, f"cluster/{c}"))
                for c in clusters] or None
    if action in ("ecs:ListTasks", "ecs:ListServices", "ecs:DescribeServices"):
        return [Ask(action, cluster_arn, context)]
    return None


def task_definition_arn(account: str, region: str, definition: str) -> str:
    """A family (its latest ACTIVE revision), family:revision or ARN, as the revision's ARN: what IAM sees."""
    from moto.ecs.models import ecs_backends

    try:
        return ecs_backends[account][region].describe_task_definition(definition).arn
    except Exception:
        return definition if definition.startswith("arn:") else arn("ecs", region, account,
                                                                    f"task-definition/{definition}")


def task_roles(account: str, region: str, definition: str, response) -> list[str]:
    """The roles a task definition hands its tasks (and the overrides), which RunTask passes."""
    from moto.ecs.models import ecs_backends

    try:
        found = ecs_backends[account][region].describe_task_definition(definition)
    except Exception:
        return []
    roles = [getattr(found, "task_role_arn", None), getattr(found, "execution_role_arn", None)]
    overrides = param(response, "overrides") or {}
    roles += [overrides.get("taskRoleArn"), overrides.get("executionRoleArn")]
    return sorted({r for r in roles if r})


def events(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    rule = param(response, "Name") or param(response, "Rule")
    bus = param(response, "EventBusName") or "default"
    if rule:
        path = f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"
        return [Ask(action, arn("events", region, account, path))]
    return None


def scheduler(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    name = param(response, "Name")
    group = param(response, "GroupName") or "default"
    if name and "ScheduleGroup" not in action:
        return [Ask(action, arn("scheduler", region, account, f"schedule/{group}/{name}"))]
    return None


def pipes(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    name = param(response, "Name")
    return [Ask(action, arn("pipes", region, account, f"pipe/{name}"))] if name else None


def cloudformation(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    stack = param(response, "StackName")
    stack_set = param(response, "StackSetName")
    context = condition_keys(response, {"TemplateURL": "cloudformation:TemplateUrl",
                                        "RoleARN": "cloudformation:RoleArn"})
    change_set = param(response, "ChangeSetName")
    if change_set and not stack and str(change_set).startswith("arn:"):
        stack = stack_of_change_set(account, region, change_set)
    if change_set and not str(change_set).startswith("arn:"):
        context["cloudformation:ChangeSetName"] = change_set
    physical = param(response, "PhysicalResourceId")
    if physical and not stack:
        owner = owner_of(account, region, str(physical))
        if owner is None:
            return []     # no stack has it: CloudFormation answers that, before any authorization
        return [Ask(action, owner, context)]
    if stack:
        return [Ask(action, stack_arn(account, region, str(stack)), context)]
    if stack_set:
        name = str(stack_set).split(":")[-2].split("/")[-1] if str(stack_set).startswith("arn:") else stack_set
        return [Ask(action, arn("cloudformation", region, account, f"stackset/{name}:*"), context)]
    return [Ask(action, "*", context)]


def _strict(account: str, region: str):
    """The strict engine's stacks of one account and region (None in lenient mode, or before any stack)."""
    try:
        from ..strict.api import BACKENDS
    except ImportError:
        return None
    return BACKENDS.get((account, region))


def owner_of(account: str, region: str, physical_id: str) -> str | None:
    """The stack that holds a resource (DescribeStackResources by PhysicalResourceId authorizes on it)."""
    backend = _strict(account, region)
    found = backend.owner_by_physical_id(physical_id) if backend else None
    return found[0].stack_id if found else None


def stack_of_change_set(account: str, region: str, change_set_arn: str) -> str | None:
    """The stack a change set (given by ARN alone) belongs to: CloudFormation authorizes on the stack."""
    backend = _strict(account, region)
    if backend is None:
        return None
    try:
        return backend.change_set(change_set_arn).stack.stack_id
    except Exception:    # no such change set: CloudFormation says so itself
        return None


def stack_arn(account: str, region: str, stack: str) -> str:
    """A stack's ARN: as given, or the live stack's (strict engine), or its name with any ID."""
    if stack.startswith("arn:"):
        return stack
    backend = _strict(account, region)
    found = backend.find(stack) if backend else None
    if found is not None:
        return found.stack_id
    return arn("cloudformation", region, account, f"stack/{stack}/00000000-0000-0000-0000-000000000000")


def iam(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    role = param(response, "RoleName")
    context = condition_keys(response, {"PermissionsBoundary": "iam:PermissionsBoundary", "PolicyArn": "iam:PolicyARN"})
    policy_arn = context.get("iam:PolicyARN")
    if role:
        found = _role(account, role)
        if found is not None and "iam:PermissionsBoundary" not in context and found.permissions_boundary_arn:
            context["iam:PermissionsBoundary"] = found.permissions_boundary_arn
        path = param(response, "Path") or (found.path if found is not None else "/")
        return [Ask(action, f"arn:{PARTITION}:iam::{account}:role{path}{role}", context)]
    service = param(response, "AWSServiceName")
    if service:
        context["iam:AWSServiceName"] = service
        return [Ask(action, f"arn:{PARTITION}:iam::{account}:role/aws-service-role/{service}/*", context)]
    if policy_arn:
        return [Ask(action, policy_arn, context)]
    return None


def _role(account: str, name: str):
    from moto.iam.models import iam_backends

    try:
        return iam_backends[account][PARTITION].get_role(name)
    except Exception:
        return None


def ecr(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    """One ask per repository the request names; a call that names none (DescribeRepositories of all) acts on
    every repository."""
    registry = param(response, "registryId") or account
    names = param(response, "repositoryNames") or ([param(response, "repositoryName")]
                                                   if param(response, "repositoryName") else ["*"])
    return [Ask(action, arn("ecr", region, registry, f"repository/{name}")) for name in names]


def cloudwatch(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    if action == "cloudwatch:PutMetricData":
        return [Ask(action, "*", {"cloudwatch:namespace": param(response, "Namespace")})]
    names = param(response, "AlarmNames") or ([param(response, "AlarmName")] if param(response, "AlarmName") else [])
    if isinstance(names, dict):
        names = list(names.values())
    if names:
        return [Ask(action, arn("cloudwatch", region, account, f"alarm:{n}")) for n in names]
    dashboard = param(response, "DashboardName")
    if dashboard:
        return [Ask(action, f"arn:{PARTITION}:cloudwatch::{account}:dashboard/{dashboard}")]
    return None


def sts(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    role = param(response, "RoleArn")
    return [Ask(action, role)] if role else None


# EC2 reads that act on the one resource the request names (the Service Authorization Reference gives each a
# required resource type): action -> (parameter, resource type).
EC2_NAMED = {"ec2:DescribeVpcAttribute": ("VpcId", "vpc"), "ec2:GetManagedPrefixListEntries": ("PrefixListId",
                                                                                                "prefix-list")}


def ec2(response, action: str, account: str, region: str, hint: str) -> list[Ask] | None:
    """The resource an EC2 read names, by its ARN.  A prefix list is its owner's: an AWS-managed one's ARN names
    the account `aws` (arn:aws:ec2:REGION:aws:prefix-list/pl-..., working-with-aws-managed-prefix-lists.html),
    a shared one its owner's (RAM), so a policy held to the caller's account does not reach them.  Reading one
    needs no grant of its owner (AWS's lists are everyone's; a share is RAM's, not a resource policy): the
    caller's own policies decide."""
    named = EC2_NAMED.get(action)
    value = param(response, named[0]) if named else None
    if not value:
        return None
    owner = account
    if named[1] == "prefix-list":
        from moto.ec2.models import ec2_backends

        found = ec2_backends[account][region].managed_prefix_lists.get(value)
        owner = getattr(found, "owner_id", account) if found is not None else account
        owner = "aws" if owner == "AWS" else owner
    return [Ask(action, arn("ec2", region, owner, f"{named[1]}/{value}"))]


RESOLVERS = {"s3": s3, "sqs": sqs, "sns": sns, "kms": kms, "secretsmanager": secretsmanager, "logs": logs,
             "states": states, "ecs": ecs, "events": events, "scheduler": scheduler, "pipes": pipes,
             "cloudformation": cloudformation, "iam": iam, "ecr": ecr, "cloudwatch": cloudwatch, "sts": sts,
             "ec2": ec2}
