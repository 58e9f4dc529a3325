"""Canary and linear deployments of the prediction service: CloudFormation rejects one whose bakes add up to
over 33 hours, so the settings refuse it first (rollout_time.py names the sources)."""

from __future__ import annotations

import math
import re

import pytest

from automl_cfn import rollout_time, providers
from automl_cfn.settings import SETTING_FIELDS, SettingsError, validate

from .test_endpoint import WIRED

SHIFTING = {"environment": "dev", "load_balancer": "internal"}


def ecs_service_schema() -> dict:
    return providers.schema("AWS::ECS::Service")["definitions"]


def cloudformation_reckoning(deployment: dict) -> float:
    """Minutes of a rendered DeploymentConfiguration, written out from the provider schema's words: the canary's
    `BakeTimeInMinutes + CanaryBakeTimeInMinutes`; the linear `BakeTimeInMinutes + (StepBakeTimeInMinutes x Number
    of deployment steps)`, the steps `(100 / StepPercent) - 1` when StepPercent divides 100, else the floor."""
    total = float(deployment.get("BakeTimeInMinutes", 0))
    if "CanaryConfiguration" in deployment:
        total += float(deployment["CanaryConfiguration"]["CanaryBakeTimeInMinutes"])
    if "LinearConfiguration" in deployment:
        linear = deployment["LinearConfiguration"]
        shifts = 100 / float(linear["StepPercent"])
        steps = shifts - 1 if shifts == int(shifts) else math.floor(shifts)
        total += float(linear["StepBakeTimeInMinutes"]) * steps
    return total


def test_the_limit_and_the_ranges_are_the_provider_schemas():
    """The 33 hours and the formulas are in the schema's text; every bake's maximum, the percent ranges and the
    settings' own ranges lie within the schema's numbers."""
    schema = ecs_service_schema()
    canary, linear = schema["CanaryConfiguration"], schema["LinearConfiguration"]
    linear_formula = "BakeTimeInMinutes + (StepBakeTimeInMinutes \u00d7 Number of deployment steps)"
    for definition, formula in ((canary, "BakeTimeInMinutes + CanaryBakeTimeInMinutes"), (linear, linear_formula)):
        hours = re.search(r"rejects deployments when the calculated deployment time exceeds (\d+) hours",
                          definition["description"])
        assert hours and int(hours.group(1)) * 60 == rollout_time.DEPLOYMENT_LIMIT_MINUTES
        assert formula in definition["description"]
    bakes = (schema["DeploymentConfiguration"]["properties"]["BakeTimeInMinutes"],
             canary["properties"]["CanaryBakeTimeInMinutes"], linear["properties"]["StepBakeTimeInMinutes"])
    assert {b["maximum"] for b in bakes} == {rollout_time.BAKE_MAX_MINUTES}
    bake = SETTING_FIELDS["deployment_bake_minutes"].metadata
    assert (bake["min"], bake["max"]) == (max(b["minimum"] for b in bakes), rollout_time.BAKE_MAX_MINUTES)
    for setting, prop in (("canary_percent", canary["properties"]["CanaryPercent"]),
                          ("linear_step_percent", linear["properties"]["StepPercent"])):
        meta = SETTING_FIELDS[setting].metadata
        assert prop["minimum"] <= meta["min"] and meta["max"] <= prop["maximum"], setting
    step = linear["properties"]["StepPercent"]
    assert (rollout_time.LINEAR_STEP_PERCENTS[0], rollout_time.LINEAR_STEP_PERCENTS[-1]) == (
        step["minimum"], step["maximum"])


@pytest.mark.parametrize("step, steps", [(11, 9), (50, 1), (100, 0), (3, 33), (20, 4), (33, 3), (34, 2)])
def test_linear_steps_as_cloudformation_counts_them(step, steps):
    """The schema's own examples (11 -> 9, 50 -> 1) and the edges."""
    assert rollout_time.linear_steps(step) == steps


