"""Evaluate a generated template for given parameter values, offline.

Resolves Conditions and Fn::If (dropping AWS::NoValue) so that tests, the
cost estimate and the diagram can ask "which resources exist, with which
properties, for this environment?" without deploying anything.  Only the
condition functions CloudFormation allows (Fn::Equals/Not/And/Or,
Condition, Ref to parameters) are evaluated; other intrinsics are left as
they are.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Mapping

NO_VALUE = {"Ref": "AWS::NoValue"}


# Pseudo parameters a condition may read (a Region-keyed condition, say).
PSEUDO = {"AWS::Region": "us-east-1", "AWS::Partition": "aws", "AWS::AccountId": "123456789012",
          "AWS::URLSuffix": "amazonaws.com"}


class Evaluation:
    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str] | None = None,
                 region: str | None = None):
        self.template = template
        self.pseudo = {**PSEUDO, **({"AWS::Region": region} if region else {})}
        self.parameters = {
            name: str(spec["Default"]) for name, spec in template.get("Parameters", {}).items() if "Default" in spec
        }
        self.parameters.update({k: str(v) for k, v in (parameters or {}).items()})

    # -- conditions --------------------------------------------------------------
    @cached_property
    def _evaluator(self):
        """Conditions are evaluated by the same code the planner and the local endpoint use."""
        from .intrinsics import Evaluator

        declared = self.template.get("Parameters", {})
        values = {name: self.parameters.get(name, "") for name in declared}
        return Evaluator(self.template, values, region=self.pseudo["AWS::Region"],
                         account=self.pseudo["AWS::AccountId"])

    def condition(self, name: str) -> bool:
        return self._evaluator.condition(name)

    def conditions(self) -> dict[str, bool]:
        return {name: self.condition(name) for name in self.template.get("Conditions", {})}

    # -- values ------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        """Fn::If chosen, AWS::NoValue dropped, Refs to parameters replaced."""
        if isinstance(value, dict):
            if set(value) == {"Fn::If"}:
                name, when_true, when_false = value["Fn::If"]
                return self.resolve(when_true if self.condition(name) else when_false)
            if set(value) == {"Ref"} and value["Ref"] in self.parameters:
                return self.parameters[value["Ref"]]
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v != NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item != NO_VALUE]
        return value

    # -- what exists ------------------------------------------------------------
    def exists(self, body: Mapping[str, Any]) -> bool:
        return "Condition" not in body or self.condition(body["Condition"])

    def existing(self) -> set[str]:
        """Logical IDs of the resources that exist (conditions only, no property resolved)."""
        return {logical_id for logical_id, body in self.template.get("Resources", {}).items() if self.exists(body)}

    def resources(self) -> dict[str, dict]:
        """Logical ID -> resource (properties resolved) for resources that exist."""
        return {
            logical_id: {**body, "Properties": self.resolve(body.get("Properties", {}))}
            for logical_id, body in self.template.get("Resources", {}).items()
            if self.exists(body)
        }

    def outputs(self) -> dict[str, Any]:
        return {
            name: self.resolve(body["Value"])
            for name, body in self.template.get("Outputs", {}).items()
            if self.exists(body)
        }

    def of_type(self, resource_type: str) -> dict[str, dict]:
        return {k: v for k, v in self.resources().items() if v["Type"] == resource_type}


def environment(documents: Mapping[str, dict], parameters: Mapping[str, Any], region: str = PSEUDO["AWS::Region"],
                account: str = PSEUDO["AWS::AccountId"]) -> dict[str, Any]:
    """Each nested stack that exists for these root parameters -> an intrinsics.Evaluator of it,
    fed with what the root wires in: root parameters, and other children's outputs (evaluated in
    turn; a value only a deploy can know, such as a bucket's name, stays a Symbol)."""
    from .intrinsics import Evaluator, Symbol

    template = documents["root"]
    given = {name: "" for name, spec in template.get("Parameters", {}).items() if "Default" not in spec}
    given.update({k: v for k, v in parameters.items() if k in template.get("Parameters", {})})
    children: dict[str, Evaluator] = {}
    outputs: dict[str, dict] = {}   # a child's outputs, evaluated once however many of them the root reads

    def child(logical_id: str) -> Evaluator:
        if logical_id not in children:
            name = stack_name(logical_id)
            wired = root.value(template["Resources"][logical_id].get("Properties", {}).get("Parameters", {}))
            children[logical_id] = Evaluator(
                documents[name], wired, region=region, account=account,
                resource_value=lambda resource, attribute: Symbol(name, resource, attribute))
        return children[logical_id]

    def output_of(logical_id: str, attribute: str):
        if attribute.startswith("Outputs."):
            if logical_id not in outputs:
                outputs[logical_id] = child(logical_id).outputs()
            return outputs[logical_id].get(attribute.removeprefix("Outputs."), Symbol("root", logical_id, attribute))
        return Symbol("root", logical_id, attribute)

    root = Evaluator(template, given, region=region, account=account, resource_value=output_of)
    return {stack_name(logical_id): child(logical_id) for logical_id, body in root.resources().items()
            if body["Type"] == "AWS::CloudFormation::Stack"}


def stack_name(logical_id: str) -> str:
    """ComputeStack -> compute: the child template a nested stack resource deploys."""
    return logical_id.removesuffix("Stack").lower()


def as_text(value: Any) -> str:
    """A wired value as a parameter string; a value only a deploy knows becomes a placeholder."""
    from .intrinsics import is_symbolic

    if isinstance(value, list):
        return ",".join(as_text(v) for v in value)
    if is_symbolic(value):
        return f"<{getattr(value, 'key', 'deploy-time value')}>"
    return str(value)


def nested_stacks(documents: Mapping[str, dict], parameters: Mapping[str, str],
                  region: str | None = None) -> dict[str, Evaluation]:
    """Each nested stack that exists for these parameters, evaluated with the root's wiring."""
    evaluated = environment(documents, parameters, region or PSEUDO["AWS::Region"])
    return {name: Evaluation(documents[name], {k: as_text(v) for k, v in child.parameters.items()}, region=region)
            for name, child in evaluated.items()}
