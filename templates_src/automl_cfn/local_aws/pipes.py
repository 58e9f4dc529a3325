"""EventBridge Pipes on the local endpoint: moto stores pipes but never polls their sources.

`flush()` plays the end of every batching window: each running pipe from an
SQS queue to a Step Functions state machine takes what its queue holds, as
one batch (up to its BatchSize), deletes it and starts one execution with the
pipe's input template (fire and forget).  The server runs it on
POST /_automl/pipes/flush; tests call it when "the quiet period is over".
Test: tests/integration/test_pipeline_triggers.py::test_a_burst_of_uploads_starts_one_run.
"""

from __future__ import annotations

import json


def flush() -> list[dict]:
    """Deliver every pipe's pending batch; returns what was started ({pipe, messages, execution})."""
    from moto.pipes.models import pipes_backends

    started = []
    for account, regions in pipes_backends.items():
        for region, backend in regions.items():
            for pipe in list(backend.pipes.values()):
                if pipe.desired_state == "RUNNING" and ":sqs:" in pipe.source and ":states:" in pipe.target:
                    delivered = _deliver(account, region, pipe)
                    if delivered:
                        started.append(delivered)
    return started


def _deliver(account: str, region: str, pipe) -> dict | None:
    from moto.sqs.models import sqs_backends
    from moto.stepfunctions.models import stepfunctions_backends

    queue_name = pipe.source.rsplit(":", 1)[1]
    sqs = sqs_backends[account][region]
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
    for message in batch:
        sqs.delete_message(queue_name, message.receipt_handle)
    template = (pipe.target_parameters or {}).get("InputTemplate")
    body = template if template else json.dumps([json.loads(m.body) for m in batch])
    execution = stepfunctions_backends[account][region].start_execution(pipe.target, name=None,
                                                                        execution_input=body)
    return {"pipe": pipe.name, "messages": len(batch), "execution": execution.execution_arn}
