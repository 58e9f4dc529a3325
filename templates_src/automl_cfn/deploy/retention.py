"""Template sets live as long as something reads them.

A deploy uploads its templates under a content-hash prefix of the artifacts bucket (artifacts.py), and
CloudFormation reads nested templates from there again later: a release (UsePreviousTemplate) updates the
nested stacks from the URLs the deployed root names, and a stack set's automatic deployment into a new
account creates them from the stack set's URLs.  The bucket's lifecycle expires, 90 days after upload, only
the objects tagged expirable (stacks/artifacts.py); then:

- a deploy uploads its set tagged expirable, and re-puts any object of the set that has gone (artifacts.py);
- `restore` puts back, before a release, each nested template of the deployed set that has expired (or was
  deleted by hand), from CloudFormation's own copy of the nested stack's template: re-upload on use;
- `keep_for_stack_sets` tags the sets that an active stack set of this account and region names as kept, and
  gives the sets no stack set names any more back to expiry: retain by reference, after each stack set
  rollout or deletion (no release is there to restore what AWS's automatic deployments read).

Sets uploaded before these tags existed carry none: nothing expires them until a stack set command tags them.
"""

from __future__ import annotations

import json
import re

from .. import ui
from ..model import TEMPLATE_SET_TAG, TEMPLATES_PREFIX
from .aws import Aws, error_code

TAG, EXPIRABLE = TEMPLATE_SET_TAG
KEPT = "kept-for-stack-sets"
UPLOAD_TAGGING = f"{TAG}={EXPIRABLE}"
STACK_SET_CALLERS = ("SELF", "DELEGATED_ADMIN")


def parameters_of(resource: dict) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in resource.get("Parameters", [])}


def stack_set_prefixes(aws: Aws, bucket: str) -> set[str]:
    """Template-set prefixes of `bucket` that an active stack set of this account and region names."""
    cfn = aws.client("cloudformation")
    named = set()
    for caller in STACK_SET_CALLERS:
        try:
            summaries = [s for page in cfn.get_paginator("list_stack_sets").paginate(Status="ACTIVE", CallAs=caller)
                         for s in page.get("Summaries", []) if s.get("Status", "ACTIVE") == "ACTIVE"]
        except Exception as exc:   # not a delegated administrator: it has no such stack sets
            if caller == "SELF" or error_code(exc) not in ("ValidationError", "AccessDenied", "AccessDeniedException"):
                raise
            continue
        for summary in summaries:
            parameters = parameters_of(cfn.describe_stack_set(StackSetName=summary["StackSetName"],
                                                              CallAs=caller)["StackSet"])
            if parameters.get("TemplatesBucket") == bucket and parameters.get("TemplatesPrefix"):
                named.add(parameters["TemplatesPrefix"])
    return named


def template_sets(s3, bucket: str, project: str) -> dict[str, list[str]]:
    """The project's template sets in the bucket: prefix -> keys."""
    sets: dict[str, list[str]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{TEMPLATES_PREFIX}{project}/"):
        for item in page.get("Contents", []):
            sets.setdefault(item["Key"].rsplit("/", 1)[0] + "/", []).append(item["Key"])
    return sets


def keep_for_stack_sets(aws: Aws, bucket: str, project: str) -> dict[str, str]:
    """Tag each of the project's sets kept (a stack set names it) or expirable; returns prefix -> tag."""
    try:
        named = stack_set_prefixes(aws, bucket)
        s3 = aws.client("s3")
        marked = {}
        for prefix, keys in sorted(template_sets(s3, bucket, project).items()):
            wanted = KEPT if prefix in named else EXPIRABLE
            tags = s3.get_object_tagging(Bucket=bucket, Key=keys[0]).get("TagSet", [])
            if {t["Key"]: t["Value"] for t in tags}.get(TAG) != wanted:
                for key in keys:
                    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": TAG, "Value": wanted}]})
            marked[prefix] = wanted
        return marked
    except Exception as exc:     # the rollout itself is done: say what is at stake, do not fail it
        if not error_code(exc):
            raise
        ui.info(f"warning: could not tag the template sets stack sets read ({error_code(exc)}); a set not tagged "
                f"{KEPT} expires 90 days after its upload, and accounts that join a stack set later would fail "
                f"to read it")
        return {}


def restore(aws: Aws, stack: dict) -> list[str]:
    """Before a release: every nested template the deployed root names and the bucket lacks, put back from the
    nested stack's template in CloudFormation; returns the keys put back."""
    parameters = parameters_of(stack)
    bucket, prefix = parameters.get("TemplatesBucket", ""), parameters.get("TemplatesPrefix", "")
    if not bucket or not prefix:
        return []
    cfn, s3 = aws.client("cloudformation"), aws.client("s3")
    present = {item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
               for item in page.get("Contents", [])}
    files = nested_files(_document(cfn.get_template(StackName=stack["StackId"])["TemplateBody"]))
    restored = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack["StackId"]):
        for resource in page.get("StackResourceSummaries", []):
            key = f"{prefix}{files.get(resource['LogicalResourceId'], '')}"
            if resource["LogicalResourceId"] not in files or key in present:
                continue
            body = cfn.get_template(StackName=resource["PhysicalResourceId"])["TemplateBody"]
            s3.put_object(Bucket=bucket, Key=key, Body=_text(body).encode(), ContentType="application/json",
                          Tagging=UPLOAD_TAGGING)
            restored.append(key)
    if restored:
        ui.info(f"Restored {len(restored)} nested template(s) the release reads, missing from s3://{bucket}/{prefix}")
    return restored


NESTED_FILE = re.compile(r"\$\{TemplatesPrefix\}([\w.-]+\.json)$")


def nested_files(root: dict) -> dict[str, str]:
    """Nested stack logical ID -> its template's file name in the set, as the root's TemplateURL names it."""
    files = {}
    for logical_id, resource in (root.get("Resources") or {}).items():
        url = (resource.get("Properties") or {}).get("TemplateURL")
        text = url.get("Fn::Sub") if isinstance(url, dict) else url
        text = text[0] if isinstance(text, list) else text
        found = NESTED_FILE.search(text) if isinstance(text, str) else None
        if resource.get("Type") == "AWS::CloudFormation::Stack" and found:
            files[logical_id] = found.group(1)
    return files


def _document(body) -> dict:
    return json.loads(body) if isinstance(body, str) else dict(body)


def _text(body) -> str:
    return body if isinstance(body, str) else json.dumps(body)
