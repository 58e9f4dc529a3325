"""What CloudFormation's resource providers say about each resource type.

The facts come from data, not memory: the provider schemas that cfn-lint
ships (`cfnlint/data/schemas`, us-east-1) give the create-only properties,
the primary identifier and the read-only properties; the botocore service
models give name limits the schemas leave out (load balancer and target
group names: "a maximum of 32 characters").  `python -m automl_cfn.providers`
extracts them for every resource type the templates use into
`data/providers.json` (committed; a test fails when it is stale), so the
deploy verbs read them without cfn-lint installed.

Two derived notions, used by the planner, the review and the local endpoint:

- **custom name**: a create-only string property named `Name` or
  `<end of the type name>Name` (BucketName, RoleName, GroupName of a
  SecurityGroup, ServiceName, ...).  CloudFormation refuses to replace a
  resource whose custom name (or whose settable primary identifier) stays
  the same: the new resource would collide with the old one, which is only
  deleted afterwards ("CloudFormation cannot update a stack when a
  custom-named resource requires replacing").
- **importable by name**: the primary identifier is one settable property,
  which is what `ImportExistingResources` needs (a bucket, a repository, a
  log group; not a secret, whose identifier is its ARN).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

DATA = Path(__file__).parent / "data" / "providers.json"
# IAM actions the handlers name, with the resource types each acts on (cfn-lint's policy data, from
# the Service Authorization Reference); an entry IAM does not know (an API name) is left out.
IAM_ACTIONS = Path(__file__).parent / "data" / "iam_actions.json"
SCHEMA_REGION = "us-east-1"
PROPERTIES = "/properties/"

# Name limits the schemas do not state, from the botocore operation that
# creates the resource (its documentation gives the limit in words).
BOTOCORE_NAME_LIMITS = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("elbv2", "CreateLoadBalancer", "Name"),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ("elbv2", "CreateTargetGroup", "Name"),
}
# The handlers a deploy invokes: create, read (import, drift), update and delete; not list.
HANDLERS = ("create", "read", "update", "delete")
LIMIT_IN_WORDS = re.compile(r"(?:maximum of|up to) (\d+) (?:characters|letters)", re.IGNORECASE)


@dataclass(frozen=True)
class Provider:
    """The facts about one resource type that decide how it can change."""

    type: str
    create_only: tuple[str, ...]          # property paths such as "EncryptionConfiguration/KmsKey"
    primary_identifier: tuple[str, ...]   # property names
    read_only: tuple[str, ...]
    name_property: str | None             # the custom-name property, if the type has one
    name_max_length: int | None
    permissions: tuple[str, ...] = ()     # IAM actions its handlers need (create, read, update, delete)

    def replaces_on(self, path: str) -> bool:
        """Does changing the property at `path` ("A/B/C") force a replacement?"""
        return any(path == p or path.startswith(p + "/") or p.startswith(path + "/") for p in self.create_only)

    @property
    def settable_identifier(self) -> bool:
        """The primary identifier is made only of properties a template sets."""
        return bool(self.primary_identifier) and not set(self.primary_identifier) & set(self.read_only)

    @property
    def importable_by_name(self) -> bool:
        """What ImportExistingResources can adopt: one settable identifier property."""
        return self.settable_identifier and len(self.primary_identifier) == 1

    def identity(self, properties: dict[str, Any]) -> tuple | None:
        """The values that make two resources of this type the same physical thing, if the template sets them."""
        keys = list(self.primary_identifier) if self.settable_identifier else []
        if self.name_property and self.name_property not in keys:
            keys.append(self.name_property)
        values = tuple(properties.get(k) for k in keys)
        return values if keys and all(v is not None for v in values) else None


def to_dict(provider: Provider) -> dict:
    return {"createOnly": list(provider.create_only), "primaryIdentifier": list(provider.primary_identifier),
            "readOnly": list(provider.read_only), "nameProperty": provider.name_property,
            "nameMaxLength": provider.name_max_length, "permissions": list(provider.permissions)}


@lru_cache(maxsize=1)
def _committed() -> dict[str, dict]:
    return json.loads(DATA.read_text()) if DATA.exists() else {}


@lru_cache(maxsize=None)
def get(resource_type: str) -> Provider:
    """The facts for a type: the committed extract, else cfn-lint's schemas, else nothing known."""
    entry = _committed().get(resource_type)
    if entry is None:
        try:
            return extract(resource_type)
        except (ImportError, KeyError, FileNotFoundError):
            return Provider(resource_type, (), (), (), None, None)
    return Provider(resource_type, tuple(entry["createOnly"]), tuple(entry["primaryIdentifier"]),
                    tuple(entry["readOnly"]), entry["nameProperty"], entry["nameMaxLength"],
                    tuple(entry.get("permissions", ())))


