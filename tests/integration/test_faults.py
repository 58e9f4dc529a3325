"""Faults: the endpoint stalls mid-deploy, throttling outlasts the retries,
access is denied, a change set fails, Ctrl-C while watching, destroy
interrupted.  After each: one clear line, the documented exit code, and the
data bucket's objects intact (counted before and after)."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from automl_cfn.deploy import apply, aws as aws_module, destroy as destroy_module, plan

from .conftest import outputs


@pytest.fixture
def deployed(aws, cli, clients):
    """dev deployed, with 7 objects in its data bucket; returns a counter of them."""
    assert cli("deploy", "--env", "dev", "--yes")[0] == 0
    bucket = outputs(clients("cloudformation"), "automl-dev")["DataBucketName"]
    s3 = clients("s3")
    for index in range(7):
        s3.put_object(Bucket=bucket, Key=f"data/part-{index}.csv", Body=b"a,b\n1,2\n")

    def count():
        return s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0)
    assert count() == 7
    return count


def last_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    return lines[-1]


def test_endpoint_stalls_mid_deploy(aws, cli, deployed, monkeypatch):
    """The endpoint really stops (SIGSTOP) after the upload.  Only requests sent after that get a short
    read timeout: a request before the stall may take as long as a loaded machine makes it take, so the
    test does not depend on the machine's speed."""
    from botocore import httpsession
    from urllib3 import Timeout

    monkeypatch.setattr(aws_module, "RETRIES", {"mode": "standard", "max_attempts": 2})
    stalled = threading.Event()
    real_timeout = httpsession.URLLib3Session._get_request_timeout

    def short_once_stalled(self, request):
        return Timeout(connect=10, read=1) if stalled.is_set() else real_timeout(self, request)

    monkeypatch.setattr(httpsession.URLLib3Session, "_get_request_timeout", short_once_stalled)
    real_upload = plan.artifacts.upload

    def upload_then_stall(*args, **kwargs):
        result = real_upload(*args, **kwargs)
        os.kill(aws.process.pid, signal.SIGSTOP)  # the endpoint stops answering
        stalled.set()
        return result

    monkeypatch.setattr(plan.artifacts, "upload", upload_then_stall)
    try:
        code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", "log_retention_days=14")
    finally:
        os.kill(aws.process.pid, signal.SIGCONT)
    assert code == 1
    assert last_line(err) == ("automl-cfn: error: the AWS endpoint stopped answering (ReadTimeoutError); nothing was "
                              "lost: run the same command again to resume")
    assert deployed() == 7
    monkeypatch.setattr(plan.artifacts, "upload", real_upload)
    stalled.clear()
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", "log_retention_days=14")
    assert code == 0, err  # the same command again completes
    assert deployed() == 7


def test_throttling_that_outlasts_the_retries(aws, cli, deployed, monkeypatch):
    monkeypatch.setattr(aws_module, "RETRIES", {"mode": "standard", "max_attempts": 3})
    aws.throttle("DescribeStacks", 10)
    code, out, err = cli("status", "--env", "dev")
    assert code == 1
    assert last_line(err) == ("automl-cfn: error: AWS kept throttling DescribeStacks after retries; "
                              "wait a minute and run it again")
    aws.throttle("DescribeStacks", 0)
    assert deployed() == 7


def test_access_denied(aws, cli, deployed, monkeypatch):
    from botocore.exceptions import ClientError

    def denied(self, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "User: arn:aws:iam::123456789012:user/ci is "
                                     "not authorized to perform: cloudformation:CreateChangeSet"}}, "CreateChangeSet")

    real_client = aws_module.Aws.client

    def client(self, service):
        made = real_client(self, service)
        if service == "cloudformation":
            made.create_change_set = denied.__get__(made)
        return made

    monkeypatch.setattr(aws_module.Aws, "client", client)
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", "log_retention_days=14")
    assert code == 1
    assert last_line(err) == ("automl-cfn: error: access denied to CreateChangeSet: User: "
                              "arn:aws:iam::123456789012:user/ci is not authorized to perform: "
                              "cloudformation:CreateChangeSet")
    assert deployed() == 7


def test_a_change_set_that_fails_with_a_reason(aws, cli, deployed, monkeypatch):
    real_wait = plan.wait_for_change_set

    def failing(cfn, change_set_id, poll):
        real_wait(cfn, change_set_id, poll)
        raise plan.AwsError("the change set failed: Parameter 'Foo' must be one of AllowedValues")

    monkeypatch.setattr(plan, "wait_for_change_set", failing)
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", "log_retention_days=14")
    assert code == 1
    assert last_line(err) == ("automl-cfn: error: the change set failed: Parameter 'Foo' must be one of "
                              "AllowedValues")
    from .conftest import pending_change_sets
    import boto3

    cfn = boto3.client("cloudformation", endpoint_url=aws.url, region_name="us-east-1")
    assert pending_change_sets(cfn, "automl-dev") == []  # deleted, not left behind
    assert deployed() == 7


def test_ctrl_c_while_watching_leaves_the_deployment_running(aws, cli, deployed, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(apply, "watch", interrupted)
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", "log_retention_days=14")
    assert code == 130
    assert "The deployment goes on in CloudFormation (nothing was cancelled)" in err
    assert "Resume watching with: automl-cfn status --env dev --watch" in err
    assert deployed() == 7


def test_destroy_interrupted_halfway_keeps_the_data(aws, cli, deployed, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(destroy_module, "watch", interrupted)
    code, out, err = cli("destroy", "--env", "dev", "--yes")
    assert code == 130
    assert "the deletion goes on in CloudFormation" in err
    assert deployed() == 7
