"""publish: the committed templates, with every environment's parameters and tags, as one release.

The templates must be what the sources give now (a stale generated/ is
refused, as the test suite refuses it); every config/*.yaml is read and
validated, so the release holds the values each environment will get.
Publishing the same inputs again writes nothing and prints the same ID.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .. import synth, ui
from ..errors import UserError
from ..parameters import parameter_values
from . import artifacts, releases
from .target import Target, stack_tags


def publish(target: Target, output: str = "text") -> int:
    root = target.project_dir
    files = {name: body for name, body in target.generated.items() if name != artifacts.ARTIFACTS_TEMPLATE}
    require_current(root, files)
    environments = {
        env: {"parameters": parameter_values(settings), "tags": stack_tags(settings), "stack": settings.stack_name,
              "region": settings.aws_region}
        for env, settings in synth.environment_settings(root).items()
    }
    if target.settings.environment not in environments:
        raise UserError(f"publish reads config/*.yaml; {target.settings.environment!r} is not among them "
                        f"({', '.join(sorted(environments))})")
    release = releases.build(target.settings.project_name, files, environments,
                             {"at": releases.now_utc(), "commit": git_commit(root), "account": target.account,
                              "region": target.aws.region})
    bucket = target.artifacts_bucket
    written = releases.publish(target.aws, bucket, release)
    if output == "json":
        print(json.dumps({"release": release.id, "bucket": bucket, "prefix": release.prefix,
                          "account": target.account, "region": target.aws.region,
                          "environments": sorted(environments), "written": written}, indent=2))
        return 0
    state = f"{written} objects written" if written else "published before; nothing written"
    ui.out().print(f"Release {release.id} ({state})\n"
                   f"  account {target.account}, region {target.aws.region}: s3://{bucket}/{release.prefix}\n"
                   f"  {len(files)} templates; parameters and tags for {', '.join(sorted(environments))}\n"
                   f"Deploy it with: automl-cfn deploy --env ENV --release {release.id}"
                   f" (from another account add --release-bucket {bucket})")
    return 0


def require_current(root: Path, committed: dict[str, bytes]) -> None:
    """generated/templates must be what the sources give now: a release of stale bytes is refused."""
    fresh = {name.removeprefix("templates/").removesuffix(".json"): body
             for name, body in synth.render_all(root, previous=root / "generated").items()
             if name.startswith("templates/")}
    fresh.pop(artifacts.ARTIFACTS_TEMPLATE, None)
    stale = sorted(set(fresh) ^ set(committed) | {n for n in fresh.keys() & committed.keys()
                                                  if fresh[n] != committed[n]})
    if stale:
        raise UserError(f"generated/templates is not what the sources give now ({', '.join(stale)}): run "
                        "'make templates', commit, then publish")


def git_commit(root: Path) -> str:
    """The checkout's commit, with '-dirty' when it has uncommitted changes; empty outside git."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10).stdout.strip()
        if not sha:
            return ""
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "config", "generated"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return f"{sha}-dirty" if dirty else sha
    except (OSError, subprocess.SubprocessError):
        return ""
