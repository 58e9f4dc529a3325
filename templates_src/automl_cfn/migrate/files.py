"""The files the migration writes: checked before any change, replaced atomically, never through a link.

`migrate apply` writes the settings file and, after the deploy, the Terraform
side (removed blocks, state rm script).  Everything that could stop those
writes is checked before the settings file changes or anything is deployed:
the output directory exists or can be made, and is writable; each file is
absent or a regular file, not a symbolic link (a link planted there would send
the write to its target: a shell profile, another project's file).  A write
goes to a new temporary file beside the target (O_EXCL: never an existing
file or link), is flushed to disk and renamed over the target: a crash leaves
the old file or the new one, never half of one; the target keeps its mode.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .. import ui
from ..errors import RefusedError, UserError


def output_directory(path: Path, flag: str = "--out") -> Path:
    """The directory the migration writes into, with links resolved; refused unless it is (or can be made)
    a directory this user can write."""
    shown = ui.printable(path)
    if path.is_symlink() and not path.exists():
        raise UserError(f"{flag} {shown}: is a symbolic link to {ui.printable(os.readlink(path))}, which does not "
                        "exist; pass a directory")
    real = Path(os.path.realpath(path))
    existing = real
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == real else f" ({ui.printable(existing)} is not a directory)"
        raise UserError(f"{flag} {shown}: is not a directory{where}; pass the directory the Terraform side goes in")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {shown}: {ui.printable(existing)} is not writable by this user; pass a directory "
                        "that is")
    return real


def check_writable(path: Path, what: str) -> None:
    """`path` may be (re)written: absent, or a regular file that is not a symbolic link."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"{ui.printable(path)}: cannot check the {what} ({exc.strerror})") from None
    if stat.S_ISLNK(info.st_mode):
        raise RefusedError(f"{ui.printable(path)}: the {what} is a symbolic link (to "
                           f"{ui.printable(os.readlink(path))}); the migration does not write through links: "
                           "replace it with the file itself, or remove it")
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{ui.printable(path)}: the {what} is not a regular file; remove it or pass another place")


def read(path: Path, what: str) -> bytes:
    """A file the migration will rewrite, read without following a link."""
    check_writable(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise UserError(f"{ui.printable(path)}: cannot read the {what} ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def replace(path: Path, data: bytes, what: str, mode: int = 0o644, expected: bytes | None = None) -> bool:
    """Write `data` to `path` atomically (True), or nothing when it holds `data` already (False).
    `expected`: what the file held when the migration read it; refused when it changed since."""
    check_writable(path, what)
    current = read(path, what) if path.exists() else None
    if current == data:
        return False
    if expected is not None and current != expected:
        raise RefusedError(f"{ui.printable(path)}: the {what} changed while the migration ran; nothing was written: "
                           "run the migration again")
    if current is not None:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
    else:
        umask = os.umask(0o022)   # read it (there is no other way), then put it back
        os.umask(umask)
        mode &= ~umask
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".automl-cfn")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(temporary, path)   # renames over a link (never into its target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True
