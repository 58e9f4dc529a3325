"""The account baseline: AWS Config for this workload, from data, in every region it exists."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from botocore.stub import Stubber

from automl_cfn import config_rules
from automl_cfn.evaluate import Evaluation
from automl_cfn.stacks.baseline import recorded_types, rule_name
from automl_cfn.synth import build_baseline_template


@pytest.fixture(scope="module")
def baseline(templates):
    return build_baseline_template(templates)


def test_the_committed_rule_data_is_current():
    assert config_rules.extract() == config_rules.facts(), "run: python -m automl_cfn.config_rules"


def recorded(baseline: dict, region: str, home: str = "us-east-1") -> list[str]:
    """The types the recorder lists in `region` when `home` records the global IAM types."""
    resources = Evaluation(baseline, {"HomeRegion": home}, region=region).resources()
    return resources["ConfigRecorder"]["Properties"]["RecordingGroup"]["ResourceTypes"]


def test_the_recorder_records_what_the_application_uses_and_config_can_record(templates, baseline):
    types = recorded(baseline, "us-east-1")
    used = {b["Type"] for name, d in templates.items() if name != "artifacts" for b in d["Resources"].values()}
    assert types == recorded_types({k: v for k, v in templates.items() if k != "artifacts"})
    assert set(types) <= used and {"AWS::S3::Bucket", "AWS::ECS::TaskDefinition", "AWS::ECR::Repository"} <= set(types)
    assert "AWS::Logs::LogGroup" not in types   # Config cannot record it (botocore's ResourceType enum)


@pytest.mark.parametrize("home, region, recorded_there", [
    ("us-east-1", "us-east-1", True), ("us-east-1", "us-west-2", False), ("eu-west-1", "us-east-1", False),
    ("eu-west-1", "eu-west-1", True)])
def test_only_the_home_region_lists_the_global_iam_types(baseline, home, region, recorded_there):
    """A listed type is recorded whatever IncludeGlobalResourceTypes says: listed in every region, each IAM role
    would be recorded once per region (select-resources.html, "Global Resources")."""
    types = recorded(baseline, region, home)
    assert ("AWS::IAM::Role" in types) is recorded_there
    regional = [t for t in recorded(baseline, "us-east-1", "us-east-1") if t not in config_rules.GLOBAL_IAM_TYPES]
    assert [t for t in types if t not in config_rules.GLOBAL_IAM_TYPES] == regional and "AWS::S3::Bucket" in types


def test_home_regions_are_the_regions_config_records_global_types_in(baseline):
    """AWS names seven later Regions where it cannot (RecordingGroup.IncludeGlobalResourceTypes); every region
    offered is one botocore knows, and the template allows exactly those."""
    import botocore.session

    known = {r for p in botocore.session.get_session().get_data("endpoints")["partitions"] for r in p["regions"]}
    assert set(config_rules.GLOBAL_IAM_REGIONS) <= known
    assert not {"ap-south-2", "ap-southeast-4", "ca-west-1", "eu-south-2", "eu-central-2", "il-central-1",
                "me-central-1"} & set(config_rules.GLOBAL_IAM_REGIONS)
    assert baseline["Parameters"]["HomeRegion"]["AllowedValues"] == list(config_rules.GLOBAL_IAM_REGIONS)
    assert "Default" not in baseline["Parameters"]["HomeRegion"]   # every deploy says which


def test_config_delivers_as_the_recorder_role_and_its_service_principal_is_granted_nothing(baseline):
    """Same-account delivery is the role's (iamrole-permissions.html#iam-role-policies-S3-bucket): its policy
    holds the grants; the bucket policy only refuses plain HTTP (s3-bucket-policy.html: the service principal
    writes only to another account's bucket, or for a service-linked role)."""
    resources = Evaluation(baseline, {"HomeRegion": "us-east-1"}).resources()
    role = resources["ConfigRecorderRole"]["Properties"]
    [policy] = role["Policies"]
    put, read = policy["PolicyDocument"]["Statement"]
    assert put["Action"] == ["s3:PutObject"] and put["Condition"] == {
        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}
    bucket = {"Fn::GetAtt": ["ConfigHistoryBucket", "Arn"]}
    assert put["Resource"] == [{"Fn::Sub": ["${Bucket}/AWSLogs/${AWS::AccountId}/Config/*", {"Bucket": bucket}]}]
    assert read["Action"] == ["s3:GetBucketAcl", "s3:ListBucket"] and read["Resource"] == [bucket]
    bucket_policy = resources["ConfigHistoryBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Effect"] for s in bucket_policy] == ["Deny"] and "config.amazonaws.com" not in json.dumps(bucket_policy)


@pytest.mark.parametrize("region, present", [("us-east-1", True), ("ap-northeast-3", False), ("il-central-1", False)])
def test_a_rule_is_left_out_where_config_lacks_it(baseline, region, present):
    resources = Evaluation(baseline, {}, region=region).resources()
    assert ("EcsTaskDefinitionNonrootUserRule" in resources) is present
    assert "S3BucketSslRequestsOnlyRule" in resources   # available everywhere


