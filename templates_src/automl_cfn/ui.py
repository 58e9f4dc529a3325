"""Terminal output: colour, tables and live progress on a TTY, plain text otherwise.

Results go to stdout (so `--output json` pipes cleanly); progress and
prompts go to stderr.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import NamedTuple

from .errors import RefusedError


def is_tty(stream=None) -> bool:
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


@lru_cache(maxsize=None)
def out():
    """Console for results (stdout)."""
    # No file= argument: rich then writes to whatever sys.stdout is at the time.
    return _console(sys.stdout)


@lru_cache(maxsize=None)
def err():
    """Console for progress and prompts (stderr)."""
    return _console(sys.stderr, stderr=True)


def _console(stream, stderr: bool = False):
    """A console that shows data as it is.  No emoji codes: a secret's ARN (...:secret:name) would print as a
    picture.  No markup: what we print holds AWS's and the user's text, where "[bold]" is data; the painters
    (review, watch) ask for markup and escape what they paint.  And whatever is printed, markup or not, shows
    its control characters as escapes and no credentials (SafeConsole)."""
    from rich.console import Console

    class SafeConsole(Console):
        def print(self, *objects, **kwargs) -> None:
            super().print(*(visible(o) if isinstance(o, str) else o for o in objects), **kwargs)

    return SafeConsole(stderr=stderr, highlight=False, soft_wrap=True, emoji=False, markup=False,
                       no_color=not is_tty(stream) or "NO_COLOR" in os.environ,
                       force_terminal=None if is_tty(stream) else False)


def reset_consoles() -> None:
    """Tests swap sys.stdout/stderr; forget consoles bound to the old ones."""
    out.cache_clear()
    err.cache_clear()


def info(message: str) -> None:
    err().print(message)


def confirm(question: str, assume_yes: bool, refuse_hint: str = "pass --yes") -> bool:
    """Yes with --yes; ask on a terminal; refuse clearly with no terminal."""
    if assume_yes:
        return True
    if not (sys.stdin and sys.stdin.isatty()):
        raise RefusedError(f"{question.rstrip('?')}: needs confirmation and there is no terminal to ask; {refuse_hint}")
    err().print(f"{question} [y/N] ", end="")
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def ask_exact(prompt: str, expected: str) -> bool:
    """A second, deliberate confirmation: the user must type `expected`."""
    if not (sys.stdin and sys.stdin.isatty()):
        return False
    err().print(f"{prompt} ", end="")
    return sys.stdin.readline().strip() == expected


class Styled(NamedTuple):
    """A table cell we wrote, shown in a style on a TTY (a status mark)."""

    text: str
    style: str


# Line breaks and tabs in one-line text become spaces; anything else a terminal would act on or cannot show (an
# escape, a bell, a backspace, a bidirectional override, a byte that was not UTF-8) is written as its escape.
# Spaces of other widths (no-break, thin) are shown as they are.
SPACES = {"\n": " ", "\r": " ", "\t": " ", "\v": " ", "\f": " "}


def printable(text: object) -> str:
    """Text from AWS or a user on one line: line breaks and tabs become spaces, other control characters show
    as escapes (an ESC as \\x1b), and credentials in it are masked (redact.py)."""
    return _shown(str(text), SPACES)


def visible(text: str) -> str:
    """Text from AWS or a user as it is, lines and tabs kept: other control characters show as escapes, and
    credentials in it are masked."""
    return _shown(text, {"\n": "\n", "\t": "\t"})


def is_utf8(text: str) -> bool:
    """False for text holding a byte that was not UTF-8: Python keeps such a byte of an argument, a file name or
    an environment variable as a lone surrogate, which AWS (JSON, XML, S3 keys) cannot take."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(text: str, kept: dict[str, str]) -> str:
    from .redact import redact

    text = redact(text)
    if text.isprintable():
        return text
    import unicodedata

    return "".join(c if c.isprintable() or unicodedata.category(c) == "Zs" else kept.get(c) or _escape(c)
                   for c in text)


def _escape(character: str) -> str:
    """\\x1b, \\u202e, \\udcff (a byte of a non-UTF-8 argument): what Python would write in a string."""
    return character.encode("unicode_escape", "backslashreplace").decode("ascii")


def table(columns: list[str], rows: list[list], title: str | None = None) -> None:
    """A table on a TTY; tab-separated lines otherwise (easy to grep and cut).  A cell is data, shown as it is
    (never read as rich markup, never a control character); a `Styled` one is painted in its style."""
    if is_tty(sys.stdout):
        from rich.table import Table
        from rich.text import Text

        t = Table(title=Text(printable(title)) if title else None, show_lines=False, header_style="bold")
        for column in columns:
            t.add_column(column, overflow="fold")
        for row in rows:
            t.add_row(*(Text(printable(cell.text), style=cell.style) if isinstance(cell, Styled)
                        else Text(printable(cell)) for cell in row))
        out().print(t)
    else:
        if title:
            print(printable(title))
        for row in rows:
            print("\t".join(printable(cell.text if isinstance(cell, Styled) else cell) for cell in row))
