"""A canary or linear rollout whose bakes CloudFormation would reckon at over 33 hours is refused by
`automl-cfn deploy` before any request: one line, exit 2, nothing on the endpoint.  The largest rollout the
settings accept deploys, the service carrying it (rollout_time.py names the limit's sources)."""

from __future__ import annotations

import pytest

from .conftest import stack_names

SHIFTING = ("--var", "load_balancer=internal")


@pytest.mark.parametrize("strategy, step, bake, fragment", [
    ("linear", 3, 1440, "deployment_bake_minutes: 1440 with deployment_strategy: linear, linear_step_percent: 3 "
                        "makes a deployment CloudFormation reckons at 48960 minutes"),
    ("canary", 10, 991, "deployment_bake_minutes: 991 with deployment_strategy: canary makes a deployment "
                        "CloudFormation reckons at 1982 minutes"),
])
def test_a_rollout_over_33_hours_is_refused_and_nothing_is_created(aws, cli, clients, strategy, step, bake, fragment):
    code, out, err = cli("deploy", "--env", "dev", "--yes", *SHIFTING, "--var", f"deployment_strategy={strategy}",
                         "--var", f"linear_step_percent={step}", "--var", f"deployment_bake_minutes={bake}")
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("automl-cfn: error: ") and fragment in lines[0], err
    assert "over the 1980 (33 hours) it accepts; allowed: deployment_bake_minutes up to" in lines[0]
    assert "Traceback" not in err and out == ""
    assert aws.requests() == 0
    assert stack_names(clients("cloudformation")) == {} and clients("s3").list_buckets()["Buckets"] == []


def test_the_largest_linear_rollout_accepted_deploys(aws, cli, clients):
    """linear_step_percent: 3 with 58-minute bakes (34 x 58 = 1972 minutes, within the 1980) deploys, the compute
    stack carrying both values (the endpoint's ECS does not describe a service's deploymentConfiguration; the unit
    tests reckon the rendered one)."""
    code, out, err = cli("deploy", "--env", "dev", "--yes", *SHIFTING, "--var", "deployment_strategy=linear",
                         "--var", "linear_step_percent=3", "--var", "deployment_bake_minutes=58")
    assert code == 0, err
    cfn = clients("cloudformation")
    assert stack_names(cfn)["automl-dev"] == "CREATE_COMPLETE"
    compute = [s for s in cfn.describe_stacks()["Stacks"] if s["StackName"].startswith("automl-dev-ComputeStack-")]
    assert len(compute) == 1 and compute[0]["StackStatus"] == "CREATE_COMPLETE"
    given = {p["ParameterKey"]: p["ParameterValue"] for p in compute[0]["Parameters"]}
    assert (given["DeploymentStrategy"], given["LinearStepPercent"], given["DeploymentBakeMinutes"]) == (
        "linear", "3", "58")
