"""Hardening settings: customer-managed KMS key, API key secret, permissions
boundary, S3 access logging, non-root containers."""

from __future__ import annotations

import pytest

from automl_cfn.model import SERVICES
from automl_cfn.settings import SettingsError, validate
from tests.conftest import retained

KEY = "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:automl/dev/api-key-AbCdEf"
PREVIOUS = "arn:aws:secretsmanager:us-east-1:123456789012:secret:automl/dev/api-key-previous-GhIjKl"
BOUNDARY = "arn:aws:iam::123456789012:policy/automl-boundary"


@pytest.mark.parametrize("kms_key, created", [("create", True), (KEY, False), ("", False)])
def test_security_stack_outputs_the_key_to_use(stack, kms_key, created):
    security = stack("security", kms_key=kms_key)
    assert ("CustomerKey" in security.resources()) is created
    arn = security.outputs()["KmsKeyArn"]
    if created:
        assert arn == {"Fn::GetAtt": ["CustomerKey", "Arn"]}
        key = security.resources()["CustomerKey"]
        assert key["Properties"]["EnableKeyRotation"] is True and retained(key)
    else:
        assert arn == (KEY if kms_key else "none")


def test_with_a_key_every_store_uses_it(stack):
    wired = {"KmsKeyArn": KEY}
    bucket = stack("storage", wired=wired).resources()["DataBucket"]["Properties"]
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY}
    for repo in stack("registry", wired=wired).of_type("AWS::ECR::Repository").values():
        assert repo["Properties"]["EncryptionConfiguration"] == {"EncryptionType": "KMS", "KmsKey": KEY}
    monitoring = stack("monitoring", wired=wired)
    assert {g["Properties"]["KmsKeyId"] for g in monitoring.of_type("AWS::Logs::LogGroup").values()} == {KEY}
    assert monitoring.resources()["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == KEY
    iam = stack("iam", wired=wired).resources()
    for task_role in (f"{s.capitalize()}TaskRole" for s in SERVICES):   # each reads and writes encrypted objects
        kms = [p for p in iam[task_role]["Properties"]["Policies"] if p["PolicyName"]["Fn::Sub"].endswith("kms-policy")]
        assert kms and kms[0]["PolicyDocument"]["Statement"][0] == {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Effect": "Allow", "Resource": [KEY]}


def test_without_a_key_nothing_asks_for_kms(stack):
    bucket = stack("storage").resources()["DataBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    assert all("KmsKeyId" not in g["Properties"] for g in stack("monitoring").of_type("AWS::Logs::LogGroup").values())
    roles = stack("iam").of_type("AWS::IAM::Role")
    assert not any("kms" in p["PolicyName"]["Fn::Sub"] for r in roles.values() for p in r["Properties"]["Policies"])


def test_the_api_key_reaches_predict_as_a_secret_only(stack):
    wired = {"ApiKeySecretArn": SECRET, "ApiKeyPreviousSecretArn": PREVIOUS}
    compute = stack("compute", wired=wired, image_tag="v1").resources()
    predict = compute["PredictTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert predict["Secrets"] == [{"Name": "API_KEY", "ValueFrom": SECRET},
                                  {"Name": "API_KEY_PREVIOUS", "ValueFrom": PREVIOUS}]
    assert all("API_KEY" not in str(e) for e in predict["Environment"])
    for other in ("OptimizeTaskDefinition", "TrainTaskDefinition"):
        assert "Secrets" not in compute[other]["Properties"]["ContainerDefinitions"][0]
    execution = stack("iam", wired=wired).resources()["ExecutionRole"]["Properties"]
    statements = [s for p in execution["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert {"Action": ["secretsmanager:GetSecretValue"], "Effect": "Allow",
            "Resource": [SECRET, PREVIOUS]} in statements


def test_without_a_previous_key_secret_only_the_api_key_is_injected_and_readable(stack):
    """A template deployed by hand with ApiKeyPreviousSecret empty: no API_KEY_PREVIOUS whose ARN is "none"
    (ECS could not start the task), and the execution role reads only the API key."""
    wired = {"ApiKeySecretArn": SECRET, "ApiKeyPreviousSecretArn": "none"}
    predict = stack("compute", wired=wired, image_tag="v1").resources()["PredictTaskDefinition"]
    assert predict["Properties"]["ContainerDefinitions"][0]["Secrets"] == [{"Name": "API_KEY", "ValueFrom": SECRET}]
    execution = stack("iam", wired=wired).resources()["ExecutionRole"]["Properties"]
    resources = [s["Resource"] for p in execution["Policies"] for s in p["PolicyDocument"]["Statement"]
                 if s["Action"] == ["secretsmanager:GetSecretValue"]]
    assert resources == [[SECRET]]


@pytest.mark.parametrize("api_key_secret", ["create", SECRET])
def test_with_an_api_key_comes_a_retained_previous_key_secret_that_uses_the_key(stack, api_key_secret):
    security = stack("security", api_key_secret=api_key_secret, kms_key="create")
    previous = security.resources()["GeneratedApiKeyPreviousSecret"]
    assert retained(previous)
    assert previous["Properties"]["Name"] == {"Fn::Sub": "${ProjectName}/${Environment}/api-key-previous"}
    assert previous["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["CustomerKey", "Arn"]}
    # Generated at create like the API key: nobody knows it, so it lets nobody in until a rotation.
    assert previous["Properties"]["GenerateSecretString"] == {"PasswordLength": 40, "ExcludePunctuation": True}
    assert security.outputs()["ApiKeyPreviousSecretArn"] == {"Ref": "GeneratedApiKeyPreviousSecret"}
    without = stack("security", api_key_secret="")
    assert "GeneratedApiKeyPreviousSecret" not in without.resources()
    assert without.outputs()["ApiKeyPreviousSecretArn"] == "none"


def test_a_generated_secret_is_retained_and_uses_the_key(stack):
    security = stack("security", api_key_secret="create", kms_key="create").resources()
    secret = security["GeneratedApiKeySecret"]
    assert retained(secret)
    assert secret["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["CustomerKey", "Arn"]}
    assert "SecretString" not in secret["Properties"]  # generated by Secrets Manager, not in the template


def test_every_role_gets_the_permissions_boundary(stack):
    roles = {**stack("iam", permissions_boundary=BOUNDARY, enable_stepfunctions=True).of_type("AWS::IAM::Role"),
             **stack("network", permissions_boundary=BOUNDARY, enable_flow_logs=True).of_type("AWS::IAM::Role")}
    assert len(roles) == 6   # execution, three task roles, Step Functions, flow logs
    assert {r["Properties"]["PermissionsBoundary"] for r in roles.values()} == {BOUNDARY}
    assert all("PermissionsBoundary" not in r["Properties"] for r in stack("iam").of_type("AWS::IAM::Role").values())


def test_access_logging_goes_to_a_separate_retained_bucket(stack):
    resources = stack("storage", enable_access_logging=True).resources()
    assert resources["DataBucket"]["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "AccessLogsBucket"}, "LogFilePrefix": "data-bucket/"}
    assert retained(resources["AccessLogsBucket"])
    statement = resources["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][1]
    assert statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert "AccessLogsBucket" not in stack("storage").resources()


@pytest.mark.parametrize("user", ["root", "0", "0:0", "root:wheel", "", "a b"])
def test_containers_never_run_as_root(user):
    with pytest.raises(SettingsError, match="container_user"):
        validate({"environment": "dev", "container_user": user})


@pytest.mark.parametrize("setting, value", [("kms_key", "alias/x"), ("permissions_boundary", "boundary"),
                                            ("api_key_secret", "automl/api-key")])
def test_hardening_values_are_validated(setting, value):
    with pytest.raises(SettingsError, match=setting):
        validate({"environment": "dev", setting: value})
