"""CloudFormation's intrinsic functions, evaluated for given parameters.

One evaluator serves two callers that must agree: the offline planner
(what a deploy will add, change, replace or remove, predicted before AWS is
asked) and the local endpoint's strict mode (which carries the change out).
Parameters, pseudo parameters, conditions, mappings and every function the
templates use are resolved.  A reference to a resource (Ref, Fn::GetAtt,
${X} in Fn::Sub) is answered by a callback: the endpoint returns the real
physical ID or attribute, the planner returns a `Symbol` standing for it.
Functions over symbols stay symbolic (`Expression`), so two evaluations can
still be compared: the same symbol is the same value, unless it is *fresh*
(its resource is new or replaced in this change, so its value will differ).
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable, Mapping, NamedTuple

NO_VALUE = object()          # AWS::NoValue: the key or list item disappears
PSEUDO_DEFAULTS = {"AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com", "AWS::NotificationARNs": []}
SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class TemplateError(ValueError):
    """The template asks for something CloudFormation would refuse ("Template format error: ...")."""


@dataclass(frozen=True)
class Symbol:
    """A resource value not known yet: `stack/logical_id` and Ref or an attribute."""

    where: str
    logical_id: str
    attribute: str = "Ref"
    fresh: bool = False

    @property
    def key(self) -> str:
        return f"{self.where}/{self.logical_id}.{self.attribute}"


@dataclass(frozen=True)
class Expression:
    """A function whose inputs include symbols; compared by its canonical text."""

    function: str
    text: str
    fresh: bool = False
    symbols: tuple[str, ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        return f"{self.function}:{self.text}"


SYMBOLIC = (Symbol, Expression)


def _symbols(value: Any):
    """Every symbol inside a value."""
    if isinstance(value, SYMBOLIC):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _symbols(item)
    elif isinstance(value, list):
        for item in value:
            yield from _symbols(item)


def is_symbolic(value: Any) -> bool:
    return any(True for _ in _symbols(value))


def fresh(value: Any) -> bool:
    """Does the value depend on a resource that is new or replaced?"""
    return any(symbol.fresh for symbol in _symbols(value))


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=lambda v: {"$": v.key, "fresh": v.fresh})


def symbols_in(value: Any) -> tuple[str, ...]:
    if isinstance(value, Symbol):
        return (value.key,)
    if isinstance(value, Expression):
        return value.symbols
    if isinstance(value, dict):
        return tuple(s for v in value.values() for s in symbols_in(v))
    if isinstance(value, list):
        return tuple(s for v in value for s in symbols_in(v))
    return ()


def expression(function: str, args: Any) -> Expression:
    return Expression(function, canonical(args), fresh(args), symbols_in(args))


ResourceValue = Callable[[str, str], Any]


class Evaluator:
    """A template evaluated for one set of parameter values."""

    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, Any], *, region: str,
                 account: str = "123456789012", stack_name: str = "stack", stack_id: str | None = None,
                 resource_value: ResourceValue | None = None, availability_zones: Callable[[str], list] | None = None):
        self.template = template
        self.region = region
        self.pseudo = {**PSEUDO_DEFAULTS, "AWS::Region": region, "AWS::AccountId": account,
                       "AWS::StackName": stack_name,
                       "AWS::StackId": stack_id or f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/id"}
        self.parameters = self._parameters(parameters)
        self.resource_value = resource_value or (lambda logical_id, attribute: Symbol("", logical_id, attribute))
        self.availability_zones = availability_zones or (lambda r: [f"{r}{letter}" for letter in "abcdef"])
        self._conditions: dict[str, bool] = {}

    # -- parameters ----------------------------------------------------------
    def _parameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, spec in (self.template.get("Parameters") or {}).items():
            if name in given:
                value = given[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"Parameters: [{name}] must have values")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            kind = spec.get("Type", "String")
            if (kind == "CommaDelimitedList" or kind.startswith("List<")) and isinstance(value, str):
                value = [item.strip() for item in value.split(",")] if value else []
            values[name] = value
        return values

    # -- conditions ------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"Template format error: Unresolved condition dependency {name}")
            self._conditions[name] = bool(self._truth(conditions[name]))
        return self._conditions[name]

    def _truth(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            (function, arg), = node.items()
            if function == "Condition":
                return self.condition(arg)
            if function == "Fn::Equals":
                left, right = (self.value(v) for v in arg)
                return self._equal(left, right)
            if function == "Fn::Not":
                return not self._truth(arg[0])
            if function == "Fn::And":
                return all(self._truth(v) for v in arg)
            if function == "Fn::Or":
                return any(self._truth(v) for v in arg)
        value = self.value(node)
        if isinstance(value, bool):
            return value
        raise TemplateError(f"Template format error: not a condition: {canonical(node)[:80]}")

    @staticmethod
    def _equal(left: Any, right: Any) -> bool:
        """Fn::Equals.  In a nested stack a wired parameter may still be a symbol when
        planning: a resource's ID or ARN never equals a literal such as "none"."""
        if isinstance(left, SYMBOLIC) or isinstance(right, SYMBOLIC):
            return isinstance(left, SYMBOLIC) and isinstance(right, SYMBOLIC) and left.key == right.key
        return _scalar_text(left) == _scalar_text(right)

    def exists(self, body: Mapping[str, Any]) -> bool:
        return "Condition" not in body or self.condition(body["Condition"])

    # -- values ------------------------------------------------------------------
    def value(self, node: Any) -> Any:
        """The node with every intrinsic function evaluated (NO_VALUE where it vanishes)."""
        if isinstance(node, dict):
            if len(node) == 1:
                (key, arg), = node.items()
                handler = FUNCTIONS.get(key)
                if handler is not None:
                    return handler(self, arg)
            result = {}
            for key, child in node.items():
                resolved = self.value(child)
                if resolved is not NO_VALUE:
                    result[key] = resolved
            return result
        if isinstance(node, list):
            return [v for v in (self.value(child) for child in node) if v is not NO_VALUE]
        return node

    def resolved(self, node: Any) -> Any:
        """Like value(), but NO_VALUE at the top becomes None."""
        result = self.value(node)
        return None if result is NO_VALUE else result

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in (self.template.get("Resources") or {}):
            return self.resource_value(name, "Ref")
        raise TemplateError(f"Template format error: Unresolved resource dependencies [{name}] in the Resources block "
                            "of the template")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in (self.template.get("Resources") or {}):
            raise TemplateError(f"Template error: instance of Fn::GetAtt references undefined resource {logical_id}")
        return self.resource_value(logical_id, attribute)

    # -- what exists ---------------------------------------------------------------
    def resources(self) -> dict[str, dict]:
        """Logical ID -> resource body, for the resources whose condition holds."""
        return {k: v for k, v in (self.template.get("Resources") or {}).items() if self.exists(v)}

    def outputs(self) -> dict[str, Any]:
        result = {}
        for name, body in (self.template.get("Outputs") or {}).items():
            if self.exists(body):
                value = self.value(body.get("Value"))
                if value is not NO_VALUE:
                    result[name] = value
        return result


