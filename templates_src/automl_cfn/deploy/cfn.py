"""Small CloudFormation helpers shared by the deploy verbs."""

from __future__ import annotations

import time

from ..errors import AwsError
from .aws import error_code
from .states import TERMINAL

NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "No changes")


class NoChanges(Exception):
    """CloudFormation found nothing to change (a change set FAILED for that reason alone)."""


def describe(cfn, name: str) -> dict | None:
    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except Exception as exc:  # botocore ClientError: "Stack with id X does not exist"
        if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
            return None
        raise


def wait(cfn, name: str, poll: float = 2.0) -> dict:
    while True:
        stack = describe(cfn, name)
        if stack is None or stack["StackStatus"] in TERMINAL:
            return stack or {"StackStatus": "DELETE_COMPLETE"}
        time.sleep(poll)


def outputs_of(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def wait_for_change_set(cfn, change_set_id: str, poll: float) -> dict:
    delay = min(poll, 1.0)
    while True:
        description = cfn.describe_change_set(ChangeSetName=change_set_id)
        status = description.get("Status")
        if status == "CREATE_COMPLETE":
            return description
        if status == "FAILED":
            reason = description.get("StatusReason", "")
            if any(marker in reason for marker in NO_CHANGES):
                raise NoChanges()
            raise AwsError(f"the change set failed: {reason}")
        if status == "DELETE_COMPLETE":
            raise AwsError("the change set was deleted while it was being created")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
