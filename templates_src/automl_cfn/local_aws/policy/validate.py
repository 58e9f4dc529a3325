"""Policy documents as AWS accepts them when they are stored, by the grammar and the quotas.

AWS refuses a malformed policy when it is written (IAM's MalformedPolicyDocument,
S3's MalformedPolicy, KMS's MalformedPolicyDocumentException, SQS's
InvalidAttributeValue, SNS's InvalidParameter), so no request is ever judged
by one.  moto stores anything.  The grammar (reference_policies_grammar.html):

- a JSON object whose Statement is a statement or a non-empty list of them;
- each statement: Effect Allow or Deny; exactly one of Action and NotAction
  (strings); in an identity policy exactly one of Resource and NotResource and
  no Principal; in a resource policy a Principal or NotPrincipal (NotPrincipal
  only with Deny: "not supported" with Allow, reference_policies_elements_notprincipal.html);
- Condition: operator -> condition key -> value or list of values, every
  operator one IAM knows (with IfExists, ForAnyValue: and ForAllValues:).

Sizes, whitespace not counted (reference_iam-quotas.html, and each
service's quotas page): a managed policy 6,144 characters, a role's inline
policies 10,240 together, a trust policy 2,048, a session policy 2,048,
a bucket policy 20 KB, a key policy 32 KB, a queue policy 20 KB, a topic
policy 30 KB.

Test: test_malformed_policies_are_refused_where_they_are_stored.
"""

from __future__ import annotations

import json
from typing import Any

from .conditions import OPERATORS

SIZES = {"managed": 6_144, "inline-role": 10_240, "trust": 2_048, "session": 2_048, "bucket": 20_480,
         "key": 32_768, "queue": 20_480, "topic": 30_720}
PRINCIPAL_KINDS = {"AWS", "Service", "Federated", "CanonicalUser"}
SCALARS = (str, bool, int, float)


class InvalidPolicy(ValueError):
    pass


def parse(document: Any) -> Any:
    if isinstance(document, (dict, list)):
        return document
    try:
        return json.loads(document)
    except (ValueError, TypeError, RecursionError):
        raise InvalidPolicy("the policy is not a JSON document") from None


def size_of(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def check(document: Any, kind: str, size: str | None = None) -> dict:
    """The document, parsed, if AWS would store it; InvalidPolicy naming the first problem otherwise.
    `kind`: identity, resource or trust (a role's trust policy: a resource policy without Resource)."""
    parsed = parse(document)
    try:
        if not isinstance(parsed, dict):
            raise InvalidPolicy("the policy must be a JSON object")
        if size and size_of(parsed) > SIZES[size]:
            raise InvalidPolicy(f"the policy is {size_of(parsed)} characters; at most {SIZES[size]} are allowed")
        statements = parsed.get("Statement")
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list) or not statements:
            raise InvalidPolicy("the policy has no Statement")
        for number, statement in enumerate(statements, 1):
            check_statement(statement, kind, number)
    except RecursionError:
        raise InvalidPolicy("the policy nests too deeply") from None
    return parsed


def check_statement(statement: Any, kind: str, number: int) -> None:
    where = f"statement {number}"
    if not isinstance(statement, dict):
        raise InvalidPolicy(f"{where} is not an object")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise InvalidPolicy(f"{where}: Effect must be Allow or Deny")
    _exactly_one_list_of_strings(statement, ("Action", "NotAction"), where, required=True)
    _exactly_one_list_of_strings(statement, ("Resource", "NotResource"), where, required=kind == "identity")
    principals = [key for key in ("Principal", "NotPrincipal") if key in statement]
    if kind == "identity" and principals:
        raise InvalidPolicy(f"{where}: an identity policy names no Principal")
    if kind != "identity":
        if len(principals) != 1:
            raise InvalidPolicy(f"{where}: a resource policy needs exactly one of Principal and NotPrincipal")
        if principals == ["NotPrincipal"] and statement["Effect"] == "Allow":
            raise InvalidPolicy(f"{where}: NotPrincipal with Allow is not supported")
        check_principal(statement[principals[0]], where)
    check_condition(statement.get("Condition", {}), where)


def _exactly_one_list_of_strings(statement: dict, names: tuple[str, str], where: str, required: bool) -> None:
    present = [name for name in names if name in statement]
    if len(present) > 1 or (required and not present):
        raise InvalidPolicy(f"{where}: needs exactly one of {' and '.join(names)}")
    for name in present:
        value = statement[name]
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            raise InvalidPolicy(f"{where}: {name} must be a string or a list of strings")


def check_principal(principal: Any, where: str) -> None:
    if principal == "*":
        return
    if not isinstance(principal, dict) or not principal or not set(principal) <= PRINCIPAL_KINDS:
        raise InvalidPolicy(f"{where}: Principal must be \"*\" or name {', '.join(sorted(PRINCIPAL_KINDS))}")
    for value in principal.values():
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            raise InvalidPolicy(f"{where}: each principal must be a string")


def operator_known(operator: str) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return False
    if name == "Null":
        return True
    base = name.removesuffix("IfExists") if name != "IfExists" else name
    return base in OPERATORS


def check_condition(condition: Any, where: str) -> None:
    if not isinstance(condition, dict):
        raise InvalidPolicy(f"{where}: Condition must be an object")
    for operator, pairs in condition.items():
        if not operator_known(operator):
            raise InvalidPolicy(f"{where}: unknown condition operator {operator}")
        if not isinstance(pairs, dict) or not pairs:
            raise InvalidPolicy(f"{where}: {operator} must map condition keys to values")
        for key, value in pairs.items():
            values = value if isinstance(value, list) else [value]
            if not isinstance(key, str) or not values or not all(isinstance(v, SCALARS) for v in values):
                raise InvalidPolicy(f"{where}: {operator} {key}: values must be strings, numbers or booleans")
