"""Wildcard matching as IAM policies use it: action names case-insensitively, ARNs part by part.

- Action names match case-insensitively, with `*` and `?` wildcards
  (reference_policies_elements_action.html).
- Resource ARNs match case-sensitively, part by part: partition, service,
  region and account each on their own, the resource part whole, so a `*`
  there spans `/` and `:` (reference_policies_elements_resource.html).  An
  ARN pattern with fewer than six parts matches nothing.
- `${*}`, `${?}` and `${$}` in a policy are the literal characters
  (reference_policies_variables.html, "Special characters"): language.substitute
  turns them into LITERAL_STAR and LITERAL_QUESTION, which match only themselves.

The matcher is linear in practice and never exponential (a policy is user
input: `*a*a*a*a*a*a*ab` against a long name must not stall the endpoint).

Tests: test_actions_match_case_insensitively_with_wildcards, test_resources_match_part_by_part_and_the_last_part_whole,
test_wildcards_cannot_stall_the_endpoint.
"""

from __future__ import annotations

from typing import Any

ARN_PARTS = 6
LITERAL_STAR, LITERAL_QUESTION = "\ue000", "\ue001"
LITERALS = {LITERAL_STAR: "*", LITERAL_QUESTION: "?"}


def listed(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """`*` any run of characters, `?` one character; the rest literally.  Greedy with one backtrack point
    (the last star): O(len(pattern) * len(value)) at worst."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    p = v = 0
    star, mark = -1, 0
    while v < len(value):
        if p < len(pattern) and pattern[p] == "*":
            star, mark = p, v
            p += 1
        elif p < len(pattern) and (pattern[p] == "?" or LITERALS.get(pattern[p], pattern[p]) == value[v]):
            p += 1
            v += 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            v = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def action_matches(pattern: str, action: str) -> bool:
    """`s3:Get*` matches `s3:GetObject`; `*` every action (case-insensitive)."""
    return pattern == "*" or glob_match(pattern, action, ignore_case=True)


def resource_matches(pattern: str, resource: str) -> bool:
    """ARN against ARN pattern, part by part; `*` alone matches everything."""
    if pattern == "*":
        return True
    if not pattern.startswith("arn:") or not resource.startswith("arn:"):
        return glob_match(pattern, resource)
    wanted, actual = pattern.split(":", ARN_PARTS - 1), resource.split(":", ARN_PARTS - 1)
    if len(wanted) != ARN_PARTS or len(actual) != ARN_PARTS:
        return False
    return all(glob_match(w, a) for w, a in zip(wanted, actual))
