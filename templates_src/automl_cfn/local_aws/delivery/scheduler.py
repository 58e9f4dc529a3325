"""EventBridge Scheduler on the local endpoint: moto stores schedules but never invokes them.

`fire(group, name)` plays one invocation of a schedule: Scheduler assumes the
target's role (its trust policy must let scheduler.amazonaws.com in, with
aws:SourceAccount and aws:SourceArn of the schedule group, as
scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role shows),
and starts the target as that role: states:StartExecution on a state
machine.  An invocation that fails (the role refused, the target missing)
goes to the schedule's dead-letter queue, sent as the same role: it needs
sqs:SendMessage on the queue, and kms:GenerateDataKey and kms:Decrypt on the
queue's customer key (scheduler/latest/UserGuide/configuring-schedule-dlq.html).
A failure that cannot be parked is lost, as on AWS.  The server runs it on
POST /_automl/scheduler/fire?group=G&name=N.

We fire at once, without retries: the retry policy only delays the same outcome.

Tests: tests/integration/test_permission_paths.py::test_the_schedule_starts_the_pipeline_and_parks_failures_as_its_role.
"""

from __future__ import annotations

from . import record


def fire(group: str, name: str, account: str, region: str) -> dict:
    """Invoke the schedule once; returns {"started": execution ARN} or {"dead_letter": message ID} or
    {"lost": reason}."""
    from moto.scheduler.models import scheduler_backends

    from ..policy import enforce, services
    from ..policy.requests import Ask

    try:
        schedule = scheduler_backends[account][region].get_schedule(group, name)
    except Exception:
        raise LookupError(f"no schedule {name} in group {group} of account {account}, region {region}") from None
    target = schedule.target
    group_arn = f"arn:aws:scheduler:{region}:{account}:schedule-group/{schedule.group_name}"
    payload = target.get("Input") or "{}"
    try:
        if ":states:" not in target["Arn"]:
            raise enforce.AccessDenied(f"the local endpoint invokes only Step Functions targets, not {target['Arn']}")
        services.as_role(target["RoleArn"], "scheduler.amazonaws.com", region, group_arn,
                         [Ask("states:StartExecution", target["Arn"])], channel="scheduler")
        execution = _start(account, region, target["Arn"], payload)
    except (enforce.AccessDenied, LookupError) as failure:
        reason = getattr(failure, "message", str(failure))
        record("scheduler", schedule.arn, target["Arn"], False, reason)
        return _dead_letter(schedule, account, region, group_arn, payload, reason)
    record("scheduler", schedule.arn, target["Arn"], True)
    return {"started": execution}


def _start(account: str, region: str, machine: str, payload: str) -> str:
    from moto.stepfunctions.models import stepfunctions_backends

    try:
        return stepfunctions_backends[account][region].start_execution(machine, name=None,
                                                                       execution_input=payload).execution_arn
    except Exception as exc:   # the state machine does not exist (any longer)
        raise LookupError(f"StartExecution on {machine} failed: {exc}") from None


def _dead_letter(schedule, account: str, region: str, group_arn: str, payload: str, reason: str) -> dict:
    from moto.sqs.models import sqs_backends

    from ..policy import enforce, services
    from ..policy.requests import queue_ask

    queue_arn = ((schedule.target.get("DeadLetterConfig") or {}).get("Arn")) or ""
    if not queue_arn:
        return {"lost": reason}
    try:
        services.as_role(schedule.target["RoleArn"], "scheduler.amazonaws.com", region, group_arn,
                         [queue_ask("sqs:SendMessage", queue_arn)], channel="scheduler")
    except enforce.AccessDenied as denied:
        record("scheduler", schedule.arn, queue_arn, False, denied.message)
        return {"lost": f"{reason}; and the dead-letter queue refused it: {denied.message}"}
    attributes = {"ERROR_CODE": {"DataType": "String", "StringValue": "AccessDenied"},
                  "ERROR_MESSAGE": {"DataType": "String", "StringValue": reason[:1000]},
                  "EXECUTION_ID": {"DataType": "String", "StringValue": schedule.arn},
                  "RETRY_ATTEMPTS": {"DataType": "Number", "StringValue": "0"}}
    try:
        message = sqs_backends[account][region].send_message(queue_arn.rsplit(":", 1)[1], payload,
                                                             message_attributes=attributes)
    except Exception as exc:   # the dead-letter queue is gone: the failure is lost, as on AWS
        record("scheduler", schedule.arn, queue_arn, False, f"{type(exc).__name__}: {exc}")
        return {"lost": f"{reason}; and the dead-letter queue could not take it: {exc}"}
    record("scheduler", schedule.arn, queue_arn, True, "dead letter")
    return {"dead_letter": message.id, "reason": reason, "payload": payload}
