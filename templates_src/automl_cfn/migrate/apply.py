"""`migrate apply`, top to bottom: plan -> check the account -> count -> write the adopted names into the
settings file -> deploy (preflight, resource import of the adopted, review, confirm) -> verify ownership
and counts -> write the Terraform side of the cut-over -> print the remaining steps.

Re-runnable after any interruption: the settings block is rewritten the same, a deploy of an unchanged
environment does nothing, and the checks and files are repeated.  Nothing here deletes or rewrites data:
the import takes resources as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import ui
from ..errors import EXIT_OK, RefusedError
from ..parameters import parameter_values
from . import cutover, settings_file
from .plan import Row, plan, settings_for
from .tfstate import read_state

EXIT_VERIFY_FAILED = 1


@dataclass
class Request:
    state_path: Path
    settings_path: Path
    out_dir: Path
    data_bucket: str | None


def run(request: Request, make_target: Callable, deploy: Callable) -> int:
    """`make_target()` builds the deploy target from the settings file as it is now; `deploy(target)` deploys."""
    from ..synth import read_generated_documents

    target = make_target()
    state = read_state(request.state_path)
    rows = plan(state, read_generated_documents(target.project_dir / "generated"),
                parameter_values(target.settings), target.settings.aws_region, data_bucket=request.data_bucket)
    adopted = [row for row in rows if row.kind is not None]
    if not adopted:
        raise RefusedError(f"{request.state_path}: nothing in it to adopt (no data bucket, repository, log group or "
                           "secret of the seed's deployment); 'automl-cfn migrate plan' lists what it holds")
    for row in (r for r in rows if r.drifts):
        ui.info(f"warning: {row.address}: {'; '.join(row.drifts)}")
    before = {row.address: holdings(target.aws, row) for row in adopted}
    missing = [row for row in adopted if before[row.address] is None]
    if missing:
        raise RefusedError(f"{missing[0].address} ({missing[0].name}) is in the Terraform state but not in the account"
                           f" (region {target.settings.aws_region}); refresh the state ('terraform apply "
                           "-refresh-only') and run the migration again")
    refuse_foreign_owners(target, adopted)
    refuse_other_names(target, rows)

    text = request.settings_path.read_text()
    if settings_file.write(request.settings_path,
                           settings_file.updated(text, settings_for(rows), str(request.settings_path))):
        ui.info(f"wrote the adopted names into {request.settings_path} (between the automl-cfn migrate markers)")
    target = make_target()   # the settings as written: the deploy imports under the Terraform names
    code = deploy(target)
    if code != EXIT_OK:
        return code

    problems = verify(target, adopted, before)
    request.out_dir.mkdir(parents=True, exist_ok=True)
    removed = request.out_dir / cutover.REMOVED_FILE
    state_rm = request.out_dir / cutover.STATE_RM_FILE
    removed.write_text(cutover.removed_blocks(rows))
    state_rm.write_text(cutover.state_rm_script(rows))
    state_rm.chmod(0o755)
    if problems:
        for line in problems:
            ui.info(f"warning: {line}")
        raise RefusedError(f"the deploy finished but {len(problems)} adopted resource(s) did not check out (above); "
                           "do not run the Terraform side until they do")
    ui.info(f"adopted {len(adopted)} resources; their contents are unchanged:")
    for row in adopted:
        ui.info(f"  {row.address} -> {row.stack}/{row.logical_id} {row.name} ({describe(before[row.address])})")
    ui.info(f"wrote {removed} and {state_rm}")
    ui.info(cutover.next_steps(target.env_flag, str(removed), str(state_rm)))
    return EXIT_OK


def holdings(aws, row: Row) -> dict[str, int] | None:
    """What an adopted resource holds, counted; None when it does not exist."""
    from ..deploy.aws import error_code

    kind = row.kind[0]
    try:
        if kind == "data_bucket":
            s3 = aws.client("s3")
            s3.head_bucket(Bucket=row.name)
            versions = [item for page in s3.get_paginator("list_object_versions").paginate(Bucket=row.name)
                        for item in page.get("Versions", [])]
            return {"objects": sum(1 for v in versions if v.get("IsLatest")), "object versions": len(versions)}
        if kind == "repositories":
            ecr = aws.client("ecr")
            pages = ecr.get_paginator("list_images").paginate(repositoryName=row.name)
            return {"images": sum(len(page["imageIds"]) for page in pages)}
        if kind == "log_groups":
            logs = aws.client("logs")
            groups = [g for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=row.name)
                      for g in page.get("logGroups", []) if g["logGroupName"] == row.name]
            if not groups:
                return None
            pages = logs.get_paginator("describe_log_streams").paginate(logGroupName=row.name)
            return {"log streams": sum(len(page.get("logStreams", [])) for page in pages)}
        secret = aws.client("secretsmanager").describe_secret(SecretId=row.name)
        return {"secret versions": len(secret.get("VersionIdsToStages") or {})}
    except Exception as exc:
        if error_code(exc) in ("404", "NoSuchBucket", "NotFound", "RepositoryNotFoundException",
                               "ResourceNotFoundException"):
            return None
        raise


def describe(counts: dict[str, int] | None) -> str:
    return ", ".join(f"{n} {what}" for what, n in (counts or {}).items())


def refuse_foreign_owners(target, adopted: list[Row]) -> None:
    """A resource another stack holds cannot be imported here (this environment's own, on a re-run, can)."""
    from ..deploy.retained import owner

    cfn = target.aws.client("cloudformation")
    for row in adopted:
        if row.kind[0] == "api_key_secret":
            continue   # used by ARN, never imported
        holder = owner(cfn, row.name)
        if holder and not holder.startswith(f"{target.name}-"):
            raise RefusedError(f"{row.name} already belongs to stack {holder}; it cannot be adopted by "
                               f"{target.name} too")


def refuse_other_names(target, rows: list[Row]) -> None:
    """An environment that exists already keeps the names it has: refuse before the settings file changes."""
    from .. import transitions
    from ..deploy.plan import deployed_values
    from ..settings import with_overrides

    stack = target.describe()
    if not stack:
        return
    deployed = deployed_values(stack)
    wanted = parameter_values(with_overrides(target.settings, **settings_for(rows)))
    fixed = transitions.fixed_refusal({k: (deployed.get(k, ""), v) for k, v in wanted.items()})
    if fixed:
        raise RefusedError(f"{target.name} already exists with other names than the Terraform deployment's: {fixed}")


def verify(target, adopted: list[Row], before: dict) -> list[str]:
    """Each adopted resource belongs to this environment's stacks, and holds what it held."""
    from ..deploy.retained import owner

    cfn = target.aws.client("cloudformation")
    problems = []
    for row in adopted:
        if row.kind[0] != "api_key_secret":
            holder = owner(cfn, row.name)
            if not holder or not holder.startswith(f"{target.name}-"):
                problems.append(f"{row.address}: {row.name} is not in {target.name}'s stacks "
                                f"({'held by ' + holder if holder else 'no stack holds it'})")
        after = holdings(target.aws, row)
        if after != before[row.address]:
            problems.append(f"{row.address}: held {describe(before[row.address])} before, {describe(after)} now")
    return problems

