"""Stack-level rollback triggers: a deploy that makes the prediction service unhealthy rolls back whole.

CloudFormation watches the triggers while it updates the stack and for
`rollback_monitoring_minutes` afterwards; an alarm in ALARM rolls the whole
update back.  The triggers are the alarms a release of the service watches
(the endpoint's, and the model quality alarm), named by the environment.
CloudFormation fails an operation whose trigger does not exist, so only the
alarms that exist when the change set is made are passed: a first deploy,
which creates them, has none.
"""

from __future__ import annotations

from ..model import RELEASE_ALARM_SUFFIXES
from .target import Target

ALARM = "AWS::CloudWatch::Alarm"


def release_alarm_names(prefix: str) -> list[str]:
    return [f"{prefix}-{suffix}" for suffix in RELEASE_ALARM_SUFFIXES]


def configuration(target: Target) -> dict | None:
    """RollbackConfiguration for the change set, or None when there is nothing to watch."""
    alarms = target.aws.client("cloudwatch").describe_alarms(
        AlarmNames=release_alarm_names(target.settings.prefix), AlarmTypes=["MetricAlarm"]).get("MetricAlarms", [])
    if not alarms:
        return None   # a monitoring period without triggers would only make the deploy wait
    minutes = target.settings.rollback_monitoring_minutes
    return {"RollbackTriggers": [{"Arn": a["AlarmArn"], "Type": ALARM} for a in sorted(alarms, key=lambda a:
                                                                                        a["AlarmName"])],
            "MonitoringTimeInMinutes": minutes}


def lines(rollback: dict | None) -> list[str]:
    """What the review says about the triggers."""
    if not rollback:
        return ["  no rollback triggers: no release alarm exists yet (a first deploy creates them)"]
    names = [t["Arn"].rsplit(":", 1)[-1] for t in rollback["RollbackTriggers"]]
    return [f"  rollback triggers: {', '.join(names)}; watched for {rollback['MonitoringTimeInMinutes']} min after the "
            "update (an alarm in ALARM rolls the whole deploy back)"]
