"""Who may read a template from S3: the bucket's own account, or another one its policy grants.

moto answers any account's GetObject on any bucket.  S3 lets another
account read an object only when the bucket policy allows that principal,
and CloudFormation fetches a TemplateURL (a nested stack's included) as the
stack's account: a StackSets instance in a member account reads the nested
templates from the administrator's artifacts bucket only through its
organisation-scoped statement (tests/integration/test_stacksets.py,
test_nested_templates_need_the_organisation_statement).

Only what these templates' policies use is evaluated: Allow statements for
s3:GetObject on the object, to "*" or the account, under no condition or
StringEquals on aws:PrincipalOrgID / aws:PrincipalAccount.
"""

from __future__ import annotations

import fnmatch
import json
from urllib.parse import urlparse


def bucket_and_key(url: str) -> tuple[str, str]:
    parts = urlparse(url)
    if parts.netloc.startswith("s3") and parts.netloc.endswith("amazonaws.com") or "localhost" in parts.netloc:
        bucket, _, key = parts.path.lstrip("/").partition("/")
        return bucket, key
    return parts.netloc.split(".")[0], parts.path.lstrip("/")


def organization_of(account: str) -> str:
    from moto.organizations.models import organizations_backends

    if account in organizations_backends.master_accounts:
        master, partition = organizations_backends.master_accounts[account]
        org = organizations_backends[master][partition].org
    else:
        org = organizations_backends[account]["aws"].org
    return org.id if org is not None else ""


def readable_by(url: str, account: str) -> bool:
    """May `account` GetObject the template at `url`?"""
    from moto.s3.models import s3_backends

    bucket_name, key = bucket_and_key(url)
    owner = s3_backends.bucket_accounts.get(bucket_name)
    if owner is None or owner[1] == account:
        return True   # its own bucket (or none: the read fails on its own)
    bucket = s3_backends[owner[1]][owner[0]].get_bucket(bucket_name)
    try:
        policy = json.loads(bucket.policy or b"{}")
    except ValueError:
        return False
    statements = policy.get("Statement", [])
    return any(grants(s, f"arn:aws:s3:::{bucket_name}/{key}", account) for s in
               (statements if isinstance(statements, list) else [statements]))


def grants(statement: dict, object_arn: str, account: str) -> bool:
    def listed(value) -> list:
        return value if isinstance(value, list) else [value]

    if statement.get("Effect") != "Allow":
        return False
    if not any(fnmatch.fnmatchcase("s3:GetObject", a) or a == "*" for a in listed(statement.get("Action", []))):
        return False
    if not any(fnmatch.fnmatchcase(object_arn, r) for r in listed(statement.get("Resource", []))):
        return False
    principal = statement.get("Principal")
    principals = listed(principal.get("AWS", [])) if isinstance(principal, dict) else listed(principal)
    if not any(p in ("*", account, f"arn:aws:iam::{account}:root") for p in principals):
        return False
    context = {"aws:PrincipalOrgID": organization_of(account), "aws:PrincipalAccount": account}
    for operator, tests in (statement.get("Condition") or {}).items():
        if operator != "StringEquals":
            return False
        for key, wanted in tests.items():
            if key not in context or context[key] not in listed(wanted):
                return False
    return True


def region_mismatch(url: str) -> str | None:
    """The bucket's region when `url` addresses it through another region's endpoint (S3 answers
    PermanentRedirect; moto serves it).  A nested stack in another region than its templates' bucket
    needs TemplatesRegion (test_instances_in_other_regions_read_the_administrators_templates)."""
    from moto.s3.models import s3_backends

    host = urlparse(url).netloc.split(".")
    if len(host) < 4 or host[1] != "s3" or not host[2].count("-"):
        return None
    owner = s3_backends.bucket_accounts.get(host[0])
    if owner is None:
        return None
    bucket = s3_backends[owner[1]][owner[0]].buckets.get(host[0])
    region = getattr(bucket, "region_name", None)
    return region if region and region != host[2] else None
