"""Monitoring and pipeline templates."""

from __future__ import annotations

import json
import re

import pytest

from automl_cfn.model import LOG_SOURCES, SERVICES
from tests.conftest import retained


def fill(text: str) -> str:
    return re.sub(r"\$\{([^}]+)\}", "X", text)


@pytest.mark.parametrize("sfn", [True, False])
def test_a_retained_log_group_per_source_with_retention(stack, sfn):
    groups = stack("monitoring", enable_stepfunctions=sfn, log_retention_days=14).of_type("AWS::Logs::LogGroup")
    expected = [f"{s.capitalize()}LogGroup" for s in LOG_SOURCES if sfn or s != "pipeline"]
    assert sorted(groups) == sorted(expected)
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == "14"
        assert retained(group)


def test_log_group_names_match_the_seed(stack):
    groups = stack("monitoring").resources()
    assert groups["OptimizeLogGroup"]["Properties"]["LogGroupName"] == {"Fn::Sub": "/ecs/${ProjectName}-${Environment}-optimize"}


def test_an_adopted_log_group_keeps_its_terraform_name(stack):
    groups = stack("monitoring", adopted_names={"log_groups": {"train": "/ecs/automl-train"}}).resources()
    assert groups["TrainLogGroup"]["Properties"]["LogGroupName"] == "/ecs/automl-train"
    assert groups["OptimizeLogGroup"]["Properties"]["LogGroupName"] == {"Fn::Sub": "/ecs/${ProjectName}-${Environment}-optimize"}


