"""pipeline start / status: the Step Functions pipeline optimize -> train -> predict."""

from __future__ import annotations

import json
import time
import uuid

from .. import ui
from ..errors import EXIT_INTERRUPTED, EXIT_OK, AwsError, UserError
from .context import Deployed

RUNNING = "RUNNING"
TRANSITIONS = {
    "TaskStateEntered": "entered", "TaskStateExited": "exited", "TaskSucceeded": "task succeeded",
    "TaskFailed": "task failed", "TaskSubmitted": "task submitted", "FailStateEntered": "failed",
    "ExecutionStarted": "execution started", "ExecutionSucceeded": "execution succeeded",
    "ExecutionFailed": "execution failed", "ExecutionAborted": "execution aborted",
    "ExecutionTimedOut": "execution timed out",
}


def state_machine(deployed: Deployed) -> str:
    arn = deployed.outputs.get("StateMachineArn")
    if not arn:
        settings = deployed.target.settings
        raise UserError(f"the Step Functions pipeline is not enabled in {settings.environment} "
                        f"(enable_stepfunctions: false); deploy it with "
                        f"'automl-cfn deploy {deployed.target.env_flag} --var enable_stepfunctions=true'")
    return arn


def parse_input(text: str | None) -> str:
    if text is None:
        return "{}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--input is not JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(value, dict):
        raise UserError("--input must be a JSON object, e.g. '{\"run\": \"2026-11\"}'")
    return json.dumps(value)


def start(deployed: Deployed, payload: str | None, wait: bool, poll: float = 5.0) -> int:
    body = parse_input(payload)
    arn = state_machine(deployed)
    sfn = deployed.client("stepfunctions")
    name = f"automl-cfn-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    execution = sfn.start_execution(stateMachineArn=arn, name=name, input=body)["executionArn"]
    ui.out().print(f"started {execution}")
    if not wait:
        return EXIT_OK
    try:
        return follow(sfn, execution, poll)
    except KeyboardInterrupt:
        ui.info(f"\nStopped waiting; the execution goes on. Check it with: "
                f"automl-cfn pipeline status {deployed.target.env_flag} {execution}")
        return EXIT_INTERRUPTED


def history(sfn, execution: str) -> list[dict]:
    events = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution):
        events.extend(page["events"])
    return events


def describe_event(event: dict) -> str:
    kind = event["type"]
    details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
    name = details.get("name") or ""
    what = TRANSITIONS.get(kind, kind)
    cause = details.get("cause") or details.get("error") or ""
    when = event["timestamp"].strftime("%H:%M:%S")
    return f"{when}  {name + ' ' if name else ''}{what}" + (f": {cause[:200]}" if cause else "")


# The history's last word on an execution: it can arrive before describe_execution's status changes
# (and the local endpoint never changes that status at all).
ENDINGS = {"ExecutionSucceeded": "SUCCEEDED", "ExecutionFailed": "FAILED", "ExecutionAborted": "ABORTED",
           "ExecutionTimedOut": "TIMED_OUT"}


def follow(sfn, execution: str, poll: float) -> int:
    seen = 0
    while True:
        events = history(sfn, execution)
        for event in events[seen:]:
            ui.info(describe_event(event))
        seen = len(events)
        result = sfn.describe_execution(executionArn=execution)
        ended = next((ENDINGS[e["type"]] for e in reversed(events) if e["type"] in ENDINGS), None)
        if result["status"] == RUNNING and ended:
            details = next((v for e in reversed(events) if e["type"] in ENDINGS
                            for k, v in e.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
            result = {**result, "status": ended, **{k: details[k] for k in ("error", "cause") if k in details}}
        if result["status"] != RUNNING:
            return outcome(result)
        time.sleep(poll)


def outcome(result: dict) -> int:
    status = result["status"]
    if status == "SUCCEEDED":
        ui.out().print(f"pipeline SUCCEEDED: {result['executionArn']}")
        return EXIT_OK
    raise AwsError(f"pipeline {status}: {result.get('error') or ''} {result.get('cause') or ''}".strip())


def status(deployed: Deployed, execution: str | None) -> int:
    arn = state_machine(deployed)
    sfn = deployed.client("stepfunctions")
    if execution is None:
        listed = sfn.list_executions(stateMachineArn=arn, maxResults=10)["executions"]
        if not listed:
            ui.out().print("no executions yet; start one with 'automl-cfn pipeline start'")
            return EXIT_OK
        ui.table(["Execution", "Status", "Started"],
                 [[e["name"], e["status"], e["startDate"].strftime("%Y-%m-%d %H:%M:%S")] for e in listed])
        return EXIT_OK
    if not execution.startswith("arn:"):
        execution = arn.replace(":stateMachine:", ":execution:") + f":{execution}"
    for event in history(sfn, execution):
        ui.out().print(describe_event(event))
    result = sfn.describe_execution(executionArn=execution)
    ui.out().print(f"status: {result['status']}")
    return EXIT_OK if result["status"] in ("SUCCEEDED", RUNNING) else 1
