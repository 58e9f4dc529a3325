"""The IAM policy language: which statements of a document apply to one request.

A statement applies when its Action (or NotAction), Resource (or NotResource),
Principal (or NotPrincipal, resource policies only) and Condition all match
the request.  The rules, each from the IAM JSON policy reference:

- Actions and resources match as patterns.py says.  Policy
  variables (`${aws:username}`, `${aws:PrincipalTag/team}`) are filled from
  the request; one the request lacks matches nothing
  (reference_policies_variables.html).
- Principal `"*"` and `{"AWS": "*"}` are everyone, service principals
  included; an account ID or `arn:...:root` is the account, which hands the
  decision to its own identity policies; a role ARN names every session of
  the role; a session ARN one session (reference_policies_elements_principal.html).

Tests: tests/unit/test_policy_evaluation.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .conditions import holds
from .patterns import LITERAL_QUESTION, LITERAL_STAR, action_matches, listed, resource_matches

VARIABLE = re.compile(r"\$\{([^}]+)\}")
LITERALS = {"*": LITERAL_STAR, "?": LITERAL_QUESTION, "$": "$"}   # ${*} is a star, not a wildcard
NO_VALUE = "\x00no such policy variable\x00"   # a value nothing matches


def substitute(text: str, context: dict[str, Any]) -> str:
    """Fill policy variables from the request context; one the context lacks matches nothing."""
    if "${" not in text:
        return text

    def value(match: re.Match) -> str:
        name, _, default = match.group(1).partition(",")
        name = name.strip()
        if name in LITERALS:
            return LITERALS[name]
        found = context.get(name)
        if found is None:
            for key, candidate in context.items():   # context keys are case-insensitive
                if key.lower() == name.lower():
                    found = candidate
                    break
        if found is None:
            default = default.strip().strip("'")
            return default if default else NO_VALUE
        return found if isinstance(found, str) else str(found)

    return VARIABLE.sub(value, text)


@dataclass(frozen=True)
class Caller:
    """Who makes the request, as a resource policy's Principal element sees it."""

    kind: str                      # root, user, role-session, service, federated, anonymous
    account: str = ""
    arn: str = ""                  # user ARN, assumed-role session ARN, account root ARN
    role_arn: str = ""             # the role of a session
    service: str = ""              # a service principal, e.g. events.amazonaws.com
    provider: str = ""             # the identity provider of a web-identity caller
    bounded: bool = False          # carries a permissions boundary


# How strongly a resource policy's Allow names the caller: a session or user named directly is allowed
# whatever its boundary says; a role ARN (or everyone) is limited by the boundary; the account only hands
# the decision to the account's identity policies.  reference_policies_evaluation-logic_policy-eval-basics.html
NAMED_DIRECTLY, NAMED_AS_ROLE, NAMED_AS_ACCOUNT = "directly", "as-role", "as-account"


def principal_grant(element: Any, caller: Caller) -> str | None:
    """How the statement's Principal names the caller, or None when it does not."""
    if element == "*":
        return NAMED_AS_ROLE
    if not isinstance(element, dict):
        return None
    best = None
    for value in listed(element.get("AWS")):
        value = str(value)
        found = aws_principal_grant(value, caller)
        if found == NAMED_DIRECTLY:
            return found
        best = best or found
        if found == NAMED_AS_ROLE:
            best = found
    if caller.kind == "service" and any(_service_matches(s, caller.service) for s in listed(element.get("Service"))):
        return NAMED_DIRECTLY
    if caller.kind == "federated" and caller.provider in [str(p) for p in listed(element.get("Federated"))]:
        return NAMED_DIRECTLY
    return best


def aws_principal_grant(value: str, caller: Caller) -> str | None:
    if value == "*":
        return NAMED_AS_ROLE
    if caller.kind in ("service", "anonymous", "federated"):
        return None
    if value == caller.account or value == f"arn:aws:iam::{caller.account}:root":
        return NAMED_AS_ACCOUNT
    if caller.kind == "root":
        return None
    if value == caller.arn:
        return NAMED_DIRECTLY
    if caller.kind == "role-session" and value == caller.role_arn:
        return NAMED_AS_ROLE
    return None


def _service_matches(named: str, service: str) -> bool:
    """`logs.us-east-1.amazonaws.com` names the regional form of the service; both forms count."""
    if named == service:
        return True
    short, regional = named.split(".")[0], service.split(".")[0]
    return short == regional and named.endswith(".amazonaws.com") and service.endswith(".amazonaws.com")


@dataclass
class Statement:
    effect: str
    sid: str
    body: dict

    def applies(self, action: str, resource: str, context: dict, caller: Caller | None = None,
                resource_policy: bool = False) -> str | None:
        """None when the statement does not apply; otherwise how it names the caller
        (NAMED_DIRECTLY for identity policies, whose subject is the caller)."""
        body = self.body
        if "NotAction" in body:
            if any(action_matches(p, action) for p in listed(body["NotAction"])):
                return None
        elif not any(action_matches(p, action) for p in listed(body.get("Action"))):
            return None
        if "NotResource" in body:
            if any(resource_matches(substitute(str(p), context), resource) for p in listed(body["NotResource"])):
                return None
        elif "Resource" in body:
            if not any(resource_matches(substitute(str(p), context), resource) for p in listed(body["Resource"])):
                return None
        elif not resource_policy:
            return None   # an identity policy statement without Resource grants nothing
        grant = NAMED_DIRECTLY
        if resource_policy:
            if "NotPrincipal" in body:
                # A Deny with NotPrincipal always denies a principal that has a permissions boundary
                # (reference_policies_elements_notprincipal.html).
                spared = principal_grant(body["NotPrincipal"], caller) and not (
                    self.effect == "Deny" and caller is not None and caller.bounded)
                grant = None if spared else NAMED_AS_ROLE
            else:
                grant = principal_grant(body.get("Principal"), caller)
            if grant is None:
                return None
        if not conditions_hold(body.get("Condition") or {}, context):
            return None
        return grant


def conditions_hold(condition: dict, context: dict) -> bool:
    """Every operator and every key under it must hold (AND); a key's values are alternatives (OR)."""
    for operator, pairs in condition.items():
        for key, expected in (pairs or {}).items():
            values = [substitute(str(v), context) if isinstance(v, str) else v for v in listed(expected)]
            if not holds(operator, values, lookup(context, key)):
                return False
    return True


def lookup(context: dict, key: str) -> Any:
    """Condition keys are case-insensitive (their values are not)."""
    if key in context:
        return context[key]
    lowered = key.lower()
    for name, value in context.items():
        if name.lower() == lowered:
            return value
    return None


@dataclass
class Policy:
    """One policy document, with where it came from (for messages)."""

    statements: list[Statement]
    source: str = ""
    kind: str = "identity"   # identity, resource, boundary, session
    document: dict = field(default_factory=dict)

    @classmethod
    def of(cls, document: Any, source: str = "", kind: str = "identity") -> "Policy":
        if isinstance(document, (str, bytes)):
            document = json.loads(document or "{}")
        statements = [Statement(str(s.get("Effect", "")), str(s.get("Sid", "")), s)
                      for s in listed((document or {}).get("Statement")) if isinstance(s, dict)]
        return cls(statements, source, kind, document or {})

    def matching(self, effect: str, action: str, resource: str, context: dict,
                 caller: Caller | None = None) -> Iterable[tuple[Statement, str]]:
        for statement in self.statements:
            if statement.effect != effect:
                continue
            grant = statement.applies(action, resource, context, caller, resource_policy=self.kind == "resource")
            if grant is not None:
                yield statement, grant