# ---------------------------------------------------------------------------
# the functions
# ---------------------------------------------------------------------------

def _ref(ev: Evaluator, arg: Any) -> Any:
    return ev.ref(arg)


def _get_att(ev: Evaluator, arg: Any) -> Any:
    if isinstance(arg, str):
        logical_id, attribute = arg.split(".", 1)
    else:
        logical_id, attribute = arg[0], ev.value(arg[1])
    return ev.get_att(logical_id, attribute)


def _if(ev: Evaluator, arg: Any) -> Any:
    name, when_true, when_false = arg
    taken, other = (when_true, when_false) if ev.condition(name) else (when_false, when_true)
    _check_mappings(ev, other)
    return ev.value(taken)


def _check_mappings(ev: Evaluator, node: Any) -> None:
    """CloudFormation resolves Fn::FindInMap in both branches of an Fn::If, the one it does
    not take included: a key the mapping lacks fails the stack either way."""
    if isinstance(node, dict):
        if set(node) == {"Fn::FindInMap"}:
            arg = node["Fn::FindInMap"]
            keys = [ev.value(v) if not (isinstance(v, dict) and "Fn::If" in v) else None for v in arg[:3]]
            if all(isinstance(k, str) for k in keys):
                _find_in_map(ev, arg)
            return
        for child in node.values():
            _check_mappings(ev, child)
    elif isinstance(node, list):
        for child in node:
            _check_mappings(ev, child)


