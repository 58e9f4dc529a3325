"""Condition operators, as the IAM JSON policy reference defines them
(reference_policies_elements_condition_operators.html):

- A key the request lacks makes the condition false, except for negated
  operators (StringNotEquals, ArnNotLike, ...), where it makes it true, and
  for `...IfExists` (true when absent) and `Null` (tests presence).
- A condition's values are alternatives: one match is enough; a negated
  operator holds when none matches.
- `ForAnyValue:` holds when some value of a multivalued key matches (false
  when the key is absent or empty); `ForAllValues:` when every value matches
  (true when absent or empty) (reference_policies_condition-single-vs-multi-valued-context-keys.html).

Tests: tests/unit/test_policy_evaluation.py.
"""

from __future__ import annotations

import base64
import ipaddress
from datetime import datetime, timezone
from typing import Any, Callable

from . import patterns


def _string(expected: str, actual: Any) -> bool:
    return str(actual) == expected


def _string_ignore_case(expected: str, actual: Any) -> bool:
    return str(actual).lower() == expected.lower()


def _string_like(expected: str, actual: Any) -> bool:
    return patterns.glob_match(expected, str(actual))


def _number(compare: Callable[[float, float], bool]) -> Callable[[str, Any], bool]:
    def match(expected: str, actual: Any) -> bool:
        try:
            return compare(float(actual), float(expected))
        except (TypeError, ValueError):
            return False
    return match


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text), timezone.utc)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _date(compare: Callable[[datetime, datetime], bool]) -> Callable[[str, Any], bool]:
    def match(expected: str, actual: Any) -> bool:
        a, e = _instant(actual), _instant(expected)
        return a is not None and e is not None and compare(a, e)
    return match


def _bool(expected: str, actual: Any) -> bool:
    return str(actual).lower() == str(expected).lower()


def _binary(expected: str, actual: Any) -> bool:
    data = actual if isinstance(actual, bytes) else str(actual).encode()
    return base64.b64encode(data).decode() == expected


def _ip(expected: str, actual: Any) -> bool:
    try:
        return ipaddress.ip_address(str(actual)) in ipaddress.ip_network(expected, strict=False)
    except ValueError:
        return False


def _arn_like(expected: str, actual: Any) -> bool:
    return patterns.resource_matches(expected, str(actual))


# operator -> (value test, negated)
OPERATORS: dict[str, tuple[Callable[[str, Any], bool], bool]] = {
    "StringEquals": (_string, False), "StringNotEquals": (_string, True),
    "StringEqualsIgnoreCase": (_string_ignore_case, False), "StringNotEqualsIgnoreCase": (_string_ignore_case, True),
    "StringLike": (_string_like, False), "StringNotLike": (_string_like, True),
    "NumericEquals": (_number(lambda a, e: a == e), False), "NumericNotEquals": (_number(lambda a, e: a == e), True),
    "NumericLessThan": (_number(lambda a, e: a < e), False),
    "NumericLessThanEquals": (_number(lambda a, e: a <= e), False),
    "NumericGreaterThan": (_number(lambda a, e: a > e), False),
    "NumericGreaterThanEquals": (_number(lambda a, e: a >= e), False),
    "DateEquals": (_date(lambda a, e: a == e), False), "DateNotEquals": (_date(lambda a, e: a == e), True),
    "DateLessThan": (_date(lambda a, e: a < e), False), "DateLessThanEquals": (_date(lambda a, e: a <= e), False),
    "DateGreaterThan": (_date(lambda a, e: a > e), False),
    "DateGreaterThanEquals": (_date(lambda a, e: a >= e), False),
    "Bool": (_bool, False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_ip, False), "NotIpAddress": (_ip, True),
    "ArnEquals": (_arn_like, False), "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True), "ArnNotLike": (_arn_like, True),
}


class UnknownOperator(ValueError):
    pass


def holds(operator: str, expected: list, actual: Any) -> bool:
    """Does `operator` with the policy's `expected` values hold for the request's `actual` value?"""
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists") and name != "IfExists"
    name = name.removesuffix("IfExists") if if_exists else name
    values = [] if actual is None else actual if isinstance(actual, list) else [actual]
    if name == "Null":
        # Null true: the key must be absent; false: present.
        return any(str(e).lower() == ("true" if not values else "false") for e in expected)
    if name not in OPERATORS:
        raise UnknownOperator(operator)
    test, negated = OPERATORS[name]
    if not name.endswith("Like"):      # ${*} and ${?} were literal all along
        expected = [str(e).replace(patterns.LITERAL_STAR, "*").replace(patterns.LITERAL_QUESTION, "?")
                    for e in expected]

    def one(value: Any) -> bool:
        matched = any(test(str(e), value) for e in expected)
        return not matched if negated else matched

    if qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    if not values:
        return True if if_exists else negated
    if negated:
        return all(one(v) for v in values)
    return any(one(v) for v in values)
