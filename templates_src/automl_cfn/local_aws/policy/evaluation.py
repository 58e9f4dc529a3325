"""AWS's policy evaluation logic: one request, every policy that applies to it, one decision.

The order AWS documents (reference_policies_evaluation-logic_policy-eval-denyallow.html,
reference_policies_evaluation-logic_policy-eval-basics.html,
reference_policies_evaluation-logic-cross-account.html):

1. An explicit Deny in any applicable policy (identity, resource, permissions
   boundary, session) decides: denied.
2. Within one account, an Allow in either the identity policies or the
   resource policy is enough, with two refinements for a role session: a
   resource policy that names the role (not the session) is limited by the
   role's permissions boundary, and an identity policy always is.  A resource
   policy that names only the account hands the decision to the identity
   policies.
3. Across accounts both sides must allow: the caller's identity policies
   (within its boundary) and the resource policy.
4. Some resources must allow in their own policy whatever IAM says: a KMS key
   (kms/latest/developerguide/key-policy-overview.html: "no AWS principal has
   any permission to a KMS key unless it is explicitly allowed in the key
   policy"; a key policy that allows the account enables IAM policies) and a
   role's trust policy for sts:AssumeRole.
5. A service principal (events.amazonaws.com delivering to a queue) has no
   identity policies: only the resource policy can allow it.
6. The account's root user is allowed, except where a resource policy denies
   it or a key policy does not allow the account.

Tests: tests/unit/test_policy_evaluation.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .language import NAMED_AS_ACCOUNT, NAMED_AS_ROLE, NAMED_DIRECTLY, Caller, Policy

POLICY_NAMES = {"identity": "identity-based policy", "resource": "resource-based policy",
                "boundary": "permissions boundary", "session": "session policy"}


@dataclass
class Request:
    """One action on one resource by one caller, with the request context's condition keys."""

    caller: Caller
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)
    resource_account: str = ""          # "" for a resource in the caller's account (or none)


@dataclass
class Subject:
    """What applies to the caller: its identity policies, its boundary and its session policy (if any)."""

    identity: list[Policy] = field(default_factory=list)
    boundary: Policy | None = None
    session: Policy | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""      # why not: the clause AWS's message ends with

    def message(self, request: Request) -> str:
        """The AccessDenied message AWS gives (troubleshoot_access-denied.html)."""
        who = request.caller.arn or request.caller.service or "anonymous"
        where = request.resource or "*"
        return f"User: {who} is not authorized to perform: {request.action} on resource: {where} {self.reason}"


ALLOWED = Decision(True)


def decide(request: Request, subject: Subject | None = None, resource_policy: Policy | None = None,
           resource_policy_required: bool = False) -> Decision:
    """Allow or deny `request` under the caller's policies (`subject`) and the resource's policy."""
    subject = subject or Subject()
    caller, action = request.caller, request.action
    own = [(p, p.kind) for p in subject.identity] + [(p, "boundary") for p in [subject.boundary] if p] + \
          [(p, "session") for p in [subject.session] if p]
    applicable = own + ([(resource_policy, "resource")] if resource_policy else [])
    for policy, kind in applicable:
        for _ in policy.matching("Deny", action, request.resource, request.context, caller):
            name = POLICY_NAMES[kind]
            return Decision(False, f"with an explicit deny in {'an' if name[0] in 'aeiou' else 'a'} {name}")

    grant = strongest_grant(resource_policy, request) if resource_policy else None
    if caller.kind == "service" or caller.kind == "anonymous" or caller.kind == "federated":
        return ALLOWED if grant else Decision(False, "because no resource-based policy allows the "
                                                     f"{action} action")
    cross_account = bool(request.resource_account) and request.resource_account != caller.account
    if caller.kind == "root" and not cross_account:
        if resource_policy_required and not grant:
            return Decision(False, f"because no resource-based policy allows the {action} action")
        return ALLOWED

    identity_allows = caller.kind == "root" or any(
        any(True for _ in p.matching("Allow", action, request.resource, request.context)) for p in subject.identity)
    within_boundary = all(any(True for _ in p.matching("Allow", action, request.resource, request.context))
                          for p in (subject.boundary, subject.session) if p is not None)
    limit = "no permissions boundary allows" if subject.boundary is not None and not _allows(
        subject.boundary, request) else "no session policy allows"

    if resource_policy_required or cross_account:
        if grant is None:
            return Decision(False, f"because no resource-based policy allows the {action} action")
        if grant == NAMED_DIRECTLY and not cross_account:
            return ALLOWED
        if grant == NAMED_AS_ROLE and not cross_account:
            return ALLOWED if within_boundary else Decision(False, f"because {limit} the {action} action")
        # The account (or, across accounts, anyone the resource names) still needs the caller's own allow.
        if not identity_allows:
            return Decision(False, f"because no identity-based policy allows the {action} action")
        return ALLOWED if within_boundary else Decision(False, f"because {limit} the {action} action")

    if grant == NAMED_DIRECTLY:
        return ALLOWED
    if grant == NAMED_AS_ROLE and within_boundary:
        return ALLOWED
    if identity_allows and within_boundary:
        return ALLOWED
    if identity_allows:
        return Decision(False, f"because {limit} the {action} action")
    return Decision(False, f"because no identity-based policy allows the {action} action")


def _allows(policy: Policy, request: Request) -> bool:
    return any(True for _ in policy.matching("Allow", request.action, request.resource, request.context))


def strongest_grant(policy: Policy, request: Request) -> str | None:
    """The strongest way an Allow of the resource policy names the caller, if any does."""
    found = {grant for _, grant in policy.matching("Allow", request.action, request.resource, request.context,
                                                   request.caller)}
    for grant in (NAMED_DIRECTLY, NAMED_AS_ROLE, NAMED_AS_ACCOUNT):
        if grant in found:
            if grant == NAMED_AS_ACCOUNT and request.caller.kind not in ("root", "user", "role-session"):
                continue
            return grant
    return None