def _join(ev: Evaluator, arg: Any) -> Any:
    delimiter, items = ev.value(arg[0]), ev.value(arg[1])
    if is_symbolic(items) or isinstance(delimiter, SYMBOLIC):
        return expression("Fn::Join", [delimiter, items])
    return delimiter.join(_scalar_text(i) for i in items)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _select(ev: Evaluator, arg: Any) -> Any:
    index, items = ev.value(arg[0]), ev.value(arg[1])
    if isinstance(items, SYMBOLIC) or isinstance(index, SYMBOLIC):
        return expression("Fn::Select", [index, items])
    position = int(index)
    if not 0 <= position < len(items):
        raise TemplateError(f"Template error: Fn::Select cannot select nonexistent value at index {position}")
    return items[position]


def _split(ev: Evaluator, arg: Any) -> Any:
    delimiter, text = ev.value(arg[0]), ev.value(arg[1])
    if isinstance(text, SYMBOLIC):
        return expression("Fn::Split", [delimiter, text])
    return text.split(delimiter)


def _sub(ev: Evaluator, arg: Any) -> Any:
    text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
    values = {name: ev.value(node) for name, node in variables.items()}
    pieces: list[Any] = []
    position = 0
    for match in SUB_VARIABLE.finditer(text):
        pieces.append(text[position:match.start()])
        name = match.group(1)
        if name.startswith("!"):
            pieces.append("${" + name[1:] + "}")
        elif name in values:
            pieces.append(values[name])
        elif "." in name and name.split(".", 1)[0] in (ev.template.get("Resources") or {}):
            logical_id, attribute = name.split(".", 1)
            pieces.append(ev.get_att(logical_id, attribute))
        else:
            pieces.append(ev.ref(name))
        position = match.end()
    pieces.append(text[position:])
    if any(isinstance(p, SYMBOLIC) for p in pieces):
        return expression("Fn::Sub", pieces)
    return "".join(_scalar_text(p) if not isinstance(p, list) else ",".join(p) for p in pieces)


def _find_in_map(ev: Evaluator, arg: Any) -> Any:
    name, top, second = (ev.value(v) for v in arg[:3])
    default = arg[3].get("DefaultValue") if len(arg) > 3 and isinstance(arg[3], dict) else None
    mapping = (ev.template.get("Mappings") or {}).get(name)
    try:
        return mapping[top][second]
    except (KeyError, TypeError):
        if default is not None:
            return ev.value(default)
        raise TemplateError(f"Template error: Unable to get mapping for {name}::{top}::{second}") from None


def _get_azs(ev: Evaluator, arg: Any) -> Any:
    region = ev.value(arg) or ev.region
    return list(ev.availability_zones(region))


def _cidr(ev: Evaluator, arg: Any) -> Any:
    block, count, bits = (ev.value(v) for v in arg)
    if any(isinstance(v, SYMBOLIC) for v in (block, count, bits)):
        return expression("Fn::Cidr", [block, count, bits])
    network = ipaddress.ip_network(block, strict=False)
    return [str(n) for n in islice(network.subnets(new_prefix=network.max_prefixlen - int(bits)), int(count))]


def _base64(ev: Evaluator, arg: Any) -> Any:
    text = ev.value(arg)
    if isinstance(text, SYMBOLIC):
        return expression("Fn::Base64", text)
    import base64   # here, not at the top: generation evaluates no Fn::Base64 and skips the import

    return base64.b64encode(text.encode()).decode()


