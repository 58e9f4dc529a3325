"""The configuration issue 25 names (prod, a customer key, the pipeline started by schedule and by new data,
an API key secret) deploys on the strict endpoint, and the grants it deploys name what it deployed: the key
policy the new-data rule and the alarms, which are the ones that exist.  Then new data still starts the
pipeline through the encrypted queue."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

from .conftest import outputs

PROD = ("--env", "prod", "--region", "us-east-1")
ISSUE_25 = ("--var", "kms_key=create", "--var", "enable_stepfunctions=true", "--var", "retrain_on_new_data=true",
            "--var", "pipeline_schedule=cron(0 3 * * ? *)", "--var", "api_key_secret=create")


def statements(policy: str) -> list[dict]:
    return json.loads(policy)["Statement"]


def by_service(found: list[dict], service: str) -> dict:
    statement, = [s for s in found if s.get("Principal", {}) == {"Service": service}]
    return statement


def source(statement: dict) -> tuple[str, str]:
    conditions = {key: value for block in statement["Condition"].values() for key, value in block.items()}
    return conditions["aws:SourceAccount"], conditions["aws:SourceArn"]


def test_the_issue_25_configuration_deploys_with_grants_that_name_what_it_deployed(aws, cli, clients):
    code, _, err = cli("deploy", *PROD, "--yes", *ISSUE_25)
    assert code == 0, err[-3000:]
    account = clients("sts").get_caller_identity()["Account"]
    kms, sqs, sns = clients("kms"), clients("sqs"), clients("sns")
    key = kms.describe_key(KeyId="alias/automl-prod")["KeyMetadata"]["Arn"]
    rule = clients("events").describe_rule(Name="automl-prod-new-data")["Arn"]

    key_policy = statements(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    events = by_service(key_policy, "events.amazonaws.com")
    assert source(events) == (account, rule) and sorted(events["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]

    # The queues are encrypted with the key.  (Their policies and the topic's are not applied by the endpoint
    # yet, AWS::SQS::QueuePolicy and AWS::SNS::TopicPolicy being placeholders there: the unit tests judge them.)
    for name in ("automl-prod-retrain-requests", "automl-prod-pipeline-schedule-dlq"):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"])["Attributes"][
            "KmsMasterKeyId"] == key, name

    # CloudWatch may use the key for exactly the alarms that publish to the topic.
    topic = outputs(clients("cloudformation"), "automl-prod")["AlarmTopicArn"]
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"] == key
    alarms = [a["AlarmArn"] for a in clients("cloudwatch").describe_alarms()["MetricAlarms"]
              if topic in a["AlarmActions"]]
    account_of, pattern = source(by_service(key_policy, "cloudwatch.amazonaws.com"))
    assert alarms and account_of == account and all(fnmatchcase(alarm, pattern) for alarm in alarms), alarms

    # (The roles' policies and trusts come back from the endpoint as Python reprs, not JSON, for roles a stack
    # created: the unit tests judge them on the templates.)
    machine = outputs(clients("cloudformation"), "automl-prod")["StateMachineArn"]

    # New data still starts the pipeline through the encrypted queue.
    bucket = outputs(clients("cloudformation"), "automl-prod")["DataBucketName"]
    clients("s3").put_object(Bucket=bucket, Key="data/new.csv", Body=b"a,b\n1,2\n")
    started = aws.flush_pipes()
    assert [(s["pipe"], s["messages"]) for s in started] == [("automl-prod-new-data", 1)]
    assert len(clients("stepfunctions").list_executions(stateMachineArn=machine)["executions"]) == 1
