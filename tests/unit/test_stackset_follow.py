"""A StackSets operation is followed live: each instance as it finishes (stubbed: the local endpoint's
operations finish within their request)."""

from __future__ import annotations

from datetime import datetime, timezone

import boto3
from botocore.stub import Stubber

from automl_cfn import ui
from automl_cfn.deploy import stackset

NOW = datetime(2026, 11, 28, tzinfo=timezone.utc)
ARGS = {"StackSetName": "automl-prod", "OperationId": "op-1"}


def operation(status: str) -> dict:
    return {"StackSetOperation": {"OperationId": "op-1", "Status": status, "Action": "CREATE",
                                  "CreationTimestamp": NOW}}


def results(*rows) -> dict:
    return {"Summaries": [{"Account": a, "Region": r, "Status": s, **({"StatusReason": why} if why else {})}
                          for a, r, s, why in rows]}


def test_instances_show_as_they_finish_and_a_failure_stops(capsys):
    cfn = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    ui.reset_consoles()
    with Stubber(cfn) as stub:
        stub.add_response("describe_stack_set_operation", operation("RUNNING"), ARGS)
        stub.add_response("list_stack_set_operation_results", results(("111111111111", "us-east-1", "SUCCEEDED", ""),
                                                                      ("222222222222", "us-east-1", "RUNNING", "")), ARGS)
        stub.add_response("describe_stack_set_operation", operation("RUNNING"), ARGS)
        stub.add_response("list_stack_set_operation_results", results(
            ("111111111111", "us-east-1", "SUCCEEDED", ""), ("222222222222", "us-east-1", "FAILED", "no role")), ARGS)
        stub.add_response("describe_stack_set_operation", operation("FAILED"), ARGS)
        stub.add_response("list_stack_set_operation_results", results(
            ("111111111111", "us-east-1", "SUCCEEDED", ""), ("222222222222", "us-east-1", "FAILED", "no role"),
            ("333333333333", "us-east-1", "CANCELLED", "tolerance")), ARGS)
        ok, _ = stackset.follow(cfn, "automl-prod", "op-1", "create", stackset.Options(poll=0))
    err = capsys.readouterr().err
    assert not ok
    lines = err.splitlines()
    first = lines.index("  111111111111 us-east-1: SUCCEEDED ")
    failed = lines.index("  222222222222 us-east-1: FAILED no role")
    assert first < failed and err.count("111111111111 us-east-1: SUCCEEDED") == 1   # each shown once, in order
    assert "create op-1: RUNNING" in err and "1 failed, 1 cancelled" in err
