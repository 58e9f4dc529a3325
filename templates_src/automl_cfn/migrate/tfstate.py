"""Read a Terraform state, offline: a state file (format version 4) or `terraform show -json` output.

Both become one list of `Instance`s, one per resource instance, with its full
address (module path, `count` or `for_each` key included), its recorded
attributes and the attribute paths Terraform marks sensitive.  Nothing here
prints an attribute: callers show only the fields they compare, and never a
sensitive one.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError

MAX_STATE_BYTES = 256 * 1024 * 1024
STATE_VERSION = 4            # Terraform 0.12 and later (and OpenTofu) write version 4
SHOW_FORMAT = "1."           # `terraform show -json` format_version 1.x
ARN_REGION = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:([a-z]{2}(?:-[a-z]+)+-\d):")


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

    @property
    def resource_address(self) -> str:
        """The address without instance keys: what a `removed` block's `from` takes."""
        module = re.sub(r"\[[^\]]*\]", "", self.module)
        return f"{module}.{self.type}.{self.name}" if module else f"{self.type}.{self.name}"

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

    def is_sensitive(self, path: str) -> bool:
        return any(path == s or path.startswith(s + ".") for s in self.sensitive)


@dataclass
class State:
    source: str                      # "state file" or "terraform show -json"
    terraform_version: str
    instances: list[Instance]

    @property
    def regions(self) -> set[str]:
        """Regions named by the instances: the provider's `region` attribute (AWS provider 6) or ARNs."""
        found = set()
        for instance in self.instances:
            region = instance.attributes.get("region")
            arn = instance.attributes.get("arn")
            if isinstance(region, str) and region:
                found.add(region)
            elif isinstance(arn, str) and ARN_REGION.match(arn):
                found.add(ARN_REGION.match(arn).group(1))
        return found


def read_state(path: Path) -> State:
    """The state at `path`, or one StateError line saying what is wrong with it."""
    shown = str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise StateError(f"{shown}: Terraform state file not found") from None
    except OSError as exc:
        raise StateError(f"{shown}: cannot read it ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise StateError(f"{shown}: is not a regular file; pass terraform.tfstate or 'terraform show -json' output")
    if info.st_size > MAX_STATE_BYTES:
        raise StateError(f"{shown}: is larger than {MAX_STATE_BYTES // 2**20} MiB; that is not this deployment's state")
    try:
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise StateError(f"{shown}: cannot read it ({exc.strerror})") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise StateError(f"{shown}: not JSON{where}: is it truncated, or an HCL file? Pass terraform.tfstate "
                         "(format version 4) or 'terraform show -json' output") from None
    if not isinstance(document, dict):
        raise StateError(f"{shown}: not a Terraform state (the top level is not an object)")
    if "format_version" in document:
        return _from_show_json(document, shown)
    return _from_state_file(document, shown)


def _from_state_file(document: dict, shown: str) -> State:
    version = document.get("version")
    terraform = str(document.get("terraform_version", "unknown"))
    if version != STATE_VERSION:
        hint = (" (written by Terraform 0.11 or older): upgrade the state with Terraform 0.12 or later first"
                if isinstance(version, int) and version < STATE_VERSION else "")
        raise StateError(f"{shown}: state format version {_brief(version)} from Terraform {_brief(terraform)}; "
                         f"this reads version {STATE_VERSION}{hint}, or 'terraform show -json' output")
    resources = document.get("resources")
    if not isinstance(resources, list):
        raise StateError(f"{shown}: a version 4 state without a 'resources' list: is it truncated?")
    instances = []
    for number, resource in enumerate(resources, 1):
        if not isinstance(resource, dict) or resource.get("mode") != "managed":
            continue  # data sources read, they do not own anything
        type_, name = _named(resource, f"{shown}: resource {number}")
        module = str(resource.get("module", ""))
        items = resource.get("instances") or []
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise StateError(f"{shown}: resource {number} ({type_}.{name}) has malformed instances: is it truncated?")
        for item in items:
            index = item.get("index_key")
            instances.append(Instance(
                address=_address(module, type_, name, index), type=type_, name=name, module=module, index=index,
                attributes=_mapping(item.get("attributes")),
                sensitive={_dotted(p) for p in item.get("sensitive_attributes") or []}))
    return State("state file", terraform, instances)


def _named(resource: dict, where: str) -> tuple[str, str]:
    type_, name = resource.get("type"), resource.get("name")
    if not isinstance(type_, str) or not isinstance(name, str) or not type_ or not name:
        raise StateError(f"{where} has no type or name: is the state truncated or edited?")
    return type_, name


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _from_show_json(document: dict, shown: str) -> State:
    version = str(document.get("format_version"))
    if not version.startswith(SHOW_FORMAT):
        raise StateError(f"{shown}: 'terraform show -json' format {_brief(version)}; this reads format 1.x")
    values = document.get("values")
    if values is None:
        return State("terraform show -json", str(document.get("terraform_version", "unknown")), [])
    instances: list[Instance] = []

    def walk(module: dict, path: str) -> None:
        for resource in module.get("resources") or []:
            if not isinstance(resource, dict) or resource.get("mode") != "managed":
                continue
            type_, name = _named(resource, f"{shown}: a resource in {path or 'the root module'}")
            address = resource.get("address")
            if not isinstance(address, str):
                raise StateError(f"{shown}: {type_}.{name} has no address: is the output truncated?")
            instances.append(Instance(
                address=address, type=type_, name=name, module=path, index=resource.get("index"),
                attributes=_mapping(resource.get("values")),
                sensitive=set(_sensitive_paths(resource.get("sensitive_values") or {}))))
        for child in module.get("child_modules") or []:
            if isinstance(child, dict):
                walk(child, str(child.get("address", "")))

    if not isinstance(values, dict):
        raise StateError(f"{shown}: 'values' is not an object: is the output truncated?")

    walk(values.get("root_module") or {}, "")
    return State("terraform show -json", str(document.get("terraform_version", "unknown")), instances)


def _address(module: str, type_: str, name: str, index: Any) -> str:
    key = "" if index is None else (f"[{index}]" if isinstance(index, int) else f"[{json.dumps(index)}]")
    base = f"{type_}.{name}{key}"
    return f"{module}.{base}" if module else base


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
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."
