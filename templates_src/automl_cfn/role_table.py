"""The README's table of roles: who assumes each, what it may do, on what, and when.

Written from the generated templates as the full-featured configuration
(settings.FULL_FEATURED) deploys them, so that every optional role and policy
appears, with other stacks' resources named by their logical IDs.  When a
role or one of its policies exists only with a feature, the condition around
it in the template says so; FEATURES turns each such condition into the
setting that brings it, and a condition it does not know stops the table (a
new one must be described before the README can claim to be complete).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator, Mapping, NamedTuple

# Conditions a role or a policy may be under -> the settings that bring it.
FEATURES = {
    "HasKmsKey": "with `kms_key`",
    "HasApiKeySecret": "with `api_key_secret`",
    "StepFunctionsEnabled": "with `enable_stepfunctions`",
    "PipelineScheduled": "with `pipeline_schedule`",
    "RetrainsOnNewData": "with `retrain_on_new_data`",
    "HasModelQualityGate": "with `model_quality_metric`",
    "ShiftsTraffic": "with `deployment_strategy` blue_green, canary or linear",
    "FlowLogsEnabled": "with `enable_flow_logs`",
    "CreatesRecorder": "where `automl-cfn baseline` creates the AWS Config recorder",
}

# How a policy condition's operator reads.
OPERATORS = {"StringEquals": "=", "StringLike": "like", "ArnEquals": "=", "ArnLike": "like"}

# ${...} in Fn::Sub that are the same in every environment's table.
PLACEHOLDERS = {"ProjectName": "<project>", "Environment": "<env>", "AWS::Region": "<region>",
                "AWS::AccountId": "<account>", "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}

SYMBOL = re.compile(r"^<(?:[a-z]+)/([A-Za-z0-9]+)\.[A-Za-z.]+>$")     # a wired value: <stack/LogicalId.Attribute>
ARN_HEAD = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:")


class UnknownCondition(ValueError):
    """A role or policy under a condition FEATURES does not describe."""


class Row(NamedTuple):
    role: str
    assumed_by: str
    actions: str
    resources: str
    when: str


def markdown(documents: Mapping[str, dict], full: Mapping[str, dict], account: Mapping[str, dict]) -> str:
    """The table: `documents` are the generated templates, `full` the same templates as the full-featured
    configuration resolves them (scan.resolved), `account` the account baseline's template."""
    from .evaluate import Evaluation

    baseline = {name: _resolved_roles(Evaluation(doc, {"CreateRecorder": "true"})) for name, doc in account.items()}
    lines = ["| Role | Assumed by | May | On | Only |", "|---|---|---|---|---|"]
    for raw, resolved in ((documents, full), (account, baseline)):
        for name, template in raw.items():
            for logical_id, body in template.get("Resources", {}).items():
                if body["Type"] == "AWS::IAM::Role":
                    lines += [_line(row) for row in rows(logical_id, body, _role_of(resolved, name, logical_id))]
    return "\n".join(lines) + "\n"


def _resolved_roles(evaluation) -> dict:
    return {"Resources": evaluation.of_type("AWS::IAM::Role")}


def _role_of(resolved: Mapping[str, dict], name: str, logical_id: str) -> dict:
    try:
        return resolved[name]["Resources"][logical_id]
    except KeyError:
        raise UnknownCondition(f"role {logical_id} of {name} does not exist in the full-featured configuration: "
                               "add the setting that brings it to settings.FULL_FEATURED") from None


