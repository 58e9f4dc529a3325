"""`migrate apply`, top to bottom: read the state and the settings file -> check what will be written (the
settings block, the output directory and files) -> plan -> check the account and region -> count -> write the
adopted names into the settings file -> deploy (preflight, resource import of the adopted, review, confirm)
-> verify ownership and counts -> write the Terraform side of the cut-over -> print the remaining steps.

Everything that can refuse does so before the settings file changes or anything is deployed: a state from
another account or region, a settings file whose migrate block is not one to rewrite, an output path that
cannot be written, a name from the state that is not a valid setting or address.

Re-runnable after any interruption: the settings block is rewritten the same, a deploy of an unchanged
environment does nothing, and the checks and files are repeated.  Nothing here deletes or rewrites data:
the import takes resources as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import ui
from ..errors import EXIT_OK, RefusedError, UserError
from ..parameters import parameter_values
from . import cutover, files, settings_file
from .plan import Row, plan, settings_for
from .tfstate import State, StateError, read_state, shown

EXIT_VERIFY_FAILED = 1


class AfterDeployError(UserError):
    """The deploy went through but a later step did not: neither bad input (2) nor a refusal (3)."""

    exit_code = EXIT_VERIFY_FAILED
SETTINGS_FILE = "settings file"


@dataclass
class Request:
    state_path: Path
    settings_path: Path
    out_dir: Path
    data_bucket: str | None


@dataclass
class Writes:
    """What the migration will write, worked out (and refused if it must be) before any change."""

    settings_text: str
    settings_before: bytes
    removed: tuple[Path, str]
    state_rm: tuple[Path, str]


def run(request: Request, make_target: Callable, deploy: Callable) -> int:
    """`make_target()` builds the deploy target from the settings file as it is now; `deploy(target)` deploys."""
    from ..synth import read_generated_documents

    target = make_target()
    state = read_state(request.state_path)
    out_dir = files.output_directory(request.out_dir)
    outputs = (out_dir / cutover.REMOVED_FILE, out_dir / cutover.STATE_RM_FILE)
    for path in outputs:
        files.check_writable(path, "Terraform side of the cut-over")
    settings_before = files.read(request.settings_path, SETTINGS_FILE)
    settings_shown = ui.printable(request.settings_path)
    settings_file.split(_decoded(settings_before, settings_shown), settings_shown)   # refuses a broken block
    rows = plan(state, read_generated_documents(target.project_dir / "generated"),
                parameter_values(target.settings), target.settings.aws_region, data_bucket=request.data_bucket)
    adopted = [row for row in rows if row.kind is not None]
    if not adopted:
        raise RefusedError(f"{ui.printable(request.state_path)}: nothing in it to adopt (no data bucket, repository, "
                           "log group or secret of the seed's deployment); 'automl-cfn migrate plan' lists what it "
                           "holds")
    writes = Writes(_settings_text(target, rows, settings_before, settings_shown), settings_before,
                    (outputs[0], cutover.removed_blocks(rows)), (outputs[1], cutover.state_rm_script(rows)))

    refuse_other_place(target, state, request.state_path)
    for row in (r for r in rows if r.drifts):
        ui.info(f"warning: {shown(row.address)}: {'; '.join(row.drifts)}")
    before = {row.address: holdings(target.aws, row) for row in adopted}
    missing = [row for row in adopted if before[row.address] is None]
    if missing:
        raise RefusedError(f"{shown(missing[0].address)} ({shown(missing[0].name)}) is in the Terraform state but "
                           f"not in the account (region {target.settings.aws_region}); refresh the state "
                           "('terraform apply -refresh-only') and run the migration again")
    refuse_foreign_owners(target, adopted)
    refuse_other_names(target, rows)

    if files.replace(request.settings_path, writes.settings_text.encode("utf-8"), SETTINGS_FILE,
                     expected=writes.settings_before):
        ui.info(f"wrote the adopted names into {settings_shown} (between the automl-cfn migrate markers)")
    target = make_target()   # the settings as written: the deploy imports under the Terraform names
    code = deploy(target)
    if code != EXIT_OK:
        return code

    problems = verify(target, adopted, before)
    (removed, removed_text), (state_rm, state_rm_text) = writes.removed, writes.state_rm
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        files.replace(removed, removed_text.encode("utf-8"), "Terraform side of the cut-over")
        files.replace(state_rm, state_rm_text.encode("utf-8"), "Terraform side of the cut-over", mode=0o755)
    except OSError as exc:   # checked before the deploy; this is the directory changing since
        raise AfterDeployError(f"the deploy finished, but the Terraform side could not be written to "
                               f"{ui.printable(out_dir)} ({exc.strerror}); run the migration again (it redoes "
                               "nothing done)") from None
    if problems:
        for line in problems:
            ui.info(f"warning: {line}")
        raise RefusedError(f"the deploy finished but {len(problems)} adopted resource(s) did not check out (above); "
                           "do not run the Terraform side until they do")
    ui.info(f"adopted {len(adopted)} resources; their contents are unchanged:")
    for row in adopted:
        ui.info(f"  {shown(row.address)} -> {row.stack}/{row.logical_id} {shown(row.name)} "
                f"({describe(before[row.address])})")
    ui.info(f"wrote {ui.printable(removed)} and {ui.printable(state_rm)}")
    ui.info(cutover.next_steps(target.env_flag, ui.printable(removed), ui.printable(state_rm)))
    return EXIT_OK


def _decoded(raw: bytes, shown_path: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{shown_path}: not UTF-8 text (byte {exc.start}); the migration rewrites a UTF-8 settings "
                        "file") from None


def _settings_text(target, rows: list[Row], before: bytes, shown_path: str) -> str:
    """The settings file as the migration will write it: the values it adds must be valid settings (a name
    from the state that is not a bucket, repository, log group name or secret ARN is refused here), and the
    file must read back to them."""
    import yaml

    from ..settings import RefusedYaml, SettingsError, strict_loader, with_overrides

    wanted = settings_for(rows)
    try:
        with_overrides(target.settings, **wanted)
    except SettingsError as exc:
        raise StateError(f"what the Terraform state names cannot be adopted: {exc}") from None
    text = settings_file.updated(_decoded(before, shown_path), wanted, shown_path)
    try:
        written = yaml.load(text, Loader=strict_loader()) or {}
    except (yaml.YAMLError, RefusedYaml) as exc:   # the file as written would not load
        raise RefusedError(f"{shown_path}: with the adopted names it would not load ({shown(exc)}); nothing was "
                           "written") from None
    if any(written.get(name) != value for name, value in wanted.items()):
        raise RefusedError(f"{shown_path}: with the adopted names it would not read back as written; nothing was "
                           "written")
    return text


def refuse_other_place(target, state: State, state_path: Path) -> None:
    """The state's resources are in the account the credentials reach and the region of the deploy: names are
    only unique within an account and region, so a same-named resource elsewhere is someone else's."""
    where = ui.printable(state_path)
    regions, region = state.where("region"), target.aws.region
    if regions and set(regions) != {region}:
        other = sorted(set(regions) - {region})[0]
        raise RefusedError(f"{where}: the Terraform state's resources are in region {shown(other)} "
                           f"({shown(regions[other])} names it) but the deploy goes to {region}; migrate into the "
                           "region they live in (aws_region, or --region)")
    accounts, account = state.where("account"), target.account
    if not accounts:
        raise RefusedError(f"{where}: no ARN in it names an account, so it cannot be checked against account "
                           f"{account}, which the credentials reach; refresh the state ('terraform apply "
                           "-refresh-only') so it records its resources' ARNs")
    if set(accounts) != {account}:
        other = sorted(set(accounts) - {account})[0]
        raise RefusedError(f"{where}: the Terraform state's resources are in account {other} ("
                           f"{shown(accounts[other])}'s ARN) but the credentials reach account {account}; "
                           f"same-named resources there are not these: use credentials of account {other} "
                           "(--profile)")


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
            raise RefusedError(f"{shown(row.name)} already belongs to stack {shown(holder)}; it cannot be adopted "
                               f"by {target.name} too")


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
                problems.append(f"{shown(row.address)}: {shown(row.name)} is not in {target.name}'s stacks "
                                f"({'held by ' + shown(holder) if holder else 'no stack holds it'})")
        after = holdings(target.aws, row)
        if after != before[row.address]:
            problems.append(f"{shown(row.address)}: held {describe(before[row.address])} before, "
                            f"{describe(after)} now")
    return problems

