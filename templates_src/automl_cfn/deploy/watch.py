"""Follow a stack operation: stream events (nested stacks included) with live
progress, return the final status, and find the first real failure.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .. import ui
from .states import RESOURCE_FAILED, TERMINAL, in_progress

NESTED_STACK = "AWS::CloudFormation::Stack"
CASCADE_REASONS = ("cancelled", "canceled", "Embedded stack", "The following resource(s) failed")


@dataclass
class EventStream:
    """New events of a stack and every nested stack that appears in them."""

    cfn: object
    root: str
    since: datetime
    stacks: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def __post_init__(self):
        self.stacks = [self.root]

    def poll(self) -> list[dict]:
        fresh: list[dict] = []
        index = 0
        while index < len(self.stacks):  # nested stacks found on the way are read in the same round
            fresh.extend(self._new_events(self.stacks[index]))
            index += 1
        fresh.sort(key=lambda e: e["Timestamp"])
        return fresh

    def _new_events(self, stack: str) -> list[dict]:
        events, token = [], None
        while True:
            kwargs = {"StackName": stack, **({"NextToken": token} if token else {})}
            try:
                page = self.cfn.describe_stack_events(**kwargs)
            except Exception as exc:
                if "does not exist" in str(exc):
                    return events
                raise
            for event in page.get("StackEvents", []):
                if event["EventId"] in self.seen or as_utc(event["Timestamp"]) < self.since:
                    return events  # newest first: everything further is old
                self.seen.add(event["EventId"])
                events.append(event)
                nested = event.get("PhysicalResourceId") or ""
                if (event.get("ResourceType") == NESTED_STACK and nested.startswith("arn:")
                        and nested not in self.stacks and event.get("LogicalResourceId") != event.get("StackName")):
                    self.stacks.append(nested)
            token = page.get("NextToken")
            if not token:
                return events


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def short_stack(name: str, root_name: str) -> str:
    """automl-dev-ComputeStack-1A2B3C -> ComputeStack."""
    if name == root_name:
        return root_name
    trimmed = name[len(root_name) + 1:] if name.startswith(root_name + "-") else name
    return re.sub(r"-[A-Z0-9]{8,}$", "", trimmed)


def status_style(status: str) -> str:
    if status.endswith("_FAILED") or "ROLLBACK" in status:
        return "red"
    if status.endswith("_COMPLETE"):
        return "green"
    return "yellow"


def format_event(event: dict, root_name: str, colour: bool) -> str:
    from rich.markup import escape

    when = as_utc(event["Timestamp"]).strftime("%H:%M:%S")
    stack = short_stack(event.get("StackName", ""), root_name)
    logical = event.get("LogicalResourceId", "")
    where = logical if stack in (logical, root_name) and logical == event.get("StackName") else f"{stack}/{logical}"
    status = event.get("ResourceStatus", "")
    reason = event.get("ResourceStatusReason") or ""
    text = f"{when}  {where:<44} {event.get('ResourceType', ''):<36} {status}"
    if reason and reason != "User Initiated":
        text += f"  {reason}"
    if not colour:
        return text
    return (f"[dim]{when}[/]  {escape(where):<44} [dim]{escape(event.get('ResourceType', '')):<36}[/] "
            f"[{status_style(status)}]{status}[/]" + (f"  [dim]{escape(reason)}[/]" if reason and
                                                      reason != "User Initiated" else ""))


def watch(cfn, stack_id: str, root_name: str, since: datetime, poll: float = 2.0) -> str:
    """Stream events until the stack reaches a terminal status; return it."""
    stream = EventStream(cfn, stack_id, since)
    console = ui.err()
    colour = ui.is_tty(sys.stderr)
    done = 0
    started = time.monotonic()

    def describe_status() -> str:
        return cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]

    def emit(events: list[dict]) -> None:
        nonlocal done
        for event in events:
            console.print(format_event(event, root_name, colour), markup=colour)
            if event.get("ResourceStatus", "").endswith("_COMPLETE"):
                done += 1

    status_line = None
    if colour:
        from rich.text import Text

        status_line = console.status("waiting for CloudFormation ...")
        status_line.start()
    try:
        while True:
            # The status first: a stack's events are written before its status changes, so once the status
            # is final, the poll after it holds every event (one round of requests at the end, not two).
            status = describe_status()
            emit(stream.poll())
            if status in TERMINAL or not in_progress(status):
                return status
            if status_line:
                elapsed = int(time.monotonic() - started)
                # a status line reads a str as markup: AWS's status is data
                status_line.update(Text(ui.printable(f"{status}: {done} resource events complete, "
                                                     f"{elapsed // 60}m{elapsed % 60:02d}s")))
            time.sleep(poll)
    finally:
        if status_line:
            status_line.stop()


def first_failure(cfn, stack_id: str, since: datetime | None = None) -> tuple[str, str, str] | None:
    """(stack/resource, type, reason) of the earliest real failure, nested stacks included.

    A nested stack's own failure only says "Embedded stack ... failed"; the
    cause is inside it, so resource failures there are preferred, and
    cancellations caused by another failure are skipped.
    """
    stream = EventStream(cfn, stack_id, since or datetime.fromtimestamp(0, timezone.utc))
    events = []
    for _ in range(3):  # nested stacks are discovered as their events are read
        new = stream.poll()
        if not new:
            break
        events.extend(new)
    failed = [e for e in events if e.get("ResourceStatus") in RESOURCE_FAILED]
    if not failed:
        return None

    def rank(event: dict):
        reason = event.get("ResourceStatusReason") or ""
        cascade = any(marker in reason for marker in CASCADE_REASONS)
        return (cascade, event.get("ResourceType") == NESTED_STACK, as_utc(event["Timestamp"]))

    best = min(failed, key=rank)
    root_name = stack_name_of(stack_id)
    where = f"{short_stack(best.get('StackName', ''), root_name)}/{best.get('LogicalResourceId')}"
    return where, best.get("ResourceType", ""), best.get("ResourceStatusReason") or "no reason given"


def stack_name_of(stack_id: str) -> str:
    """arn:aws:cloudformation:region:acct:stack/NAME/uuid -> NAME (names pass through)."""
    return stack_id.split("/")[1] if stack_id.startswith("arn:") else stack_id
