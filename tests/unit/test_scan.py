"""checkov judges what each environment deploys: zero failed checks beyond the named skips, no
stale skip, and every custom check fails on a template that breaks its rule (so it can fail)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automl_cfn import scan

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not (ROOT / scan.CHECKOV_VENV / "bin" / "checkov").exists(),
                                reason="checkov's virtual environment is missing: run through 'make test'")
CUSTOM = {f"CKV_AUTOML_{n}" for n in range(1, 8)} | {"CKV2_AUTOML_8"}


@pytest.fixture(scope="module")
def judged(project_root):
    return scan.scan(project_root, *scan.committed(project_root))


def test_every_environment_passes_with_only_its_named_skips(judged):
    assert [(f.environment, f.check_id, f.resource) for f in judged.failed] == []
    assert judged.stale == []
    assert judged.custom_passed == CUSTOM
    assert judged.environments == ["dev", "prod", scan.FULL, scan.ACCOUNT]   # the account baseline too
    # Each environment is judged on what it deploys: dev's findings are dev's own.
    by_environment = {}
    for finding, skip in judged.skipped:
        by_environment.setdefault(finding.environment, set()).add((finding.check_id, finding.resource))
    assert ("CKV2_AUTOML_8", "Vpc") in by_environment["dev"] and ("CKV2_AUTOML_8", "Vpc") not in by_environment["prod"]
    assert ("CKV_AWS_260", "LoadBalancerSecurityGroup") in by_environment[scan.FULL]


def test_an_environment_resolves_to_what_it_deploys(project_root, dev):
    from automl_cfn import synth
    from automl_cfn.settings import FULL_FEATURED, with_overrides

    documents = synth.parse_documents(synth.read_generated(project_root / "generated"))
    plain = scan.resolved(documents, dev)
    assert "LbLogsBucket" not in plain["storage"]["Resources"] and "endpoint" in plain
    assert plain["endpoint"]["Resources"] == {}
    full = scan.resolved(documents, with_overrides(dev, **FULL_FEATURED))
    text = json.dumps(full)
    assert "Fn::If" not in text and "AWS::NoValue" not in text
    assert not any("Condition" in body for template in full.values() for body in template["Resources"].values())
    attributes = {a["Key"]: a["Value"] for a in
                  full["endpoint"]["Resources"]["PredictionLoadBalancer"]["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"   # wired from storage's output, not a default


def test_a_stale_or_unnamed_skip_fails(project_root, tmp_path, monkeypatch):
    """A skip for a check that no environment fails (or that does not exist) is reported stale."""
    from automl_cfn import skips

    fake = tmp_path / "project"
    (fake / "checks").mkdir(parents=True)
    (fake / "checks" / "checkov").symlink_to(project_root / "checks" / "checkov")
    (fake / scan.CHECKOV_VENV).symlink_to(project_root / scan.CHECKOV_VENV)
    (fake / "config").symlink_to(project_root / "config")
    entries = (project_root / skips.SKIPS_FILE).read_text() + (
        "- check: CKV2_AWS_28\n  resources: [PredictionLoadBalancer]\n  environments: [all]\n  reason: no WAF\n")
    (fake / skips.SKIPS_FILE).write_text(entries)
    documents, account = scan.committed(project_root)
    result = scan.scan(fake, documents, account)
    assert [(e, r, s.check) for e, r, s in result.stale] == [("all", "PredictionLoadBalancer", "CKV2_AWS_28")]
    assert not result.ok
    (fake / skips.SKIPS_FILE).write_text("- check: CKV_AWS_18\n  resources: [DataBucket]\n")
    with pytest.raises(Exception, match="entry 1 lacks environments, reason"):
        scan.scan(fake, documents)


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
    passed, failed, custom = scan.run_checkov(project_root, tmp_path)
    assert CUSTOM <= {f.check_id for f in failed}


def test_insecure_transport_is_recognised_as_boolean_or_string(project_root, tmp_path):
    good = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        f"Policy{i}": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": "b", "PolicyDocument": {
            "Statement": [{"Effect": "Deny", "Principal": "*", "Action": ["s3:*"], "Resource": "*",
                           "Condition": {"Bool": {"aws:SecureTransport": value}}}]}}}
        for i, value in enumerate((False, "false"))}}
    (tmp_path / "good.json").write_text(json.dumps(good))
    passed, failed, custom = scan.run_checkov(project_root, tmp_path)
    assert "CKV_AUTOML_7" not in {f.check_id for f in failed}
