"""New data starts the pipeline, once per burst: S3 -> EventBridge rule -> queue -> pipe -> one execution.
moto runs neither Pipes nor the state machine's states: the endpoint delivers a pipe's batch when its window
is declared over (local_aws/pipes.py), and the one-run-at-a-time gate is pinned on the definition
(tests/unit/test_monitoring_pipeline.py)."""

from __future__ import annotations

import json

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
    assert len(runs) == 1 and json.loads(runs[0]["input"]) == {"trigger": "data"}
    assert queued(clients) == 0 and aws.flush_pipes() == []      # nothing new: nothing starts


def test_without_the_setting_uploads_start_nothing(aws, cli, clients):
    code, _, err = cli("deploy", "--env", "dev", "--yes", "--var", "enable_stepfunctions=true")
    assert code == 0, err[-3000:]
    bucket = outputs(clients("cloudformation"), "automl-dev")["DataBucketName"]
    clients("s3").put_object(Bucket=bucket, Key="data/x.csv", Body=b"a\n")
    assert aws.flush_pipes() == [] and executions(clients) == []
