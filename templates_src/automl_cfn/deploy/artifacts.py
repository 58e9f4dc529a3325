"""Host the templates: bootstrap the artifacts bucket, upload by content hash.

Each deploy uploads the root and child templates under
`<project>/<hash of all templates>/`, so a template set, once uploaded, is
never overwritten, and an unchanged set is not uploaded again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .. import ui
from ..errors import AwsError
from .aws import Aws
from .cfn import describe, outputs_of, wait
from .states import SUCCESS

S3_URL = "https://{bucket}.s3.{region}.amazonaws.com/{key}"
STACK_NAME = "automl-cfn-artifacts"   # one per account and region
ARTIFACTS_TEMPLATE = "artifacts"      # generated/templates/artifacts.json
UPLOAD_THREADS = 8


@dataclass
class TemplateSet:
    bucket: str
    prefix: str
    uploaded: int
    skipped: int

    def url(self, name: str, region: str) -> str:
        return S3_URL.format(bucket=self.bucket, region=region, key=f"{self.prefix}{name}.json")


def bootstrap(aws: Aws, template: bytes) -> str:
    """The artifacts bucket's name, creating its stack on first use (idempotent)."""
    cfn = aws.client("cloudformation")
    stack = describe(cfn, STACK_NAME)
    if stack is None or stack["StackStatus"] in ("ROLLBACK_COMPLETE", "DELETE_COMPLETE"):
        if stack is not None:
            cfn.delete_stack(StackName=STACK_NAME)
            wait(cfn, STACK_NAME)
        ui.info(f"Creating the artifacts bucket stack {STACK_NAME} (first deploy in {aws.region})")
        cfn.create_stack(StackName=STACK_NAME, TemplateBody=template.decode("utf-8"),
                         Tags=[{"Key": "ManagedBy", "Value": "automl-cfn"}])
        stack = wait(cfn, STACK_NAME)
    elif stack["StackStatus"] not in SUCCESS:
        stack = wait(cfn, STACK_NAME)  # another deploy may be creating it right now
    if stack["StackStatus"] not in SUCCESS:
        raise AwsError(f"artifacts stack {STACK_NAME} is {stack['StackStatus']}; "
                       "delete it (aws cloudformation delete-stack) and deploy again")
    return outputs_of(stack)["BucketName"]


def content_prefix(project: str, files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return f"{project}/{digest.hexdigest()[:16]}/"


def upload(aws: Aws, bucket: str, project: str, files: dict[str, bytes]) -> TemplateSet:
    """Put each template under the set's content-hash prefix unless it is there already."""
    s3 = aws.client("s3")
    prefix = content_prefix(project, files)
    existing = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                for o in page.get("Contents", [])}
    missing = {name: body for name, body in files.items() if f"{prefix}{name}.json" not in existing}

    def put(item) -> None:
        name, body = item
        s3.put_object(Bucket=bucket, Key=f"{prefix}{name}.json", Body=body, ContentType="application/json")

    if missing:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(UPLOAD_THREADS, len(missing))) as pool:
            list(pool.map(put, missing.items()))
    return TemplateSet(bucket=bucket, prefix=prefix, uploaded=len(missing), skipped=len(files) - len(missing))
