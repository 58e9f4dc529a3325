"""Day-2 verbs: the parts that decide outcomes, without an endpoint."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from automl_cfn.errors import AwsError, UserError
from automl_cfn.ops import data, logs, pipeline, tasks


@pytest.mark.parametrize("containers, reason, expected", [
    ([{"name": "train", "exitCode": 0}], "Essential container in task exited", 0),
    ([{"name": "train", "exitCode": 137, "reason": "OutOfMemoryError: Container killed due to memory usage"}],
     "Essential container in task exited", "train failed: exit code 137; stopped: Essential container in task "
                                           "exited; OutOfMemoryError"),
    ([{"name": "train"}], "Task failed to start: CannotPullContainerError", "exit code unknown; stopped: Task "
                                                                            "failed to start: CannotPullContainerError"),
])
def test_a_task_succeeds_only_when_its_container_exits_zero(containers, reason, expected):
    task = {"containers": containers, "stoppedReason": reason}
    if expected == 0:
        assert tasks.report("train", task) == 0
    else:
        with pytest.raises(AwsError) as failed:
            tasks.report("train", task)
        assert expected in str(failed.value)


class FakeDeployed:
    def __init__(self, spot_default=False):
        from automl_cfn.settings import validate

        self.outputs = {"ClusterName": "c", "TrainTaskFamily": "automl-dev-train", "TaskSubnets": "subnet-a,subnet-b",
                        "TaskSecurityGroupId": "sg-1", "AssignPublicIp": "ENABLED"}
        self.target = type("T", (), {"settings": validate({"environment": "dev", "use_fargate_spot": spot_default})})

    def get(self, key):
        return self.outputs[key]


@pytest.mark.parametrize("spot_flag, spot_default, provider", [
    (False, False, "FARGATE"), (True, False, "FARGATE_SPOT"), (False, True, "FARGATE_SPOT")])
def test_run_request_comes_from_outputs(spot_flag, spot_default, provider):
    kwargs = tasks.request(FakeDeployed(spot_default), tasks.RunOptions("train", spot=spot_flag, cpu=2048,
                                                                         memory=8192))
    assert kwargs["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": ["subnet-a", "subnet-b"], "securityGroups": ["sg-1"], "assignPublicIp": "ENABLED"}
    assert kwargs["capacityProviderStrategy"] == [{"capacityProvider": provider, "weight": 1}]
    assert kwargs["overrides"] == {"cpu": "2048", "memory": "8192",
                                   "containerOverrides": [{"name": "train", "memory": 8192}]}
    assert "launchType" not in kwargs


def test_since_accepts_durations_and_times():
    now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    assert logs.parse_since("10m", now) == datetime(2026, 11, 26, 11, 50, tzinfo=timezone.utc)
    assert logs.parse_since("2d", now) == datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    assert logs.parse_since("2026-11-26T06:00", now) == datetime(2026, 11, 26, 6, 0, tzinfo=timezone.utc)
    with pytest.raises(UserError, match="use a duration like 10m"):
        logs.parse_since("last tuesday", now)


def test_pipeline_history_lines_and_outcome():
    event = {"type": "TaskStateEntered", "timestamp": datetime(2026, 11, 26, 6, 1, 2),
             "stateEnteredEventDetails": {"name": "Train"}}
    assert pipeline.describe_event(event) == "06:01:02  Train entered"
    failed = {"type": "ExecutionFailed", "timestamp": datetime(2026, 11, 26, 6, 9, 0),
              "executionFailedEventDetails": {"error": "States.TaskFailed", "cause": "exit code 1"}}
    assert pipeline.describe_event(failed) == "06:09:00  execution failed: exit code 1"
    with pytest.raises(AwsError, match="pipeline FAILED: States.TaskFailed exit code 1"):
        pipeline.outcome({"status": "FAILED", "error": "States.TaskFailed", "cause": "exit code 1"})
    assert pipeline.outcome({"status": "SUCCEEDED", "executionArn": "arn:x"}) == 0


def test_local_etag_is_md5_or_multipart(tmp_path):
    small = tmp_path / "small"
    small.write_bytes(b"abc")
    assert data.local_etag(small, 3) == hashlib.md5(b"abc").hexdigest()
    big = tmp_path / "big"
    content = b"x" * (data.PART_SIZE + 10)
    big.write_bytes(content)
    parts = [content[:data.PART_SIZE], content[data.PART_SIZE:]]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + "-2"
    assert data.local_etag(big, len(content)) == expected


def test_excludes_match_names_and_paths():
    assert data.excluded("models/x.pkl", ["*.pkl"])
    assert data.excluded("cache/a.csv", ["cache/*"])
    assert not data.excluded("raw/a.csv", ["*.pkl", "cache/*"])


def test_release_follows_the_service_deployment_to_rollback():
    from datetime import datetime

    import boto3
    from botocore.stub import Stubber

    from automl_cfn.ops import release

    ecs = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    arn = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/1"
    with Stubber(ecs) as stub:
        stub.add_response("list_service_deployments", {"serviceDeployments": [
            {"serviceDeploymentArn": arn, "createdAt": datetime(2026, 11, 26)}]}, {"cluster": "c", "service": "s"})
        for status, stage in (("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT"), ("IN_PROGRESS", "BAKE_TIME"),
                              ("ROLLBACK_SUCCESSFUL", None)):
            deployment = {"serviceDeploymentArn": arn, "status": status}
            if stage:
                deployment["lifecycleStage"] = stage
            else:
                deployment["statusReason"] = "alarm automl-prod-predict-5xx went into ALARM during bake time"
            stub.add_response("describe_service_deployments", {"serviceDeployments": [deployment]},
                              {"serviceDeploymentArns": [arn]})
        with pytest.raises(AwsError, match="s: deployment ROLLBACK_SUCCESSFUL: alarm automl-prod-predict-5xx"):
            release.follow(ecs, "c", "s", poll=0)
        stub.assert_no_pending_responses()


def test_release_reports_success():
    import boto3
    from botocore.stub import Stubber

    from automl_cfn.ops import release

    ecs = boto3.client("ecs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    arn = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/2"
    with Stubber(ecs) as stub:
        stub.add_response("list_service_deployments", {"serviceDeployments": [{"serviceDeploymentArn": arn}]})
        stub.add_response("describe_service_deployments",
                          {"serviceDeployments": [{"serviceDeploymentArn": arn, "status": "SUCCESSFUL"}]})
        assert release.follow(ecs, "c", "s", poll=0) == 0


def test_release_names_the_alarms_that_guard_it():
    import boto3
    from botocore.stub import Stubber

    from automl_cfn.ops import release

    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(cloudwatch) as stub:
        stub.add_response("describe_alarms", {"MetricAlarms": [
            {"AlarmName": "automl-prod-model-quality-low", "StateValue": "ALARM"},
            {"AlarmName": "automl-prod-predict-5xx", "StateValue": "OK"}]},
            {"AlarmNames": ["automl-prod-predict-5xx", "automl-prod-predict-latency", "automl-prod-predict-unhealthy",
                            "automl-prod-model-quality-low"], "AlarmTypes": ["MetricAlarm"]})
        line = release.guard_line(release.guards(cloudwatch, "automl-prod"))
    assert line == ("Guarded by automl-prod-model-quality-low (ALARM), automl-prod-predict-5xx (OK): one in ALARM "
                    "rolls the release back")
    assert release.guard_line([]).startswith("No alarm guards this release")


def test_pipeline_history_tells_triggers_skips_and_the_failed_step():
    import json as json_module
    from datetime import datetime, timedelta

    import boto3
    from botocore.stub import Stubber

    from automl_cfn.ops import pipeline

    sfn = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:automl-prod-pipeline"
    start = datetime(2026, 11, 30, 3, 0)
    runs = [("weekly", "SUCCEEDED", {"trigger": "schedule"}, {"gate": {"running": 1}}, 95),
            ("burst", "SUCCEEDED", {"trigger": "data"}, {"gate": {"running": 2}}, 1),
            ("mine", "FAILED", {"trigger": "manual"}, None, 3700)]
    with Stubber(sfn) as stub:
        stub.add_response("list_executions", {"executions": [
            {"executionArn": f"{machine}:{name}".replace("stateMachine", "execution"), "stateMachineArn": machine,
             "name": name, "status": status, "startDate": start} for name, status, *_ in runs]},
            {"stateMachineArn": machine, "maxResults": 20})
        for name, status, given, output, seconds in runs:
            arn = f"{machine}:{name}".replace("stateMachine", "execution")
            described = {"executionArn": arn, "stateMachineArn": machine, "status": status, "startDate": start,
                         "stopDate": start + timedelta(seconds=seconds), "input": json_module.dumps(given)}
            if output:
                described["output"] = json_module.dumps(output)
            stub.add_response("describe_execution", described, {"executionArn": arn})
            if status == "FAILED":
                stub.add_response("get_execution_history", {"events": [
                    {"timestamp": start, "type": "ExecutionFailed", "id": 9},
                    {"timestamp": start, "type": "FailStateEntered", "id": 8,
                     "stateEnteredEventDetails": {"name": "ModelQualityTooLow"}},
                    {"timestamp": start, "type": "ChoiceStateEntered", "id": 7,
                     "stateEnteredEventDetails": {"name": "ModelGoodEnough"}}]},
                    {"executionArn": arn, "reverseOrder": True, "maxResults": 50})
        rows = pipeline.history_rows(sfn, machine, 20)
    assert [(r["trigger"], r["status"], r["failed_step"]) for r in rows] == [
        ("schedule", "SUCCEEDED", ""), ("data", "SKIPPED", ""), ("manual", "FAILED", "ModelGoodEnough")]
    assert [pipeline._duration(r["seconds"]) for r in rows] == ["1m35s", "0m01s", "1h01m"]


def test_a_manual_start_says_so_in_its_input():
    import json as json_module

    from automl_cfn.ops import pipeline

    assert json_module.loads(pipeline.parse_input(None)) == {"trigger": "manual"}
    assert json_module.loads(pipeline.parse_input('{"run": "nightly"}')) == {"trigger": "manual", "run": "nightly"}
