"""Apply a reviewed change set: protect, execute, watch, verify, print outputs.

Stack policies deny replacing or deleting stateful resources (except those
--allow-replace names) while the change runs; termination protection follows
the settings; the final status is read with describe_stacks, since botocore's
waiters count some rollbacks as success.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from .. import ui
from ..errors import EXIT_INTERRUPTED, EXIT_OK, AwsError
from .aws import error_code, error_message
from .plan import ChangeSet, retained_ids, stateful_by_child
from .read import print_outputs
from .states import SUCCESS
from .target import DeployOptions, Target
from .watch import first_failure, watch

NOT_AVAILABLE = {"InvalidAction", "NotImplemented", "UnsupportedOperation"}


def execute(target: Target, change_set: ChangeSet, options: DeployOptions) -> int:
    cfn = target.cfn
    since = latest_event_time(cfn, change_set.stack_id)
    token = f"automl-cfn-{uuid.uuid4()}"
    if change_set.type == "UPDATE":  # a stack being created has nothing to protect yet
        protect(target, change_set.stack_id, allow=set(options.allow_replace))
    try:
        cfn.execute_change_set(ChangeSetName=change_set.id, ClientRequestToken=token)
    except Exception as exc:
        if not error_code(exc):
            raise
        failure = first_failure(cfn, change_set.stack_id, since)
        where = f"; first failure: {failure[0]} ({failure[1]}): {failure[2]}" if failure else ""
        raise AwsError(f"deploying {target.name} failed: {error_message(exc)}{where}") from None
    try:
        watch(cfn, change_set.stack_id, target.name, since, poll=options.poll)
    except KeyboardInterrupt:
        ui.info(f"\nStopped watching. The deployment goes on in CloudFormation (nothing was cancelled).\n"
                f"Resume watching with: {target.resume_hint}")
        return EXIT_INTERRUPTED
    final = cfn.describe_stacks(StackName=change_set.stack_id)["Stacks"][0]
    status = final["StackStatus"]
    if status not in SUCCESS:
        failure = first_failure(cfn, change_set.stack_id, since)
        where = f"; first failure: {failure[0]} ({failure[1]}): {failure[2]}" if failure else ""
        reason = final.get("StackStatusReason")
        raise AwsError(f"deploying {target.name} failed: the stack is {status}{where or (f'; {reason}' if reason else '')}")
    protect(target, change_set.stack_id, allow=set())
    sync_termination_protection(target, final)
    ui.info(f"{target.name}: {status}")
    print_outputs(final, "table", target.env_flag)
    return EXIT_OK


def latest_event_time(cfn, stack_id: str) -> datetime:
    """Server time of the newest event so far (so clock skew cannot hide or repeat events)."""
    try:
        events = cfn.describe_stack_events(StackName=stack_id).get("StackEvents", [])
    except Exception:
        events = []
    if not events:
        return datetime.now(timezone.utc) - timedelta(minutes=5)
    newest = max(e["Timestamp"] for e in events)
    newest = newest if newest.tzinfo else newest.replace(tzinfo=timezone.utc)
    return newest + timedelta(microseconds=1)


def stack_policy(no_replace: list[str], no_delete: list[str]) -> str:
    """Deny replacing `no_replace` and removing `no_delete`; allow everything else."""
    statements = []
    for action, protected in (("Update:Replace", no_replace), ("Update:Delete", no_delete)):
        if protected:
            statements.append({"Effect": "Deny", "Action": action, "Principal": "*",
                               "Resource": [f"LogicalResourceId/{logical_id}" for logical_id in protected]})
    statements.append({"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"})
    return json.dumps({"Statement": statements}, sort_keys=True)


def protect(target: Target, stack_id: str, allow: set[str]) -> None:
    """Stack policies that deny replacing stateful resources, and removing those a removal would
    delete, except what --allow-replace names.

    Removing a retained resource from its stack loses nothing (it stays in the
    account and a later deploy adopts it), so that is allowed.  The root
    protects the nested stacks that hold data; each of those protects its own.
    """
    cfn = target.cfn
    children = stateful_by_child(target.documents)
    retained = retained_ids(target.documents)
    holding = [c for c, ids in children.items() if c not in allow]
    losing = [c for c, ids in children.items() if c not in allow and set(ids) - retained]
    try:
        cfn.set_stack_policy(StackName=stack_id, StackPolicyBody=stack_policy(holding, losing))
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
            for resource in page["StackResourceSummaries"]:
                protected = [p for p in children.get(resource["LogicalResourceId"], []) if p not in allow]
                if protected and resource.get("PhysicalResourceId"):
                    cfn.set_stack_policy(StackName=resource["PhysicalResourceId"], StackPolicyBody=stack_policy(
                        protected, [p for p in protected if p not in retained]))
    except Exception as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
            return  # a stack being created has no resources to protect yet
        raise


def sync_termination_protection(target: Target, stack: dict | None) -> None:
    if stack and bool(stack.get("EnableTerminationProtection")) != target.settings.termination_protection:
        set_termination_protection(target)


def set_termination_protection(target: Target) -> None:
    wanted = target.settings.termination_protection
    try:
        target.cfn.update_termination_protection(StackName=target.name, EnableTerminationProtection=wanted)
    except Exception as exc:
        if error_code(exc) not in NOT_AVAILABLE:
            raise
        if wanted:
            ui.info("note: termination protection is not available at this endpoint; it stays off here")
