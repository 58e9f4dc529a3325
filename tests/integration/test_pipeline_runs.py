"""The pipeline runs on the endpoint as on AWS: Step Functions' interpreter walks the states
(local_aws/stepfunctions.py), every call a state makes goes out as the state machine's role, and the tasks it
starts run the example image's code as their task role (containers.py).  What reaches the state machine has
the shape its sender documents: a pipe's batch is a JSON array."""

from __future__ import annotations

import json

import boto3
import pytest

from .conftest import outputs

RETRAIN = ("--var", "enable_stepfunctions=true", "--var", "retrain_on_new_data=true")


@pytest.fixture
def prod(aws, cli, clients):
    code, _, err = cli("deploy", "--env", "prod", "--yes", "--region", "us-east-1")
    assert code == 0, err[-3000:]
    return outputs(clients("cloudformation"), "automl-prod")


def run(cli, *args):
    return cli("pipeline", *args, "--env", "prod", "--region", "us-east-1")


def publishes(score: float):
    """A train container that publishes `score` as its quality metric, as its task role, and exits 0."""
    def train(environment: dict) -> int:
        cloudwatch = boto3.client("cloudwatch", endpoint_url=environment["AWS_ENDPOINT_URL"],
                                  region_name=environment["AWS_DEFAULT_REGION"],
                                  aws_access_key_id=environment["AWS_ACCESS_KEY_ID"],
                                  aws_secret_access_key=environment["AWS_SECRET_ACCESS_KEY"],
                                  aws_session_token=environment["AWS_SESSION_TOKEN"])
        cloudwatch.put_metric_data(Namespace=environment["METRICS_NAMESPACE"],
                                   MetricData=[{"MetricName": "validation_accuracy", "Value": score}])
        return 0
    return train


def test_a_run_optimizes_trains_and_predicts_as_each_tasks_role(aws, cli, clients, prod, containers):
    """The whole way: the example's optimize, train and predict run in turn, read and write the data bucket
    as their task roles, train publishes its score, and the quality gate lets predict run."""
    containers.play(prod["ClusterName"])
    code, out, err = run(cli, "start", "--wait", "--poll", "0.2")
    assert code == 0, err[-3000:]
    assert "pipeline SUCCEEDED" in out and "ModelGoodEnough" in err
    assert containers.ran == [("optimize", 0), ("train", 0), ("predict", 0)]
    keys = {o["Key"] for o in clients("s3").list_objects_v2(Bucket=prod["DataBucketName"])["Contents"]}
    assert {"models/best_params.json", "models/model.joblib", "models/metrics.json"} <= keys
    assert any(key.startswith("predictions/") and key.endswith(".csv") for key in keys)
    code, out, _ = run(cli, "history", "--format", "json")
    assert [(row["trigger"], row["status"]) for row in json.loads(out)] == [("manual", "SUCCEEDED")]


def test_a_model_below_the_minimum_stops_before_predict(aws, cli, prod, containers):
    containers.play(prod["ClusterName"], {"optimize": lambda environment: 0, "train": publishes(0.5)})
    code, out, err = run(cli, "start", "--wait", "--poll", "0.2")
    assert code != 0 and "pipeline FAILED: ModelQualityTooLow validation_accuracy is below 0.8" in err
    assert containers.ran == [("optimize", 0), ("train", 0)]
    code, out, _ = run(cli, "history", "--format", "json")
    assert [(row["status"], row["failed_step"]) for row in json.loads(out)] == [("FAILED", "ModelGoodEnough")]


