"""Resources that carry access rules change in place on a stack update, as the services change them
(local_aws/strict/access_handlers.py): moto's CloudFormation kept a role's first policies, a key's first key
policy and a queue's first encryption, recreated topics, and never applied queue or topic policies."""

from __future__ import annotations

import json

import pytest

ACCOUNT = "123456789012"


def template(role_action: str, key_statement_sid: str, queue_key: bool, queue_sender: str,
             topic_publisher: str) -> str:
    account_root = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    resources = {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "access-test-role",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "grant", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": role_action, "Resource": "*"}]}}]}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [
            {"Sid": key_statement_sid, "Effect": "Allow", "Principal": account_root, "Action": "kms:*",
             "Resource": "*"}]}}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": "access-test-queue", **({"KmsMasterKeyId": {"Ref": "Key"}} if queue_key else
                                                  {"SqsManagedSseEnabled": True})}},
        "QueuePolicy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "Queue"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": queue_sender}, "Action": "sqs:SendMessage",
                "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}]}}},
        "Managed": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": json.dumps({"Version": "2012-10-17", "Statement": [{     # Json: a string will do
                "Effect": "Allow", "Action": role_action.replace("Object", "ObjectTagging"), "Resource": "*"}]})}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "access-test-topic"}},
        "Subscription": {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": "Topic"}, "Protocol": "sqs", "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]}}},
        "TopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {"Topics": [{"Ref": "Topic"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": topic_publisher}, "Action": "sns:Publish",
                "Resource": {"Ref": "Topic"}}]}}},
    }
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})


def deploy(cfn, body: str, create: bool) -> None:
    (cfn.create_stack if create else cfn.update_stack)(StackName="access-test", TemplateBody=body,
                                                       Capabilities=["CAPABILITY_NAMED_IAM"])
    status = cfn.describe_stacks(StackName="access-test")["Stacks"][0]["StackStatus"]
    assert status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), status


@pytest.fixture
def state(clients):
    """What the resources say now, read through their services' APIs."""
    def read() -> dict:
        iam, kms, sqs, sns = clients("iam"), clients("kms"), clients("sqs"), clients("sns")
        grant = iam.get_role_policy(RoleName="access-test-role", PolicyName="grant")["PolicyDocument"]
        key = clients("cloudformation").describe_stack_resource(StackName="access-test", LogicalResourceId="Key")[
            "StackResourceDetail"]["PhysicalResourceId"]
        url = sqs.get_queue_url(QueueName="access-test-queue")["QueueUrl"]
        queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:access-test-topic"
        managed = iam.list_attached_role_policies(RoleName="access-test-role")["AttachedPolicies"][0]["PolicyArn"]
        version = iam.get_policy(PolicyArn=managed)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=managed, VersionId=version)["PolicyVersion"]["Document"]
        return {
            "managed action": (document if isinstance(document, dict) else json.loads(document))["Statement"][0][
                "Action"],
            "role action": (grant if isinstance(grant, dict) else json.loads(grant))["Statement"][0]["Action"],
            "key sid": json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])["Statement"][0][
                "Sid"],
            "queue key": queue.get("KmsMasterKeyId", ""),
            "queue sender": json.loads(queue["Policy"])["Statement"][0]["Principal"]["Service"],
            "topic publisher": json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])[
                "Statement"][0]["Principal"]["Service"],
            "subscriptions": len(sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]),
        }
    return read


def test_policy_updates_reach_the_resources_in_place(aws, clients, state):
    cfn = clients("cloudformation")
    deploy(cfn, template("s3:GetObject", "First", False, "events.amazonaws.com", "cloudwatch.amazonaws.com"), True)
    before = state()
    assert before == {"managed action": "s3:GetObjectTagging", "role action": "s3:GetObject", "key sid": "First",
                      "queue key": "",
                      "queue sender": "events.amazonaws.com", "topic publisher": "cloudwatch.amazonaws.com",
                      "subscriptions": 1}
    deploy(cfn, template("s3:PutObject", "Second", True, "s3.amazonaws.com", "events.amazonaws.com"), False)
    after = state()
    assert after["role action"] == "s3:PutObject" and after["key sid"] == "Second"
    assert after["managed action"] == "s3:PutObjectTagging"
    assert after["queue key"] and after["queue sender"] == "s3.amazonaws.com"
    assert after["topic publisher"] == "events.amazonaws.com" and after["subscriptions"] == 1


def test_deleting_a_topic_policy_restores_the_default_one(aws, clients):
    cfn = clients("cloudformation")
    deploy(cfn, template("s3:GetObject", "First", False, "events.amazonaws.com", "cloudwatch.amazonaws.com"), True)
    body = json.loads(template("s3:GetObject", "First", False, "events.amazonaws.com", "cloudwatch.amazonaws.com"))
    del body["Resources"]["TopicPolicy"]
    deploy(cfn, json.dumps(body), False)
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:access-test-topic"
    policy = json.loads(clients("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "*"}      # SNS's default: the owner's principals