# ---------------------------------------------------------------------------
# extraction (needs cfn-lint and botocore)
# ---------------------------------------------------------------------------

def schema_directory() -> Path:
    import cfnlint

    return Path(cfnlint.__file__).parent / "data" / "schemas"


@lru_cache(maxsize=1)
def _registry() -> dict[str, str]:
    return json.loads((schema_directory() / "providers" / f"{SCHEMA_REGION}.json").read_text())


def schema(resource_type: str) -> dict:
    digest = _registry()[resource_type]
    return json.loads((schema_directory() / "resources" / f"{digest}.json").read_text())


def _paths(pointers: Iterable[str]) -> tuple[str, ...]:
    return tuple(p[len(PROPERTIES):] for p in pointers if p.startswith(PROPERTIES))


def extract(resource_type: str) -> Provider:
    document = schema(resource_type)
    create_only = _paths(document.get("createOnlyProperties", []))
    read_only = _paths(document.get("readOnlyProperties", []))
    identifier = _paths(document.get("primaryIdentifier", []))
    name = custom_name_property(resource_type, document, create_only, read_only)
    limit = None
    if name:
        limit = document["properties"].get(name, {}).get("maxLength") or botocore_name_limit(resource_type)
    handlers = document.get("handlers", {})
    permissions = sorted({p for handler in HANDLERS for p in handlers.get(handler, {}).get("permissions", [])})
    return Provider(resource_type, create_only, identifier, read_only, name, limit, tuple(permissions))


def custom_name_property(resource_type: str, document: dict, create_only, read_only) -> str | None:
    """`Name`, or `<X>Name` where the type's name ends in X (RoleName of a Role, GroupName of a
    SecurityGroup, but not GroupName of a SecurityGroupIngress), create-only and a string."""
    short = resource_type.rsplit("::", 1)[-1]
    for prop in create_only:
        spec = document["properties"].get(prop, {})
        if "/" in prop or prop in read_only or spec.get("type") != "string" or not prop.endswith("Name"):
            continue
        if short.endswith(prop[:-len("Name")]):
            return prop
    return None


def botocore_name_limit(resource_type: str) -> int | None:
    if resource_type not in BOTOCORE_NAME_LIMITS:
        return None
    import botocore.session

    service, operation, member = BOTOCORE_NAME_LIMITS[resource_type]
    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).input_shape.members[member]
    if shape.metadata.get("max"):
        return int(shape.metadata["max"])
    found = LIMIT_IN_WORDS.search(re.sub(r"<[^>]+>", "", shape.documentation or ""))
    return int(found.group(1)) if found else None


def template_types(documents: Iterable[dict]) -> set[str]:
    return {body["Type"] for doc in documents for body in doc.get("Resources", {}).values()}


def extract_all(types: Iterable[str]) -> dict[str, dict]:
    return {t: to_dict(extract(t)) for t in sorted(types)}


def iam_actions(actions: Iterable[str]) -> dict[str, list[str]]:
    """action -> resource types it can be scoped to ([] for none), for the actions IAM knows."""
    import cfnlint

    known = json.loads((Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text())
    result = {}
    for action in sorted(set(actions)):
        service, _, name = action.partition(":")
        entry = known.get(service, {}).get("Actions", {}).get(name.lower())
        if entry is not None:
            result[action] = sorted(entry.get("Resources", []))
    return result


@lru_cache(maxsize=1)
def committed_iam_actions() -> dict[str, list[str]]:
    return json.loads(IAM_ACTIONS.read_text())


def main(argv: list[str] | None = None) -> int:
    """Write data/providers.json for every type in generated/templates and generated/account (run from the
    project directory)."""
    import sys

    from .synth import read_account_documents, read_generated_documents

    project = Path(argv[0] if argv else ".")
    documents = [*read_generated_documents(project / "generated").values(),
                 *read_account_documents(project / "generated").values()]
    extracted = extract_all(template_types(documents))
    DATA.write_text(json.dumps(extracted, indent=1, sort_keys=True) + "\n")
    actions = iam_actions(a for entry in extracted.values() for a in entry["permissions"])
    IAM_ACTIONS.write_text(json.dumps(actions, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA} ({len(extracted)} resource types) and {IAM_ACTIONS} ({len(actions)} actions)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
