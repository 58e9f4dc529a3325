"""logs: tail a service's log group like `aws logs tail` (pagination, --since, --follow)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from .. import ui
from ..errors import EXIT_INTERRUPTED, EXIT_OK, UserError
from ..model import LOG_SOURCES, title
from ..settings import LOG_RETENTION_DAYS
from .context import Deployed, check_service

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# No log group of ours keeps events longer than the longest retention CloudWatch Logs offers (the settings'
# log_retention_days choices, from PutRetentionPolicy): a longer --since finds nothing more.
LONGEST_DAYS = max(LOG_RETENTION_DAYS)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)   # FilterLogEvents' startTime: milliseconds, at least 0


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`10m`, `2h`, `1d`, `30s`, `1w` (up to the longest retention), or an ISO 8601 time from 1970 on."""
    now = now or datetime.now(timezone.utc)
    match = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if match:
        digits, unit = match.groups()
        if len(digits) > 12 or int(digits) * UNIT_SECONDS[unit] > LONGEST_DAYS * 86400:
            raise UserError(f"--since {text[:40]!r} is too far back; allowed: up to {LONGEST_DAYS}d, the longest "
                            "CloudWatch Logs retention")
        return now - timedelta(seconds=int(digits) * UNIT_SECONDS[unit])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--since {text[:40]!r}: use a duration like 10m, 2h, 1d or an ISO time "
                        "like 2026-11-26T06:00") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if moment < EPOCH:
        raise UserError(f"--since {text[:40]!r} is before 1970-01-01, where CloudWatch Logs' times begin")
    return moment


def fetch(logs, group: str, start_ms: int, seen: set[str]) -> list[dict]:
    events = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=start_ms):
        for event in page.get("events", []):
            if event["eventId"] not in seen:
                seen.add(event["eventId"])
                events.append(event)
    events.sort(key=lambda e: (e["timestamp"], e["eventId"]))
    return events


def line(event: dict) -> str:
    when = datetime.fromtimestamp(event["timestamp"] / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{when} {event['logStreamName']} {event['message'].rstrip()}"


def tail(deployed: Deployed, source: str, since: str, follow: bool, poll: float = 2.0) -> int:
    check_service(source, LOG_SOURCES, "log source")
    start = parse_since(since)
    key = f"{title(source)}LogGroupName"
    if key not in deployed.outputs:
        if source == "pipeline":
            raise UserError(f"the pipeline's log group does not exist in {deployed.target.settings.environment}: "
                            "the Step Functions pipeline is not enabled (enable_stepfunctions: false)")
        deployed.get(key)
    group = deployed.outputs[key]
    logs = deployed.client("logs")
    seen: set[str] = set()
    start_ms = int(start.timestamp() * 1000)
    shown = 0
    for event in fetch(logs, group, start_ms, seen):
        ui.out().print(line(event))
        shown += 1
    if not shown:   # silence would look like a hang or a broken verb
        ui.info(f"no log events in {group} since {start:%Y-%m-%d %H:%M} UTC" +
                ("; waiting for new ones (Ctrl-C stops)" if follow else "; try a longer --since"))
    if not follow:
        return EXIT_OK
    try:
        while True:
            time.sleep(poll)
            for event in fetch(logs, group, start_ms, seen):
                ui.out().print(line(event))
                start_ms = max(start_ms, event["timestamp"] - 5000)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
