"""EventBridge Pipes on the local endpoint: moto stores pipes but never polls their sources.

`flush()` plays the end of every batching window: each running pipe from an
SQS queue to a Step Functions state machine takes what its queue holds, as
one batch (up to its BatchSize), deletes it and starts one execution (fire
and forget).  The server runs it on POST /_automl/pipes/flush; tests call it
when "the quiet period is over".

Step Functions has no batch API, so the execution's input is the batch as a
JSON array, even a batch of one, and an input template applies to each record,
not to the array (eb-pipes-batching-concurrency.html, "Batching behavior";
pipes-targets-specifics.html, "Lambda functions and Step Functions
workflows").  A state machine that expects an object fails on it, as on AWS.
The endpoint renders static templates only: a template with <$.path>
placeholders is recorded as not delivered rather than sent unrendered.

The pipe works as its role (eb-pipes-permissions.html): Pipes must be let
assume it (the trust policy, with aws:SourceArn of the pipe), and the role
must allow sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on
the source (kms:Decrypt on its customer key, through SQS) and
states:StartExecution on the target.  A pipe whose role is refused delivers
nothing; the messages stay in the queue, and delivery.LOG says why.

Tests: tests/integration/test_pipeline_triggers.py::test_a_burst_of_uploads_starts_one_run,
tests/integration/test_pipeline_runs.py::test_a_batch_fails_a_state_machine_that_expects_an_object,
tests/integration/test_permission_paths.py::test_the_pipe_needs_its_role_to_read_the_queue_and_start_the_pipeline.
"""

from __future__ import annotations

import json

from . import record

SOURCE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


def flush() -> list[dict]:
    """Deliver every pipe's pending batch; returns what was started ({pipe, messages, execution}).  A pipe
    that fails (its source or target gone) is recorded and does not stop the others."""
    from moto.pipes.models import pipes_backends

    started = []
    for account, regions in pipes_backends.items():
        for region, backend in regions.items():
            for pipe in list(backend.pipes.values()):
                if pipe.desired_state == "RUNNING" and ":sqs:" in pipe.source and ":states:" in pipe.target:
                    try:
                        delivered = _deliver(account, region, pipe)
                    except Exception as exc:   # the source queue or the state machine is gone
                        record("pipes", pipe.arn, pipe.target, False, f"{type(exc).__name__}: {exc}")
                        continue
                    if delivered:
                        started.append(delivered)
    return started


def authorized(region: str, pipe) -> bool:
    """May the pipe's role read its source and start its target?  Records the refusal if not."""
    from ..policy import enforce, services
    from ..policy.requests import Ask, queue_ask

    asks = [queue_ask(action, pipe.source) for action in SOURCE_ACTIONS]
    asks.append(Ask("states:StartExecution", pipe.target))
    try:
        services.as_role(pipe.role_arn, "pipes.amazonaws.com", region, pipe.arn, asks, channel="pipes")
    except enforce.AccessDenied as denied:
        record("pipes", pipe.arn, pipe.target, False, denied.message)
        return False
    return True


def _deliver(account: str, region: str, pipe) -> dict | None:
    from moto.sqs.models import sqs_backends
    from moto.stepfunctions.models import stepfunctions_backends

    queue_name = pipe.source.rsplit(":", 1)[1]
    sqs = sqs_backends[account][region]
    if not sqs.get_queue(queue_name).messages:
        return None
    if not authorized(region, pipe):
        return None
    size = int(((pipe.source_parameters or {}).get("SqsQueueParameters") or {}).get("BatchSize", 10))
    batch = []
    while len(batch) < size:
        messages = sqs.receive_message(queue_name, count=min(10, size - len(batch)), wait_seconds_timeout=0,
                                       visibility_timeout=30, message_attribute_names=[])
        if not messages:
            break
        batch.extend(messages)
    if not batch:
        return None
    body = batch_input([sqs_record(m, pipe.source, region) for m in batch],
                       (pipe.target_parameters or {}).get("InputTemplate"))
    execution = stepfunctions_backends[account][region].start_execution(pipe.target, name=None,
                                                                        execution_input=body)
    for message in batch:   # only once the target took them: a failed start leaves them to come back
        sqs.delete_message(queue_name, message.receipt_handle)
    record("pipes", pipe.arn, pipe.target, True, f"{len(batch)} messages")
    return {"pipe": pipe.name, "messages": len(batch), "execution": execution.execution_arn}


class TemplateNotRendered(ValueError):
    """An input template with placeholders: the endpoint does not fill them."""


def batch_input(records: list[dict], template: str | None) -> str:
    """The target's input: the array of records, each through the input template when there is one."""
    if template is None:
        return json.dumps(records)
    if "<$" in template or "<aws." in template:
        raise TemplateNotRendered(f"the endpoint renders static input templates only: {template[:80]}")
    return "[" + ",".join([template] * len(records)) + "]"


def sqs_record(message, source: str, region: str) -> dict:
    """An SQS message as Pipes hands it on: the body as the text it is (eb-pipes-sqs.html, "Example event")."""
    return {"messageId": message.id, "receiptHandle": message.receipt_handle, "body": message.body,
            "attributes": {}, "messageAttributes": {}, "md5OfBody": message.body_md5, "eventSource": "aws:sqs",
            "eventSourceARN": source, "awsRegion": region}
