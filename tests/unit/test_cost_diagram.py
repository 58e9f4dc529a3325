"""Cost estimate against hand-computed figures, and the diagram's contents."""

from __future__ import annotations

import json

import pytest

from automl_cfn import cost, diagram
from automl_cfn.parameters import parameter_values
from automl_cfn.settings import with_overrides

HOURS = 730
VCPU, GB = 0.04048, 0.004445
SPOT_VCPU, SPOT_GB = 0.01244, 0.00137


def estimate(templates, settings, **overrides):
    settings = with_overrides(settings, **overrides) if overrides else settings
    return cost.estimate(templates, parameter_values(settings), settings)


def test_dev_matches_the_hand_computed_figure(templates, dev):
    lines = estimate(templates, dev).by_item()
    assert lines["Fargate Spot: prediction service"] == round(HOURS * (0.5 * SPOT_VCPU + 1 * SPOT_GB), 2)  # 5.54
    assert lines["Public IPv4 (prediction tasks)"] == round(HOURS * 0.005, 2)                           # 3.65
    assert lines["Fargate Spot: optimize runs"] == round(10 * (2 * SPOT_VCPU + 4 * SPOT_GB), 2)
    assert "NAT gateway hours" not in lines and "KMS customer-managed key" not in lines
    assert estimate(templates, dev).total == 22.44


def test_prod_matches_the_hand_computed_figure(templates, prod):
    result = estimate(templates, prod)
    lines = result.by_item()
    assert lines["NAT gateway hours"] == round(2 * HOURS * 0.045, 2)                                    # 65.70
    assert lines["Fargate: prediction service"] == round(2 * HOURS * (1 * VCPU + 2 * GB), 2)            # 72.08
    assert lines["Fargate: optimize runs"] == round(10 * (4 * VCPU + 8 * GB), 2)
    assert lines["CloudWatch Logs storage"] == round(10 * 30 / 30 * 0.03, 2)
    assert lines["VPC flow logs ingestion"] == 2.5 and lines["KMS customer-managed key"] == 1.0
    # The model quality alarm adds one alarm metric ($0.10); the weekly schedule costs less than a cent.
    assert lines["CloudWatch alarm metrics"] == 13 * 0.1
    assert lines["EventBridge Scheduler invocations"] == 0.0
    assert result.total == 167.18
    assert result.total > 75 > estimate(templates, prod, nat_gateways="none", use_fargate_spot=True,
                                        log_retention_days=7, enable_flow_logs=False).total - 50


@pytest.mark.parametrize("change, moved", [
    ({"nat_gateways": "single"}, {"NAT gateway hours", "NAT gateway data", "Public IPv4 (NAT gateways)",
                                  "Public IPv4 (prediction tasks)", "Public IPv4 (one-off tasks)"}),
    ({"use_fargate_spot": False}, {"Fargate Spot: prediction service", "Fargate: prediction service",
                                   "Fargate Spot: optimize runs", "Fargate: optimize runs", "Fargate Spot: train runs",
                                   "Fargate: train runs", "Fargate Spot: predict runs", "Fargate: predict runs"}),
    ({"log_retention_days": 30}, {"CloudWatch Logs storage"}),
    ({"train_cpu": 4096, "train_memory": 8192}, {"Fargate Spot: train runs"}),
    ({"prediction_service_count": 2, "prediction_max_capacity": 2}, {"Fargate Spot: prediction service",
                                                                      "Public IPv4 (prediction tasks)"}),
    ({"expected_storage_gb": 500}, {"S3 storage"}),
])
def test_a_setting_moves_exactly_its_lines(templates, dev, change, moved):
    before, after = estimate(templates, dev).by_item(), estimate(templates, dev, **change).by_item()
    differing = {item for item in set(before) | set(after) if before.get(item) != after.get(item)}
    assert differing == moved


