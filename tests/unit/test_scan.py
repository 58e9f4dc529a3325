"""checkov: zero failed checks on the generated templates, and every custom
check fails on a template that breaks its rule (so it can fail)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automl_cfn import scan

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not (ROOT / scan.CHECKOV_VENV / "bin" / "checkov").exists(),
                                reason="checkov's virtual environment is missing: run through 'make test'")
CUSTOM = {f"CKV_AUTOML_{n}" for n in range(1, 8)} | {"CKV2_AUTOML_8"}


def test_generated_templates_pass_every_check(project_root):
    result = scan.run(project_root, project_root / "generated" / "templates")
    assert [(f.check_id, f.resource) for f in result.failed] == []
    assert result.custom_passed == CUSTOM
    skipped = {(f.check_id, f.resource.split(".")[0]) for f in result.skipped}
    # Every skip is one the README lists with its reason.
    readme = (project_root / "README.md").read_text()
    assert all(check in readme for check, _ in skipped)


BAD = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "ContainerDefinitions": [{"Name": "x", "Image": "x", "Privileged": True,
                                      "ReadonlyRootFilesystem": False, "User": "root"}]}},
        "Service": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": {"Ref": "Task"},
            "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-1"], "AssignPublicIp": "ENABLED"}}}},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "RoleArn": "arn:aws:iam::123456789012:role/x", "DefinitionString": "{}"}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "x"}},
        "Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": "b", "PolicyDocument": {
            "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                           "Condition": {"Bool": {"aws:SecureTransport": True}}}]}}},
    },
}


def test_each_custom_check_fails_when_its_rule_is_broken(project_root, tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps(BAD))
    result = scan.run(project_root, tmp_path)
    assert CUSTOM <= {f.check_id for f in result.failed}


def test_insecure_transport_is_recognised_as_boolean_or_string(project_root, tmp_path):
    good = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        f"Policy{i}": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": "b", "PolicyDocument": {
            "Statement": [{"Effect": "Deny", "Principal": "*", "Action": ["s3:*"], "Resource": "*",
                           "Condition": {"Bool": {"aws:SecureTransport": value}}}]}}}
        for i, value in enumerate((False, "false"))}}
    (tmp_path / "good.json").write_text(json.dumps(good))
    result = scan.run(project_root, tmp_path)
    assert "CKV_AUTOML_7" not in {f.check_id for f in result.failed}
