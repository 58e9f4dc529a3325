"""Property values in the types the resource providers declare.

CloudFormation hands a resource provider "4096" for a Number parameter and
the provider reads it as the integer its schema declares; moto's models take
the values as given and fail on "4096" + 1.  So strict mode converts each
value to the type the provider schema names (integer, number, boolean) before
a model sees it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ... import providers


@lru_cache(maxsize=None)
def _schema(resource_type: str) -> dict | None:
    try:
        return providers.schema(resource_type)
    except (ImportError, KeyError, FileNotFoundError):
        return None


def coerce(resource_type: str, properties: dict) -> dict:
    schema = _schema(resource_type)
    if schema is None:
        return properties
    return _walk(properties, {"type": "object", "properties": schema.get("properties", {})}, schema)


def _resolve(spec: dict, root: dict) -> dict:
    seen = 0
    while isinstance(spec, dict) and "$ref" in spec and seen < 20:
        path = spec["$ref"].lstrip("#/").split("/")
        target: Any = root
        for part in path:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        spec, seen = target, seen + 1
    return spec if isinstance(spec, dict) else {}


def _types(spec: dict, root: dict) -> set[str]:
    kinds = spec.get("type")
    found = set(kinds) if isinstance(kinds, list) else ({kinds} if kinds else set())
    for option in spec.get("oneOf", []) + spec.get("anyOf", []):
        found |= _types(_resolve(option, root), root)
    return found


def _walk(value: Any, spec: dict, root: dict) -> Any:
    spec = _resolve(spec, root)
    kinds = _types(spec, root)
    if isinstance(value, str):
        if "string" in kinds:
            return value
        if "integer" in kinds:
            try:
                return int(value)
            except ValueError:
                return value
        if "number" in kinds:
            try:
                return int(value) if value.lstrip("-").isdigit() else float(value)
            except ValueError:
                return value
        if "boolean" in kinds and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value
    if isinstance(value, dict):
        properties = dict(spec.get("properties", {}))
        for option in spec.get("oneOf", []) + spec.get("anyOf", []):
            properties.update(_resolve(option, root).get("properties", {}))
        extra = spec.get("additionalProperties") if isinstance(spec.get("additionalProperties"), dict) else None
        return {k: _walk(v, properties.get(k) or extra or {}, root) for k, v in value.items()}
    if isinstance(value, list):
        items = spec.get("items", {})
        return [_walk(v, items, root) for v in value]
    return value
