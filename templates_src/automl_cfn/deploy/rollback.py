"""Stack-level rollback triggers: a deploy that makes the prediction service unhealthy rolls back whole.

CloudFormation watches the triggers while it updates the stack and for
`rollback_monitoring_minutes` afterwards; an alarm in ALARM rolls the whole
update back.  The triggers are the alarms a release of the service watches
(the endpoint's, and the model quality alarm), named by the environment.
CloudFormation fails an operation whose trigger does not exist, so only the
alarms that exist when the change set is made are passed: a first deploy,
which creates them, has none.

CloudFormation keeps the triggers given most recently when a change set omits
them (API_RollbackConfiguration.html): with no alarm to watch (the load
balancer turned off, the alarms gone), the change set says so with an empty
list, or every later deploy would fail on the alarms that no longer exist.
"""

from __future__ import annotations

from ..model import RELEASE_ALARM_SUFFIXES
from .target import Target

ALARM = "AWS::CloudWatch::Alarm"


def release_alarm_names(prefix: str) -> list[str]:
    return [f"{prefix}-{suffix}" for suffix in RELEASE_ALARM_SUFFIXES]


NOTHING_TO_WATCH = {"RollbackTriggers": []}


def configuration(target: Target) -> dict:
    """RollbackConfiguration for the change set: the release alarms that exist, or none at all, said outright."""
    alarms = target.aws.client("cloudwatch").describe_alarms(
        AlarmNames=release_alarm_names(target.settings.prefix), AlarmTypes=["MetricAlarm"]).get("MetricAlarms", [])
    if not alarms:
        return dict(NOTHING_TO_WATCH)   # and no monitoring period: without triggers it would only make us wait
    minutes = target.settings.rollback_monitoring_minutes
    return {"RollbackTriggers": [{"Arn": a["AlarmArn"], "Type": ALARM} for a in sorted(alarms, key=lambda a:
                                                                                        a["AlarmName"])],
            "MonitoringTimeInMinutes": minutes}


def lines(rollback: dict | None) -> list[str]:
    """What the review says about the triggers."""
    if not rollback or not rollback.get("RollbackTriggers"):
        return ["  no rollback triggers: no release alarm exists yet (a first deploy creates them)"]
    names = [t["Arn"].rsplit(":", 1)[-1] for t in rollback["RollbackTriggers"]]
    return [f"  rollback triggers: {', '.join(names)}; watched for {rollback['MonitoringTimeInMinutes']} min after the "
            "update (an alarm in ALARM rolls the whole deploy back)"]
