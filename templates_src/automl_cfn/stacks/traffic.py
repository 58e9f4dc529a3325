"""The target groups that serve the prediction endpoint, for metrics that must watch both.

With blue/green, canary or linear deployments ECS moves production traffic
between the blue and the green group, so a metric of the blue group alone goes
quiet after the first deployment: scaling drifts to its minimum and an alarm
misses the new revision's failures.  Metrics that follow the traffic read
both groups and combine them with metric math.
"""

from __future__ import annotations

from typing import NamedTuple

from troposphere import If, NoValue, Ref

from .base import StackTemplate

COLOURS = ("blue", "green")


class Group(NamedTuple):
    colour: str
    full_name: Ref          # targetgroup/NAME/ID: the CloudWatch dimension
    condition: str | None   # the green group exists only while traffic shifts


def groups(st: StackTemplate) -> list[Group]:
    inputs = {colour: Ref(st.input(f"{colour.capitalize()}TargetGroupFullName",
                                   f"{colour} target group full name, or none")) for colour in COLOURS}
    return [Group("blue", inputs["blue"], None), Group("green", inputs["green"], st.condition("ShiftsTraffic"))]


def load_balancer(st: StackTemplate) -> Ref:
    return Ref(st.input("LoadBalancerFullName", "Load balancer full name, or none"))


def over_groups(st: StackTemplate, blue_only: str, both: str):
    """The metric math expression: `blue_only` without a green group, `both` with one."""
    return If(st.condition("ShiftsTraffic"), both, blue_only)


def present(st: StackTemplate, group: Group, item):
    """`item` only where the group exists."""
    return item if group.condition is None else If(group.condition, item, NoValue)
