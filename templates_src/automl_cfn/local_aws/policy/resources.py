"""What a resource says about who may use it, read from the endpoint's services.

- Resource policies: a bucket's policy, a queue's policy, a topic's access
  policy (SNS gives every topic a default one: the owner account's
  principals, sns/latest/dg/sns-access-policy-use-cases.html), a key's
  policy, a secret's resource policy.
- The customer key behind an encrypted target, which the service uses on the
  caller's behalf in the same call: SQS for SendMessage and ReceiveMessage
  (sqs-key-management.html), SNS for Publish (sns-key-management.html), S3
  for SSE-KMS objects (UsingKMSEncryption.html), Secrets Manager for a
  secret's value (security-encryption.html).  An AWS managed key
  (alias/aws/sqs ...) has a policy nobody can change: it lets the account's
  own principals use it through its service, and no service principal
  (eb-troubleshooting.html: EventBridge cannot deliver to a queue encrypted
  with the AWS managed key).

Tests: tests/integration/test_permission_paths.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .language import Policy

PARTITION = "aws"


def _json(text) -> dict | None:
    if not text:
        return None
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def _policy(document, source: str) -> Policy | None:
    parsed = _json(document)
    return Policy.of(parsed, source, kind="resource") if parsed is not None else None


@dataclass(frozen=True)
class Key:
    """A KMS key as the evaluator needs it."""

    arn: str
    account: str
    policy: Policy
    aws_managed: bool


def kms_key(region: str, reference: str, account: str) -> Key | None:
    """The key `reference` names (ID, ARN, alias name or alias ARN) in `account`, or None."""
    from moto.kms.models import kms_backends

    if not reference:
        return None
    if reference.startswith("arn:"):
        parts = reference.split(":")
        account, region = parts[4] or account, parts[3] or region
    backend = kms_backends[account][region]
    try:
        key = backend.keys[backend.any_id_to_key_id(reference)]
    except (KeyError, TypeError, AttributeError):
        return None
    # moto makes the keys behind alias/aws/<service> on first use, as customer keys with a default policy: they
    # are AWS managed keys, whose policy lets the account's principals use them through their service.
    managed = getattr(key, "key_manager", "CUSTOMER") == "AWS" or any(
        alias.startswith("alias/aws/") for alias in getattr(key, "aliases", {}) or {})
    policy = aws_managed_key_policy(key.arn, account) if managed else _policy(key.policy, f"key policy of {key.arn}")
    return Key(key.arn, account, policy or Policy.of({"Statement": []}, f"key policy of {key.arn}", kind="resource"),
               managed)


def aws_managed_key_policy(key_arn: str, account: str) -> Policy:
    """What every AWS managed key's policy says: the account's principals, through the key's service only."""
    return Policy.of({"Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Resource": "*",
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Condition": {"StringEquals": {"kms:CallerAccount": account}, "Null": {"kms:ViaService": "false"}},
    }]}, f"AWS managed key policy of {key_arn}", kind="resource")


def bucket_policy(account: str, bucket: str) -> Policy | None:
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None
    found = s3_backends[owner[1]][owner[0]].buckets.get(bucket)
    return _policy(getattr(found, "policy", None), f"bucket policy of {bucket}") if found else None


def bucket_owner(bucket: str) -> str:
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    return owner[1] if owner else ""


