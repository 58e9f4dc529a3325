"""Predict what CloudFormation will do with a change, from the templates and
the provider schemas alone.

Given the deployed template and parameters of a stack (none for a new one)
and the new ones, `plan` lists every resource that is added, modified,
replaced, imported or removed, nested stacks included, and says why: which
property changed, whether the change came from a parameter or from another
resource being replaced, and whether a replacement would keep a custom name
(which CloudFormation refuses).  The review shows this before AWS is asked,
the local endpoint's strict mode builds its change sets with it, and the
lifecycle tests read it.

Resources are visited in dependency order, so a replacement propagates: a
listener whose create-only LoadBalancerArn points at a replaced load
balancer is replaced too, and a nested stack whose output changes makes the
stacks that read that output change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from . import providers
from .intrinsics import Evaluator, Symbol, TemplateError, dependency_order, differences

NESTED_STACK = "AWS::CloudFormation::Stack"
RETAIN_POLICIES = ("Retain", "RetainExceptOnCreate")


@dataclass
class StackInput:
    template: dict
    parameters: dict[str, Any]


@dataclass
class Detail:
    name: str                   # property path, "EncryptionConfiguration/KmsKey"
    source: str                 # DirectModification | ParameterReference | ResourceReference
    recreation: str             # Always | Never

    def describe(self) -> str:
        flag = " [recreates]" if self.recreation == "Always" else ""
        return f"Properties.{self.name.replace('/', '.')} ({self.source}){flag}"


@dataclass
class PlannedChange:
    action: str                 # Add | Modify | Remove | Import
    logical_id: str
    resource_type: str
    replacement: str = ""       # "True" | "False" | "" (Add, Remove, Import)
    details: list[Detail] = field(default_factory=list)
    nested: "StackPlan | None" = None
    kept_name: str | None = None          # a replacement that keeps this custom name: refused by CloudFormation
    deletion_policy: str = "Delete"
    update_replace_policy: str = "Delete"

    @property
    def replaces(self) -> bool:
        return self.replacement == "True"

    @property
    def retained_on_removal(self) -> bool:
        return self.deletion_policy in RETAIN_POLICIES


@dataclass
class StackPlan:
    where: str
    changes: list[PlannedChange] = field(default_factory=list)
    old_outputs: dict[str, Any] = field(default_factory=dict)
    new_outputs: dict[str, Any] = field(default_factory=dict)

    def walk(self, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], PlannedChange]]:
        """(path of nested logical IDs, change) for every change, depth first."""
        for change in self.changes:
            yield path, change
            if change.nested:
                yield from change.nested.walk(path + (change.logical_id,))

    @property
    def empty(self) -> bool:
        return not any(True for _ in self.walk())

    def refused_replacements(self) -> list[tuple[tuple[str, ...], PlannedChange]]:
        return [(p, c) for p, c in self.walk() if c.kept_name is not None]


Loader = Callable[[str], dict]
Importable = Callable[[str, str, dict, dict], bool]


@dataclass
class Context:
    """What every stack in the tree shares."""

    region: str
    account: str
    loader: Loader
    importable: Importable | None = None
    availability_zones: Callable[[str], list] | None = None


def plan(old: StackInput | None, new: StackInput, context: Context, where: str = "root",
         stack_name: str = "stack") -> StackPlan:
    """Every change from `old` (None: the stack is new) to `new`, nested stacks included."""
    result = StackPlan(where)
    fresh: set[str] = set()                       # logical IDs whose values will all change
    old_nested: dict[str, dict] = {}              # nested stack -> its old outputs
    new_nested: dict[str, dict] = {}

    def old_value(logical_id: str, attribute: str) -> Any:
        if logical_id in old_nested and attribute.startswith("Outputs."):
            return _output(old_nested[logical_id], attribute, logical_id)
        return Symbol(where, logical_id, attribute)

    def new_value(logical_id: str, attribute: str) -> Any:
        if logical_id in new_nested and attribute.startswith("Outputs."):
            return _output(new_nested[logical_id], attribute, logical_id)
        return Symbol(where, logical_id, attribute, fresh=logical_id in fresh)

    common = dict(region=context.region, account=context.account, stack_name=stack_name,
                  availability_zones=context.availability_zones)
    old_eval = Evaluator(old.template, old.parameters, resource_value=old_value, **common) if old else None
    new_eval = Evaluator(new.template, new.parameters, resource_value=new_value, **common)
    old_resources = old_eval.resources() if old_eval else {}
    new_resources = new_eval.resources()

    for logical_id in dependency_order(new_resources):
        body = new_resources[logical_id]
        kind = body["Type"]
        new_props = new_eval.resolved(body.get("Properties", {})) or {}
        previous = old_resources.get(logical_id)
        change = None
        if previous is None:
            change = PlannedChange("Add", logical_id, kind)
            if context.importable and context.importable(logical_id, kind, new_props, body):
                change.action = "Import"
            else:
                fresh.add(logical_id)
            if kind == NESTED_STACK:
                change.nested = _nested(None, new_props, context, f"{where}/{logical_id}", stack_name, logical_id)
                new_nested[logical_id] = change.nested.new_outputs
        else:
            if previous["Type"] != kind:
                raise TemplateError(f"Update of resource type is not permitted ({logical_id}: "
                                    f"{previous['Type']} -> {kind})")
            old_props = old_eval.resolved(previous.get("Properties", {})) or {}
            found = differences(old_props, new_props)
            if kind == NESTED_STACK:
                nested = _nested(old_props, new_props, context, f"{where}/{logical_id}", stack_name, logical_id)
                old_nested[logical_id], new_nested[logical_id] = nested.old_outputs, nested.new_outputs
                if found:
                    change = PlannedChange("Modify", logical_id, kind, "False", nested=nested)
            elif found:
                change = modification(logical_id, kind, previous, body, old_props, new_props, found)
                if change.replaces:
                    fresh.add(logical_id)
        if change is not None:
            change.deletion_policy = body.get("DeletionPolicy", "Delete")
            change.update_replace_policy = body.get("UpdateReplacePolicy", "Delete")
            result.changes.append(change)

    for logical_id, body in old_resources.items():
        if logical_id not in new_resources:
            result.changes.append(PlannedChange("Remove", logical_id, body["Type"],
                                                deletion_policy=body.get("DeletionPolicy", "Delete"),
                                                update_replace_policy=body.get("UpdateReplacePolicy", "Delete")))
    result.old_outputs = old_eval.outputs() if old_eval else {}
    result.new_outputs = new_eval.outputs()
    return result


def modification(logical_id: str, kind: str, old_body: dict, new_body: dict, old_props: dict, new_props: dict,
                 found) -> PlannedChange:
    provider = providers.get(kind)
    details = []
    for difference in found:
        top = difference.path.split("/", 1)[0]
        if difference.dynamic:
            source = "ResourceReference"
        elif old_body.get("Properties", {}).get(top) == new_body.get("Properties", {}).get(top):
            source = "ParameterReference"
        else:
            source = "DirectModification"
        details.append(Detail(difference.path, source, "Always" if provider.replaces_on(difference.path) else "Never"))
    replaces = any(d.recreation == "Always" for d in details)
    change = PlannedChange("Modify", logical_id, kind, "True" if replaces else "False", details)
    if replaces:
        identity = provider.identity(new_props)
        if identity is not None and identity == provider.identity(old_props):
            change.kept_name = "/".join(str(v) for v in identity)
    return change


def _output(outputs: dict, attribute: str, logical_id: str) -> Any:
    key = attribute.split(".", 1)[1]
    if key not in outputs:
        raise TemplateError(f"Template error: nested stack {logical_id} has no output {key!r}")
    return outputs[key]


def _nested(old_props: dict | None, new_props: dict, context: Context, where: str, parent: str,
            logical_id: str) -> StackPlan:
    old = None
    if old_props is not None:
        old = StackInput(context.loader(old_props["TemplateURL"]), dict(old_props.get("Parameters", {})))
    new = StackInput(context.loader(new_props["TemplateURL"]), dict(new_props.get("Parameters", {})))
    return plan(old, new, context, where, stack_name=f"{parent}-{logical_id}")
