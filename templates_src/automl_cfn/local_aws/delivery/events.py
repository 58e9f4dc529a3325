"""EventBridge rule -> SQS queue, as events.amazonaws.com.

EventBridge sends to a queue target only when the queue's policy lets
events.amazonaws.com call sqs:SendMessage (for this rule: aws:SourceArn),
and, for a queue encrypted with a customer managed key, when the key policy
lets it use the key (kms:GenerateDataKey and kms:Decrypt).  Otherwise the
event is not delivered (eb-troubleshooting.html, "My rule runs but I don't
see any messages published into my Amazon SQS queue"; eb-use-resource-based.html#eb-sqs-permissions).

moto delivers every matching event whatever the policies say; this patch
asks first.  Test: test_eventbridge_needs_the_queue_policy_and_the_key_policy.
"""

from __future__ import annotations

from . import record


def install() -> None:
    from moto.events import models

    from ..policy import enforce, services
    from ..policy.requests import queue_ask

    original = models.Rule._send_to_sqs_queue

    def _send_to_sqs_queue(self, resource_id: str, event: dict, group_id: str | None = None) -> None:
        queue_arn = f"arn:aws:sqs:{self.region_name}:{self.account_id}:{resource_id}"
        try:
            services.as_service("events.amazonaws.com", self.account_id, self.region_name, self.arn,
                                [queue_ask("sqs:SendMessage", queue_arn)], channel="events")
        except enforce.AccessDenied as denied:
            record("events", self.arn, queue_arn, False, denied.message)
            return
        original(self, resource_id, event, group_id)
        record("events", self.arn, queue_arn, True)

    models.Rule._send_to_sqs_queue = _send_to_sqs_queue