def test_the_state_machine_runs_tasks_only_as_its_role_allows(aws, cli, clients, prod, containers):
    """Step Functions -> ECS: RunTask goes out as the state machine's role.  Denied, the run fails with ECS's
    refusal; allowed again, it runs."""
    iam = clients("iam")
    role = clients("stepfunctions").describe_state_machine(
        stateMachineArn=prod["StateMachineArn"])["roleArn"].rsplit("/", 1)[1]
    iam.put_role_policy(RoleName=role, PolicyName="no-tasks", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ecs:RunTask", "Resource": "*"}]}))
    containers.play(prod["ClusterName"], {"optimize": lambda environment: 0, "train": publishes(0.9),
                                          "predict": lambda environment: 0})
    code, out, err = run(cli, "start", "--wait", "--poll", "0.2")
    assert code != 0 and "pipeline FAILED: ECS.AccessDeniedException" in err
    assert "not authorized to perform: ecs:RunTask" in err and containers.ran == []
    iam.delete_role_policy(RoleName=role, PolicyName="no-tasks")
    code, out, err = run(cli, "start", "--wait", "--poll", "0.2")
    assert code == 0 and "pipeline SUCCEEDED" in out, err[-3000:]
    assert [service for service, _ in containers.ran] == ["optimize", "train", "predict"]


def shipped_without_the_batch_states(definition: str) -> str:
    """The state machine as it was before it took batches: it starts at the gate."""
    document = json.loads(definition)
    document["StartAt"] = "OnlyOneRunAtATime"
    for state in ("StartedByABatch", "OneRunPerBatch"):
        del document["States"][state]
    return json.dumps(document)


def upload(clients, bucket: str, count: int, prefix: str) -> None:
    for index in range(count):
        clients("s3").put_object(Bucket=bucket, Key=f"data/{prefix}-{index}.csv", Body=b"a,b\n1,2\n")


def test_a_batch_fails_a_state_machine_that_expects_an_object(aws, cli, clients, containers):
    """A pipe hands Step Functions its batch as an array (eb-pipes-batching-concurrency.html).  A first state
    that adds its result to an object fails on it with States.ResultPathMatchFailure; the shipped definition
    takes the batch as one run."""
    code, _, err = cli("deploy", "--env", "dev", "--yes", *RETRAIN)
    assert code == 0, err[-3000:]
    found = outputs(clients("cloudformation"), "automl-dev")
    sfn = clients("stepfunctions")
    shipped = sfn.describe_state_machine(stateMachineArn=found["StateMachineArn"])["definition"]
    sfn.update_state_machine(stateMachineArn=found["StateMachineArn"],
                             definition=shipped_without_the_batch_states(shipped))
    upload(clients, found["DataBucketName"], 3, "before")
    [started] = aws.flush_pipes()
    failed = wait_for_the_end(sfn, started["execution"])
    assert (failed["status"], failed["error"]) == ("FAILED", "States.ResultPathMatchFailure")
    assert json.loads(failed["input"]) == [{"trigger": "data"}] * 3

    sfn.update_state_machine(stateMachineArn=found["StateMachineArn"], definition=shipped)
    containers.play(found["ClusterName"], {service: (lambda environment: 0)
                                           for service in ("optimize", "train", "predict")})
    upload(clients, found["DataBucketName"], 4, "after")
    [started] = aws.flush_pipes()
    done = wait_for_the_end(sfn, started["execution"])
    assert done["status"] == "SUCCEEDED" and json.loads(done["input"]) == [{"trigger": "data"}] * 4
    batch = next(e for e in sfn.get_execution_history(executionArn=started["execution"])["events"]
                 if e["type"] == "PassStateExited")
    assert json.loads(batch["stateExitedEventDetails"]["output"]) == {"trigger": "data", "batch": 4}
    code, out, _ = cli("pipeline", "history", "--env", "dev", "--format", "json")
    assert [row["trigger"] for row in json.loads(out)] == ["data", "data"]


def wait_for_the_end(sfn, execution: str) -> dict:
    """Until the execution ends; the interpreter runs in the endpoint's threads (a generous bound, no timing)."""
    import threading

    ended = threading.Event()
    for _ in range(6000):
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        ended.wait(0.1)
    raise AssertionError(f"{execution} still runs")


@pytest.mark.parametrize("size, refused", [(262144, False), (262145, True)])
def test_an_execution_input_over_256_kib_is_refused(aws, cli, clients, size, refused):
    """StartExecution takes at most 262,144 bytes of input (API_StartExecution.html): a pipe's batch too."""
    assert cli("deploy", "--env", "dev", "--yes", "--var", "enable_stepfunctions=true")[0] == 0
    machine = outputs(clients("cloudformation"), "automl-dev")["StateMachineArn"]
    body = json.dumps({"trigger": "manual", "pad": ""})
    body = body.replace('""', '"' + "x" * (size - len(body)) + '"')
    assert len(body.encode()) == size
    sfn = clients("stepfunctions")
    if refused:
        with pytest.raises(sfn.exceptions.ClientError, match="ValidationException.*262144"):
            sfn.start_execution(stateMachineArn=machine, input=body)
    else:
        sfn.stop_execution(executionArn=sfn.start_execution(stateMachineArn=machine, input=body)["executionArn"])


def test_a_step_whose_container_fails_stops_the_pipeline_after_one_more_try(aws, cli, prod, containers):
    """ECS stops the task when its essential container exits; a non-zero exit code fails the state
    (States.TaskFailed), which the pipeline retries once and then fails with: train never runs on what a failed
    optimize did not write."""
    containers.play(prod["ClusterName"], {"optimize": lambda environment: 3, "train": publishes(0.9)})
    code, out, err = run(cli, "start", "--wait", "--poll", "0.2")
    assert code != 0 and "pipeline FAILED: States.TaskFailed" in err and '"ExitCode": 3' in err
    assert containers.ran == [("optimize", 3), ("optimize", 3)]
    code, out, _ = run(cli, "history", "--format", "json")
    assert [(row["status"], row["failed_step"]) for row in json.loads(out)] == [("FAILED", "Optimize")]
