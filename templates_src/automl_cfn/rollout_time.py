"""How long CloudFormation reckons a rollout of the prediction service bakes, and the limit it holds it to.

A rollout here is an ECS service deployment (AWS's word, kept in the names
below), not `automl-cfn deploy` (deploy/, whose own clock is the rollback
triggers' monitoring time).

The service gets one bake time (`deployment_bake_minutes`) for every bake ECS
offers: the deployment's BakeTimeInMinutes after the last traffic shift, and the
canary's or each linear step's bake before the next shift (stacks/compute.py).

Sources, both in cfn-lint's provider schema for AWS::ECS::Service
(DeploymentConfiguration, CanaryConfiguration, LinearConfiguration) and on the
CloudFormation template reference pages
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-canaryconfiguration.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-linearconfiguration.html:

- "CFN operations time out after 36 hours ... CFN rejects deployments when the
  calculated deployment time exceeds 33 hours based on your template
  configuration": `BakeTimeInMinutes + CanaryBakeTimeInMinutes` for a canary,
  `BakeTimeInMinutes + (StepBakeTimeInMinutes x Number of deployment steps)` for
  a linear deployment.
- The number of linear steps: `(100 / StepPercent) - 1` when StepPercent divides
  100 evenly, else the floor of `100 / StepPercent` (no bake after the shift that
  reaches 100%).
- Each bake is 0 to 1440 minutes; a canary is 0.1 to 100 percent, a linear step
  3 to 100 (multiples of 0.1).

The pages add that scaling tasks and lifecycle hooks can take a deployment under
33 hours past the 36-hour timeout all the same; nothing documents how much, so
the reckoning here is CloudFormation's own and no margin is added.  Blue/green
has only BakeTimeInMinutes (at most 1440 minutes), always within the limit; a
rolling deployment gets no bake time here.
"""

from __future__ import annotations

BAKE_MAX_MINUTES = 1440              # BakeTimeInMinutes, CanaryBakeTimeInMinutes, StepBakeTimeInMinutes
DEPLOYMENT_LIMIT_MINUTES = 33 * 60   # "rejects deployments when the calculated deployment time exceeds 33 hours"
LINEAR_STEP_PERCENTS = range(3, 101)  # LinearConfiguration.StepPercent, in the whole percents the settings take


def linear_steps(step_percent: int) -> int:
    """Bakes between the shifts of a linear deployment, as CloudFormation counts them."""
    shifts, rest = divmod(100, step_percent)
    return shifts - 1 if rest == 0 else shifts


def bakes(strategy: str, linear_step_percent: int) -> int:
    """How many times a deployment of this strategy waits the bake time, as CloudFormation reckons it."""
    return {"blue_green": 1, "canary": 2, "linear": 1 + linear_steps(linear_step_percent)}.get(strategy, 0)


def formula(strategy: str, linear_step_percent: int) -> str:
    """CloudFormation's reckoning, in its own property names, for a message."""
    if strategy == "canary":
        return "BakeTimeInMinutes + CanaryBakeTimeInMinutes"
    if strategy == "linear":
        return f"BakeTimeInMinutes + {linear_steps(linear_step_percent)} steps x StepBakeTimeInMinutes"
    return "BakeTimeInMinutes"


def longest_bake(strategy: str, linear_step_percent: int) -> int:
    """The largest bake time CloudFormation accepts for this strategy (and linear step)."""
    count = bakes(strategy, linear_step_percent)
    return BAKE_MAX_MINUTES if count == 0 else min(BAKE_MAX_MINUTES, DEPLOYMENT_LIMIT_MINUTES // count)


def smallest_linear_step(bake_minutes: int) -> int:
    """The smallest linear step (percent) whose deployment CloudFormation accepts with this bake time."""
    return next(p for p in LINEAR_STEP_PERCENTS if bakes("linear", p) * bake_minutes <= DEPLOYMENT_LIMIT_MINUTES)
