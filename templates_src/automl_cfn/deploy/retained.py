"""What an environment keeps when its stacks go, found by name.

Every resource whose DeletionPolicy keeps it (Retain, RetainExceptOnCreate)
survives `destroy`: the data, access-log and load balancer log buckets, the
repositories, the log groups, the KMS key and its alias, the API key secret.
Their names come from the templates themselves (each resource's name
property, evaluated for the environment's parameters), so this module holds
no list of names, only what to do with each resource type: find it, say what
it holds, and purge it.  `deploy` adopts what it finds (adopt.py); `destroy`
lists it and, with --purge-data, deletes it.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, Callable

from .. import providers
from ..intrinsics import Evaluator, Symbol, TemplateError, is_symbolic
from .aws import error_code

RETAIN_POLICIES = ("Retain", "RetainExceptOnCreate")


@dataclass(frozen=True)
class Retained:
    """A retained resource of the templates, with the name it has in this environment."""

    stack: str            # child template name: storage, registry, ...
    logical_id: str
    type: str
    name: str

    @property
    def label(self) -> str:
        return KINDS[self.type].label if self.type in KINDS else self.type


@dataclass
class Found:
    """A retained resource that exists in the account."""

    retained: Retained
    physical_id: str      # what CloudFormation calls it (a name, or an ARN)
    arn: str = ""
    holds: str = ""       # "52 objects", "3 images"
    pending_deletion: str = ""   # a date, when the resource is scheduled for deletion


# ---------------------------------------------------------------------------
# per type: find, describe, purge
# ---------------------------------------------------------------------------

def _find_bucket(aws, name: str) -> Found | None:
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=name)
    except Exception as exc:
        if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return None
        raise
    count = sum(page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name))
    return Found(None, name, f"arn:aws:s3:::{name}", f"{count} objects")


def _purge_bucket(aws, found: Found) -> str:
    s3 = aws.client("s3")
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=found.physical_id):
        batch = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                 for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(batch), 1000):
            s3.delete_objects(Bucket=found.physical_id, Delete={"Objects": batch[start:start + 1000], "Quiet": True})
            deleted += len(batch[start:start + 1000])
    s3.delete_bucket(Bucket=found.physical_id)
    return f"deleted with {deleted} object versions"


def _find_repository(aws, name: str) -> Found | None:
    ecr = aws.client("ecr")
    try:
        repository = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except Exception as exc:
        if error_code(exc) == "RepositoryNotFoundException":
            return None
        raise
    images = sum(len(page["imageIds"]) for page in ecr.get_paginator("list_images").paginate(repositoryName=name))
    return Found(None, name, repository["repositoryArn"], f"{images} images")


def _purge_repository(aws, found: Found) -> str:
    aws.client("ecr").delete_repository(repositoryName=found.physical_id, force=True)
    return "deleted with its images"


def _find_log_group(aws, name: str) -> Found | None:
    logs = aws.client("logs")
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        for group in page.get("logGroups", []):
            if group["logGroupName"] == name:
                return Found(None, name, group.get("arn", ""), f"{group.get('storedBytes', 0):,} bytes")
    return None


def _purge_log_group(aws, found: Found) -> str:
    aws.client("logs").delete_log_group(logGroupName=found.physical_id)
    return "deleted"


def _find_secret(aws, name: str) -> Found | None:
    try:
        secret = aws.client("secretsmanager").describe_secret(SecretId=name)
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    pending = secret.get("DeletedDate")
    return Found(None, secret["ARN"], secret["ARN"], "a secret value", str(pending) if pending else "")


def _purge_secret(aws, found: Found) -> str:
    # No recovery window: the name is free again at once, so the environment can come back.
    aws.client("secretsmanager").delete_secret(SecretId=found.arn, ForceDeleteWithoutRecovery=True)
    return "deleted (no recovery window)"


def _find_alias(aws, name: str) -> Found | None:
    try:
        key = aws.client("kms").describe_key(KeyId=name)["KeyMetadata"]
    except Exception as exc:
        if error_code(exc) == "NotFoundException":
            return None
        raise
    pending = key.get("DeletionDate") if key.get("KeyState") == "PendingDeletion" else ""
    return Found(None, name, key["Arn"], f"key {key['KeyId']}", str(pending) if pending else "")


def _purge_alias(aws, found: Found) -> str:
    kms = aws.client("kms")
    key = kms.describe_key(KeyId=found.physical_id)["KeyMetadata"]
    kms.delete_alias(AliasName=found.physical_id)
    if key.get("KeyState") != "PendingDeletion":
        # KMS never deletes a key at once: seven days is the shortest wait it allows.
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=KMS_PENDING_DAYS)
    return f"deleted; its key is scheduled for deletion in {KMS_PENDING_DAYS} days (KMS's shortest wait)"


KMS_PENDING_DAYS = 7


@dataclass(frozen=True)
class Kind:
    label: str
    find: Callable[[Any, str], Found | None]
    purge: Callable[[Any, Found], str]
    order: int            # purge order: what others depend on goes last


KINDS: dict[str, Kind] = {
    "AWS::S3::Bucket": Kind("S3 bucket", _find_bucket, _purge_bucket, 1),
    "AWS::ECR::Repository": Kind("ECR repository", _find_repository, _purge_repository, 1),
    "AWS::Logs::LogGroup": Kind("Log group", _find_log_group, _purge_log_group, 1),
    "AWS::SecretsManager::Secret": Kind("Secret", _find_secret, _purge_secret, 1),
    "AWS::KMS::Alias": Kind("KMS key (by alias)", _find_alias, _purge_alias, 2),
}


# ---------------------------------------------------------------------------
# names from the templates
# ---------------------------------------------------------------------------

def retained_in(documents: dict[str, dict], values: dict[str, str], region: str, account: str,
                effective_only: bool = False) -> list[Retained]:
    """Every retained resource with a name, in every child template.

    `effective_only=False` ignores conditions: a resource an earlier
    configuration created (access logs once enabled, say) may still exist.
    """
    found = []
    for stack, document in documents.items():
        if stack in ("root", "artifacts"):
            continue
        evaluator = Evaluator(document, _child_values(document, values), region=region, account=account,
                              resource_value=lambda logical_id, attribute: Symbol(stack, logical_id, attribute))
        for logical_id, body in (document.get("Resources") or {}).items():
            if body.get("DeletionPolicy") not in RETAIN_POLICIES or body["Type"] not in KINDS:
                continue
            if effective_only and not evaluator.exists(body):
                continue
            name_property = providers.get(body["Type"]).name_property
            try:
                name = evaluator.resolved((body.get("Properties") or {}).get(name_property))
            except TemplateError:
                continue
            if isinstance(name, str) and not is_symbolic(name):
                found.append(Retained(stack, logical_id, body["Type"], name))
    return found


def _child_values(document: dict, values: dict[str, str]) -> dict[str, str]:
    """The root's values for the parameters a child shares with it; a placeholder for wired ones."""
    result = {}
    for name, spec in (document.get("Parameters") or {}).items():
        if name in values:
            result[name] = values[name]
        elif "Default" not in spec:
            result[name] = "none"
    return result


# (type, name) -> what a lookup found, while a deploy shares its lookups (see `lookups_shared`).
_SHARED: ContextVar[dict | None] = ContextVar("retained_lookups", default=None)


@contextmanager
def lookups_shared():
    """Within the block each retained name is looked up once: a deploy's preflight and the adoption after
    it ask about the same names, and nothing between them creates or deletes those resources."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def lookup(aws, resource_type: str, name: str) -> Found | None:
    """The retained resource of this type and name in the account, if any (shared within `lookups_shared`)."""
    shared = _SHARED.get()
    if shared is None:
        return KINDS[resource_type].find(aws, name)
    key = (resource_type, name)
    if key not in shared:
        shared[key] = KINDS[resource_type].find(aws, name)
    return shared[key]


def find(aws, retained: Retained) -> Found | None:
    found = lookup(aws, retained.type, retained.name)
    return None if found is None else replace(found, retained=retained)


def owner(cfn, physical_id: str) -> str | None:
    """The live stack that holds a resource, if any."""
    try:
        resources = cfn.describe_stack_resources(PhysicalResourceId=physical_id).get("StackResources", [])
    except Exception as exc:
        if error_code(exc) == "ValidationError":
            return None
        raise
    return resources[0]["StackName"] if resources else None