def test_cpu_and_memory_alarms_per_service_notify_the_topic(stack):
    alarms = stack("monitoring", alarm_cpu_threshold=75).of_type("AWS::CloudWatch::Alarm")
    assert sorted(alarms) == sorted(f"{s.capitalize()}{m}Alarm" for s in SERVICES for m in ("Cpu", "Memory"))
    cpu = alarms["TrainCpuAlarm"]["Properties"]
    assert cpu["Threshold"] == "75" and cpu["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    expression = next(m for m in cpu["Metrics"] if "Expression" in m)
    assert expression["Expression"] == "100 * utilized / reserved"
    dims = {d["Name"]: d["Value"] for d in cpu["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"]}
    assert dims["TaskDefinitionFamily"] == {"Fn::Sub": "${ProjectName}-${Environment}-train"}


@pytest.mark.parametrize("email, subscribed", [("", False), ("ops@example.com", True)])
def test_email_subscription_only_with_an_address(stack, email, subscribed):
    resources = stack("monitoring", alarm_email=email).resources()
    assert ("AlarmEmailSubscription" in resources) is subscribed
    if subscribed:
        assert resources["AlarmEmailSubscription"]["Properties"]["Endpoint"] == email


def test_dashboard_shows_cpu_memory_tasks_and_pipeline(templates):
    body = templates["monitoring"]["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(fill(body))["widgets"]
    titles = [w["properties"]["title"] for w in widgets]
    assert any("CPU" in t for t in titles) and any("Memory" in t for t in titles)
    assert "Running tasks" in titles and "Pipeline executions" in titles


def definition_sub(templates, quality_gate: bool = False) -> list:
    """[text, values] of the definition: the quality gate's variant, or the plain one."""
    condition, gated, plain = templates["pipeline"]["Resources"]["PipelineStateMachine"]["Properties"][
        "DefinitionString"]["Fn::If"]
    assert condition == "HasModelQualityGate"
    return (gated if quality_gate else plain)["Fn::Sub"]


def definition(templates, quality_gate: bool = False) -> dict:
    text, values = definition_sub(templates, quality_gate)
    assert set(re.findall(r"\$\{([^}:]+)\}", text)) <= set(values) | {"AWS::Partition"}
    return json.loads(re.sub(r"\$\{ModelQualityMin\}", "0.8", fill_except(text, "ModelQualityMin")))


def fill_except(text: str, kept: str) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda m: m.group(0) if m.group(1) == kept else "X", text)


def test_state_machine_runs_optimize_train_predict_in_order(templates):
    states = definition(templates)
    assert states["StartAt"] == "StartedByABatch"
    batch = states["States"]["StartedByABatch"]
    assert batch["Choices"] == [{"Variable": "$[0]", "IsPresent": True, "Next": "OneRunPerBatch"}]
    assert batch["Default"] == states["States"]["OneRunPerBatch"]["Next"] == "OnlyOneRunAtATime"
    assert states["States"]["AnotherRunIsActive"]["Default"] == "Optimize"
    chain, state = [], "Optimize"
    while state:
        chain.append(state)
        body = states["States"][state]
        assert body["Resource"].endswith(":states:::ecs:runTask.sync")
        assert body["Catch"][0]["Next"] == "PipelineFailed"
        assert {e for r in body["Retry"] for e in r["ErrorEquals"]} >= {"ECS.AmazonECSException", "States.TaskFailed"}
        state = body.get("Next")
    assert chain == ["Optimize", "Train", "Predict"]
    assert states["States"]["Predict"]["End"] is True
    # predict scores a batch and ends (its image serves by default, for the prediction service).
    assert states["States"]["Predict"]["Parameters"]["Overrides"] == {
        "ContainerOverrides": [{"Name": "predict", "Command": ["batch"]}]}
    assert "Overrides" not in states["States"]["Train"]["Parameters"]
    failed = states["States"]["PipelineFailed"]
    assert failed["Type"] == "Fail" and failed["CausePath"] == "$.failed.Cause"


def test_a_full_batch_of_new_data_records_fits_in_an_execution_input():
    """The pipe's batch is the execution's input: MAX_SQS_BATCH records of the template, as a JSON array."""
    from automl_cfn.stacks import pipeline

    record = json.dumps(pipeline.NEW_DATA_RECORD)
    assert 2 + pipeline.MAX_SQS_BATCH * (len(record) + 1) - 1 <= pipeline.MAX_EXECUTION_INPUT_BYTES


def test_state_machine_logs_everything_and_traces(templates):
    props = templates["pipeline"]["Resources"]["PipelineStateMachine"]["Properties"]
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is True
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["StateMachineType"] == "STANDARD"


def test_subnets_are_spliced_into_the_json_array(templates):
    text, values = definition_sub(templates)
    assert re.search(r'"Subnets": \[\s*"\$\{SubnetList\}"\s*\]', text)
    assert values["SubnetList"] == {"Fn::Join": ['","', {"Ref": "TaskSubnets"}]}
    filled = text.replace("${SubnetList}", '","'.join(["subnet-a", "subnet-b"]))
    doc = json.loads(fill(filled))
    subnets = doc["States"]["Train"]["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    assert subnets == ["subnet-a", "subnet-b"]


@pytest.mark.parametrize("quality_gate", [False, True])
def test_a_start_while_another_execution_runs_is_skipped(templates, quality_gate):
    states = definition(templates, quality_gate)["States"]
    gate = states["OnlyOneRunAtATime"]
    assert gate["Resource"].endswith(":states:::aws-sdk:sfn:listExecutions")
    assert gate["Parameters"] == {"StateMachineArn.$": "$$.StateMachine.Id", "StatusFilter": "RUNNING",
                                  "MaxResults": 2}
    choice = states["AnotherRunIsActive"]["Choices"][0]
    assert choice == {"Variable": "$.gate.running", "NumericGreaterThan": 1, "Next": "SkippedWhileAnotherRuns"}
    assert states["SkippedWhileAnotherRuns"]["Type"] == "Succeed"


def test_the_quality_gate_stands_between_train_and_predict(templates):
    states = definition(templates, quality_gate=True)["States"]
    assert states["Train"]["Next"] == "ReadModelQuality"
    read = states["ReadModelQuality"]
    assert read["Resource"].endswith(":states:::aws-sdk:cloudwatch:getMetricData")
    assert read["Parameters"]["StartTime.$"] == "$$.Execution.StartTime"   # only this execution's training
    rules = states["ModelGoodEnough"]["Choices"][0]["And"]
    assert {"Variable": "$.quality.values[0]", "NumericGreaterThanEquals": 0.8} in rules
    assert states["ModelGoodEnough"]["Choices"][0]["Next"] == "Predict"
    assert states["ModelGoodEnough"]["Default"] == "ModelQualityTooLow" and states["ModelQualityTooLow"]["Type"] == "Fail"
    assert "ReadModelQuality" not in definition(templates)["States"]
    _, values = definition_sub(templates, quality_gate=True)
    assert values["ModelQualityMin"] == {"Ref": "ModelQualityMin"}


def test_the_quality_alarm_guards_releases(stack):
    gated = stack("compute", model_quality_metric="validation_accuracy", model_quality_min=0.8,
                  enable_prediction_service=True)
    alarms = gated.resources()["PredictionService"]["Properties"]["DeploymentConfiguration"]["Alarms"]
    assert alarms["AlarmNames"] == [{"Fn::Sub": "${ProjectName}-${Environment}-model-quality-low"}]
    assert alarms["Rollback"] is True
    plain = stack("compute", enable_prediction_service=True).resources()["PredictionService"]["Properties"]
    assert "Alarms" not in plain["DeploymentConfiguration"]
    alarm = stack("monitoring", model_quality_metric="validation_accuracy", model_quality_min=0.8).resources()[
        "ModelQualityAlarm"]["Properties"]
    assert alarm["ComparisonOperator"] == "LessThanThreshold" and alarm["Threshold"] == "0.8"
    assert alarm["MetricName"] == "validation_accuracy" and alarm["TreatMissingData"] == "notBreaching"


def test_a_schedule_starts_the_pipeline_with_a_dead_letter_queue(stack):
    resources = stack("pipeline", enable_stepfunctions=True, pipeline_schedule="cron(0 3 ? * MON *)",
                      pipeline_schedule_timezone="Europe/Berlin").resources()
    schedule = resources["PipelineStartSchedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 3 ? * MON *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert json.loads(schedule["Target"]["Input"]) == {"trigger": "schedule"}
    assert schedule["Target"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}
    assert "PipelineStartSchedule" not in stack("pipeline", enable_stepfunctions=True).resources()


def test_the_scheduler_role_only_starts_this_pipeline(stack):
    role = stack("iam", enable_stepfunctions=True, pipeline_schedule="rate(7 days)").resources()["SchedulerRole"]
    props = role["Properties"]
    trust = props["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"} and "aws:SourceAccount" in json.dumps(trust)
    statements = props["Policies"][0]["PolicyDocument"]["Statement"]
    assert [s["Action"] for s in statements] == [["states:StartExecution"], ["sqs:SendMessage"]]
    assert "stateMachine:${ProjectName}-${Environment}-pipeline" in json.dumps(statements[0]["Resource"])
    assert "SchedulerRole" not in stack("iam", enable_stepfunctions=True).resources()


def test_new_data_reaches_the_pipeline_through_rule_queue_and_pipe(stack):
    resources = stack("pipeline", enable_stepfunctions=True, retrain_on_new_data=True,
                      retrain_quiet_minutes=3).resources()
    rule = resources["NewDataRule"]["Properties"]
    assert rule["EventPattern"] == {"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {
        "bucket": {"name": [{"Ref": "DataBucketName"}]}, "object": {"key": [{"prefix": "data/"}]}}}
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["RetrainRequestQueue", "Arn"]}
    sender, = [s for s in resources["RetrainRequestQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
               if s["Effect"] == "Allow"]
    assert sender["Principal"] == {"Service": "events.amazonaws.com"}
    assert sender["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["NewDataRule", "Arn"]}}}
    pipe = resources["NewDataPipe"]["Properties"]
    assert pipe["SourceParameters"]["SqsQueueParameters"] == {"BatchSize": 10000, "MaximumBatchingWindowInSeconds": "180"}
    assert json.loads(pipe["TargetParameters"]["InputTemplate"]) == {"trigger": "data"}
    assert pipe["TargetParameters"]["StepFunctionStateMachineParameters"] == {"InvocationType": "FIRE_AND_FORGET"}
    assert isinstance(pipe["Tags"], dict) and "ManagedBy" in pipe["Tags"]
    assert "NewDataPipe" not in stack("pipeline", enable_stepfunctions=True).resources()


@pytest.mark.parametrize("retrain", [True, False])
def test_the_bucket_always_tells_eventbridge_so_an_adopted_bucket_needs_no_update(stack, retrain):
    """The setting adds the rule, never bucket state: an import (destroy and back, migrate) applies no property."""
    bucket = stack("storage", enable_stepfunctions=True, retrain_on_new_data=retrain).resources()["DataBucket"]
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}}
