"""A small evaluator of identity policies, for the tests to ask what a generated policy allows.

Explicit deny wins, then any allow; a statement matches when its Action and Resource patterns match
(IAM's * and ?) and every condition holds.  Only the operators the generated policies use are known:
StringEquals, StringNotEquals, ArnEquals, ArnNotEquals, ArnLike, StringLike (a key missing from the
request fails all but the negated ones, as IAM does).  It is not the local endpoint's evaluator: it
judges documents, not calls.
"""

from __future__ import annotations

from fnmatch import fnmatchcase


def listed(value) -> list:
    return value if isinstance(value, list) else [value]


def allowed(documents: list[dict], action: str, resource: str, context: dict | None = None) -> bool:
    matching = [s for d in documents for s in d["Statement"] if matches(s, action, resource, context or {})]
    return not any(s["Effect"] == "Deny" for s in matching) and any(s["Effect"] == "Allow" for s in matching)


def matches(statement: dict, action: str, resource: str, context: dict) -> bool:
    if not any(fnmatchcase(action.lower(), pattern.lower()) for pattern in listed(statement["Action"])):
        return False
    if not any(fnmatchcase(resource, pattern) for pattern in listed(statement["Resource"])):
        return False
    for operator, tests in statement.get("Condition", {}).items():
        for key, wanted in tests.items():
            have = context.get(key)
            if operator in ("StringNotEquals", "ArnNotEquals"):
                if have is not None and set(listed(have)) & set(listed(wanted)):
                    return False
                continue
            if operator not in ("StringEquals", "ArnEquals", "ArnLike", "StringLike"):
                raise NotImplementedError(operator)
            if have is None:
                return False
            like = operator != "StringEquals"
            if not any((fnmatchcase(h, w) if like else h == w) for h in listed(have) for w in listed(wanted)):
                return False
    return True
