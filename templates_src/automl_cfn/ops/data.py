"""upload and download: sync a directory with a prefix of the data bucket.

One s3transfer manager moves every file concurrently (multipart for large
ones).  A file is unchanged when its size and its ETag agree: the ETag of an
object S3 encrypts with its own keys is the MD5 of the content, or for a
multipart upload the MD5 of the parts' MD5s; computed locally with the same
part size, it needs no extra request per file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import mimetypes
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import ui
from ..errors import AwsError, RefusedError, UserError
from ..model import DATA_PREFIX, MODELS_PREFIX, PREDICTIONS_PREFIX
from .context import Deployed

PREFIXES = {"data": DATA_PREFIX, "models": MODELS_PREFIX, "predictions": PREDICTIONS_PREFIX}
MULTIPART_THRESHOLD = 8 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024
CONCURRENCY = 16


@dataclass
class Entry:
    relative: str
    size: int
    path: Path | None = None
    etag: str | None = None


@dataclass
class Plan:
    transfer: list[Entry] = field(default_factory=list)
    unchanged: int = 0
    delete: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(e.size for e in self.transfer)


def check_prefix(prefix: str) -> str:
    normal = prefix if prefix.endswith("/") else prefix + "/"
    if normal not in PREFIXES.values():
        raise UserError(f"--prefix {prefix!r}: the bucket's prefixes are {', '.join(PREFIXES.values())}")
    return normal


def excluded(relative: str, patterns: list[str]) -> bool:
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(name, p) for p in patterns)


def local_files(root: Path, excludes: list[str]) -> dict[str, Entry]:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            relative = path.relative_to(root).as_posix()
            if not excluded(relative, excludes):
                files[relative] = Entry(relative, path.stat().st_size, path=path)
    return files


def remote_objects(s3, bucket: str, prefix: str, excludes: list[str]) -> dict[str, Entry]:
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            relative = obj["Key"][len(prefix):]
            if relative and not relative.endswith("/") and not excluded(relative, excludes):
                objects[relative] = Entry(relative, obj["Size"], etag=obj["ETag"].strip('"'))
    return objects


def local_etag(path: Path, size: int) -> str:
    """The ETag S3 gives this file when uploaded with our part size."""
    with path.open("rb") as handle:
        if size < MULTIPART_THRESHOLD:
            return hashlib.md5(handle.read()).hexdigest()
        digests = []
        while chunk := handle.read(PART_SIZE):
            digests.append(hashlib.md5(chunk).digest())
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def same(local: Entry, remote: Entry) -> bool:
    return local.size == remote.size and remote.etag is not None and local_etag(local.path, local.size) == remote.etag


def transfer_manager(s3):
    from boto3.s3.transfer import TransferConfig, create_transfer_manager

    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=PART_SIZE,
                            max_concurrency=CONCURRENCY, use_threads=True)
    return create_transfer_manager(s3, config)


class Progress:
    """A bytes-per-second progress bar on a TTY; silent otherwise (the summary says it all)."""

    def __init__(self, total: int, label: str):
        self.bar = None
        if ui.is_tty(sys.stderr) and total:
            from rich.progress import (BarColumn, DownloadColumn, Progress as RichProgress, TimeRemainingColumn,
                                       TransferSpeedColumn)

            self.bar = RichProgress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                                    TransferSpeedColumn(), TimeRemainingColumn(), console=ui.err(), transient=True)
            self.task = self.bar.add_task(label, total=total)
            self.bar.start()

    def subscriber(self):
        from s3transfer.subscribers import BaseSubscriber

        progress = self

        class Subscriber(BaseSubscriber):
            def on_progress(self, future, bytes_transferred, **kwargs):
                if progress.bar:
                    progress.bar.update(progress.task, advance=bytes_transferred)

        return Subscriber()

    def close(self) -> None:
        if self.bar:
            self.bar.stop()


def run_transfers(s3, entries: list[Entry], start, label: str) -> None:
    """Submit every transfer to one manager, wait for all, report the first failure."""
    progress = Progress(sum(e.size for e in entries), label)
    try:
        with transfer_manager(s3) as manager:
            futures = [start(manager, entry, [progress.subscriber()]) for entry in entries]
            errors = []
            for entry, future in zip(entries, futures):
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 - reported below, with the file
                    errors.append((entry.relative, exc))
    finally:
        progress.close()
    if errors:
        relative, exc = errors[0]
        raise AwsError(f"{len(errors)} transfer(s) failed; first: {relative}: {exc}")


def summary(verb: str, plan: Plan, seconds: float, deleted: int = 0) -> str:
    mib = plan.bytes / (1024 * 1024)
    rate = mib / seconds if seconds > 0 else 0.0
    text = (f"{verb} {len(plan.transfer)} file{'s' if len(plan.transfer) != 1 else ''} ({mib:.1f} MiB) "
            f"in {seconds:.1f} s ({rate:.1f} MiB/s); {plan.unchanged} unchanged")
    return text + (f"; {deleted} deleted" if deleted else "")


# ---------------------------------------------------------------------------
# upload
# ---------------------------------------------------------------------------

def plan_upload(local: dict[str, Entry], remote: dict[str, Entry], delete: bool) -> Plan:
    plan = Plan()
    for relative, entry in local.items():
        if relative in remote and same(entry, remote[relative]):
            plan.unchanged += 1
        else:
            plan.transfer.append(entry)
    if delete:
        plan.delete = sorted(set(remote) - set(local))
    return plan


def scan_source(source: Path, excludes: list[str]) -> dict[str, Entry]:
    """The files to sync; bad input (no directory, nothing in it) stops here."""
    if not source.is_dir():
        raise UserError(f"--source {source}: no such directory")
    local = local_files(source, excludes)
    if not local:
        raise UserError(f"--source {source}: no files to upload" + (" after --exclude" if excludes else ""))
    return local


def upload(deployed: Deployed, source: Path, prefix: str, excludes: list[str], delete: bool, yes: bool,
           local: dict[str, Entry] | None = None) -> Plan:
    prefix = check_prefix(prefix)
    local = local if local is not None else scan_source(source, excludes)
    s3, bucket = deployed.client("s3"), deployed.bucket
    started = time.perf_counter()
    plan = plan_upload(local, remote_objects(s3, bucket, prefix, excludes), delete)
    if plan.delete and not ui.confirm(
            f"Delete {len(plan.delete)} object(s) under s3://{bucket}/{prefix} that are not in {source} "
            "(earlier versions stay in the versioned bucket)?", yes, "pass --yes to delete them"):
        raise RefusedError("nothing was deleted or uploaded")

    def start(manager, entry: Entry, subscribers):
        content_type = mimetypes.guess_type(entry.relative)[0] or "application/octet-stream"
        return manager.upload(str(entry.path), bucket, prefix + entry.relative,
                              extra_args={"ContentType": content_type}, subscribers=subscribers)

    run_transfers(s3, plan.transfer, start, f"upload to s3://{bucket}/{prefix}")
    for batch_start in range(0, len(plan.delete), 1000):
        batch = plan.delete[batch_start:batch_start + 1000]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": prefix + r} for r in batch], "Quiet": True})
    ui.out().print(summary("uploaded", plan, time.perf_counter() - started, len(plan.delete)))
    return plan


# ---------------------------------------------------------------------------
# download
# ---------------------------------------------------------------------------

def download(deployed: Deployed, what: str, dest: Path, excludes: list[str]) -> Plan:
    if what not in PREFIXES:
        raise UserError(f"download {what!r}: choose one of {', '.join(PREFIXES)}")
    prefix = PREFIXES[what]
    s3, bucket = deployed.client("s3"), deployed.bucket
    started = time.perf_counter()
    remote = remote_objects(s3, bucket, prefix, excludes)
    root = dest.resolve()
    plan = Plan()
    for relative, entry in remote.items():
        path = (dest / relative).resolve()
        if root != path and root not in path.parents:
            raise AwsError(f"refusing to download {prefix}{relative}: it would land outside {dest}")
        entry.path = path
        local = Entry(relative, path.stat().st_size, path=path) if path.is_file() else None
        if local and same(local, entry):
            plan.unchanged += 1
        else:
            plan.transfer.append(entry)
    for entry in plan.transfer:
        entry.path.parent.mkdir(parents=True, exist_ok=True)

    def start(manager, entry: Entry, subscribers):
        return manager.download(bucket, prefix + entry.relative, str(entry.path), subscribers=subscribers)

    run_transfers(s3, plan.transfer, start, f"download s3://{bucket}/{prefix}")
    if not remote:
        ui.info(f"s3://{bucket}/{prefix} is empty: nothing to download")
    ui.out().print(summary("downloaded", plan, time.perf_counter() - started))
    return plan
