"""Every call between the pipeline's resources, as a real account authorizes it: the endpoint evaluates the
policies (local_aws/policy/), and each test shows the call refused with the grant taken away and made with it
back.  The paths: EventBridge -> SQS (queue and key policy), Pipes -> SQS -> Step Functions (the pipe's
role), Scheduler -> Step Functions and its dead-letter queue (the schedule's role), CloudWatch -> SNS (topic
and key policy), Step Functions -> ECS (the pipeline's role), and the TLS-only resource policies."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import outputs

FULL = ("--var", "kms_key=create", "--var", "enable_stepfunctions=true", "--var", "retrain_on_new_data=true",
        "--var", "pipeline_schedule=cron(0 3 * * ? *)")
ACCOUNT = "123456789012"
QUEUE = "automl-dev-retrain-requests"
DEAD_LETTERS = "automl-dev-pipeline-schedule-dlq"


@pytest.fixture
def deployed(aws, cli, clients):
    """The root stack's outputs, with the key and the service roles (named by stacks/names.py)."""
    code, _, err = cli("deploy", "--env", "dev", "--yes", *FULL)
    assert code == 0, err[-3000:]
    found = outputs(clients("cloudformation"), "automl-dev")
    found["KmsKeyArn"] = clients("kms").describe_key(KeyId="alias/automl-dev")["KeyMetadata"]["Arn"]
    for output, purpose in (("RetrainPipeRoleArn", "retrain-pipe"), ("SchedulerRoleArn", "scheduler"),
                            ("StepFunctionsRoleArn", "stepfunctions")):
        found[output] = f"arn:aws:iam::{ACCOUNT}:role/automl-dev-{purpose}-role-{aws.region}"
    return found


# -- helpers ---------------------------------------------------------------------------------------------

def key_policy(clients, key_arn: str) -> dict:
    return json.loads(clients("kms").get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])


def without_service(document: dict, service: str) -> dict:
    """The policy without the statements that name `service` as principal."""
    def names(statement) -> bool:
        principal = statement.get("Principal")
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        return service in (services if isinstance(services, list) else [services])
    return {**document, "Statement": [s for s in document["Statement"] if not names(s)]}


def role_policies(clients, role_name: str) -> dict[str, dict]:
    from urllib.parse import unquote

    iam = clients("iam")
    documents = {name: iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
                 for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]}
    return {name: json.loads(unquote(d)) if isinstance(d, str) else d for name, d in documents.items()}


def without_action(documents: dict[str, dict], action: str) -> dict[str, dict]:
    """The role's inline policies with `action` taken out of every statement."""
    changed = {}
    for name, document in documents.items():
        statements = []
        for statement in document["Statement"]:
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            kept = [a for a in listed if a != action]
            if kept:
                statements.append({**statement, "Action": kept})
        changed[name] = {**document, "Statement": statements}
    return changed


def put_role_policies(clients, role_name: str, documents: dict[str, dict]) -> None:
    """The role's inline policies become `documents`; one left without statements is deleted (IAM refuses it)."""
    iam = clients("iam")
    for name, document in documents.items():
        if document["Statement"]:
            iam.put_role_policy(RoleName=role_name, PolicyName=name, PolicyDocument=json.dumps(document))
        elif name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=role_name, PolicyName=name)


def role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def queued(clients, name: str = QUEUE) -> int:
    sqs = clients("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"])


def upload(clients, deployed, key: str) -> None:
    clients("s3").put_object(Bucket=deployed["DataBucketName"], Key=key, Body=b"a,b\n1,2\n")


def last_delivery(aws, channel: str) -> dict:
    return [d for d in aws.deliveries() if d["channel"] == channel][-1]


# -- EventBridge -> SQS ----------------------------------------------------------------------------------

