"""Make a deployed stack updatable again, or say why it cannot be.

In progress: refuse with the command to follow it (or wait, with --wait).
A create that never finished (ROLLBACK_COMPLETE, CREATE_FAILED,
REVIEW_IN_PROGRESS, ROLLBACK_FAILED): delete it and create it again, after
confirmation; what it retained is adopted by the new create.
UPDATE_ROLLBACK_FAILED: continue the rollback, skipping what cannot roll back.
UPDATE_FAILED (an update that ran with rollback off): roll it back to the
last stable state with RollbackStack, then update.
"""

from __future__ import annotations

from datetime import datetime, timezone

from .. import ui
from ..errors import AwsError, RefusedError
from .apply import latest_event_time
from .aws import error_message
from .cfn import wait
from .states import BROKEN, CONTINUE_ROLLBACK, DELETED, RECREATE, RESOURCE_FAILED, ROLL_BACK_FIRST, in_progress
from .target import DeployOptions, Target
from .watch import watch


def recover(target: Target, options: DeployOptions) -> dict | None:
    """The deployed stack, made updatable; None when it has to be created."""
    cfn = target.cfn
    stack = target.describe()
    if stack is None:
        return None
    status = stack["StackStatus"]
    if in_progress(status):
        if not options.wait:
            raise AwsError(f"{target.name} is {status}: another operation is running. Wait for it with "
                           f"'{target.resume_hint}', or pass --wait to wait here")
        ui.info(f"{target.name} is {status}; waiting for it to finish")
        watch(cfn, stack["StackId"], target.name, datetime.now(timezone.utc), poll=options.poll)
        stack = target.describe()
        if stack is None:
            return None
        status = stack["StackStatus"]
    if status in RECREATE:
        what = ("holds no resources yet (a change set was never executed)" if status == "REVIEW_IN_PROGRESS"
                else "never finished creating; its data resources, if any, are retained and adopted again")
        ui.info(f"{target.name} is {status}: it {what}.")
        if not ui.confirm(f"Delete {target.name} and create it again?", options.yes,
                          "pass --yes to delete and recreate it"):
            raise RefusedError(f"{target.name} is {status} and was left as it is")
        cfn.delete_stack(StackName=stack["StackId"])
        wait(cfn, stack["StackId"], options.poll)
        return None
    if status in CONTINUE_ROLLBACK:
        continue_rollback(target, stack, options)
        return target.describe()
    if status in ROLL_BACK_FIRST:
        roll_back(target, stack, options)
        return target.describe()
    if status in BROKEN:
        raise AwsError(f"{target.name} is {status}; fix what blocked it (see 'automl-cfn status') and run "
                       "'automl-cfn destroy' again")
    if status in DELETED:
        return None
    return stack


def failed_resources(cfn, stack_id: str) -> list[str]:
    """Logical IDs (nested ones as Stack.Resource) still in a failed state."""
    failed = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceStatus"] in RESOURCE_FAILED | {"UPDATE_FAILED"}:
                failed.append(resource["LogicalResourceId"])
    return failed


def continue_rollback(target: Target, stack: dict, options: DeployOptions) -> None:
    """UPDATE_ROLLBACK_FAILED: continue the rollback, skipping the resources that cannot roll back."""
    cfn = target.cfn
    skip = failed_resources(cfn, stack["StackId"])
    named = ", ".join(skip) if skip else "none"
    ui.info(f"{target.name} is UPDATE_ROLLBACK_FAILED. Continuing the rollback, skipping: {named}")
    if not ui.confirm("Continue the rollback?", options.yes, "pass --yes to continue the rollback"):
        raise RefusedError(f"{target.name} is UPDATE_ROLLBACK_FAILED and was left as it is")
    since = latest_event_time(cfn, stack["StackId"])
    cfn.continue_update_rollback(StackName=stack["StackId"], ResourcesToSkip=skip)
    status = watch(cfn, stack["StackId"], target.name, since, poll=options.poll)
    if status != "UPDATE_ROLLBACK_COMPLETE":
        raise AwsError(f"continuing the rollback of {target.name} ended in {status}")


def roll_back(target: Target, stack: dict, options: DeployOptions) -> None:
    """UPDATE_FAILED (rollback was off): back to the last stable state before anything else."""
    cfn = target.cfn
    reason = stack.get("StackStatusReason") or "an update failed with rollback disabled"
    ui.info(f"{target.name} is UPDATE_FAILED ({reason[:160]}). Rolling it back to its last stable state first.")
    if not ui.confirm("Roll back?", options.yes, "pass --yes to roll it back"):
        raise RefusedError(f"{target.name} is UPDATE_FAILED and was left as it is")
    since = latest_event_time(cfn, stack["StackId"])
    try:
        cfn.rollback_stack(StackName=stack["StackId"])
    except Exception as exc:
        raise AwsError(f"{target.name} is UPDATE_FAILED and CloudFormation would not roll it back "
                       f"({error_message(exc)[:160]}); deploy the last good settings again in standard mode "
                       "(--no-express), then your change") from None
    status = watch(cfn, stack["StackId"], target.name, since, poll=options.poll)
    if status != "UPDATE_ROLLBACK_COMPLETE":
        raise AwsError(f"rolling back {target.name} ended in {status}")