def test_unknown_region_uses_us_east_1_prices(templates, dev):
    result = cost.estimate(templates, parameter_values(dev), dev, region="ap-southeast-2")
    assert result.price_region == "us-east-1" and result.total == 22.44
    data = json.loads(cost.to_json(result))
    assert data["price_date"] and data["lines"][0]["assumption"]


def mermaid(templates, settings, **overrides):
    settings = with_overrides(settings, **overrides) if overrides else settings
    return diagram.mermaid(diagram.build(templates, parameter_values(settings), settings))


def test_diagram_shows_every_stack_and_key_resource(templates, prod):
    text = mermaid(templates, prod)
    for needle in ('subgraph vpc["VPC 10.0.0.0/16"]', 'subgraph az2["AZ 2"]', 'nat2["NAT gateway 2"]',
                   's3endpoint', 'flowlogs', 'subgraph ecs["ECS cluster (Fargate)"]', 'service["prediction service x2"]',
                   'repo_pipeline', 'prefix_predictions["predictions/"]', 'statemachine["Step Functions pipeline (one run at a time)"]',
                   'role_sfn', 'kms["KMS key (customer-managed)"]', 'role_task -->|read| prefix_data',
                   'service -->|in subnets| private1'):
        assert needle in text, needle


def test_optional_parts_appear_only_when_enabled(templates, dev):
    text = mermaid(templates, dev)
    for absent in ("nat1", "statemachine", "role_sfn", "flowlogs", "kms", "accesslogs"):
        assert absent not in text, absent
    assert "service -->|in subnets| public1" in text  # no NAT: tasks in the public subnets
    three = mermaid(templates, dev, az_count=3, nat_gateways="single", enable_prediction_service=False)
    assert 'az3["AZ 3"]' in three and "nat1" in three and "nat2" not in three and "service[" not in three


def test_dot_output_is_graphviz_syntax(templates, dev):
    text = diagram.dot(diagram.build(templates, parameter_values(dev), dev))
    assert text.startswith("digraph automl {") and "subgraph cluster_vpc" in text and text.rstrip().endswith("}")


def test_a_frequent_schedule_shows_what_it_costs(templates, prod):
    lines = estimate(templates, prod, pipeline_schedule="rate(1 minute)").by_item()
    runs = 30 * 1440
    assert lines["EventBridge Scheduler invocations"] == round(runs / 1e6 * 1.0, 2)
    assert lines["Step Functions state transitions (scheduled runs)"] == round(runs * 10 / 1000 * 0.025, 2)  # 10.80
    assert "EventBridge Scheduler invocations" not in estimate(templates, prod, pipeline_schedule="").by_item()


def test_the_diagram_shows_how_a_run_starts_and_the_quality_gate(templates, prod):
    text = mermaid(templates, prod)
    assert 'schedule["EventBridge Scheduler cron(0 3 ? * MON *) (Europe/Berlin)"]' in text
    assert "schedule -->|starts| statemachine" in text and "manual -->|starts| statemachine" in text
    assert "task_train -->|then| quality" in text and "quality -->|then| task_predict" in text
    plain = mermaid(templates, with_overrides(prod, pipeline_schedule="", model_quality_metric=""))
    assert "schedule" not in plain and "quality" not in plain and "task_train -->|then| task_predict" in plain
    for retrain in (True, False):
        text = mermaid(templates, with_overrides(prod, retrain_on_new_data=retrain))
        assert ("newdata -->|starts once per batch| statemachine" in text) is retrain
        assert ("prefix_data -->|Object Created| newdata" in text) is retrain


def test_the_deployed_side_of_a_review_is_priced_from_its_own_parameters(templates, prod):
    """A review prices what is deployed (its parameters) next to what the settings want now."""
    now = with_overrides(prod, pipeline_schedule="")
    deployed = cost.estimate(templates, parameter_values(prod), now).by_item()
    assert "EventBridge Scheduler invocations" in deployed
