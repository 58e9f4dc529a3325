"""Terraform resource addresses, read and written exactly as Terraform does.

    module.NAME[KEY].module.NAME.TYPE.NAME[KEY]

A NAME or TYPE is an identifier: a letter or '_', then letters, digits, '_' and '-' (HCL identifiers, as
Terraform's documentation on resource names puts them; Unicode letters, which HCL would also take, are
refused here).  A KEY is a count index (a number) or a for_each key: any string, written as an HCL quoted
string, as Terraform's own `StringKey.String` does (internal/addrs/instance_key.go, toHCLQuotedString):
\\ \" \n \r \t escaped, ${ and %{ doubled to $${ and %%{ so they are never a template, and every other
character that is not printable as \\uNNNN or \\UNNNNNNNN.  An address written so is one line of printable
text that `terraform state rm` and a `removed` block read back as the same address.

Everything the migration writes for Terraform goes through here: what does not parse is refused, never
written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

Key = Union[int, str, None]

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
IDENTIFIER_RULE = "a letter or '_', then letters, digits, '_' and '-'"
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class AddressError(ValueError):
    """Not a Terraform address (or part of one); the message says which part and why."""


@dataclass(frozen=True)
class Address:
    module: tuple[tuple[str, Key], ...]     # (name, key) per module call, outermost first
    type: str
    name: str
    key: Key = None

    def __str__(self) -> str:
        return ".".join([*(f"module.{name}{key_text(key)}" for name, key in self.module),
                         f"{self.type}.{self.name}{key_text(self.key)}"])

    @property
    def module_text(self) -> str:
        return module_text(self.module)

    @property
    def resource(self) -> str:
        """The address without any instance key: what a `removed` block's `from` takes."""
        return ".".join([*(f"module.{name}" for name, _ in self.module), f"{self.type}.{self.name}"])


def identifier(text: object, what: str) -> str:
    if not isinstance(text, str) or not IDENTIFIER.fullmatch(text):
        raise AddressError(f"{what} {_brief(text)} is not a Terraform name ({IDENTIFIER_RULE})")
    return text


def key(value: object, what: str = "instance key") -> Key:
    """A count index (a whole number, 0 or more) or a for_each key (a string); None for no key."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise AddressError(f"{what} {_brief(value)} is {kind(value)}, expected a count index or a "
                           "for_each key string")
    if isinstance(value, int) and value < 0:
        raise AddressError(f"{what} {value} is negative; a count index is 0 or more")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise AddressError(f"{what} {_brief(value)} is not valid Unicode (a lone surrogate)") from None
    return value


def quoted(text: str) -> str:
    """`text` as an HCL quoted string that is never a template (Terraform's toHCLQuotedString)."""
    out = ['"']
    for i, ch in enumerate(text):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch in "$%":
            out.append(ch * 2 if text[i + 1:i + 2] == "{" else ch)
        elif not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def key_text(value: Key) -> str:
    if value is None:
        return ""
    return f"[{value}]" if isinstance(value, int) else f"[{quoted(value)}]"


def module_text(steps: tuple[tuple[str, Key], ...]) -> str:
    return ".".join(f"module.{name}{key_text(k)}" for name, k in steps)


def parse(text: str) -> Address:
    """A resource instance address, as Terraform writes it."""
    reader = _Reader(text)
    steps = reader.modules()
    type_ = reader.identifier("resource type")
    reader.expect(".")
    name = reader.identifier("resource name")
    instance_key = reader.key()
    reader.end()
    return Address(steps, type_, name, instance_key)


def parse_module(text: str) -> tuple[tuple[str, Key], ...]:
    """A module instance path ("" at the root): module.NAME[KEY].module.NAME ..."""
    if not isinstance(text, str):
        raise AddressError(f"module path {_brief(text)} is {kind(text)}, expected module.NAME...")
    if text == "":
        return ()
    reader = _Reader(text + ".")
    steps = reader.modules()
    reader.end()
    return steps


class _Reader:
    def __init__(self, text: str):
        if not isinstance(text, str):
            raise AddressError(f"{_brief(text)} is {kind(text)}, expected an address")
        self.text, self.at = text, 0

    def fail(self, expected: str):
        found = _brief(self.text[self.at:self.at + 20]) if self.at < len(self.text) else "the end"
        raise AddressError(f"{_brief(self.text)}: expected {expected} at character {self.at + 1}, found {found}")

    def modules(self) -> tuple[tuple[str, Key], ...]:
        steps = []
        while self.text.startswith("module.", self.at):
            self.at += len("module.")
            name = self.identifier("module name")
            steps.append((name, self.key()))
            self.expect(".")
        return tuple(steps)

    def identifier(self, what: str) -> str:
        found = IDENTIFIER.match(self.text, self.at)
        if not found:
            self.fail(f"a {what} ({IDENTIFIER_RULE})")
        self.at = found.end()
        return found.group()

    def expect(self, char: str) -> None:
        if not self.text.startswith(char, self.at):
            self.fail(repr(char))
        self.at += len(char)

    def end(self) -> None:
        if self.at != len(self.text):
            self.fail("the end of the address")

    def key(self) -> Key:
        if not self.text.startswith("[", self.at):
            return None
        self.at += 1
        digits = re.compile(r"0|[1-9][0-9]*").match(self.text, self.at)
        if digits:
            self.at = digits.end()
            value: Key = int(digits.group())
        elif self.text.startswith('"', self.at):
            value = self.string()
        else:
            self.fail("a count index or a quoted for_each key")
        self.expect("]")
        return value

    def string(self) -> str:
        """An HCL quoted string that is a literal (no ${ or %{ template), read from its opening quote."""
        text, i, out = self.text, self.at + 1, []
        while i < len(text):
            ch = text[i]
            if ch == '"':
                self.at = i + 1
                return key("".join(out))
            if ch == "\\":
                escape = text[i + 1:i + 2]
                if escape in _UNESCAPES:
                    out.append(_UNESCAPES[escape])
                    i += 2
                    continue
                width = {"u": 4, "U": 8}.get(escape)
                digits = text[i + 2:i + 2 + width] if width else ""
                if not width or not re.fullmatch(r"[0-9A-Fa-f]+", digits) or len(digits) != width \
                        or int(digits, 16) > 0x10FFFF or 0xD800 <= int(digits, 16) <= 0xDFFF:
                    self.at = i
                    self.fail("an HCL escape (\\\\ \\\" \\n \\r \\t \\uNNNN \\UNNNNNNNN)")
                out.append(chr(int(digits, 16)))
                i += 2 + width
            elif ch in "$%" and text[i + 1:i + 3] == ch + "{":
                out.append(ch + "{")
                i += 3
            elif ch in "$%" and text[i + 1:i + 2] == "{":
                self.at = i
                self.fail(f"no template ({ch}{{ starts one; a literal one is written {ch}{ch}{{)")
            elif not ch.isprintable():
                self.at = i
                self.fail("printable text (a control character is written as an escape)")
            else:
                out.append(ch)
                i += 1
        self.at = len(text)
        self.fail('the closing \'"\'')
        raise AssertionError   # fail raises


def kind(value: object) -> str:
    """What a JSON value is, in words: "a string", "an object"."""
    return {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
            bool: "a boolean", type(None): "null"}.get(type(value), f"a {type(value).__name__}")


def _brief(value: object, limit: int = 60) -> str:
    """A part of an address for an error message: one printable line, cut short."""
    if not isinstance(value, str):
        import reprlib

        return reprlib.repr(value)[:limit]
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
                   for c in value[:limit])
    return f"'{text}'" + ("..." if len(value) > limit else "")
