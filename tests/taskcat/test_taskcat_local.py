"""Every .taskcat.yml test deploys, offline, in every region; the root
stacks' outputs are checked afterwards (taskcat itself does not)."""

from __future__ import annotations

import pytest
import yaml

from automl_cfn import taskcat_run


def test_the_config_stays_valid_for_real_aws(project_root):
    config = yaml.safe_load((project_root / ".taskcat.yml").read_text())
    text = (project_root / ".taskcat.yml").read_text()
    assert "127.0.0.1" not in text and "localhost" not in text and "endpoint_url" not in text.lower()
    assert set(config["project"]["regions"]) >= {"us-east-1", "us-west-2", "eu-west-1"}
    assert {"dev-minimal", "prod-full", "single-nat-spot", "prod-alb-bluegreen"} <= set(config["tests"])
    assert config["project"]["parameters"]["TemplatesBucket"] == "$[taskcat_autobucket]"
    params = {name: {**config["project"]["parameters"], **t["parameters"]} for name, t in config["tests"].items()}
    assert params["dev-minimal"]["NatGateways"] == "none" and params["dev-minimal"]["EnableStepFunctions"] == "false"
    assert params["prod-full"]["NatGateways"] == "per_az" and params["prod-full"]["EnableFlowLogs"] == "true"
    assert params["single-nat-spot"]["NatGateways"] == "single" and params["single-nat-spot"]["UseFargateSpot"] == "true"


def test_every_parameter_set_satisfies_the_templates_rules(project_root, templates):
    """AllowedValues/patterns of the root template hold for every test's parameters."""
    import re

    config = yaml.safe_load((project_root / ".taskcat.yml").read_text())
    declared = templates["root"]["Parameters"]
    for name, test in config["tests"].items():
        params = {**config["project"]["parameters"], **test["parameters"]}
        for key, value in params.items():
            assert key in declared, (name, key)
            spec, value = declared[key], str(value)
            if value.startswith("$["):
                continue
            if "AllowedValues" in spec:
                assert value in spec["AllowedValues"], (name, key, value)
            if "AllowedPattern" in spec:
                assert re.match(spec["AllowedPattern"], value), (name, key, value)


@pytest.mark.skipif(not (taskcat_run.Path(__file__).resolve().parents[2] / taskcat_run.TASKCAT_VENV).exists(),
                    reason="taskcat's virtual environment is missing: run through 'make test' (it creates it)")
def test_taskcat_runs_every_test_offline_and_outputs_are_present(project_root, tmp_path):
    results = taskcat_run.run_local(project_root, output_dir=tmp_path / "taskcat_outputs")
    assert len(results) == 15   # five tests in three regions
    failed = [(r.test, r.region, r.status, r.missing) for r in results if not r.passed]
    assert failed == []
    # The existing-VPC test deployed (its VPC and subnets came from the fixture stack, through SSM).
    assert {(r.test, r.status) for r in results if r.test == "existing-vpc"} == {("existing-vpc", "CREATE_COMPLETE")}
    report = (tmp_path / "taskcat_outputs" / "index.html").read_text()
    assert "test-green" in report and "tCaT-automl-cfn-prod-full" in report
