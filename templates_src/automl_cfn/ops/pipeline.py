"""pipeline start / status / history / schedule: the Step Functions pipeline optimize -> train -> predict."""

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


# StartExecution's input: at most 262,144 bytes of UTF-8 (botocore's model, SensitiveData max).  The nesting
# bound is this tool's: deep enough for any pipeline input, shallow enough to read without recursing out.
MAX_INPUT_BYTES = 262_144
MAX_INPUT_DEPTH = 100


def parse_input(text: str | None) -> str:
    """The execution input: the user's JSON object, marked as a manual start (history tells triggers apart)."""
    if text is None:
        return json.dumps({"trigger": "manual"})
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        raise UserError(f"--input is {size:,} bytes; allowed: at most {MAX_INPUT_BYTES:,} (256 KiB, Step Functions' "
                        "input limit): put large data in the bucket and pass its key")
    if not ui.is_utf8(text):
        raise UserError("--input is not UTF-8 text (it holds bytes that are not); allowed: a JSON object in UTF-8")
    if _depth(text) > MAX_INPUT_DEPTH:
        raise UserError(f"--input nests objects and arrays more than {MAX_INPUT_DEPTH} deep; allowed: at most "
                        f"{MAX_INPUT_DEPTH}")
    try:
        value = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        raise UserError(f"--input is not JSON: {exc.msg} (character {exc.pos})") from None
    except ValueError as exc:   # NaN, Infinity: Python reads them, JSON (and Step Functions) does not
        raise UserError(f"--input is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UserError("--input must be a JSON object, e.g. '{\"run\": \"2026-11\"}'")
    body = json.dumps({"trigger": "manual", **value})
    if len(body.encode()) > MAX_INPUT_BYTES:
        raise UserError(f"--input with the trigger this tool adds is over {MAX_INPUT_BYTES:,} bytes (256 KiB, Step "
                        "Functions' input limit): put large data in the bucket and pass its key")
    return body


def _depth(text: str) -> int:
    """How deep the JSON text nests arrays and objects (brackets in strings left out): one pass, no recursion."""
    deepest = depth = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest


def _not_json(constant: str):
    raise ValueError(f"{constant} is not a JSON value")


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


# The history's last word on an execution: it can arrive before describe_execution's status changes.
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
            for event in history(sfn, execution)[seen:]:    # what happened between the read and the end
                ui.info(describe_event(event))
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


# -- history ---------------------------------------------------------------------------

SKIPPED = "SKIPPED"


def history_rows(sfn, machine: str, limit: int) -> list[dict]:
    """The last executions: trigger (schedule, data, manual), status (a run skipped because another ran shows
    as SKIPPED), duration, and the step that failed."""
    rows = []
    for listed in sfn.list_executions(stateMachineArn=machine, maxResults=limit).get("executions", []):
        described = sfn.describe_execution(executionArn=listed["executionArn"])
        status = described["status"]
        output = _json(described.get("output"))
        if status == "SUCCEEDED" and (output.get("gate") or {}).get("running", 0) > 1:
            status = SKIPPED
        stopped = described.get("stopDate")
        rows.append({"execution": listed["name"], "trigger": trigger_of(described.get("input")),
                     "status": status, "started": described["startDate"],
                     "seconds": (stopped - described["startDate"]).total_seconds() if stopped else None,
                     "failed_step": failed_step(sfn, listed["executionArn"]) if status == "FAILED" else ""})
    return rows


def trigger_of(execution_input: str | None) -> str:
    """Who started a run: its input's trigger; a pipe's input is the array of its batch's records."""
    try:
        value = json.loads(execution_input or "{}")
    except ValueError:
        return "manual"
    if isinstance(value, list) and value:
        value = value[0]
    trigger = value.get("trigger", "manual") if isinstance(value, dict) else "manual"
    return trigger if isinstance(trigger, str) else "manual"


def failed_step(sfn, execution: str) -> str:
    """The last state entered before the execution failed."""
    events = sfn.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=50)["events"]
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details and event["type"] != "FailStateEntered":
            return details["name"]
    return ""


def show_history(deployed: Deployed, limit: int, output: str) -> int:
    rows = history_rows(deployed.client("stepfunctions"), state_machine(deployed), limit)
    if output == "json":
        print(json.dumps(rows, default=str, indent=2))
        return EXIT_OK
    if not rows:
        ui.out().print("no executions yet; start one with 'automl-cfn pipeline start'")
        return EXIT_OK
    ui.table(["Execution", "Trigger", "Status", "Started", "Duration", "Failed step"],
             [[r["execution"], r["trigger"], r["status"], r["started"].strftime("%Y-%m-%d %H:%M:%S"),
               _duration(r["seconds"]), r["failed_step"]] for r in rows],
             title=f"pipeline history of {deployed.target.name}")
    return EXIT_OK


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "running"
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02}m" if hours else f"{minutes}m{rest:02}s"


def _json(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# -- schedule --------------------------------------------------------------------------

def show_schedule(deployed: Deployed, count: int, now=None) -> int:
    """The deployed schedule and its next run times, in its time zone and in UTC."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from ..deploy.aws import error_code
    from ..schedule import next_runs

    state_machine(deployed)
    name = f"{deployed.target.settings.prefix}-pipeline"
    try:
        schedule = deployed.client("scheduler").get_schedule(Name=name)
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        ui.out().print(f"{deployed.target.name} has no pipeline schedule (pipeline_schedule is empty when deployed); "
                       "runs start by hand or, with retrain_on_new_data, when data arrives")
        return EXIT_OK
    zone = ZoneInfo(schedule.get("ScheduleExpressionTimezone") or "UTC")
    now = (now or datetime.now(timezone.utc)).astimezone(zone).replace(tzinfo=None)
    created = schedule.get("CreationDate")
    start = created.astimezone(zone).replace(tzinfo=None) if created else None
    runs = next_runs(schedule["ScheduleExpression"], now, count, start=start)
    ui.out().print(f"{name}: {schedule['ScheduleExpression']} in {zone.key}, {schedule.get('State', '?')}"
                   + ("" if schedule.get("State") != "DISABLED" else " (it starts nothing while disabled)"))
    ui.table(["Next run", "UTC"], [[run.strftime("%Y-%m-%d %H:%M %a"),
                                     run.replace(tzinfo=zone).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")]
                                    for run in runs])
    return EXIT_OK
