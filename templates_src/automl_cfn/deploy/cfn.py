"""Small CloudFormation helpers shared by the deploy verbs."""

from __future__ import annotations

import time

from .aws import error_code
from .states import TERMINAL


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
