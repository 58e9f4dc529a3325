"""StackSets in strict mode: operations carried out on the strict engine's stacks in each target account.

moto's StackSets record instances and report every operation SUCCEEDED at
once: it ignores operation preferences (region order, failure tolerance,
concurrency), never checks the execution role a self-managed target account
must have, and names instance stacks `StackSet:NAME`, which CloudFormation
refuses.  Here an operation runs its instances region by region, in batches
of the maximum concurrent accounts, and stops once more accounts failed in a
region than the failure tolerance allows: the rest are CANCELLED and the
operation FAILED (tests/integration/test_stacksets.py).  Each instance is a
stack named `StackSet-NAME-UUID` in its account and region's strict backend,
so nested stacks, retention and the templates' rules apply to it as to any
other stack.  Operations finish within the request (real ones run on; callers
poll DescribeStackSetOperation either way).  Drift detection reports every
instance IN_SYNC: the engine keeps no drift.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from .engine import CLOCK, Backend, CfnError, Stack, validation

EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
ADMINISTRATION_ROLE = "AWSCloudFormationStackSetAdministrationRole"
FAILED_STACK = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "UPDATE_ROLLBACK_COMPLETE",
                "UPDATE_ROLLBACK_FAILED", "UPDATE_FAILED", "DELETE_FAILED")


@dataclass
class Instance:
    account: str
    region: str
    ou: str = ""
    stack_id: str = ""
    status: str = "OUTDATED"          # CURRENT | OUTDATED | INOPERABLE
    detailed: str = "PENDING"         # PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | INOPERABLE
    reason: str = ""
    overrides: dict[str, str] = field(default_factory=dict)
    last_operation: str = ""


@dataclass
class Operation:
    operation_id: str
    action: str
    preferences: dict
    retain_stacks: bool = False
    status: str = "RUNNING"
    reason: str = ""
    created: datetime = field(default_factory=CLOCK.now)
    ended: datetime | None = None
    results: list[dict] = field(default_factory=list)


@dataclass
class StackSet:
    name: str
    set_id: str
    account: str
    region: str
    template: dict
    body: str
    parameters: dict[str, str]
    capabilities: list[str]
    tags: dict[str, str]
    permission_model: str
    auto_deployment: dict
    admin_role: str
    execution_role: str
    description: str = ""
    status: str = "ACTIVE"
    instances: dict[tuple[str, str], Instance] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    ous: list[str] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.account}:stackset/{self.set_id}"


SETS: dict[tuple[str, str], dict[str, StackSet]] = {}   # (account, region) -> name -> stack set


def reset() -> None:
    SETS.clear()


def sets_of(account: str, region: str) -> dict[str, StackSet]:
    """The stack sets that live in this account and region (a service-managed one in the management account,
    whoever made it: stacksets_callers.py)."""
    return SETS.setdefault((account, region), {})


# -- organisations ------------------------------------------------------------------

def organization_accounts(admin: str, ou_ids: list[str]) -> list[tuple[str, str]]:
    """(account, OU) for every account under these OUs (nested OUs included), seen from the management
    account `admin`, where a service-managed stack set lives."""
    from moto.organizations.models import organizations_backends

    organizations = organizations_backends[admin]["aws"]
    if organizations.org is None or organizations.org.master_account_id != admin:   # the organisation went
        raise validation("You must be the management account or delegated admin account of an organization before "
                         "operating a SERVICE_MANAGED stack set")
    children: dict[str, list[str]] = {}
    for ou in organizations.ou:
        children.setdefault(getattr(ou, "parent_id", "") or "", []).append(ou.id)
    known = {ou.id for ou in organizations.ou}
    found = []
    for top in ou_ids:
        if top not in known:
            raise validation(f"OrganizationalUnitId {top} does not exist in the organization")
        pending = [top]
        while pending:
            current = pending.pop()
            pending.extend(children.get(current, []))
            found += [(a.id, top) for a in organizations.accounts if a.parent_id == current and a.status == "ACTIVE"]
    return sorted(set(found))


def execution_role_missing(account: str, role: str) -> bool:
    from moto.iam.models import iam_backends

    try:
        iam_backends[account]["aws"].get_role(role)
    except Exception:
        return True
    return False


# -- operations ------------------------------------------------------------------------

def new_operation(stack_set_: StackSet, action: str, preferences: dict, operation_id: str = "",
                  retain_stacks: bool = False) -> Operation:
    if any(op.status == "RUNNING" for op in stack_set_.operations):
        raise CfnError("OperationInProgressException", "Another Operation on StackSet "
                                                       f"{stack_set_.set_id} is in progress")
    operation = Operation(operation_id or str(uuid.uuid4()), action, dict(preferences or {}), retain_stacks)
    stack_set_.operations.append(operation)
    return operation


def tolerance(preferences: dict, accounts: int) -> int:
    if preferences.get("FailureToleranceCount") not in (None, ""):
        return int(preferences["FailureToleranceCount"])
    if preferences.get("FailureTolerancePercentage") not in (None, ""):
        return math.floor(accounts * int(preferences["FailureTolerancePercentage"]) / 100)
    return 0


def concurrency(preferences: dict, accounts: int, tolerated: int) -> int:
    if preferences.get("MaxConcurrentCount") not in (None, ""):
        count = int(preferences["MaxConcurrentCount"])
    elif preferences.get("MaxConcurrentPercentage") not in (None, ""):
        count = max(1, math.floor(accounts * int(preferences["MaxConcurrentPercentage"]) / 100))
    else:
        count = 1
    if preferences.get("ConcurrencyMode", "STRICT_FAILURE_TOLERANCE") == "STRICT_FAILURE_TOLERANCE":
        count = min(count, tolerated + 1)   # never more in flight than may fail
    return max(1, count)


def region_order(preferences: dict, regions: list[str]) -> list[str]:
    first = [r for r in preferences.get("RegionOrder") or [] if r in regions]
    return first + [r for r in regions if r not in first]


def carry_out(stack_set_: StackSet, operation: Operation, targets: list[tuple[str, str]],
              step: Callable[[Instance], tuple[bool, str]]) -> None:
    """Run `step` on each target instance as the preferences say; record every result.  A region whose
    failures exceed the tolerance stops: its remaining accounts are cancelled, and so are the regions after
    it unless regions run in parallel."""
    regions = region_order(operation.preferences, sorted({r for _, r in targets}))
    parallel = operation.preferences.get("RegionConcurrencyType") == "PARALLEL"
    stopped = failed = False
    for region in regions:
        accounts = [a for a, r in targets if r == region]
        tolerated = tolerance(operation.preferences, len(accounts))
        batch = concurrency(operation.preferences, len(accounts), tolerated)
        failures, region_stopped = 0, False
        for start in range(0, len(accounts), batch):
            for account in accounts[start:start + batch]:
                instance = stack_set_.instances.get((account, region)) or Instance(account, region)
                if stopped or region_stopped:
                    record(operation, instance, "CANCELLED", "Cancelled since failure tolerance has exceeded")
                    continue
                ok, reason = as_execution_role(step, instance)
                record(operation, instance, "SUCCEEDED" if ok else "FAILED", reason)
                failures += not ok
            region_stopped = region_stopped or failures > tolerated
        if region_stopped:
            failed = True
            stopped = stopped or not parallel
    operation.status = "FAILED" if failed else "SUCCEEDED"
    operation.reason = "The Operation failed: failure tolerance was exceeded" if failed else ""
    operation.ended = CLOCK.now()


def as_execution_role(step: Callable[[Instance], tuple[bool, str]], instance: Instance) -> tuple[bool, str]:
    """An instance's stack runs as the stack set's execution role in the target account, not as whoever called
    the StackSets API (stacksets-prereqs.html).  The endpoint does not model that role's policies: the instance's
    resource handlers are not asked (local_aws/policy/handlers.py)."""
    from ..policy import enforce

    token = enforce.STACK_CALLER.set(None)
    try:
        return step(instance)
    finally:
        enforce.STACK_CALLER.reset(token)


def record(operation: Operation, instance: Instance, status: str, reason: str) -> None:
    operation.results.append({"Account": instance.account, "Region": instance.region, "Status": status,
                              "StatusReason": reason or None, "OrganizationalUnitId": instance.ou or None,
                              "AccountGateResult": {"Status": "SKIPPED",
                                                    "StatusReason": "No account gate function is configured"}})
    instance.last_operation = operation.operation_id
    if operation.action != "DELETE" or status != "SUCCEEDED":
        instance.detailed = status
        instance.status = "CURRENT" if status == "SUCCEEDED" else "OUTDATED"
        instance.reason = reason if status != "SUCCEEDED" else ""


# -- one instance -------------------------------------------------------------------------

def deploy_instance(stack_set_: StackSet, backend_at: Callable[[str, str], Backend], instance: Instance) -> tuple[bool, str]:
    """Create or update the instance's stack; (succeeded, reason)."""
    if stack_set_.permission_model == "SELF_MANAGED" and execution_role_missing(instance.account,
                                                                                 stack_set_.execution_role):
        return False, (f"Account {instance.account} should have '{stack_set_.execution_role}' role with trust "
                       f"relationship to Role '{stack_set_.admin_role.rsplit('/', 1)[-1]}'.")
    target = backend_at(instance.account, instance.region)
    parameters = {**stack_set_.parameters, **instance.overrides}
    stack = target.find(instance.stack_id) if instance.stack_id else None
    if stack is not None and stack.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):   # a create that failed
        target.delete_stack(stack, token="")
        stack = None
    try:
        if stack is None:
            stack = target.create_stack(
                name=f"StackSet-{stack_set_.name}-{uuid.uuid4()}", template=stack_set_.template,
                body=stack_set_.body, url="", parameters=parameters, tags=stack_set_.tags,
                capabilities=stack_set_.capabilities, disable_rollback=False, on_failure="ROLLBACK", policy="",
                termination_protection=False, retain_except_on_create=False, token="")
            instance.stack_id = stack.stack_id
        else:
            try:
                target.update_stack(stack, stack_set_.template, stack_set_.body, "", parameters, stack_set_.tags,
                                    stack_set_.capabilities, False, "")
            except CfnError as exc:
                if "No updates are to be performed" not in exc.message:
                    raise
                return True, ""
    except CfnError as exc:
        return False, exc.message
    if stack.status in FAILED_STACK:
        return False, failure_reason(stack)
    return True, ""


def failure_reason(stack: Stack) -> str:
    for event in stack.events:
        if event["ResourceStatus"].endswith("_FAILED") and event.get("ResourceStatusReason"):
            return f"ResourceLogicalId:{event['LogicalResourceId']}, ResourceType:{event['ResourceType']}, " \
                   f"ResourceStatusReason:{event['ResourceStatusReason']}"
    return stack.reason or stack.status


def delete_instance(stack_set_: StackSet, backend_at: Callable[[str, str], Backend], instance: Instance,
                    retain: bool) -> tuple[bool, str]:
    if instance.stack_id and not retain:
        target = backend_at(instance.account, instance.region)
        stack = target.find(instance.stack_id)
        if stack is not None:
            try:
                target.delete_stack(stack, token="")
            except CfnError as exc:
                instance.status, instance.detailed = "INOPERABLE", "INOPERABLE"
                return False, exc.message
            if stack.status == "DELETE_FAILED":
                instance.status, instance.detailed = "INOPERABLE", "INOPERABLE"
                return False, failure_reason(stack)
    stack_set_.instances.pop((instance.account, instance.region), None)
    return True, ""