def _import_value(ev: Evaluator, arg: Any) -> Any:
    raise TemplateError("Fn::ImportValue is not used by these templates")


def _condition_function(name: str):
    def evaluate(ev: Evaluator, arg: Any) -> Any:
        return ev._truth({name: arg})
    return evaluate


FUNCTIONS: dict[str, Callable[[Evaluator, Any], Any]] = {
    "Ref": _ref, "Fn::GetAtt": _get_att, "Fn::If": _if, "Fn::Join": _join, "Fn::Select": _select,
    "Fn::Split": _split, "Fn::Sub": _sub, "Fn::FindInMap": _find_in_map, "Fn::GetAZs": _get_azs,
    "Fn::Cidr": _cidr, "Fn::Base64": _base64, "Fn::ImportValue": _import_value,
    "Fn::Equals": _condition_function("Fn::Equals"), "Fn::Not": _condition_function("Fn::Not"),
    "Fn::And": _condition_function("Fn::And"), "Fn::Or": _condition_function("Fn::Or"),
    "Condition": _condition_function("Condition"),
}


# ---------------------------------------------------------------------------
# comparing two evaluations
# ---------------------------------------------------------------------------

class Difference(NamedTuple):
    path: str          # "A/B" style, relative to the compared node
    dynamic: bool      # the new value depends on a resource that is new or replaced (ResourceReference)


def differences(old: Any, new: Any, path: str = "") -> list[Difference]:
    """Where two evaluated values differ.  A fresh symbol always differs."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(set(old) | set(new)):
            child = f"{path}/{key}" if path else key
            if key not in old or key not in new:
                found.append(Difference(child, fresh(new.get(key))))
            else:
                found.extend(differences(old[key], new[key], child))
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for index, (a, b) in enumerate(zip(old, new)):
            found.extend(differences(a, b, path))  # list positions are not create-only paths
        return found
    if isinstance(new, SYMBOLIC) or isinstance(old, SYMBOLIC):
        same = isinstance(old, SYMBOLIC) and isinstance(new, SYMBOLIC) and old.key == new.key and not new.fresh
        # Dynamic: the new value comes from a resource that is new or replaced, or appears/vanishes.
        dynamic = fresh(new) or isinstance(old, SYMBOLIC) != isinstance(new, SYMBOLIC)
        return [] if same else [Difference(path, dynamic)]
    if fresh(new):
        return [Difference(path, True)]
    if _normal(old) != _normal(new):
        return [Difference(path, fresh(new))]
    return []


def _normal(value: Any) -> Any:
    """CloudFormation compares property values as text: 80 and "80" are the same."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def references(node: Any) -> set[str]:
    """Logical IDs a template node refers to (Ref, Fn::GetAtt, ${X} and ${X.Attr} in Fn::Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, arg in node.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                for name in SUB_VARIABLE.findall(text):
                    if not name.startswith("!"):
                        found.add(name.split(".", 1)[0])
                if not isinstance(arg, str):
                    found |= references(arg[1])
            else:
                found |= references(arg)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def dependencies(resources: Mapping[str, Mapping[str, Any]]) -> dict[str, set[str]]:
    """Logical ID -> the logical IDs it needs first (references and DependsOn), within `resources`."""
    result = {}
    for logical_id, body in resources.items():
        needs = references(body.get("Properties", {}))
        depends = body.get("DependsOn", [])
        needs |= {depends} if isinstance(depends, str) else set(depends)
        result[logical_id] = {n for n in needs if n in resources and n != logical_id}
    return result


def dependency_order(resources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Logical IDs so that each comes after everything it needs (stable: template order otherwise)."""
    needs = dependencies(resources)
    ordered: list[str] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in placed:
            return
        if logical_id in visiting:
            raise TemplateError(f"Template format error: Circular dependency between resources: [{logical_id}]")
        visiting.add(logical_id)
        for needed in sorted(needs[logical_id]):
            visit(needed)
        visiting.discard(logical_id)
        placed.add(logical_id)
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return ordered
