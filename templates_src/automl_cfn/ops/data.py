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
    mtime_ns: int = 0           # local files: to tell a file that changes while it is uploaded


@dataclass
class Source:
    """A directory's files, and what could not be read (never mistaken for "gone")."""

    files: dict[str, Entry] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)     # relative path -> why

    def covers_skipped(self, relative: str) -> bool:
        return any(relative == s or relative.startswith(s + "/") for s in self.skipped)


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


def local_files(root: Path, excludes: list[str]) -> Source:
    """Every regular file under `root`; unreadable directories and files, symbolic links and special
    files are recorded as skipped (os.walk's errors are not swallowed as rglob's are)."""
    import os
    import stat

    source = Source()

    def unreadable(error: OSError) -> None:
        relative = Path(error.filename).relative_to(root).as_posix() if error.filename else "?"
        source.skipped[relative] = f"cannot be read ({error.strerror})"

    for directory, subdirectories, names in os.walk(root, onerror=unreadable):
        here = Path(directory)
        for name in sorted(subdirectories):
            if (here / name).is_symlink():
                source.skipped[(here / name).relative_to(root).as_posix()] = "is a symbolic link (not followed)"
        for name in sorted(names):
            path = here / name
            relative = path.relative_to(root).as_posix()
            if excluded(relative, excludes):
                continue
            info = path.lstat()
            if not ui.is_utf8(relative):   # a name in another encoding: its bytes cannot be an S3 key
                source.skipped[relative] = "its name is not UTF-8, which an S3 key is (rename it)"
            elif stat.S_ISLNK(info.st_mode):
                source.skipped[relative] = "is a symbolic link (not followed)"
            elif not stat.S_ISREG(info.st_mode):
                source.skipped[relative] = "is not a regular file"
            elif not os.access(path, os.R_OK):
                source.skipped[relative] = "cannot be read (permission denied)"
            else:
                source.files[relative] = Entry(relative, info.st_size, path=path, mtime_ns=info.st_mtime_ns)
    return source


def changed_since_scan(entry: Entry) -> bool:
    try:
        info = entry.path.stat()
    except OSError:
        return True
    return (info.st_size, info.st_mtime_ns) != (entry.size, entry.mtime_ns)


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
            from rich.progress import (BarColumn, DownloadColumn, Progress as RichProgress, TextColumn,
                                       TimeRemainingColumn, TransferSpeedColumn)

            # The description is data (a bucket and prefix), never markup.
            self.bar = RichProgress(TextColumn("{task.description}", style="progress.description", markup=False),
                                    BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                                    console=ui.err(), transient=True)
            self.task = self.bar.add_task(ui.printable(label), total=total)
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

def plan_upload(local: Source, remote: dict[str, Entry], delete: bool) -> Plan:
    plan = Plan()
    for relative, entry in local.files.items():
        if relative in remote and same(entry, remote[relative]):
            plan.unchanged += 1
        else:
            plan.transfer.append(entry)
    if delete:   # a remote key whose local side could not be read is never "gone"
        plan.delete = sorted(r for r in set(remote) - set(local.files) if not local.covers_skipped(r))
    return plan


def scan_source(source: Path, excludes: list[str], delete: bool = False, delete_skipped: bool = False) -> Source:
    """The files to sync; bad input (no directory, nothing in it, --delete over unread paths) stops here."""
    if not source.is_dir():
        raise UserError(f"--source {source}: " + ("is not a directory" if source.exists() else "no such directory"))
    local = local_files(source, excludes)
    for relative, why in list(local.skipped.items())[:10]:
        ui.info(f"skipped {source / relative}: {why}")
    if len(local.skipped) > 10:
        ui.info(f"skipped {len(local.skipped) - 10} more paths")
    if delete and local.skipped and not delete_skipped:
        first = next(iter(local.skipped))
        raise RefusedError(f"--delete with {len(local.skipped)} path(s) that could not be read ({source / first}: "
                           f"{local.skipped[first]}); fix them, or pass --delete-skipped to delete the rest (the "
                           "remote copies of skipped paths are always kept)")
    if not local.files:
        raise UserError(f"--source {source}: no files to upload" + (" after --exclude" if excludes else ""))
    return local


