"""Bring back what an earlier deploy retained, instead of colliding with it.

`destroy` keeps the data bucket, the repositories, the log groups, the key
and the secret; so does a setting switched off (access logs, flow logs, the
pipeline).  Their names are fixed, so the next deploy that wants them would
fail with "already exists".  Instead the deploy adopts them, untouched:

- **import**: a resource whose identifier is its name (bucket, repository,
  log group, key alias) is taken into the stack by resource import
  (`ImportExistingResources` on the change set).  AWS imports only names
  written as literals, so the deploy writes the retained resources' names
  into the templates it uploads (`pin_names`); the values are exactly what
  the parameters would give.
- **reference**: a resource CloudFormation can only import by an identifier
  the template cannot know (a KMS key, a secret's ARN) is used by ARN through
  the setting's "existing resource" form: `kms_key: create` deploys with the
  retained key's ARN, found through its retained alias, and
  `api_key_secret: create` with the retained secret's (and the previous-key
  secret that comes with it, ApiKeyPreviousSecret, likewise).  The review
  says so.

A retained resource that belongs to another live stack is a conflict: the
deploy stops before any change set.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from .. import providers
from ..errors import RefusedError
from ..intrinsics import Evaluator, Symbol, TemplateError, is_symbolic
from ..model import title
from .retained import Found, Retained, find, owner, retained_in

# A setting whose "create" makes a resource CloudFormation cannot import by name:
# parameter -> the retained resource that finds the one to use.
REFERENCES = {"KmsKey": "KmsKeyAlias", "ApiKeySecret": "GeneratedApiKeySecret",
              "ApiKeyPreviousSecret": "GeneratedApiKeyPreviousSecret"}


@dataclass
class Adoption:
    imports: list[Found] = field(default_factory=list)
    references: dict[str, Found] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.imports and not self.references

    def lines(self) -> list[str]:
        lines = [f"  < {f.retained.label} {f.retained.name} ({f.holds}): imported into "
                 f"{title(f.retained.stack)}Stack/{f.retained.logical_id}" for f in self.imports]
        lines += [f"  < {f.retained.label} {f.retained.name}: used by ARN ({parameter} {f.arn})"
                  for parameter, f in self.references.items()]
        return lines


def references(aws, documents: dict[str, dict], values: dict[str, str], deployed: dict[str, str],
               region: str, account: str) -> dict[str, Found]:
    """Settings set to `create` whose retained resource exists and no stack owns: use it by ARN."""
    result = {}
    candidates = {r.logical_id: r for r in retained_in(documents, values, region, account)}
    for parameter, logical_id in REFERENCES.items():
        if values.get(parameter) != "create" or deployed.get(parameter) == "create":
            continue  # not wanted, or the stack already owns one
        retained = candidates.get(logical_id)
        found = find(aws, retained) if retained else None
        if found is None:
            continue
        if found.pending_deletion:
            raise RefusedError(f"{retained.label} {retained.name} is scheduled for deletion ({found.pending_deletion});"
                               f" restore it, or wait until it is gone, before deploying with {parameter} create")
        holder = owner(aws.client("cloudformation"), found.physical_id)
        if holder:
            raise RefusedError(f"{retained.label} {retained.name} belongs to stack {holder}; this environment cannot "
                               "adopt it")
        result[parameter] = found
    return result


def imports(aws, retained: list[Retained], added: set[tuple[str, str]]) -> list[Found]:
    """Retained resources the change will add that already exist: import them, or refuse on a conflict."""
    found = []
    for item in retained:
        if (f"{title(item.stack)}Stack", item.logical_id) not in added:
            continue
        if not providers.get(item.type).importable_by_name:
            continue
        existing = find(aws, item)
        if existing is None:
            continue
        holder = owner(aws.client("cloudformation"), existing.physical_id)
        if holder:
            raise RefusedError(f"{item.label} {item.name} already exists and belongs to stack {holder}; "
                               "delete it there, or choose another project_name or environment")
        found.append(existing)
    return found


def pin_names(documents: dict[str, dict], values: dict[str, str], region: str, account: str) -> dict[str, dict]:
    """The templates with each retained resource's name written out for this environment.

    CloudFormation imports a resource automatically only when its name is a
    literal in the template, so the names built with Fn::Sub from ProjectName,
    Environment, the region and the account become those literals.  A name
    that depends on anything else stays as it is.
    """
    pinned = {}
    for stack, document in documents.items():
        if stack in ("root", "artifacts"):
            pinned[stack] = document
            continue
        child_values = {n: values[n] for n in (document.get("Parameters") or {}) if n in values}
        evaluator = Evaluator(document, {**_placeholders(document), **child_values}, region=region, account=account,
                              resource_value=lambda logical_id, attribute: Symbol(stack, logical_id, attribute))
        copied = None
        for logical_id, body in (document.get("Resources") or {}).items():
            if body.get("DeletionPolicy") not in ("Retain", "RetainExceptOnCreate"):
                continue
            name_property = providers.get(body["Type"]).name_property
            node = (body.get("Properties") or {}).get(name_property)
            if not isinstance(node, dict):
                continue
            try:
                name = evaluator.resolved(node)
            except TemplateError:
                continue
            if not isinstance(name, str) or is_symbolic(name) or not _only_environment(node, child_values):
                continue
            copied = copied or copy.deepcopy(document)
            copied["Resources"][logical_id]["Properties"][name_property] = name
        pinned[stack] = copied or document
    return pinned


def _placeholders(document: dict) -> dict[str, str]:
    return {n: "none" for n, spec in (document.get("Parameters") or {}).items() if "Default" not in spec}


def _only_environment(node, values: dict[str, str]) -> bool:
    """The name uses nothing but the environment's own parameters and pseudo parameters."""
    from ..intrinsics import references

    return all(ref.startswith("AWS::") or ref in values for ref in references(node))
