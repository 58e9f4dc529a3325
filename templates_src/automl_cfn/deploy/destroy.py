"""destroy: delete the stacks, keep the data.

Everything whose DeletionPolicy keeps it (the buckets, the repositories, the
log groups, the key and its alias, the secret) survives and is listed at the
end with what it holds; the next deploy adopts it again.  `--backup DIR`
downloads the data bucket first (the Terraform README's "Preserve Data").

`--purge-data` then deletes all of it, only after a second, explicit
confirmation: typing the stack name on a terminal, or `--purge-confirm
STACK_NAME` where there is none.  What to purge is found by name from the
templates, not from the stack, so a purge interrupted half way can be run
again, also once the stack is gone.  The secret goes without a recovery
window, so the name is free for the next deploy; KMS keys cannot go at once
and are scheduled for deletion.  The report says what was deleted, what was
already gone and what failed; a failure is exit code 1.

Termination protection on the stack and deletion protection on the load
balancer (`termination_protection: true`) would stop the delete, the second
half way, so destroy refuses before anything changes and names each one;
`--unprotect` turns them off after the same confirmation, then deletes
(protection.py).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from .. import ui
from ..errors import EXIT_INTERRUPTED, EXIT_OK, AwsError, RefusedError, UserError
from ..parameters import parameter_values
from . import artifacts, lock, protection
from .apply import latest_event_time
from .aws import error_code, error_message
from .cfn import describe
from .retained import KINDS, Found, find, owner, retained_in
from .target import Target
from .watch import first_failure, watch


@dataclass
class DestroyOptions:
    yes: bool = False
    purge_data: bool = False
    purge_confirm: str | None = None
    backup: Path | None = None
    force_unlock: bool = False
    unprotect: bool = False
    poll: float = 2.0


def destroy(target: Target, options: DestroyOptions) -> int:
    stack = target.describe()
    if stack is None and not options.purge_data:
        raise AwsError(f"{target.name} is not deployed in {target.aws.region}; 'automl-cfn destroy "
                       f"{target.env_flag} --purge-data' deletes what an earlier deploy retained".replace("  ", " "))
    if stack and not options.unprotect:
        found = protection.find(target.aws, stack)
        if found:
            raise RefusedError(protection.refusal(found, target.env_flag))
    if options.purge_data and not ui.is_tty(sys.stdin) and options.purge_confirm != target.name:
        raise RefusedError(f"--purge-data deletes every object, image, log and secret {target.name} retained; with "
                           f"no terminal to confirm on, add --purge-confirm {target.name}")
    bucket = artifacts_bucket(target)
    if bucket is None:
        return _destroy(target, options, stack)
    with lock.held(target.aws.client("s3"), bucket, target.name, "destroy", target.resume_hint,
                   options.force_unlock):
        return _destroy(target, options, target.describe())


def artifacts_bucket(target: Target) -> str | None:
    """The bucket holding the lock, if a deploy ever made one in this account and region."""
    stack = describe(target.cfn, artifacts.STACK_NAME)
    if stack is None:
        return None
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}.get("BucketName")


def _destroy(target: Target, options: DestroyOptions, stack: dict | None) -> int:
    if stack is not None:
        keep_note = "" if options.purge_data else " (its data is kept: buckets, repositories, logs, key, secret)"
        protected = protection.find(target.aws, stack) if options.unprotect else protection.Protections(target.name)
        first = f"Turn off {protected.describe()}, then delete" if protected else "Delete"
        if not ui.confirm(f"{first} {target.name} and its nested stacks{keep_note}?", options.yes,
                          "pass --yes to destroy without a prompt"):
            raise RefusedError(f"{target.name} was not deleted")
        if options.backup:
            data_bucket = outputs(stack).get("DataBucketName")
            if data_bucket:
                count, size = backup_bucket(target.aws.client("s3"), data_bucket, options.backup)
                ui.info(f"Backed up {count} objects ({size:,} bytes) from s3://{data_bucket} to {options.backup}")
        protection.turn_off(target.aws, protected)
        try:
            code = delete_stacks(target, stack, options)
        except AwsError as exc:
            if protected:
                raise AwsError(f"{exc}. {protection.still_off(protected)}") from None
            raise
        if code != EXIT_OK:
            return code
    else:
        ui.info(f"{target.name} is not deployed; looking for what it retained")
    found = find_retained(target)
    if not options.purge_data:
        report_retained(found)
        return EXIT_OK
    confirmed = options.purge_confirm == target.name or ui.ask_exact(
        f"Type {target.name} to delete for good: {', '.join(f.retained.name for f in found) or 'nothing found'}:",
        target.name)
    if not confirmed:
        report_retained(found)
        raise RefusedError("data was not purged (the confirmation did not match); it is retained as listed")
    return purge(target, found)


def outputs(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def delete_stacks(target: Target, stack: dict, options: DestroyOptions) -> int:
    cfn = target.cfn
    since = latest_event_time(cfn, stack["StackId"])
    cfn.delete_stack(StackName=stack["StackId"])
    try:
        status = watch(cfn, stack["StackId"], target.name, since, poll=options.poll)
    except KeyboardInterrupt:
        ui.info(f"\nStopped watching; the deletion goes on in CloudFormation. Check it with: {target.resume_hint}")
        return EXIT_INTERRUPTED
    if status != "DELETE_COMPLETE":
        failure = first_failure(cfn, stack["StackId"], since)
        where = f"; first failure: {failure[0]} ({failure[1]}): {failure[2]}" if failure else ""
        raise AwsError(f"deleting {target.name} ended in {status}{where}; run destroy again once it is fixed")
    ui.info(f"{target.name}: DELETE_COMPLETE")
    return EXIT_OK


def find_retained(target: Target) -> list[Found]:
    """Every retained resource of the templates that exists now, whatever the settings enable today."""
    values = parameter_values(target.settings)
    names = retained_in(target.documents, values, target.aws.region, target.account)
    found = [f for f in (find(target.aws, r) for r in names) if f is not None]
    return sorted(found, key=lambda f: (KINDS[f.retained.type].order, f.retained.name))


def report_retained(found: list[Found]) -> None:
    rows = [[f.retained.label, f.retained.name, f.holds + (f"; deletion pending ({f.pending_deletion})"
                                                           if f.pending_deletion else "")] for f in found]
    ui.table(["Retained", "Name", "Holds"], rows, title="Kept (delete with destroy --purge-data)")


def purge(target: Target, found: list[Found]) -> int:
    """Delete each retained resource; report exactly what happened to each."""
    cfn = target.cfn
    rows, failed = [], 0
    for item in found:
        holder = owner(cfn, item.physical_id)
        if holder:
            rows.append([item.retained.label, item.retained.name, f"kept: it belongs to stack {holder}"])
            failed += 1
            continue
        try:
            result = KINDS[item.retained.type].purge(target.aws, item)
        except Exception as exc:
            if not error_code(exc):
                raise
            failed += 1
            rows.append([item.retained.label, item.retained.name, f"FAILED: {error_message(exc)[:120]}"])
            continue
        if find(target.aws, item.retained) is not None:
            failed += 1
            rows.append([item.retained.label, item.retained.name, "FAILED: still there after deletion"])
            continue
        rows.append([item.retained.label, item.retained.name, result])
    ui.table(["Purged", "Name", "Result"], rows, title=f"{target.name}: retained data")
    if failed:
        raise AwsError(f"{failed} of {len(found)} retained resources were not deleted (listed above); run destroy "
                       "--purge-data again once the cause is fixed")
    ui.info(f"Purged {len(found)} retained resources." if found else "Nothing retained was left to purge.")
    return EXIT_OK


def backup_bucket(s3, bucket: str, destination: Path) -> tuple[int, int]:
    """Download the current version of every object, keeping the key layout.  Keys that cannot be files
    here (keys.py) stop the destroy before anything is deleted: a backup is complete or it is not one."""
    from ..keys import layout

    if destination.exists() and not destination.is_dir():
        raise UserError(f"--backup {destination}: is a file; expected a directory")
    objects = {obj["Key"]: obj for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
               for obj in page.get("Contents", []) if not obj["Key"].endswith("/")}
    where = layout(objects, destination)
    if where.problems:
        for line in where.lines():
            ui.info(line)
        raise AwsError(f"the backup of s3://{bucket} would be incomplete: {len(where.problems)} key(s) cannot be "
                       f"files under {destination} (listed above); nothing was deleted")
    count = size = 0
    for key, path in where.paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(path))
        count += 1
        size += objects[key].get("Size", 0)
    return count, size
