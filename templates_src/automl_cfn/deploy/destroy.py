"""destroy: delete the stacks, keep the data.

The data bucket, the repositories and the log groups are retained by their
DeletionPolicy and listed at the end.  `--backup DIR` downloads the bucket
first (the Terraform README's "Preserve Data").  `--purge-data` deletes every
object version, the repositories and the log groups, only after a second,
explicit confirmation: typing the stack name on a terminal, or
`--purge-confirm STACK_NAME` where there is none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import ui
from ..errors import EXIT_INTERRUPTED, EXIT_OK, AwsError, RefusedError
from ..model import LOG_SOURCES, REPOSITORIES, title
from .aws import error_code
from .engine import Target, latest_event_time, require_stack, stack_outputs
from .watch import first_failure, watch


@dataclass
class DestroyOptions:
    yes: bool = False
    purge_data: bool = False
    purge_confirm: str | None = None
    backup: Path | None = None
    poll: float = 2.0


@dataclass
class Retained:
    bucket: str | None
    repositories: list[str] = field(default_factory=list)
    log_groups: list[str] = field(default_factory=list)


def retained_resources(outputs: dict[str, str]) -> Retained:
    repositories = [outputs[f"{title(r)}RepositoryUri"].split("/", 1)[1] for r in REPOSITORIES
                    if f"{title(r)}RepositoryUri" in outputs]
    log_groups = [outputs[f"{title(s)}LogGroupName"] for s in LOG_SOURCES if f"{title(s)}LogGroupName" in outputs]
    return Retained(bucket=outputs.get("DataBucketName"), repositories=repositories, log_groups=log_groups)


def destroy(target: Target, options: DestroyOptions) -> int:
    stack = require_stack(target)
    retained = retained_resources(stack_outputs(stack))
    if stack.get("EnableTerminationProtection"):
        raise RefusedError(
            f"{target.name} has termination protection on; turn it off first with 'aws cloudformation "
            f"update-termination-protection --no-enable-termination-protection --stack-name {target.name}' "
            "(or set termination_protection: false and deploy)")
    if options.purge_data and not ui.is_tty(__import__("sys").stdin) and options.purge_confirm != target.name:
        raise RefusedError(f"--purge-data deletes every object in {retained.bucket}; with no terminal to confirm "
                           f"on, add --purge-confirm {target.name}")
    keep_note = "" if options.purge_data else " (the data bucket, repositories and log groups are kept)"
    if not ui.confirm(f"Delete {target.name} and its nested stacks{keep_note}?", options.yes,
                      "pass --yes to destroy without a prompt"):
        raise RefusedError(f"{target.name} was not deleted")

    s3 = target.aws.client("s3")
    if options.backup and retained.bucket:
        count, size = backup_bucket(s3, retained.bucket, options.backup)
        ui.info(f"Backed up {count} objects ({size:,} bytes) from s3://{retained.bucket} to {options.backup}")

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

    if options.purge_data:
        confirmed = options.purge_confirm == target.name or ui.ask_exact(
            f"Type {target.name} to delete EVERY object version in s3://{retained.bucket}, "
            f"{len(retained.repositories)} repositories with their images and {len(retained.log_groups)} log groups:",
            target.name)
        if not confirmed:
            report_retained(target, retained)
            raise RefusedError("data was not purged (the confirmation did not match); it is retained as listed")
        purge(target, retained)
        ui.info("Purged the data bucket, repositories and log groups.")
        return EXIT_OK
    report_retained(target, retained)
    return EXIT_OK


def report_retained(target: Target, retained: Retained) -> None:
    rows = []
    if retained.bucket:
        rows.append(["S3 bucket", retained.bucket, f"{count_objects(target.aws.client('s3'), retained.bucket)} objects"])
    ecr = target.aws.client("ecr")
    for name in retained.repositories:
        rows.append(["ECR repository", name, f"{count_images(ecr, name)} images"])
    for name in retained.log_groups:
        rows.append(["Log group", name, ""])
    ui.table(["Retained", "Name", "Holds"], rows, title="Kept (delete with destroy --purge-data)")


def count_objects(s3, bucket: str) -> str:
    try:
        return str(sum(page.get("KeyCount", 0) for page in
                       s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)))
    except Exception as exc:
        if error_code(exc) == "NoSuchBucket":
            return "gone"
        raise


def count_images(ecr, repository: str) -> str:
    try:
        return str(sum(len(page["imageIds"]) for page in
                       ecr.get_paginator("list_images").paginate(repositoryName=repository)))
    except Exception as exc:
        if error_code(exc) == "RepositoryNotFoundException":
            return "gone"
        raise


def backup_bucket(s3, bucket: str, destination: Path) -> tuple[int, int]:
    """Download the current version of every object, keeping the key layout."""
    destination.mkdir(parents=True, exist_ok=True)
    count = size = 0
    root = destination.resolve()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            path = (destination / obj["Key"]).resolve()
            if root not in path.parents:  # a key such as ../x must not escape the backup
                raise AwsError(f"refusing to back up key {obj['Key']!r}: it would land outside {destination}")
            if obj["Key"].endswith("/"):
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, obj["Key"], str(path))
            count += 1
            size += obj.get("Size", 0)
    return count, size


def purge(target: Target, retained: Retained) -> None:
    s3, ecr, logs = (target.aws.client(n) for n in ("s3", "ecr", "logs"))
    if retained.bucket:
        empty_bucket(s3, retained.bucket)
        s3.delete_bucket(Bucket=retained.bucket)
    for name in retained.repositories:
        try:
            ecr.delete_repository(repositoryName=name, force=True)
        except Exception as exc:
            if error_code(exc) != "RepositoryNotFoundException":
                raise
    for name in retained.log_groups:
        try:
            logs.delete_log_group(logGroupName=name)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise


def empty_bucket(s3, bucket: str) -> int:
    """Delete every object version and delete marker, 1000 at a time."""
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        batch = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                 for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(batch), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": batch[start:start + 1000], "Quiet": True})
            deleted += len(batch[start:start + 1000])
    return deleted
