"""Read a Terraform state, offline: a state file (format version 4) or `terraform show -json` output.

Both become one list of `Instance`s, one per resource instance, with its full
address (module path, `count` or `for_each` key included), its recorded
attributes and the attribute paths Terraform marks sensitive.  Nothing here
prints an attribute: callers show only the fields they compare, and never a
sensitive one.

A state is read as hostile input: every address must parse as Terraform's
(address.py) before anything is planned, and an attribute the migration uses
must have the type Terraform records for it; otherwise one line names the
resource and the attribute.  Strings from the state are printed through
`shown` (one printable line, cut short).
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import ui
from ..errors import UserError
from . import address as addresses

MAX_STATE_BYTES = 256 * 1024 * 1024
STATE_VERSION = 4            # Terraform 0.12 and later (and OpenTofu) write version 4
SHOW_FORMAT = "1."           # `terraform show -json` format_version 1.x
# arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE; the region and the account may be empty (IAM, S3), and
# "aws" stands for the account of an AWS-managed resource.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
ARN = re.compile(r"arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws)?:.+", re.S)
SHOWN_MAX = 120   # a state string in a message is cut here


def shown(value: Any, limit: int = SHOWN_MAX) -> str:
    """A string from the state (or any data) for a message: one printable line, at most `limit` characters."""
    text = ui.printable(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class StateError(UserError):
    """The file is not a Terraform state this tool can read."""


@dataclass
class Instance:
    address: str                     # module.storage.aws_s3_bucket.data, aws_ecr_repository.repo["train"]
    type: str
    name: str
    module: str                      # "" at the root
    index: Any                       # None, an int (count) or a string (for_each)
    attributes: dict
    sensitive: set[str] = field(default_factory=set)   # dotted attribute paths, e.g. "secret_string"
    resource_address: str = ""       # the address without instance keys: what a `removed` block's `from` takes
    source: str = ""                 # the state file, for messages

    @classmethod
    def at(cls, where: addresses.Address, attributes: dict, sensitive: set[str], source: str) -> "Instance":
        return cls(address=str(where), type=where.type, name=where.name, module=where.module_text,
                   index=where.key, attributes=attributes, sensitive=sensitive, resource_address=where.resource,
                   source=source)

    def value(self, path: str) -> Any:
        """An attribute by dotted path (list items by index), or None."""
        node: Any = self.attributes
        for part in path.split("."):
            if isinstance(node, list):
                node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
            elif isinstance(node, dict):
                node = node.get(part)
            else:
                return None
        return node

    def text(self, attribute: str, what: str) -> str:
        """A string attribute the migration needs (a name, an ARN): present, a string, not empty."""
        value = self.attributes.get(attribute)
        if not isinstance(value, str) or not value:
            raise self.wrong(attribute, value, f"a string ({what})")
        return value

    def optional_text(self, attribute: str, what: str) -> str:
        """A string attribute the migration reads when it is there: "" when absent or null."""
        value = self.attributes.get(attribute)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.wrong(attribute, value, f"a string ({what})")
        return value

    def wrong(self, attribute: str, value: Any, expected: str) -> "StateError":
        if attribute not in self.attributes:
            found = "missing"
        elif value is None or value == "":
            found = "null" if value is None else "an empty string"
        else:
            found = f"{addresses.kind(value)} ({_brief(value)})"
        return StateError(f"{self.source}: {self.address}: attribute {attribute} is {found}, expected {expected}: "
                          "is the state edited or corrupted? ('terraform show -json' writes it anew)")

    def arn(self) -> tuple[str, str, str] | None:
        """(partition, region, account) from the instance's own ARN; None when it records none."""
        arn = self.optional_text("arn", "its ARN")
        if not arn:
            return None
        parsed = ARN.fullmatch(arn)
        if not parsed:
            raise self.wrong("arn", arn, "an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)")
        account = parsed.group(4) or ""
        return parsed.group(1), parsed.group(3), "" if account == "aws" else account

    def is_sensitive(self, path: str) -> bool:
        # "" marks the whole resource sensitive (show -json's sensitive_values: true)
        return any(s == "" or path == s or path.startswith(s + ".") for s in self.sensitive)