def rows(logical_id: str, raw: dict, resolved: dict) -> Iterator[Row]:
    """One row per statement (the role's name and principal on the first), managed policies last."""
    first = True

    def row(actions: str, resources: str, when: str) -> Row:
        nonlocal first
        role = f"`{logical_id}`" + (f", {feature(raw['Condition'])}" if first and "Condition" in raw else "")
        assumed = assumed_by(resolved["Properties"]["AssumeRolePolicyDocument"]) if first else ""
        named, first = (role if first else ""), False
        return Row(named, assumed, actions, resources, when)

    features = policy_features(raw["Properties"].get("Policies", []))
    for policy in resolved["Properties"].get("Policies", []):
        when = features[json.dumps(policy["PolicyName"], sort_keys=True)]
        for statement in policy["PolicyDocument"]["Statement"]:
            only = "; ".join(filter(None, [when, condition(statement.get("Condition"))]))
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            yield row(actions(statement["Action"]), ", ".join(f"`{readable(r)}`" for r in resources), only)
    for arn in resolved["Properties"].get("ManagedPolicyArns", []):
        yield row(f"AWS managed policy `{readable(arn).removeprefix('policy/')}`", "what that policy names", "")


def policy_features(policies: list) -> dict[str, str]:
    """Policy name -> the feature it comes with ("" for always), from the Fn::If around it."""
    found = {}
    for policy in policies:
        when = ""
        if "Fn::If" in policy:
            name, policy, _ = policy["Fn::If"]
            when = feature(name)
        statements = policy["PolicyDocument"].get("Statement", [])
        if isinstance(statements, dict) or any(isinstance(s, dict) and "Fn::If" in s for s in statements):
            raise UnknownCondition(f"policy {policy['PolicyName']} has a statement under a condition: the table "
                                   "shows conditions on roles and whole policies only")
        found[json.dumps(policy["PolicyName"], sort_keys=True)] = when
    return found


def feature(condition_name: str) -> str:
    if condition_name not in FEATURES:
        raise UnknownCondition(f"condition {condition_name}: say in role_table.FEATURES which settings bring it")
    return FEATURES[condition_name]


def assumed_by(trust: dict) -> str:
    """The services that may assume the role, and whether only for this account."""
    parts = []
    for statement in trust["Statement"]:
        services = statement["Principal"]["Service"]
        for service in [services] if isinstance(services, str) else services:
            source = "aws:SourceAccount" in statement.get("Condition", {}).get("StringEquals", {})
            parts.append(f"`{service}`" + (" for this account" if source else ""))
    return ", ".join(parts)


def actions(names: list[str] | str) -> str:
    """`s3: GetObject, PutObject`; one group per service, in the order given."""
    grouped: dict[str, list[str]] = {}
    for action in [names] if isinstance(names, str) else names:
        service, name = action.split(":", 1)
        grouped.setdefault(service, []).append(name)
    return "; ".join(f"{service}: {', '.join(names)}" for service, names in grouped.items())


def condition(conditions: dict | None) -> str:
    parts = []
    for operator, keys in (conditions or {}).items():
        for key, values in keys.items():
            shown = " or ".join(f"`{readable(v)}`" for v in (values if isinstance(values, list) else [values]))
            parts.append(f"`{key}` {OPERATORS.get(operator, operator)} {shown}")
    return "; ".join(parts)


def readable(value: Any) -> str:
    """A resource as the table shows it: `*`, another stack's resource by logical ID, an ARN pattern without
    its partition, region and account."""
    if isinstance(value, str):
        symbol = SYMBOL.match(value)
        if symbol:
            return symbol.group(1)
        return ARN_HEAD.sub("", value)
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        names = {**PLACEHOLDERS, **{k: readable(v) for k, v in variables.items()}}
        return readable(re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], text))
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return value["Fn::GetAtt"][0]
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return value["Ref"]
    raise ValueError(f"cannot show {value!r} in the role table")


def _line(row: Row) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"


def generate(root: Path, documents: Mapping[str, dict], account: Mapping[str, dict]) -> str:
    """The table for the project at `root`: its templates and account templates (parsed), resolved for the
    full-featured configuration over its environments (what `make scan` judges as "full")."""
    from .scan import FULL, environments, resolved

    return markdown(documents, resolved(documents, environments(root)[FULL]), account)