def test_eventbridge_needs_the_queue_policy_and_the_key_policy(aws, clients, deployed):
    upload(clients, deployed, "data/first.csv")
    assert queued(clients) == 1, last_delivery(aws, "events")

    key = deployed["KmsKeyArn"]
    granted = key_policy(clients, key)
    clients("kms").put_key_policy(KeyId=key, PolicyName="default",
                                  Policy=json.dumps(without_service(granted, "events.amazonaws.com")))
    upload(clients, deployed, "data/second.csv")
    refused = last_delivery(aws, "events")
    assert queued(clients) == 1 and not refused["delivered"]
    assert "events.amazonaws.com is not authorized to perform: kms:GenerateDataKey" in refused["detail"]

    clients("kms").put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(granted))
    sqs = clients("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    queue_policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(
        without_service(json.loads(queue_policy), "events.amazonaws.com"))})
    upload(clients, deployed, "data/third.csv")
    refused = last_delivery(aws, "events")
    assert queued(clients) == 1 and "sqs:SendMessage" in refused["detail"]

    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy})
    upload(clients, deployed, "data/fourth.csv")
    assert queued(clients) == 2 and last_delivery(aws, "events")["delivered"]


# -- Pipes -> SQS -> Step Functions ----------------------------------------------------------------------

def test_the_pipe_needs_its_role_to_read_the_queue_and_start_the_pipeline(aws, clients, deployed):
    role = role_name(deployed["RetrainPipeRoleArn"])
    granted = role_policies(clients, role)
    upload(clients, deployed, "data/a.csv")
    assert queued(clients) == 1, last_delivery(aws, "events")
    put_role_policies(clients, role, without_action(granted, "kms:Decrypt"))
    assert aws.flush_pipes() == [] and queued(clients) == 1        # nothing read, nothing lost
    assert "is not authorized to perform: kms:Decrypt" in last_delivery(aws, "pipes")["detail"]

    put_role_policies(clients, role, without_action(granted, "states:StartExecution"))
    assert aws.flush_pipes() == [] and queued(clients) == 1
    assert "states:StartExecution" in last_delivery(aws, "pipes")["detail"]

    put_role_policies(clients, role, granted)
    assert [s["messages"] for s in aws.flush_pipes()] == [1] and queued(clients) == 0


def test_only_pipes_may_assume_the_pipes_role(aws, clients, deployed):
    role = role_name(deployed["RetrainPipeRoleArn"])
    trust = clients("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    for statement in trust["Statement"]:
        statement["Principal"] = {"Service": "scheduler.amazonaws.com"}
    clients("iam").update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust))
    upload(clients, deployed, "data/a.csv")
    assert queued(clients) == 1, last_delivery(aws, "events")
    assert aws.flush_pipes() == []
    assert "pipes.amazonaws.com is not authorized to perform: sts:AssumeRole" in last_delivery(aws, "pipes")["detail"]
    with pytest.raises(PermissionError, match="sts:AssumeRole"):
        aws.service_credentials(deployed["RetrainPipeRoleArn"], "pipes.amazonaws.com")


# -- Scheduler -> Step Functions, and its dead-letter queue -----------------------------------------------

def test_the_schedule_starts_the_pipeline_and_parks_failures_as_its_role(aws, clients, deployed):
    assert "started" in aws.fire_schedule("automl-dev-pipeline")

    role = role_name(deployed["SchedulerRoleArn"])
    granted = role_policies(clients, role)
    put_role_policies(clients, role, without_action(granted, "states:StartExecution"))
    parked = aws.fire_schedule("automl-dev-pipeline")
    assert "dead_letter" in parked and "states:StartExecution" in parked["reason"]
    assert queued(clients, DEAD_LETTERS) == 1

    put_role_policies(clients, role, without_action(without_action(granted, "states:StartExecution"),
                                                    "kms:GenerateDataKey"))
    lost = aws.fire_schedule("automl-dev-pipeline")
    assert "lost" in lost and "kms:GenerateDataKey" in lost["lost"]
    assert queued(clients, DEAD_LETTERS) == 1

    put_role_policies(clients, role, granted)
    assert "started" in aws.fire_schedule("automl-dev-pipeline")


