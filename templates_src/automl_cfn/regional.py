"""What the templates need of the region they deploy to, checked offline.

Two things fail on a real account that no linter sees for a given region:

- a name the templates build (project, environment, region, account) longer
  than its service allows: the limit comes from the provider schema's name
  property (providers.py), and the longest region names are 14 characters;
- an Fn::FindInMap whose map lacks the region: CloudFormation resolves it
  even in the branch of an Fn::If it does not take, so a map keyed by region
  must cover every region the resource can exist in.

Both evaluate each nested stack as the root wires it for one environment
(evaluate.environment), so only resources that exist there are judged.
`preflight` reports them; the region and name tests walk every region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from . import providers
from .evaluate import environment
from .intrinsics import Evaluator, TemplateError, is_symbolic


@dataclass(frozen=True)
class Name:
    where: str        # stack/LogicalId
    type: str
    value: str
    limit: int | None

    @property
    def fits(self) -> bool:
        return self.limit is None or len(self.value) <= self.limit


def explicit_names(documents: Mapping[str, dict], values: Mapping[str, Any], region: str,
                   account: str) -> list[Name]:
    """Every resource name the templates set, as it will be in this environment and region."""
    names = []
    for stack, evaluator in environment(documents, values, region, account).items():
        for logical_id, body in evaluator.resources().items():
            provider = providers.get(body["Type"])
            node = (body.get("Properties") or {}).get(provider.name_property) if provider.name_property else None
            if node is None:
                continue
            value = evaluator.resolved(node)
            if isinstance(value, str) and not is_symbolic(value):
                names.append(Name(f"{stack}/{logical_id}", body["Type"], value, provider.name_max_length))
    return names


def unmapped(documents: Mapping[str, dict], values: Mapping[str, Any], region: str, account: str) -> list[str]:
    """`stack/LogicalId: reason` for every resource or output CloudFormation could not evaluate here."""
    failures = []
    children = environment(documents, values, region, account)
    for stack, evaluator in children.items():
        failures += _evaluate_all(stack, evaluator)
    return failures


def _evaluate_all(stack: str, evaluator: Evaluator) -> list[str]:
    failures = []
    for logical_id, body in evaluator.resources().items():
        try:
            evaluator.value(body.get("Properties", {}))
        except TemplateError as exc:
            failures.append(f"{stack}/{logical_id}: {exc}")
    try:
        evaluator.outputs()
    except TemplateError as exc:
        failures.append(f"{stack} outputs: {exc}")
    return failures
