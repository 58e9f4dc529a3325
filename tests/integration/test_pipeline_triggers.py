"""New data starts the pipeline, once per burst: S3 -> EventBridge rule -> queue -> pipe -> one execution.
moto runs no Pipes: the endpoint delivers a pipe's batch when its window is declared over
(local_aws/delivery/pipes.py), as an array of records; the state machine runs (local_aws/stepfunctions.py,
tests/integration/test_pipeline_runs.py)."""

from __future__ import annotations

import json

import pytest

from .conftest import outputs

RETRAIN = ("--var", "enable_stepfunctions=true", "--var", "retrain_on_new_data=true")


def queued(clients) -> int:
    sqs = clients("sqs")
    url = sqs.get_queue_url(QueueName="automl-dev-retrain-requests")["QueueUrl"]
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"])


def executions(clients) -> list[dict]:
    machine = outputs(clients("cloudformation"), "automl-dev")["StateMachineArn"]
    sfn = clients("stepfunctions")
    return [sfn.describe_execution(executionArn=e["executionArn"])
            for e in sfn.list_executions(stateMachineArn=machine)["executions"]]


def test_a_burst_of_uploads_starts_one_run(aws, cli, clients):
    code, _, err = cli("deploy", "--env", "dev", "--yes", *RETRAIN)
    assert code == 0, err[-3000:]
    bucket = outputs(clients("cloudformation"), "automl-dev")["DataBucketName"]
    s3 = clients("s3")
    for i in range(50):
        s3.put_object(Bucket=bucket, Key=f"data/batch-{i:02}.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket=bucket, Key="models/not-data.bin", Body=b"x")     # outside data/: no run
    assert queued(clients) == 50

    started = aws.flush_pipes()                  # the quiet period is over
    assert [(s["pipe"], s["messages"]) for s in started] == [("automl-dev-new-data", 50)]
    runs = executions(clients)
    assert len(runs) == 1 and json.loads(runs[0]["input"]) == [{"trigger": "data"}] * 50
    assert queued(clients) == 0 and aws.flush_pipes() == []      # nothing new: nothing starts


def test_without_the_setting_uploads_start_nothing(aws, cli, clients):
    code, _, err = cli("deploy", "--env", "dev", "--yes", "--var", "enable_stepfunctions=true")
    assert code == 0, err[-3000:]
    bucket = outputs(clients("cloudformation"), "automl-dev")["DataBucketName"]
    clients("s3").put_object(Bucket=bucket, Key="data/x.csv", Body=b"a\n")
    assert aws.flush_pipes() == [] and executions(clients) == []


def test_history_tells_how_each_run_started_and_schedule_lists_the_next_runs(aws, cli, clients):
    code, _, err = cli("deploy", "--env", "dev", "--yes", *RETRAIN, "--var", "pipeline_schedule=cron(0 3 ? * MON *)",
                       "--var", "pipeline_schedule_timezone=Europe/Berlin")
    assert code == 0, err[-3000:]
    code, out, _ = cli("pipeline", "schedule", "--env", "dev", "--count", "3")
    assert code == 0 and "automl-dev-pipeline: cron(0 3 ? * MON *) in Europe/Berlin, ENABLED" in out
    runs = [line.split("\t") for line in out.splitlines() if line[:2] == "20"]
    assert len(runs) == 3 and all(run[0].endswith("03:00 Mon") for run in runs)
    assert all(run[1][11:] in ("02:00", "01:00") for run in runs)      # Berlin is UTC+1, or +2 in summer

    bucket = outputs(clients("cloudformation"), "automl-dev")["DataBucketName"]
    clients("s3").put_object(Bucket=bucket, Key="data/new.csv", Body=b"a\n")
    aws.flush_pipes()
    assert cli("pipeline", "start", "--env", "dev")[0] == 0
    code, out, _ = cli("pipeline", "history", "--env", "dev", "--format", "json")
    assert code == 0
    assert sorted(row["trigger"] for row in json.loads(out)) == ["data", "manual"]


def test_schedule_without_one_says_how_runs_start(aws, cli):
    assert cli("deploy", "--env", "dev", "--yes", "--var", "enable_stepfunctions=true")[0] == 0
    code, out, _ = cli("pipeline", "schedule", "--env", "dev")
    assert code == 0 and "has no pipeline schedule" in out


def burst_starts_one_run(aws, clients, objects: int = 5) -> bool:
    bucket = outputs(clients("cloudformation"), "automl-dev")["DataBucketName"]
    for i in range(objects):
        clients("s3").put_object(Bucket=bucket, Key=f"data/again-{i}.csv", Body=b"a\n")
    return [s["messages"] for s in aws.flush_pipes()] == [objects]


@pytest.mark.parametrize("first", ["on", "off"])
def test_new_data_still_starts_runs_after_destroy_and_deploy(aws, cli, clients, first):
    """The data bucket is retained and adopted on the way back: its EventBridge notifications must follow
    the setting the environment comes back with, whatever the bucket had before."""
    before = RETRAIN if first == "on" else ("--var", "enable_stepfunctions=true")
    assert cli("deploy", "--env", "dev", "--yes", *before)[0] == 0
    assert cli("destroy", "--env", "dev", "--yes")[0] == 0
    code, _, err = cli("deploy", "--env", "dev", "--yes", *RETRAIN)
    assert code == 0, err[-3000:]
    assert burst_starts_one_run(aws, clients)