# -- CloudWatch -> SNS -----------------------------------------------------------------------------------

def test_alarms_reach_the_encrypted_topic_only_while_its_key_trusts_cloudwatch(aws, clients, deployed):
    cloudwatch = clients("cloudwatch")
    alarm = "automl-dev-train-cpu-high"
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")
    assert last_delivery(aws, "alarms")["delivered"], last_delivery(aws, "alarms")

    key = deployed["KmsKeyArn"]
    granted = key_policy(clients, key)
    clients("kms").put_key_policy(KeyId=key, PolicyName="default",
                                  Policy=json.dumps(without_service(granted, "cloudwatch.amazonaws.com")))
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test")
    refused = last_delivery(aws, "alarms")
    assert not refused["delivered"] and "cloudwatch.amazonaws.com is not authorized to perform: kms:" in \
        refused["detail"]


# -- Step Functions -> ECS ---------------------------------------------------------------------------------

def test_the_pipeline_role_runs_only_the_pipelines_tasks_on_its_cluster(aws, clients, deployed):
    session = aws.service_credentials(deployed["StepFunctionsRoleArn"], "states.amazonaws.com",
                                      deployed["StateMachineArn"])
    ecs = boto3.client("ecs", endpoint_url=aws.url, region_name=aws.region, aws_access_key_id=session["AccessKeyId"],
                       aws_secret_access_key=session["SecretAccessKey"], aws_session_token=session["SessionToken"])
    network = {"awsvpcConfiguration": {"subnets": deployed["PublicSubnets"].split(",")[:1]}}

    def refusal(**arguments) -> str:
        try:
            ecs.run_task(launchType="FARGATE", networkConfiguration=network, **arguments)
        except ClientError as error:
            if "not authorized" in str(error):
                return error.response["Error"]["Message"]
            return "" if error.response["Error"]["Code"] == "ClusterNotFoundException" else str(error)
        return ""

    assert refusal(cluster="automl-dev-cluster", taskDefinition="automl-dev-train") == ""
    assert "ecs:RunTask" in refusal(cluster="another-cluster", taskDefinition="automl-dev-train")
    ecs_admin = clients("ecs")
    foreign = ecs_admin.register_task_definition(family="not-the-pipelines", requiresCompatibilities=["FARGATE"],
                                                 networkMode="awsvpc", cpu="256", memory="512",
                                                 containerDefinitions=[{"name": "x", "image": "x"}])
    assert "ecs:RunTask" in refusal(cluster="automl-dev-cluster",
                                    taskDefinition=foreign["taskDefinition"]["taskDefinitionArn"])


# -- TLS only ------------------------------------------------------------------------------------------------

def plain_http(client):
    """Requests from `client` count as plain HTTP at the endpoint (it stands in for AWS's HTTPS endpoints)."""
    def mark(request, **_):
        request.headers["x-automl-transport"] = "http"
    client.meta.events.register("before-sign", mark)
    return client


def test_the_queues_and_the_alarm_topic_refuse_plain_http(aws, clients, deployed):
    for name in (QUEUE, DEAD_LETTERS):
        url = clients("sqs").get_queue_url(QueueName=name)["QueueUrl"]
        clients("sqs").send_message(QueueUrl=url, MessageBody="{}")
        with pytest.raises(ClientError, match="explicit deny in a resource-based policy"):
            plain_http(clients("sqs")).send_message(QueueUrl=url, MessageBody="{}")
    topic = deployed["AlarmTopicArn"]
    clients("sns").publish(TopicArn=topic, Message="over TLS")
    with pytest.raises(ClientError, match="explicit deny in a resource-based policy"):
        plain_http(clients("sns")).publish(TopicArn=topic, Message="in clear")
    with pytest.raises(ClientError, match="explicit deny"):
        plain_http(clients("s3")).put_object(Bucket=deployed["DataBucketName"], Key="data/x.csv", Body=b"x")


