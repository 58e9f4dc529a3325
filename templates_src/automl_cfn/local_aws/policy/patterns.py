"""Wildcard matching as IAM policies use it: action names case-insensitively, ARNs part by part.

- Action names match case-insensitively, with `*` and `?` wildcards
  (reference_policies_elements_action.html).
- Resource ARNs match case-sensitively, part by part: partition, service,
  region and account each on their own, the resource part whole, so a `*`
  there spans `/` and `:` (reference_policies_elements_resource.html).

Tests: test_actions_match_case_insensitively_with_wildcards, test_resources_match_part_by_part_and_the_last_part_whole.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

ARN_PARTS = 6


def listed(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).match(value) is not None


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
        return glob_match(pattern, resource)
    return all(glob_match(w, a) for w, a in zip(wanted, actual))
