"""Rollback triggers as CloudFormation keeps and watches them (local_aws/strict/rollback_triggers.py): an omitted
RollbackConfiguration keeps the previous triggers, a missing trigger fails the operation, an alarm in ALARM
rolls it back; and deploys that turn the release alarms off stop watching them."""

from __future__ import annotations

import json

import pytest

from .conftest import outputs

TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "{name}"}}}})


def topic_template(name: str) -> str:
    return TEMPLATE.replace("{name}", name)


@pytest.fixture
def watched(clients):
    """A stack created with one alarm as its rollback trigger; returns (cloudformation client, alarm ARN)."""
    cloudwatch, cfn = clients("cloudwatch"), clients("cloudformation")
    cloudwatch.put_metric_alarm(AlarmName="release-guard", MetricName="Errors", Namespace="app", Statistic="Sum",
                                Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    arn = cloudwatch.describe_alarms(AlarmNames=["release-guard"])["MetricAlarms"][0]["AlarmArn"]
    cfn.create_stack(StackName="watched", TemplateBody=topic_template("one"), RollbackConfiguration={
        "RollbackTriggers": [{"Arn": arn, "Type": "AWS::CloudWatch::Alarm"}], "MonitoringTimeInMinutes": 5})
    return cfn, arn


def update(cfn, name: str, **rollback) -> dict:
    """A change set to topic `name`, executed; returns the stack."""
    change_set = cfn.create_change_set(StackName="watched", ChangeSetName=f"to-{name}",
                                       TemplateBody=topic_template(name), **rollback)["Id"]
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set, WaiterConfig={"Delay": 0.1})
    cfn.execute_change_set(ChangeSetName=change_set)
    return cfn.describe_stacks(StackName="watched")["Stacks"][0]


def rollback_reason(cfn) -> str:
    return next(e["ResourceStatusReason"] for e in cfn.describe_stack_events(StackName="watched")["StackEvents"]
                if e["ResourceStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS")


def test_a_change_set_that_omits_the_triggers_keeps_them(aws, watched):
    cfn, arn = watched
    stack = update(cfn, "two")
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert stack["RollbackConfiguration"] == {"RollbackTriggers": [{"Arn": arn, "Type": "AWS::CloudWatch::Alarm"}],
                                              "MonitoringTimeInMinutes": 5}


def test_a_kept_trigger_whose_alarm_is_gone_fails_every_later_update_until_the_triggers_are_removed(
        aws, clients, watched):
    cfn, arn = watched
    clients("cloudwatch").delete_alarms(AlarmNames=["release-guard"])
    stack = update(cfn, "two")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert f"Rollback trigger(s) not found: {arn}" in rollback_reason(cfn)
    assert clients("sns").list_topics()["Topics"][0]["TopicArn"].endswith(":one")

    stack = update(cfn, "three", RollbackConfiguration={"RollbackTriggers": []})
    assert stack["StackStatus"] == "UPDATE_COMPLETE" and "RollbackConfiguration" not in stack


def test_an_alarm_in_alarm_rolls_the_update_back(aws, clients, watched):
    cfn, arn = watched
    clients("cloudwatch").set_alarm_state(AlarmName="release-guard", StateValue="ALARM", StateReason="errors")
    stack = update(cfn, "two")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE" and "in ALARM state" in rollback_reason(cfn)
    clients("cloudwatch").set_alarm_state(AlarmName="release-guard", StateValue="OK", StateReason="quiet")
    assert update(cfn, "three")["StackStatus"] == "UPDATE_COMPLETE"


def test_deploys_after_the_load_balancer_is_turned_off_watch_nothing(aws, cli, clients):
    """The release alarms go with the load balancer; the deploy after that says there is nothing to watch,
    or CloudFormation would keep watching the alarms that are gone and roll every deploy back."""
    for balancer, threshold in (("internal", "80"), ("internal", "70"), ("none", "70")):
        code, _, err = cli("deploy", "--env", "dev", "--yes", "--var", f"load_balancer={balancer}",
                           "--var", f"alarm_cpu_threshold={threshold}")      # the second finds the alarms
        assert code == 0, err[-3000:]
    names = {a["AlarmName"] for a in clients("cloudwatch").describe_alarms(AlarmNamePrefix="automl-dev")["MetricAlarms"]}
    assert not names & {"automl-dev-predict-5xx", "automl-dev-predict-latency", "automl-dev-predict-unhealthy"}
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", "load_balancer=none",
                         "--var", "alarm_cpu_threshold=75")
    assert code == 0, err[-3000:]
    assert "no rollback triggers" in out + err
    stack = clients("cloudformation").describe_stacks(StackName="automl-dev")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE" and "RollbackConfiguration" not in stack
    assert outputs(clients("cloudformation"), "automl-dev")