def upload(deployed: Deployed, source: Path, prefix: str, excludes: list[str], delete: bool, yes: bool,
           local: Source | None = None) -> Plan:
    prefix = check_prefix(prefix)
    local = local if local is not None else scan_source(source, excludes, delete)
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
    upload_again_what_changed(s3, plan, start, bucket, prefix)
    for batch_start in range(0, len(plan.delete), 1000):
        batch = plan.delete[batch_start:batch_start + 1000]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": prefix + r} for r in batch], "Quiet": True})
    ui.out().print(summary("uploaded", plan, time.perf_counter() - started, len(plan.delete)))
    return plan


def upload_again_what_changed(s3, plan: Plan, start, bucket: str, prefix: str) -> None:
    """A file written to while it was read gives a torn object (neither the old content nor the new):
    upload it once more; if it keeps changing, fail and say which."""
    for attempt in range(2):
        changed = [e for e in plan.transfer if changed_since_scan(e)]
        if not changed:
            return
        if attempt == 1:
            raise AwsError(f"{changed[0].path} changed while it was uploaded ({len(changed)} file(s)); the object "
                           f"s3://{bucket}/{prefix}{changed[0].relative} may be torn: run upload again once the files "
                           "are quiet (the bucket keeps the earlier version)")
        for entry in changed:
            info = entry.path.stat()
            entry.size, entry.mtime_ns = info.st_size, info.st_mtime_ns
        ui.info(f"{len(changed)} file(s) changed while they were uploaded; uploading them again")
        run_transfers(s3, changed, start, f"upload to s3://{bucket}/{prefix}")


# ---------------------------------------------------------------------------
# download
# ---------------------------------------------------------------------------

def check_destination(dest: Path, flag: str) -> Path:
    """A directory to write into, or a path where one can be made: checked before any request."""
    if dest.exists() and not dest.is_dir():
        raise UserError(f"{flag} {dest}: is a file; expected a directory to download into")
    return dest


def download(deployed: Deployed, what: str, dest: Path, excludes: list[str]) -> Plan:
    from ..keys import layout

    if what not in PREFIXES:
        raise UserError(f"download {what!r}: choose one of {', '.join(PREFIXES)}")
    check_destination(dest, "--dest")
    prefix = PREFIXES[what]
    s3, bucket = deployed.client("s3"), deployed.bucket
    started = time.perf_counter()
    remote = remote_objects(s3, bucket, prefix, excludes)
    where = layout(remote, dest)
    plan = Plan()
    for relative, path in where.paths.items():
        entry = remote[relative]
        entry.path = path
        if path.is_file():
            try:
                local = Entry(relative, path.stat().st_size, path=path)
                unchanged = same(local, entry)
            except OSError as exc:
                where.problems[relative] = f"the local copy {path} cannot be read ({exc.strerror})"
                continue
            if unchanged:
                plan.unchanged += 1
                continue
        plan.transfer.append(entry)
    for entry in plan.transfer:
        entry.path.parent.mkdir(parents=True, exist_ok=True)

    def start(manager, entry: Entry, subscribers):
        return manager.download(bucket, prefix + entry.relative, str(entry.path), subscribers=subscribers)

    run_transfers(s3, plan.transfer, start, f"download s3://{bucket}/{prefix}")
    if not remote:
        ui.info(f"s3://{bucket}/{prefix} is empty: nothing to download")
    ui.out().print(summary("downloaded", plan, time.perf_counter() - started))
    if where.problems:
        for line in where.lines():
            ui.info(line)
        raise AwsError(f"{len(where.problems)} object(s) under s3://{bucket}/{prefix} were not downloaded: their "
                       "keys cannot be files here (listed above); rename them in the bucket")
    return plan
