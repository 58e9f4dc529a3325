"""Rollback triggers, as CloudFormation keeps and watches them (API_RollbackConfiguration.html,
API_RollbackTrigger.html, using-cfn-rollback-triggers.html).

- `kept_unless_given`: a stack keeps the triggers given most recently.  A create, update or change set that
  omits RollbackConfiguration, or its RollbackTriggers, goes on with the previous triggers; an empty list
  removes them.  MonitoringTimeInMinutes defaults to 0 in a configuration that is given.
- `missing_triggers_fail_the_operation`: "If a specified trigger is missing, the entire stack operation fails
  and is rolled back": a deploy that kept the triggers of alarms deleted since fails on them.
- `alarms_in_alarm_roll_back`: an alarm in ALARM during the operation rolls the whole operation back.  The
  endpoint has no clock: it looks when the operation starts and when its resources are deployed (the monitoring
  period adds no waiting here).

Tests: tests/integration/test_rollback_triggers.py.
"""

from __future__ import annotations

from typing import Any

TRIGGERS = "RollbackTriggers"
MONITORING = "MonitoringTimeInMinutes"


def kept_unless_given(requested: Any, previous: dict) -> dict:
    """The configuration an operation runs with: `requested` is the request's parameter, None when omitted."""
    if requested is None:
        return dict(previous or {})
    requested = requested if isinstance(requested, dict) else {}
    triggers = requested.get(TRIGGERS)
    kept = {TRIGGERS: list(previous.get(TRIGGERS, [])) if triggers is None else list(triggers or [])}
    kept[MONITORING] = int(requested.get(MONITORING) or 0)
    return kept if kept[TRIGGERS] or kept[MONITORING] else {}


def alarms(account: str, region: str) -> dict[str, Any]:
    """The region's metric and composite alarms, by ARN."""
    from moto.cloudwatch.models import cloudwatch_backends

    return {alarm.alarm_arn: alarm for alarm in cloudwatch_backends[account][region].alarms.values()}


def missing_triggers_fail_the_operation(configuration: dict, account: str, region: str) -> str | None:
    """Why the operation fails before it starts, or None."""
    known = alarms(account, region)
    missing = [t["Arn"] for t in configuration.get(TRIGGERS, []) if t.get("Arn") not in known]
    if missing:
        return (f"Rollback trigger(s) not found: {', '.join(missing)}. The stack keeps the triggers given most "
                f"recently; pass RollbackTriggers: [] to remove them. ")
    return None


def alarms_in_alarm_roll_back(configuration: dict, account: str, region: str) -> str | None:
    """Why the operation rolls back now, or None."""
    known = alarms(account, region)
    firing = [arn for arn in (t.get("Arn") for t in configuration.get(TRIGGERS, []))
              if arn in known and known[arn].state_value == "ALARM"]
    if firing:
        return f"Rollback trigger(s) in ALARM state: {', '.join(firing)}. "
    return None
