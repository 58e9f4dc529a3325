"""Write what a migration adopts into the environment's settings file, between markers.

The rest of the file (its comments, blank lines and line endings included) is
left as it is.  Running the migration again rewrites the same block, in the
same place.  A value the file already sets elsewhere is kept when it agrees,
and refused when it does not (empty included): the user chose it, and a silent
override could point the stacks at another secret.

Only a block that is well-formed is rewritten: one opening marker line, one
closing marker line after it, and between them exactly what the migration
wrote (a line edited by hand would be lost).  Anything else (a marker missing
or twice, a marker-like line, mixed line endings, a bare carriage return) is
refused naming the file and line, and the file is left as it is.  A file whose
lines end in CRLF keeps CRLF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import RefusedError

BEGIN = "# >>> automl-cfn migrate: kept from the Terraform deployment (fixed for this environment's life)"
END = "# <<< automl-cfn migrate"
MARKER_WORDS = (">>> automl-cfn migrate", "<<< automl-cfn migrate")   # a line holding these is a marker or refused
OWN = ("adopted_names", "api_key_secret")   # the settings the block may hold
FIX = "fix the file by hand (or remove the block), and run the migration again; nothing was written"


@dataclass
class Layout:
    """A settings file's text split around its migrate block (LF line endings inside)."""

    head: str          # the text before the block (all of it when there is no block)
    block: str | None  # the lines between the markers, or None when there is no block
    tail: str          # the text after the block
    newline: str       # "\n" or "\r\n": what the file's lines end in


def updated(text: str, wanted: dict[str, Any], shown: str) -> str:
    """The file's text with the block holding what `wanted` adds to the rest of the file."""
    import yaml

    layout = split(text, shown)
    head, tail = layout.head, layout.tail
    elsewhere = yaml.safe_load(head + tail) or {}
    block = {}
    for name, value in wanted.items():
        if name not in elsewhere:
            block[name] = value
        elif elsewhere[name] in ("", None) and len(_plain_line(name).findall(head + tail)) == 1:
            # The file says "none" in one plain line: that line steps aside for the adopted value.
            def step_aside(part: str) -> str:
                return _plain_line(name).sub(lambda m: f"# {m.group(0)}  (automl-cfn migrate: set below)", part)
            head, tail = step_aside(head), step_aside(tail)
            block[name] = value
        elif elsewhere[name] != value:
            raise RefusedError(f"{shown} already sets {name}, to something else than the Terraform deployment's; "
                               "remove that line and run the migration again (it writes the value it adopts)")
    body = f"{BEGIN}\n{_dumped(block)}{END}\n" if block else ""
    if layout.block is not None:
        result = head + body + tail                       # the block where it was
    elif body:                                            # a new block at the end, after a blank line
        result = head + ("" if not head or head.endswith("\n\n") else "\n" if head.endswith("\n") else "\n\n") + body
    else:
        result = head
    return result.replace("\n", layout.newline)


def split(text: str, shown: str) -> Layout:
    """The file's layout, or one RefusedError naming file:line where it is not one to rewrite."""
    newline = _newline(text, shown)
    lines = text.replace("\r\n", "\n").split("\n")
    begins, ends = [], []
    for number, line in enumerate(lines, 1):
        bare = line.rstrip(" \t")
        if bare == BEGIN:
            begins.append(number)
        elif bare == END:
            ends.append(number)
        elif any(word in line for word in MARKER_WORDS):
            raise RefusedError(f"{shown}:{number}: looks like an automl-cfn migrate marker but is not one (a marker "
                               f"is a line of its own, exactly as the migration wrote it); {FIX}")
    if len(begins) > 1 or len(ends) > 1:
        which, found = ("opening", begins) if len(begins) > 1 else ("closing", ends)
        raise RefusedError(f"{shown}:{found[1]}: a second {which} automl-cfn migrate marker (the first is on line "
                           f"{found[0]}); the migration rewrites only one block; {FIX}")
    if begins and not ends:
        raise RefusedError(f"{shown}:{begins[0]}: an automl-cfn migrate block opens here and never closes (no "
                           f"'{END}' line); rewriting it would drop the rest of the file; {FIX}")
    if ends and (not begins or ends[0] < begins[0]):
        raise RefusedError(f"{shown}:{ends[0]}: an automl-cfn migrate block closes here without opening before it; "
                           f"{FIX}")
    if not begins:
        return Layout("\n".join(lines), None, "", newline)
    first, last = begins[0], ends[0]
    block = "".join(line + "\n" for line in lines[first:last - 1])
    _check_block(block, first, shown)
    return Layout("".join(line + "\n" for line in lines[:first - 1]), block, "\n".join(lines[last:]), newline)


def _newline(text: str, shown: str) -> str:
    """What every line of the file ends in; refused when they disagree or a carriage return stands alone."""
    kinds = {"\r\n": "CRLF", "\n": "LF"}
    found, first = None, 0
    pieces = text.split("\n")
    for number, piece in enumerate(pieces, 1):
        last = number == len(pieces)    # the text after the last line break: it has no ending
        if "\r" in (piece if last else piece.removesuffix("\r")):
            raise RefusedError(f"{shown}:{number}: a carriage return that does not end the line (YAML reads it as "
                               f"a line break); {FIX}")
        if last:
            break
        ending = "\r\n" if piece.endswith("\r") else "\n"
        if found is None:
            found, first = ending, number
        elif ending != found:
            raise RefusedError(f"{shown}:{number}: ends in {kinds[ending]} but line {first} ends in {kinds[found]}; "
                               f"the migration rewrites a file whose line endings agree; {FIX}")
    return found or "\n"


def _check_block(block: str, opening: int, shown: str) -> None:
    """The lines between the markers are what the migration wrote there: nothing of the user's to lose."""
    import yaml

    if not block.strip():
        return
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)   # where it starts
        raise RefusedError(f"{shown}:{opening + 1 + (mark.line if mark else 0)}: the automl-cfn migrate block is "
                           f"not YAML the migration wrote; {FIX}") from None
    lines = block.split("\n")
    if not isinstance(data, dict):
        raise RefusedError(f"{shown}:{opening + 1}: the automl-cfn migrate block is not YAML the migration wrote; "
                           f"{FIX}")
    foreign = [key for key in data if key not in OWN]
    if foreign:
        line = next((i for i, text in enumerate(lines) if text.startswith(f"{foreign[0]}:")), 0)
        raise RefusedError(f"{shown}:{opening + 1 + line}: the automl-cfn migrate block holds a setting the "
                           f"migration does not write there (it writes {', '.join(OWN)}); rewriting the block would "
                           f"drop it; move it out of the block; {FIX}")
    from itertools import zip_longest

    for i, (have, wrote) in enumerate(zip_longest(lines, _dumped(data).split("\n"))):
        if have != wrote:
            raise RefusedError(f"{shown}:{opening + 1 + i}: this line of the automl-cfn migrate block was edited by "
                               f"hand (rewriting the block would lose the edit); move the change out of the block; "
                               f"{FIX}")


def _dumped(block: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(block, sort_keys=False, default_flow_style=False) if block else ""


def _plain_line(name: str) -> re.Pattern:
    """`name: ""` (or '' or null or nothing) alone on a top-level line, a comment allowed."""
    return re.compile(rf"^{re.escape(name)}:[ \t]*(\"\"|''|null|~)?[ \t]*(#[^\n]*)?$", re.M)
