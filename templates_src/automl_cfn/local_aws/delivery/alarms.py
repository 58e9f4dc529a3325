"""CloudWatch alarm -> SNS topic, as cloudwatch.amazonaws.com.

When an alarm enters ALARM (or OK, or INSUFFICIENT_DATA) with actions
enabled, CloudWatch publishes to each SNS topic among that state's actions.
The topic's access policy must let it (the default policy lets the owner
account's sources in), and an encrypted topic's key policy must let
cloudwatch.amazonaws.com use the key (kms:Decrypt and kms:GenerateDataKey),
or the notification is lost (AlarmThatSendsEmail.html, "Amazon SNS topic
with server-side encryption"; sns-key-management.html#compatibility-with-aws-services).

moto changes the state and publishes nothing; this patch publishes, after
asking.  Test: test_alarms_reach_the_encrypted_topic_only_while_its_key_trusts_cloudwatch.
"""

from __future__ import annotations

import json

from . import record

ACTIONS_BY_STATE = {"ALARM": "alarm_actions", "OK": "ok_actions", "INSUFFICIENT_DATA": "insufficient_data_actions"}


def install() -> None:
    from moto.cloudwatch import models

    original = models.CloudWatchBackend.set_alarm_state

    def set_alarm_state(self, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        before = self.alarms[alarm_name].state_value if alarm_name in self.alarms else None
        original(self, alarm_name, reason, reason_data, state_value)
        alarm = self.alarms[alarm_name]
        if before != state_value and getattr(alarm, "actions_enabled", True):
            notify(alarm, state_value, reason)

    models.CloudWatchBackend.set_alarm_state = set_alarm_state


def notify(alarm, state: str, reason: str) -> None:
    from moto.sns.models import sns_backends

    from ..policy import enforce, services
    from ..policy.requests import topic_ask

    _, _, _, region, account, _ = alarm.alarm_arn.split(":", 5)
    for target in getattr(alarm, ACTIONS_BY_STATE[state], None) or []:
        if ":sns:" not in target:
            continue
        if target.count(":") != 5:     # not a topic ARN: nothing to publish to
            record("alarms", alarm.alarm_arn, target, False, "not an SNS topic ARN")
            continue
        try:
            services.as_service("cloudwatch.amazonaws.com", account, region, alarm.alarm_arn,
                                [topic_ask("sns:Publish", target)], channel="alarms")
        except enforce.AccessDenied as denied:
            record("alarms", alarm.alarm_arn, target, False, denied.message)
            continue
        region, account = target.split(":")[3], target.split(":")[4]
        message = json.dumps({"AlarmName": alarm.name, "NewStateValue": state, "NewStateReason": reason,
                              "AlarmArn": alarm.alarm_arn})
        sns_backends[account][region].publish(message, arn=target, subject=f'{state}: "{alarm.name}"')
        record("alarms", alarm.alarm_arn, target, True)
