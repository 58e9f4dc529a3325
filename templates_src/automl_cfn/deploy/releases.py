"""Releases: one published artifact, deployed unchanged from dev to prod.

`publish` uploads the application templates (generated/templates, the
artifacts bucket's own template aside) with every environment's parameters
and tags, under `releases/<project>/<ID>/` in the artifacts bucket.  The ID is
the hash of those three, so the same inputs publish the same release, and a
release cannot change under its ID: `deploy --release ID` checks every byte
against the manifest, and the manifest against the ID, before it creates a
change set.  Release objects never expire (template sets under templates/ do).

Another account's release (dev publishes, prod deploys) is copied, verified,
into this account's artifacts bucket first (`--release-bucket`), so the
stacks read their nested templates from their own account.

The one change a deploy makes to a release's bytes is the one it makes to
generated/: the names of retained resources are written out as literals for
this account and region (adopt.pin_names), so that CloudFormation can import
them after a destroy; that set is hosted by content hash as usual.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..errors import RefusedError, UserError
from ..model import RELEASES_PREFIX
from .aws import Aws, error_code

ID_PATTERN = re.compile(r"[0-9a-f]{16}")
MANIFEST = "release.json"
FORMAT = 1


@dataclass
class Release:
    id: str
    project: str
    files: dict[str, bytes]                      # template name -> the published bytes
    environments: dict[str, dict]                # env -> {parameters, tags, stack, region}
    published: dict = field(default_factory=dict)   # when, from which commit, by which account (not in the ID)

    @property
    def prefix(self) -> str:
        return release_prefix(self.project, self.id)

    def environment(self, env: str) -> dict:
        if env not in self.environments:
            raise UserError(f"release {self.id} has no environment {env!r}; it has: "
                            f"{', '.join(sorted(self.environments))} (publish again after adding it)")
        return self.environments[env]


def release_prefix(project: str, release_id: str) -> str:
    return f"{RELEASES_PREFIX}{project}/{release_id}/"


def check_id(text: str) -> str:
    """A release ID as `publish` prints it: 16 lowercase hex digits."""
    if not ID_PATTERN.fullmatch(text or ""):
        shown = text if len(text or "") <= 40 else text[:40] + "..."
        raise UserError(f"--release {shown!r} is not a release ID; allowed: the 16 hex digits "
                        "'automl-cfn publish' printed")
    return text


BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,63}")   # a template's name in a manifest (root, network ...)


def check_bucket(name: str) -> str:
    if not BUCKET_PATTERN.fullmatch(name) or ".." in name:
        raise UserError(f"--release-bucket {name[:80]!r} is not an S3 bucket name; allowed: 3 to 63 lowercase "
                        "letters, digits, '.' and '-'")
    return name


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def identity(project: str, hashes: dict[str, str], environments: dict[str, dict]) -> str:
    """The release ID: a hash over what is deployed (template bytes, parameters, tags, stack and region per
    environment), in a canonical JSON form."""
    core = {"format": FORMAT, "project": project, "templates": hashes, "environments": environments}
    return digest(json.dumps(core, sort_keys=True, separators=(",", ":")).encode())[:16]


def build(project: str, files: dict[str, bytes], environments: dict[str, dict], published: dict) -> Release:
    hashes = {name: digest(body) for name, body in sorted(files.items())}
    return Release(id=identity(project, hashes, environments), project=project, files=dict(files),
                   environments=environments, published=published)


def manifest(release: Release) -> bytes:
    body = {"format": FORMAT, "release": release.id, "project": release.project,
            "templates": {name: digest(data) for name, data in sorted(release.files.items())},
            "environments": release.environments, "published": release.published}
    return (json.dumps(body, sort_keys=True, indent=2) + "\n").encode()


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- publish -------------------------------------------------------------------

def publish(aws: Aws, bucket: str, release: Release) -> int:
    """Upload what is missing of the release, the manifest last (a release is visible only when whole).
    Returns how many objects were written; 0 when it was published before."""
    s3 = aws.client("s3")
    prefix = release.prefix
    present = _keys(s3, bucket, prefix)
    written = 0
    for name, body in sorted(release.files.items()):
        if f"{prefix}{name}.json" not in present:
            s3.put_object(Bucket=bucket, Key=f"{prefix}{name}.json", Body=body, ContentType="application/json")
            written += 1
    if f"{prefix}{MANIFEST}" not in present:
        s3.put_object(Bucket=bucket, Key=f"{prefix}{MANIFEST}", Body=manifest(release),
                      ContentType="application/json")
        written += 1
    return written


def _keys(s3, bucket: str, prefix: str) -> set[str]:
    return {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])}


# -- fetch -------------------------------------------------------------------------

def fetch(aws: Aws, bucket: str, project: str, release_id: str, source_bucket: str | None = None) -> Release:
    """The release from this account's artifacts bucket, verified; copied (and verified) from
    `source_bucket` first when it was published elsewhere."""
    s3 = aws.client("s3")
    prefix = release_prefix(project, release_id)
    raw = _get(s3, bucket, f"{prefix}{MANIFEST}")
    if raw is None and source_bucket:
        try:
            raw = _get(s3, source_bucket, f"{prefix}{MANIFEST}")
        except Exception as exc:
            if error_code(exc) not in ("AccessDenied", "403", "Forbidden"):
                raise
            raise RefusedError(f"s3://{source_bucket} refuses this account ({aws.account_id()}) its releases: the "
                               "publishing account shares them with its organisation when its settings have "
                               "organization_id (then publish again); nothing was deployed") from None
        if raw is None:
            raise UserError(f"release {release_id} of {project} is not in s3://{source_bucket}/{prefix}; check the ID "
                            "and the bucket it was published to")
        release = _verified(s3, source_bucket, prefix, raw, project, release_id)
        publish(aws, bucket, release)   # into this account's bucket: the stacks read their templates here
        return release
    if raw is None:
        raise UserError(f"release {release_id} of {project} is not in s3://{bucket}/{prefix}; publish it "
                        "(automl-cfn publish --env ENV), or name the bucket it was published to with --release-bucket")
    return _verified(s3, bucket, prefix, raw, project, release_id)


def _get(s3, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def _verified(s3, bucket: str, prefix: str, raw: bytes, project: str, release_id: str) -> Release:
    """The manifest must hash to its ID, and every template to the manifest's hash."""
    where = f"s3://{bucket}/{prefix}"
    try:
        body = json.loads(raw)
        hashes, environments = body["templates"], body["environments"]
        if body.get("format") != FORMAT or not isinstance(hashes, dict) or not isinstance(environments, dict) \
                or not all(isinstance(n, str) and NAME_PATTERN.fullmatch(n) for n in hashes) \
                or not all(_valid_environment(entry) for entry in environments.values()):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise RefusedError(f"{where}{MANIFEST} is not a release manifest (format {FORMAT}); nothing was deployed") \
            from None
    if body.get("project") != project or identity(project, hashes, environments) != release_id:
        raise RefusedError(f"{where}{MANIFEST} does not match release ID {release_id}: it was changed after "
                           "publishing; nothing was deployed")
    files = {}
    for name, expected in sorted(hashes.items()):
        data = _get(s3, bucket, f"{prefix}{name}.json")
        if data is None or digest(data) != expected:
            state = "is missing" if data is None else "differs from what was published"
            raise RefusedError(f"{where}{name}.json {state} (release {release_id}); nothing was deployed")
        files[name] = data
    if "root" not in files:
        raise RefusedError(f"release {release_id} has no root template; nothing was deployed")
    return Release(id=release_id, project=project, files=files, environments=environments,
                   published=body.get("published") or {})


def _valid_environment(entry) -> bool:
    """{parameters: {str: str}, tags: [{Key, Value}], stack: str, region: str}, as publish writes it."""
    def strings(mapping) -> bool:
        return isinstance(mapping, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())

    return isinstance(entry, dict) and strings(entry.get("parameters")) and isinstance(entry.get("tags"), list) \
        and all(strings(tag) and set(tag) == {"Key", "Value"} for tag in entry["tags"]) \
        and isinstance(entry.get("stack"), str) and isinstance(entry.get("region"), str)