def bucket_default_key(bucket: str) -> str | None:
    """The customer key a bucket encrypts new objects with by default (SSE-KMS), if any."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None
    found = s3_backends[owner[1]][owner[0]].buckets.get(bucket)
    rule = ((getattr(found, "encryption", None) or {}).get("Rule") or {}).get("ApplyServerSideEncryptionByDefault") \
        or {}
    if rule.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse"):
        return rule.get("KMSMasterKeyID") or "alias/aws/s3"
    return None


def object_key(bucket: str, key: str) -> str | None:
    """The KMS key an existing object was encrypted with, if SSE-KMS."""
    from moto.s3.models import s3_backends

    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None:
        return None
    found = s3_backends[owner[1]][owner[0]].buckets.get(bucket)
    stored = found.keys.get(key) if found is not None else None
    if stored is None or getattr(stored, "encryption", None) not in ("aws:kms", "aws:kms:dsse"):
        return None
    return getattr(stored, "kms_key_id", None) or "alias/aws/s3"


def queue(account: str, region: str, name: str):
    from moto.sqs.models import sqs_backends

    return sqs_backends[account][region].queues.get(name)


def queue_policy(account: str, region: str, name: str) -> Policy | None:
    found = queue(account, region, name)
    return _policy(getattr(found, "policy", None), f"queue policy of {name}") if found else None


def queue_key(account: str, region: str, name: str) -> str | None:
    """The KMS key of a queue with SSE-KMS (KmsMasterKeyId), None for SSE-SQS or no encryption."""
    found = queue(account, region, name)
    return getattr(found, "kms_master_key_id", None) or None if found else None


def topic(arn: str):
    from moto.sns.models import sns_backends

    parts = arn.split(":")
    if len(parts) < 6:
        return None
    return sns_backends[parts[4]][parts[3]].topics.get(arn)


def topic_policy(arn: str) -> Policy | None:
    found = topic(arn)
    return _policy(found.policy, f"access policy of topic {arn}") if found is not None else None


def topic_key(arn: str) -> str | None:
    found = topic(arn)
    return getattr(found, "kms_master_key_id", None) or None if found is not None else None


def secret(account: str, region: str, secret_id: str):
    from moto.secretsmanager.models import secretsmanager_backends

    backend = secretsmanager_backends[account][region]
    try:
        return backend.secrets[secret_id]
    except (KeyError, Exception):
        return None


def secret_policy(found) -> Policy | None:
    return _policy(getattr(found, "policy", None), f"resource policy of secret {found.name}") if found else None


def secret_key(found) -> str | None:
    key = getattr(found, "kms_key_id", None) if found is not None else None
    return key or "alias/aws/secretsmanager" if found is not None else None


def tags_of(arn: str) -> dict[str, str]:
    """The tags on the resource an ARN names (aws:ResourceTag/*), where the endpoint keeps them; {} otherwise."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or "*" in arn:
        return {}
    _, _, service, region, account, rest = parts
    try:
        reader = TAG_READERS.get(service)
        return reader(region, account, rest, arn) if reader else {}
    except Exception:
        return {}   # no such resource (any longer): nothing to match


def _pairs(tags, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {t[key]: t[value] for t in tags or [] if key in t}


def _kms_tags(region, account, rest, arn):
    from moto.kms.models import kms_backends

    return _pairs(kms_backends[account][region].list_resource_tags(rest.split("/", 1)[1])["Tags"], "TagKey", "TagValue")


def _ec2_tags(region, account, rest, arn):
    from moto.ec2.models import ec2_backends

    if not account.isdigit():
        return {}   # an AWS-managed prefix list (account `aws`): no account's backend holds its tags
    return dict(ec2_backends[account][region].tags.get(rest.split("/", 1)[1], {}))


def _s3_tags(region, account, rest, arn):
    from moto.s3.models import s3_backends

    bucket = rest.split("/", 1)[0]
    owner = s3_backends.bucket_accounts.get(bucket)
    if owner is None or "/" in rest:
        return {}
    return _pairs(s3_backends[owner[1]][owner[0]].get_bucket_tagging(bucket)["Tags"])


def _sqs_tags(region, account, rest, arn):
    found = queue(account, region, rest)
    return dict(getattr(found, "tags", {}) or {})


def _iam_tags(region, account, rest, arn):
    from moto.iam.models import iam_backends

    if rest.startswith("role/"):
        role = iam_backends[account]["aws"].get_role_by_arn(arn)
        return _pairs(role.tags)
    return {}


def _tagged_by_arn(module: str, backends: str, shape: str = "pairs"):
    """A service whose backend lists tags by ARN (SNS, Logs, ECR, ECS)."""
    def read(region, account, rest, arn):
        import importlib

        backend = getattr(importlib.import_module(module), backends)[account][region]
        found = backend.list_tags_for_resource(arn)
        if isinstance(found, dict) and "Tags" in found:
            found = found["Tags"]
        if isinstance(found, dict):
            return {str(k): str(v) for k, v in found.items()}
        return _pairs(found) or _pairs(found, "key", "value")
    return read


TAG_READERS = {
    "kms": _kms_tags, "ec2": _ec2_tags, "s3": _s3_tags, "sqs": _sqs_tags, "iam": _iam_tags,
    "sns": _tagged_by_arn("moto.sns.models", "sns_backends"),
    "logs": _tagged_by_arn("moto.logs.models", "logs_backends"),
    "ecr": _tagged_by_arn("moto.ecr.models", "ecr_backends"),
    "ecs": _tagged_by_arn("moto.ecs.models", "ecs_backends"),
}