# -- ECS tasks -> S3 -----------------------------------------------------------------------------------------

def task_session(aws, service: str, deployed: dict) -> dict:
    """The credentials ECS gives a task of `service`: its role, assumed by ecs-tasks.amazonaws.com for a task of
    the environment's cluster (the trust's source)."""
    role = f"arn:aws:iam::{ACCOUNT}:role/automl-dev-{service}-task-role-{aws.region}"
    session = aws.service_credentials(role, "ecs-tasks.amazonaws.com",
                                      f"arn:aws:ecs:{aws.region}:{ACCOUNT}:task/automl-dev-cluster/0123456789")
    return {"aws_access_key_id": session["AccessKeyId"], "aws_secret_access_key": session["SecretAccessKey"],
            "aws_session_token": session["SessionToken"]}


def reaches(aws, session: dict, bucket: str) -> dict[str, bool]:
    """Which of the data bucket's locations a session may read and write (through the bucket's customer key)."""
    s3 = boto3.client("s3", endpoint_url=aws.url, region_name=aws.region, **session)
    found = {}
    for key in ("data/x.csv", "models/best_params.json", "models/model.joblib", "predictions/p.csv"):
        for verb, call in (("read", lambda: s3.get_object(Bucket=bucket, Key=key)["Body"].read()),
                           ("write", lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"x"))):
            try:
                call()
                found[f"{verb} {key}"] = True
            except ClientError as error:
                assert "not authorized" in str(error), error
                found[f"{verb} {key}"] = False
    return {what: ok for what, ok in found.items() if ok}


def test_each_task_reaches_only_its_own_locations(aws, clients, deployed):
    bucket = deployed["DataBucketName"]
    for key in ("data/x.csv", "models/best_params.json", "models/model.joblib", "predictions/p.csv"):
        clients("s3").put_object(Bucket=bucket, Key=key, Body=b"seed")      # encrypted with the customer key
    assert reaches(aws, task_session(aws, "optimize", deployed), bucket) == {
        "read data/x.csv": True, "write models/best_params.json": True}
    assert reaches(aws, task_session(aws, "train", deployed), bucket) == {
        "read data/x.csv": True, "read models/best_params.json": True, "write models/best_params.json": True,
        "write models/model.joblib": True}
    assert reaches(aws, task_session(aws, "predict", deployed), bucket) == {
        "read models/best_params.json": True, "read models/model.joblib": True, "write predictions/p.csv": True}


def test_a_task_reads_encrypted_data_only_while_its_role_may_use_the_key(aws, clients, deployed):
    bucket = deployed["DataBucketName"]
    clients("s3").put_object(Bucket=bucket, Key="models/model.joblib", Body=b"seed")
    role = f"automl-dev-predict-task-role-{aws.region}"
    granted = role_policies(clients, role)
    put_role_policies(clients, role, without_action(granted, "kms:Decrypt"))
    s3 = boto3.client("s3", endpoint_url=aws.url, region_name=aws.region, **task_session(aws, "predict", deployed))
    with pytest.raises(ClientError, match="kms:Decrypt"):
        s3.get_object(Bucket=bucket, Key="models/model.joblib")
    put_role_policies(clients, role, granted)
    assert s3.get_object(Bucket=bucket, Key="models/model.joblib")["Body"].read() == b"seed"


def test_only_ecs_tasks_of_this_account_assume_a_task_role(aws, deployed):
    role = f"arn:aws:iam::{ACCOUNT}:role/automl-dev-predict-task-role-{aws.region}"
    with pytest.raises(PermissionError, match="sts:AssumeRole"):
        aws.service_credentials(role, "lambda.amazonaws.com")
    with pytest.raises(PermissionError, match="sts:AssumeRole"):      # a task of another account: confused deputy
        aws.service_credentials(role, "ecs-tasks.amazonaws.com", "arn:aws:ecs:us-east-1:999999999999:task/c/1")