# (strategy, linear_step_percent, bake, the reckoning in minutes, the largest bake allowed, the other way out)
REFUSED = [
    ("linear", 3, 1440, 48960, 58, "or linear_step_percent: 100"),        # the example: 34 bakes of 24 h
    ("linear", 3, 59, 2006, 58, "or linear_step_percent: 4 or more"),     # one minute over
    ("linear", 20, 397, 1985, 396, "or linear_step_percent: 25 or more"),
    ("linear", 50, 991, 1982, 990, "or linear_step_percent: 100"),
    ("canary", 20, 991, 1982, 990, None),
    ("canary", 20, 1440, 2880, 990, None),
]


@pytest.mark.parametrize("strategy, step, bake, total, largest, other", REFUSED)
def test_a_deployment_over_33_hours_is_refused(strategy, step, bake, total, largest, other):
    with pytest.raises(SettingsError) as info:
        validate({**SHIFTING, "deployment_strategy": strategy, "linear_step_percent": step,
                  "deployment_bake_minutes": bake})
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    assert message.startswith(f"deployment_bake_minutes: {bake} with deployment_strategy: {strategy}")
    assert (f"linear_step_percent: {step} makes" in message) == (strategy == "linear")
    assert f"reckons at {total} minutes" in message and "over the 1980 (33 hours) it accepts" in message
    assert f"allowed: deployment_bake_minutes up to {largest}" in message
    if other:
        assert message.endswith(other), message
        smaller = int(re.search(r"linear_step_percent: (\d+)", other).group(1))
        validate({**SHIFTING, "deployment_strategy": strategy, "linear_step_percent": smaller,
                  "deployment_bake_minutes": bake})   # the way out it names is accepted


# (strategy, linear_step_percent, the largest bake accepted)
LARGEST = [("linear", 3, 58), ("linear", 20, 396), ("linear", 49, 660), ("linear", 50, 990), ("linear", 100, 1440),
           ("canary", 10, 990), ("blue_green", 20, 1440)]


@pytest.mark.parametrize("strategy, step, largest", LARGEST)
def test_the_largest_accepted_deployment_renders_within_the_limit(stack, strategy, step, largest):
    """The largest bake is accepted and renders a deployment CloudFormation reckons at 33 hours or less; a minute
    more is refused (or over the field's own maximum of 1440)."""
    values = {**SHIFTING, "deployment_strategy": strategy, "linear_step_percent": step}
    validate({**values, "deployment_bake_minutes": largest})
    assert rollout_time.longest_bake(strategy, step) == largest
    deployment = stack("compute", wired=WIRED, image_tag="v1", load_balancer="internal", deployment_strategy=strategy,
                       linear_step_percent=step, deployment_bake_minutes=largest
                       ).resources()["PredictionService"]["Properties"]["DeploymentConfiguration"]
    assert deployment["Strategy"] == strategy.upper()
    assert cloudformation_reckoning(deployment) <= 33 * 60
    with pytest.raises(SettingsError, match="deployment_bake_minutes"):
        validate({**values, "deployment_bake_minutes": largest + 1})


@pytest.mark.parametrize("step", rollout_time.LINEAR_STEP_PERCENTS)
def test_every_linear_step_accepts_exactly_what_cloudformation_does(stack, step):
    """Per step percent, the largest accepted bake rendered is within the limit and one more minute is not."""
    largest = rollout_time.longest_bake("linear", step)
    rendered = {"BakeTimeInMinutes": largest, "LinearConfiguration": {"StepPercent": step,
                                                                      "StepBakeTimeInMinutes": largest}}
    assert cloudformation_reckoning(rendered) <= 33 * 60
    one_more = {"BakeTimeInMinutes": largest + 1, "LinearConfiguration": {"StepPercent": step,
                                                                          "StepBakeTimeInMinutes": largest + 1}}
    assert largest == rollout_time.BAKE_MAX_MINUTES or cloudformation_reckoning(one_more) > 33 * 60


def test_rolling_bakes_nothing_so_any_bake_is_accepted():
    """A rolling deployment gets no bake time (stacks/compute.py), so nothing adds up."""
    validate({"environment": "dev", "deployment_strategy": "rolling", "deployment_bake_minutes": 1440})

