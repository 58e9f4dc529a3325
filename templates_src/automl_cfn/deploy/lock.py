"""One operation at a time per environment: a lock S3 enforces.

A stack's status cannot serialise two deploys: both read UPDATE_COMPLETE,
both build a change set, and the second one quietly undoes the first.  So
every deploy, release and destroy first writes `locks/<stack>.json` into the
artifacts bucket with a conditional PUT (`If-None-Match: *`): S3 lets exactly
one writer create it, on the local endpoint and on AWS alike.  The other
stops before it changes anything, naming the holder and how to follow it.

A lock names its holder, its operation and when it expires (LOCK_TTL after
it was taken).  A lock is stale when it has expired, or when its holder ran
on this host and has ended without releasing it (killed, or its endpoint
stopped answering): then it is taken over, again with a conditional PUT
(`If-Match` on the old one's ETag), so two takers cannot both win.
`--force-unlock` deletes a live lock: use it only when its holder is gone,
because if that operation is still running both will change the stack at
once.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .. import ui
from ..errors import RefusedError
from .aws import error_code

LOCK_TTL = timedelta(hours=2)
CONFLICT = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_HELD: set[str] = set()   # the locks this process holds now (their tokens)


@dataclass
class Lock:
    bucket: str
    key: str
    etag: str
    holder: dict


def key_for(stack_name: str) -> str:
    return f"locks/{stack_name}.json"


def holder(operation: str, stack_name: str, now: datetime) -> dict:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in a container, say
        user = "unknown"
    return {"stack": stack_name, "operation": operation, "holder": f"{user}@{socket.gethostname()} (pid {os.getpid()})",
            "host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex,
            "started": now.isoformat(timespec="seconds"), "expires": (now + LOCK_TTL).isoformat(timespec="seconds")}


def describe(entry: dict) -> str:
    return f"{entry.get('operation', 'an operation')} by {entry.get('holder', 'someone')} since {entry.get('started')}"


def acquire(s3, bucket: str, stack_name: str, operation: str, resume_hint: str, force: bool = False,
            now: datetime | None = None) -> Lock:
    now = now or datetime.now(timezone.utc)
    key = key_for(stack_name)
    entry = holder(operation, stack_name, now)
    body = json.dumps(entry, sort_keys=True).encode()
    try:
        etag = s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*",
                             ContentType="application/json")["ETag"]
        return Lock(bucket, key, etag, entry)
    except Exception as exc:
        if error_code(exc) not in CONFLICT:
            raise
    current, current_etag = read(s3, bucket, key)
    if current is None:  # released between our two requests: try once more
        return acquire(s3, bucket, stack_name, operation, resume_hint, force, now)
    expired = _expired(current, now) or _abandoned(current)
    if not (expired or force):
        raise RefusedError(f"{stack_name} is locked: {describe(current)} is in progress (the lock expires "
                           f"{current.get('expires')}); follow it with '{resume_hint}', or if that run is gone, "
                           "pass --force-unlock")
    if force and not expired:
        ui.info(f"Breaking the lock of {describe(current)}: if that operation is still running, both now change "
                f"{stack_name} at once")
    elif expired:
        ui.info(f"Taking over the stale lock of {describe(current)}")
    try:
        etag = s3.put_object(Bucket=bucket, Key=key, Body=body, IfMatch=current_etag,
                             ContentType="application/json")["ETag"]
    except Exception as exc:
        if error_code(exc) in CONFLICT:
            raise RefusedError(f"{stack_name} is locked: another operation took the lock just now; follow it with "
                               f"'{resume_hint}'") from None
        raise
    return Lock(bucket, key, etag, entry)


def read(s3, bucket: str, key: str) -> tuple[dict | None, str]:
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None, ""
        raise
    try:
        entry = json.loads(response["Body"].read())
    except ValueError:
        entry = {}
    return entry, response["ETag"]


def _abandoned(entry: dict) -> bool:
    """Taken on this host by a process that is gone, or by this process in an operation that has ended."""
    if entry.get("host") != socket.gethostname() or not isinstance(entry.get("pid"), int):
        return False
    if entry["pid"] == os.getpid():
        return entry.get("token") not in _HELD
    try:
        os.kill(entry["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _expired(entry: dict, now: datetime) -> bool:
    try:
        return datetime.fromisoformat(entry["expires"]) <= now
    except (KeyError, TypeError, ValueError):
        return True  # unreadable: nobody can be relying on it


def release(s3, lock: Lock) -> None:
    """Delete the lock if it is still ours (a takeover may have replaced it)."""
    current, etag = read(s3, lock.bucket, lock.key)
    if current is not None and etag == lock.etag:
        s3.delete_object(Bucket=lock.bucket, Key=lock.key)


@contextmanager
def held(s3, bucket: str, stack_name: str, operation: str, resume_hint: str, force: bool = False):
    lock = acquire(s3, bucket, stack_name, operation, resume_hint, force)
    _HELD.add(lock.holder["token"])
    try:
        yield lock
    finally:
        _HELD.discard(lock.holder["token"])
        try:
            release(s3, lock)
        except Exception as exc:  # the endpoint stopped answering, say: the lock expires on its own
            ui.info(f"note: could not release the lock s3://{lock.bucket}/{lock.key} ({type(exc).__name__}); it "
                    f"expires {lock.holder['expires']}, or pass --force-unlock once nothing else is running")
