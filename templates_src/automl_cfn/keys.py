"""S3 keys as local file paths: which keys can be written under a directory, and why the others cannot.

S3 keys are any strings; a file system is not.  A key can hold a NUL or a
control character, climb out of the directory (`../x`), differ from another
key only by `//` or `./` (both would land on one file, and a sync would
overwrite one with the other on every run), or name a file where another
key needs a directory (`f` and `f/g`).  `download` and `destroy --backup`
write the keys that map to one file each and report the rest, so a sync
converges and nothing is half written.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable


@dataclass
class Layout:
    paths: dict[str, Path] = field(default_factory=dict)       # key -> where it goes
    problems: dict[str, str] = field(default_factory=dict)     # key -> why it cannot be written

    def lines(self, limit: int = 10) -> list[str]:
        shown = [f"  {key!r}: {reason}" for key, reason in list(self.problems.items())[:limit]]
        more = len(self.problems) - limit
        return shown + ([f"  ... and {more} more"] if more > 0 else [])


def layout(keys: Iterable[str], root: Path) -> Layout:
    """Where each key (relative to the synced prefix) goes under `root`, and which keys cannot go."""
    result = Layout()
    by_normal: dict[str, list[str]] = {}
    for key in keys:
        if any(ord(c) < 32 or ord(c) == 127 for c in key):
            result.problems[key] = "holds a control character, which cannot be in a file name"
            continue
        normal = posixpath.normpath(key)
        if key.startswith("/") or normal == ".." or normal.startswith("../") or normal == ".":
            result.problems[key] = f"would land outside {root}"
            continue
        by_normal.setdefault(normal, []).append(key)
    for normal, same in by_normal.items():
        if len(same) > 1:
            for key in same:
                others = ", ".join(repr(k) for k in same if k != key)
                result.problems[key] = f"is the same file as {others} once '//' and './' are read as a path"
        else:
            result.paths[same[0]] = root.joinpath(*normal.split("/"))
    directories = {parent for key, path in result.paths.items() for parent in path.relative_to(root).parents}
    for key, path in list(result.paths.items()):
        if path.relative_to(root) in directories:
            result.problems[key] = "names a file where other keys need a directory of that name"
            del result.paths[key]
    for key, path in list(result.paths.items()):
        blocked = next((p for p in path.relative_to(root).parents if p != Path(".") and (root / p).is_file()), None)
        if blocked is not None or path.is_dir():
            where = root / blocked if blocked is not None else path
            result.problems[key] = f"needs {where} as a {'directory' if blocked is not None else 'file'}, but it is " \
                                   f"a {'file' if blocked is not None else 'directory'} here"
            del result.paths[key]
    return result
