"""Who calls StackSets, and a client that says so: CallAs on every StackSets request of a service-managed set.

Service-managed stack sets live in the organization's management account, those a delegated administrator
makes as well (API_CreateStackSet.html, CallAs).  The management account calls them as SELF; a member account
registered as a StackSets delegated administrator (stacksets-orgs-delegated-admin.html) calls them as
DELEGATED_ADMIN; AWS refuses every other member.  The targets file may say which (call_as:); either way
organizations:DescribeOrganization tells (from the management account SELF, from a member DELEGATED_ADMIN), and
a file that contradicts the organisation is refused before anything is made.  Self-managed stack sets take no
CallAs (it is valid only for SERVICE_MANAGED).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from ..errors import RefusedError, UserError
from .aws import error_code

SELF, DELEGATED_ADMIN = "SELF", "DELEGATED_ADMIN"
SERVICE_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
NOT_DELEGATED = "Account used is not a delegated administrator"   # AWS's ValidationError


@dataclass(frozen=True)
class Caller:
    account: str
    call_as: str = ""          # "" for a self-managed stack set (no CallAs), else SELF or DELEGATED_ADMIN
    organization: str = ""     # as DescribeOrganization answered ("" when not asked or not allowed to)
    management: str = ""

    def explain(self) -> str:
        """Said in the review: as whom, and where the stack set lives."""
        if self.call_as == DELEGATED_ADMIN:
            home = f"management account {self.management}" if self.management else "the management account"
            return (f"called as DELEGATED_ADMIN from account {self.account}; the stack set lives in the {home}"
                    + (f" of {self.organization}" if self.organization else ""))
        if self.call_as == SELF:
            return f"called as SELF from the management account {self.account}" if self.management else \
                "called as SELF (the organisation could not be read: organizations:DescribeOrganization)"
        return ""

    def not_registered(self) -> RefusedError:
        return RefusedError(
            f"account {self.account} is not registered as a StackSets delegated administrator"
            + (f" of {self.organization}" if self.organization else "")
            + f"; the management account{f' ({self.management})' if self.management else ''} registers it: aws "
              f"organizations register-delegated-administrator --account-id {self.account} --service-principal "
              f"{SERVICE_PRINCIPAL} (AWS gives the same answer when these credentials lack "
              "organizations:ListDelegatedAdministrators: stacksets-orgs-delegated-admin.html)")


class StackSetsClient:
    """The CloudFormation client as the caller: each operation that takes CallAs (botocore's model says which)
    gets the caller's; every other call goes through unchanged."""

    def __init__(self, cfn, caller: Caller):
        self.cfn, self.caller = cfn, caller

    def takes_call_as(self, method: str) -> bool:
        operation = self.cfn.meta.method_to_api_mapping.get(method)
        return bool(self.caller.call_as) and operation is not None and \
            "CallAs" in self.cfn.meta.service_model.operation_model(operation).input_shape.members

    def __getattr__(self, method: str):
        call = getattr(self.cfn, method)
        return partial(call, CallAs=self.caller.call_as) if self.takes_call_as(method) else call

    def get_paginator(self, method: str):
        paginator = self.cfn.get_paginator(method)
        if not self.takes_call_as(method):
            return paginator
        return _WithCallAs(paginator, self.caller.call_as)


@dataclass
class _WithCallAs:
    paginator: object
    call_as: str

    def paginate(self, **kwargs):
        return self.paginator.paginate(CallAs=self.call_as, **kwargs)


def organization_of(target) -> dict | None:
    """DescribeOrganization's Organization; {} when the account is in none; None when it may not ask."""
    try:
        return target.aws.client("organizations").describe_organization()["Organization"]
    except Exception as exc:
        code = error_code(exc)
        if code == "AWSOrganizationsNotInUseException":
            return {}
        if code in ("AccessDeniedException", "AccessDenied"):
            return None
        raise


def caller_for(target, targets) -> Caller:
    """Who calls the targets file's stack set, checked against the organisation before anything is made."""
    if not targets.service_managed:
        return Caller(target.account)
    given, account = targets.call_as, target.account
    org = organization_of(target)
    if org is None:                         # may not read it: the file says, else AWS's default
        return Caller(account, given or SELF)
    if not org:
        raise UserError(f"organizational_units need an organisation, and account {account} is in none: "
                        "service-managed StackSets run from its management account or a delegated administrator")
    management = org["MasterAccountId"]
    detected = SELF if management == account else DELEGATED_ADMIN
    if given == SELF and detected == DELEGATED_ADMIN:
        raise UserError(f"targets file: call_as: SELF, but account {account} is a member of {org['Id']}, not its "
                        f"management account ({management}); a member calls service-managed StackSets as "
                        "DELEGATED_ADMIN (registered as a StackSets delegated administrator)")
    if given == DELEGATED_ADMIN and detected == SELF:
        raise UserError(f"targets file: call_as: DELEGATED_ADMIN, but account {account} is the management account "
                        f"of {org['Id']}; it calls as SELF (AWS refuses DELEGATED_ADMIN from it)")
    return Caller(account, detected, org["Id"], management)


def describe(sets: StackSetsClient, name: str) -> dict | None:
    """The stack set, None when there is none; a delegated administrator not registered is refused."""
    try:
        return sets.describe_stack_set(StackSetName=name)["StackSet"]
    except Exception as exc:
        code = error_code(exc)
        if code == "StackSetNotFoundException":
            return None
        if code == "ValidationError" and NOT_DELEGATED in str(exc):
            raise sets.caller.not_registered() from None
        raise


def find(target, name: str) -> tuple[StackSetsClient, dict | None]:
    """The stack set named `name` as this account reaches it, and the client to reach it with (status, drift,
    destroy: no targets file).  Its own first (SELF); from a member account, else the management account's
    as its delegated administrator, when it is registered as one."""
    own = StackSetsClient(target.cfn, Caller(target.account))
    found = describe(own, name)
    if found is not None:
        if found.get("PermissionModel") == "SERVICE_MANAGED":
            own = StackSetsClient(target.cfn, Caller(target.account, SELF, management=target.account))
        return own, found
    org = organization_of(target)
    if not org or org["MasterAccountId"] == target.account:
        return own, None
    delegated = StackSetsClient(target.cfn, Caller(target.account, DELEGATED_ADMIN, org["Id"],
                                                   org["MasterAccountId"]))
    try:
        found = describe(delegated, name)
    except RefusedError:
        return own, None          # not a delegated administrator: only its own stack sets are its
    return (delegated, found) if found is not None else (own, None)
