"""logs: tail a service's log group like `aws logs tail` (pagination, --since, --follow)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

from .. import ui
from ..errors import EXIT_INTERRUPTED, EXIT_OK, UserError
from ..model import LOG_SOURCES, title
from .context import Deployed, check_service

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`10m`, `2h`, `1d`, `30s`, `1w`, or an ISO 8601 time."""
    now = now or datetime.now(timezone.utc)
    match = re.fullmatch(r"(\d+)([smhdw])", text.strip())
    if match:
        return now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--since {text!r}: use a duration like 10m, 2h, 1d or an ISO time "
                        "like 2026-11-26T06:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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
