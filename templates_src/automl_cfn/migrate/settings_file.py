"""Write what a migration adopts into the environment's settings file, between markers.

The rest of the file (its comments included) is left as it is.  Running the
migration again rewrites the same block.  A value the file already sets
elsewhere is kept when it agrees, and refused when it does not (empty
included): the user chose it, and a silent override could point the stacks
at another secret.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import RefusedError

BEGIN = "# >>> automl-cfn migrate: kept from the Terraform deployment (fixed for this environment's life)"
END = "# <<< automl-cfn migrate"


def without_block(text: str) -> str:
    if BEGIN not in text:
        return text
    head, rest = text.split(BEGIN, 1)
    _, _, tail = rest.partition(END)
    return head.rstrip("\n") + "\n" + tail.lstrip("\n") if head.strip() or tail.strip() else ""


def updated(text: str, wanted: dict[str, Any], shown: str) -> str:
    """The file's text with the block holding what `wanted` adds to the rest of the file."""
    import yaml

    rest = without_block(text)
    elsewhere = yaml.safe_load(rest) or {}
    block = {}
    for name, value in wanted.items():
        if name not in elsewhere:
            block[name] = value
        elif elsewhere[name] in ("", None) and len(_plain_line(name).findall(rest)) == 1:
            # The file says "none" in one plain line: that line steps aside for the adopted value.
            rest = _plain_line(name).sub(lambda m: f"# {m.group(0)}  (automl-cfn migrate: set below)", rest)
            block[name] = value
        elif elsewhere[name] != value:
            raise RefusedError(f"{shown} already sets {name}, to something else than the Terraform deployment's; "
                               "remove that line and run the migration again (it writes the value it adopts)")
    if not block:
        return rest
    body = yaml.safe_dump(block, sort_keys=False, default_flow_style=False)
    return f"{rest.rstrip(chr(10))}\n\n{BEGIN}\n{body}{END}\n"


def _plain_line(name: str) -> re.Pattern:
    """`name: ""` (or '' or null or nothing) alone on a top-level line, a comment allowed."""
    return re.compile(rf"^{re.escape(name)}:[ \t]*(\"\"|''|null|~)?[ \t]*(#[^\n]*)?$", re.M)


def write(path: Path, text: str) -> bool:
    """Replace the file atomically when its text changes; True when it did."""
    if path.read_text() == text:
        return False
    temporary = path.with_name(f".{path.name}.migrate")
    temporary.write_text(text)
    os.replace(temporary, path)
    return True
