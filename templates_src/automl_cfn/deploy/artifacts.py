"""Host the templates: bootstrap the artifacts bucket, upload by content hash.

Each deploy uploads the root and child templates under
`templates/<project>/<hash of all templates>/`, so a template set, once
uploaded, is never overwritten, and an unchanged set is not uploaded again
(what has expired of it is put back).  How long sets live: retention.py.

The artifacts stack is created once per account and region.  Its bucket is
retained when the stack goes; a later bootstrap adopts it by resource import
rather than failing on its name.  With the organization_id setting, the
organisation's accounts may read templates/ and releases/ (deploy
--release-bucket, StackSets instances reading nested templates).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

from .. import ui
from ..errors import AwsError
from ..intrinsics import Evaluator
from ..model import TEMPLATES_PREFIX
from . import retention
from .aws import Aws, error_code
from .cfn import describe, outputs_of, wait, wait_for_change_set
from .states import SUCCESS, in_progress

S3_URL = "https://{bucket}.s3.{region}.amazonaws.com/{key}"
STACK_NAME = "automl-cfn-artifacts"   # one per account and region
ARTIFACTS_TEMPLATE = "artifacts"      # generated/templates/artifacts.json
UPLOAD_THREADS = 8
BUCKET = "ArtifactsBucket"


@dataclass
class TemplateSet:
    bucket: str
    prefix: str
    uploaded: int
    skipped: int

    def url(self, name: str, region: str) -> str:
        return S3_URL.format(bucket=self.bucket, region=region, key=f"{self.prefix}{name}.json")


def bootstrap(aws: Aws, template: bytes, organization_id: str = "") -> str:
    """The artifacts bucket's name, creating its stack on first use (idempotent), and sharing its templates
    and releases with `organization_id` (updating the stack when that changed)."""
    cfn = aws.client("cloudformation")
    stack = describe(cfn, STACK_NAME)
    if stack is not None and in_progress(stack["StackStatus"]):
        stack = wait(cfn, STACK_NAME)  # another deploy may be creating it right now
    if stack is not None and stack["StackStatus"] in SUCCESS:
        shared = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
        if shared.get("OrganizationId", "") != organization_id:
            stack = share(aws, template, organization_id)
        return outputs_of(stack)["BucketName"]
    if stack is not None and stack["StackStatus"] != "DELETE_COMPLETE":
        cfn.delete_stack(StackName=STACK_NAME)  # a create that failed: its bucket, if any, is retained
        wait(cfn, STACK_NAME)
    ui.info(f"Creating the artifacts bucket stack {STACK_NAME} (first deploy in {aws.region})")
    return outputs_of(apply(aws, template, organization_id, "CREATE"))["BucketName"]


def share(aws: Aws, template: bytes, organization_id: str) -> dict:
    """Update the artifacts stack to share with `organization_id` (or, empty, with nobody)."""
    whom = f"the accounts of {organization_id}" if organization_id else "this account only"
    ui.info(f"Updating {STACK_NAME}: templates and releases readable by {whom} (organization_id)")
    return apply(aws, template, organization_id, "UPDATE")


def apply(aws: Aws, template: bytes, organization_id: str, kind: str) -> dict:
    """Create or update the artifacts stack through a change set (its bucket name pinned, so that a bucket an
    earlier artifacts stack retained is imported); the stack, once stable."""
    cfn = aws.client("cloudformation")
    document = json.loads(template)
    name = pin_bucket_name(document, aws)
    request = dict(StackName=STACK_NAME, ChangeSetName=f"automl-cfn-{kind.lower()}-{int(time.time())}",
                   ChangeSetType=kind, TemplateBody=json.dumps(document),
                   Parameters=[{"ParameterKey": "OrganizationId", "ParameterValue": organization_id}])
    if kind == "CREATE":
        request["Tags"] = [{"Key": "ManagedBy", "Value": "automl-cfn"}]
        if bucket_exists(aws, name):
            request["ImportExistingResources"] = True   # retained by an earlier artifacts stack: adopt it
    change_set = cfn.create_change_set(**request)["Id"]
    wait_for_change_set(cfn, change_set, poll=1.0)
    cfn.execute_change_set(ChangeSetName=change_set)
    stack = wait(cfn, STACK_NAME)
    if stack["StackStatus"] not in SUCCESS:
        raise AwsError(f"artifacts stack {STACK_NAME} is {stack['StackStatus']}; see its events "
                       f"(aws cloudformation describe-stack-events --stack-name {STACK_NAME})")
    return stack


def pin_bucket_name(document: dict, aws: Aws) -> str:
    """Write the bucket's name out (CloudFormation imports only literal names); return it."""
    properties = document["Resources"][BUCKET]["Properties"]
    name = Evaluator(document, {}, region=aws.region, account=aws.account_id()).value(properties["BucketName"])
    properties["BucketName"] = name
    return name


def bucket_exists(aws: Aws, name: str) -> bool:
    try:
        aws.client("s3").head_bucket(Bucket=name)
        return True
    except Exception as exc:
        if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise


def content_prefix(project: str, files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return f"{TEMPLATES_PREFIX}{project}/{digest.hexdigest()[:16]}/"


def upload(aws: Aws, bucket: str, project: str, files: dict[str, bytes]) -> TemplateSet:
    """Put each template under the set's content-hash prefix unless it is there already."""
    s3 = aws.client("s3")
    prefix = content_prefix(project, files)
    existing = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                for o in page.get("Contents", [])}
    missing = {name: body for name, body in files.items() if f"{prefix}{name}.json" not in existing}

    def put(item) -> None:
        name, body = item
        try:
            # Never over an object that is there (the CI diff role may write only so): one that appeared
            # since the listing has these very bytes, its key being their hash.
            s3.put_object(Bucket=bucket, Key=f"{prefix}{name}.json", Body=body, ContentType="application/json",
                          IfNoneMatch="*", Tagging=retention.UPLOAD_TAGGING)
        except Exception as exc:
            if error_code(exc) not in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                raise

    if missing:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(UPLOAD_THREADS, len(missing))) as pool:
            list(pool.map(put, missing.items()))
    return TemplateSet(bucket=bucket, prefix=prefix, uploaded=len(missing), skipped=len(files) - len(missing))