@dataclass
class State:
    source: str                      # "state file" or "terraform show -json"
    terraform_version: str
    instances: list[Instance]

    @property
    def regions(self) -> set[str]:
        """Regions named by the instances: the provider's `region` attribute (AWS provider 6) or ARNs."""
        return set(self.where("region"))

    @property
    def accounts(self) -> set[str]:
        """Accounts named by the instances' ARNs (an S3 bucket's ARN names none)."""
        return set(self.where("account"))

    def where(self, part: str) -> dict[str, str]:
        """Each region (or account) the instances name -> the address of the first instance naming it."""
        found: dict[str, str] = {}
        for instance in self.instances:
            arn = instance.arn()
            value = instance.optional_text("region", "its region") if part == "region" else ""
            if not value and arn:
                value = arn[1] if part == "region" else arn[2]
            if value:
                found.setdefault(value, instance.address)
        return found


def read_state(path: Path) -> State:
    """The state at `path`, or one StateError line saying what is wrong with it."""
    source = ui.printable(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise StateError(f"{source}: Terraform state file not found") from None
    except OSError as exc:
        raise StateError(f"{source}: cannot read it ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise StateError(f"{source}: is not a regular file; pass terraform.tfstate or 'terraform show -json' output")
    if info.st_size > MAX_STATE_BYTES:
        raise StateError(f"{source}: is larger than {MAX_STATE_BYTES // 2**20} MiB; that is not this deployment's "
                         "state")
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise StateError(f"{source}: cannot read it ({exc.strerror})") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else \
            f" (not UTF-8 text at byte {exc.start})" if isinstance(exc, UnicodeDecodeError) else ""
        raise StateError(f"{source}: not JSON{where}: is it truncated, or an HCL file? Pass terraform.tfstate "
                         "(format version 4) or 'terraform show -json' output") from None
    if not isinstance(document, dict):
        raise StateError(f"{source}: not a Terraform state (the top level is not an object)")
    if "format_version" in document:
        return _from_show_json(document, source)
    return _from_state_file(document, source)


def _from_state_file(document: dict, source: str) -> State:
    version = document.get("version")
    terraform = str(document.get("terraform_version", "unknown"))
    if version != STATE_VERSION:
        hint = (" (written by Terraform 0.11 or older): upgrade the state with Terraform 0.12 or later first"
                if isinstance(version, int) and version < STATE_VERSION else "")
        raise StateError(f"{source}: state format version {_brief(version)} from Terraform {_brief(terraform)}; "
                         f"this reads version {STATE_VERSION}{hint}, or 'terraform show -json' output")
    resources = document.get("resources")
    if not isinstance(resources, list):
        raise StateError(f"{source}: a version 4 state without a 'resources' list: is it truncated?")
    instances = []
    for number, resource in enumerate(resources, 1):
        if not isinstance(resource, dict) or resource.get("mode") != "managed":
            continue  # data sources read, they do not own anything
        where = f"{source}: resource {number}"
        type_, name = _named(resource, where)
        module = _parsed(lambda: addresses.parse_module(resource.get("module", "")), f"{where} ({type_}.{name})")
        items = resource.get("instances") or []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise StateError(f"{where} ({type_}.{name}) has malformed instances: is it truncated?")
        for item in items:
            at = _parsed(lambda: addresses.Address(module, type_, name, addresses.key(item.get("index_key"))),
                         f"{where} ({type_}.{name})")
            sensitive = item.get("sensitive_attributes") or []
            if not isinstance(sensitive, list):
                raise StateError(f"{source}: {at}: sensitive_attributes is {addresses.kind(sensitive)}, expected a "
                                 "list: is the state edited or corrupted?")
            instances.append(Instance.at(at, _attributes(item, "attributes", at, source),
                                         {_dotted(p) for p in sensitive}, source))
    return State("state file", terraform, instances)


def _named(resource: dict, where: str) -> tuple[str, str]:
    type_, name = resource.get("type"), resource.get("name")
    if not isinstance(type_, str) or not isinstance(name, str) or not type_ or not name:
        raise StateError(f"{where} has no type or name: is the state truncated or edited?")
    _parsed(lambda: (addresses.identifier(type_, "resource type"), addresses.identifier(name, "resource name")),
            where)
    return type_, name


def _parsed(read, where: str):
    """`read()`, an address error becoming one StateError line that says where."""
    try:
        return read()
    except addresses.AddressError as exc:
        raise StateError(f"{where}: {exc}; Terraform writes no such address: is the state edited or "
                         "corrupted? (it is not planned, and nothing is written from it)") from None


def _attributes(item: dict, key: str, at: addresses.Address, source: str) -> dict:
    value = item.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StateError(f"{source}: {at}: {key} is {addresses.kind(value)}, expected an object of attributes: is the "
                         "state edited or corrupted?")
    return value


def _from_show_json(document: dict, source: str) -> State:
    version = str(document.get("format_version"))
    if not version.startswith(SHOW_FORMAT):
        raise StateError(f"{source}: 'terraform show -json' format {_brief(version)}; this reads format 1.x")
    values = document.get("values")
    if values is None:
        return State("terraform show -json", str(document.get("terraform_version", "unknown")), [])
    instances: list[Instance] = []

    def walk(module: Any, path: str) -> None:
        if not isinstance(module, dict):
            raise StateError(f"{source}: module {shown(path) or '(root)'} is {addresses.kind(module)}, expected an "
                             "object: is the output truncated?")
        steps = _parsed(lambda: addresses.parse_module(path), f"{source}: a module")
        for resource in _listed(module, "resources", f"{source}: {shown(path) or 'the root module'}"):
            if not isinstance(resource, dict) or resource.get("mode") != "managed":
                continue
            where = f"{source}: a resource in {shown(path) or 'the root module'}"
            type_, name = _named(resource, where)
            given = resource.get("address")
            if not isinstance(given, str):
                raise StateError(f"{source}: {type_}.{name} has no address: is the output truncated?")
            at = _parsed(lambda: addresses.Address(steps, type_, name, addresses.key(resource.get("index"))),
                         f"{where} ({type_}.{name})")
            if given != str(at):
                raise StateError(f"{source}: address {_brief(given)} is not its module, type, name and index "
                                 f"({_brief(str(at))}): is the output edited or corrupted?")
            instances.append(Instance.at(at, _attributes(resource, "values", at, source),
                                         set(_sensitive_paths(resource.get("sensitive_values") or {})), source))
        for child in _listed(module, "child_modules", f"{source}: {shown(path) or 'the root module'}"):
            address = child.get("address") if isinstance(child, dict) else None
            if not isinstance(address, str):
                raise StateError(f"{source}: a child module of {shown(path) or 'the root module'} has no address: "
                                 "is the output truncated?")
            walk(child, address)

    if not isinstance(values, dict):
        raise StateError(f"{source}: 'values' is not an object: is the output truncated?")

    walk(values.get("root_module") or {}, "")
    return State("terraform show -json", str(document.get("terraform_version", "unknown")), instances)


def _listed(module: dict, key: str, where: str) -> list:
    items = module.get(key) or []
    if not isinstance(items, list):
        raise StateError(f"{where}: {key} is {addresses.kind(items)}, expected a list: is the output truncated?")
    return items


def _dotted(path: Any) -> str:
    """A state v4 sensitive path ([{"type": "get_attr", "value": "x"}, {"type": "index", ...}]) -> "x.0"."""
    if not isinstance(path, list):
        return str(path)
    parts = []
    for step in path:
        value = step.get("value") if isinstance(step, dict) else step
        parts.append(str(value.get("value") if isinstance(value, dict) else value))
    return ".".join(parts)


def _sensitive_paths(node: Any, prefix: str = ""):
    """`sensitive_values` mirrors the values with `true` where a value is sensitive."""
    if node is True:
        yield prefix
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _sensitive_paths(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _sensitive_paths(value, f"{prefix}.{i}" if prefix else str(i))


def _brief(value: Any) -> str:
    import reprlib

    return shown(value if isinstance(value, str) else reprlib.repr(value), 40)