def test_every_rule_is_deployed_one_by_one_or_in_the_pack(baseline):
    individually = Evaluation(baseline, {}).resources()
    names = {b["Properties"]["ConfigRuleName"] for b in individually.values() if b["Type"] == "AWS::Config::ConfigRule"}
    assert names == {rule_name(i) for i in config_rules.RULES}
    packed = Evaluation(baseline, {"RulesAs": "conformance-pack"}).resources()
    body = json.loads(packed["WorkloadConformancePack"]["Properties"]["TemplateBody"])
    inside = {r["Properties"]["ConfigRuleName"] for r in body["Resources"].values()}
    outside = {b["Properties"]["ConfigRuleName"] for b in packed.values() if b["Type"] == "AWS::Config::ConfigRule"}
    # Region-limited rules stay outside, with their conditions; the pack's names differ from the single rules'
    # (CloudFormation creates the new ones before it deletes the old when RulesAs changes).
    assert {n.replace("pack-", "") for n in inside} | outside == names and not inside & names
    for identifier, (_, parameters) in config_rules.RULES.items():
        facts = config_rules.facts()["rules"][identifier]
        assert set(parameters) <= set(facts["parameters"]), identifier


def test_an_existing_recorder_means_none_is_created(baseline):
    resources = Evaluation(baseline, {"CreateRecorder": "false"}).resources()
    assert not {"ConfigRecorder", "ConfigDeliveryChannel", "ConfigHistoryBucket", "ConfigRecorderRole"} & set(resources)
    assert "S3BucketSslRequestsOnlyRule" in resources


def test_status_judges_only_this_environments_resources(monkeypatch, capsys):
    """Stubbed: moto's Config keeps no evaluations (GetComplianceDetailsByConfigRule)."""
    import boto3

    from automl_cfn.deploy import baseline as verb

    cfn, config = boto3.client("cloudformation", region_name="us-east-1"), boto3.client("config", region_name="us-east-1")

    class FakeTarget:
        name, account = "automl-dev", "123456789012"
        settings = type("S", (), {"environment": "dev"})()
        aws = type("A", (), {"region": "us-east-1", "client": staticmethod(lambda service: config)})()

    FakeTarget.cfn = cfn
    monkeypatch.setattr(verb, "describe", lambda client, name: {"StackStatus": "CREATE_COMPLETE"})
    monkeypatch.setattr(verb, "environment_resources", lambda target: {"automl-dev-data-123456789012-us-east-1",
                                                                       "automl-dev-train"})
    now = datetime(2026, 11, 28, tzinfo=timezone.utc)

    def result(resource, verdict):
        return {"EvaluationResultIdentifier": {"EvaluationResultQualifier": {
            "ConfigRuleName": "x", "ResourceType": "AWS::S3::Bucket", "ResourceId": resource}},
            "ComplianceType": verdict, "ResultRecordedTime": now, "ConfigRuleInvokedTime": now}

    with Stubber(config) as stub:
        stub.add_response("describe_config_rules", {"ConfigRules": [
            {"ConfigRuleName": rule_name("S3_BUCKET_SSL_REQUESTS_ONLY"),
             "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_SSL_REQUESTS_ONLY"}},
            {"ConfigRuleName": "automl-cfn-pack-ecr-private-image-scanning-enabled-conformance-pack-abc",
             "Source": {"Owner": "AWS", "SourceIdentifier": "ECR_PRIVATE_IMAGE_SCANNING_ENABLED"}},
            {"ConfigRuleName": "someone-elses", "Source": {"Owner": "AWS", "SourceIdentifier": "VPC_FLOW_LOGS_ENABLED"}},
        ]})
        stub.add_response("get_compliance_details_by_config_rule", {"EvaluationResults": [
            result("automl-dev-data-123456789012-us-east-1", "NON_COMPLIANT"),
            result("other-team-bucket", "NON_COMPLIANT")]},
            {"ConfigRuleName": rule_name("S3_BUCKET_SSL_REQUESTS_ONLY"), "ComplianceTypes": ["COMPLIANT", "NON_COMPLIANT"]})
        stub.add_response("get_compliance_details_by_config_rule", {"EvaluationResults": [
            result("automl-dev-train", "COMPLIANT")]},
            {"ConfigRuleName": "automl-cfn-pack-ecr-private-image-scanning-enabled-conformance-pack-abc",
             "ComplianceTypes": ["COMPLIANT", "NON_COMPLIANT"]})
        code = verb.status(FakeTarget(), verb.Options(output="json"))
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["account"] == "123456789012" and report["region"] == "us-east-1"
    assert report["rules"][rule_name("S3_BUCKET_SSL_REQUESTS_ONLY")]["non_compliant"] == [
        "automl-dev-data-123456789012-us-east-1"]   # the other team's bucket is not this environment's
    assert report["rules"]["automl-cfn-pack-ecr-private-image-scanning-enabled-conformance-pack-abc"]["compliant"] == 1
    assert "someone-elses" not in report["rules"]
