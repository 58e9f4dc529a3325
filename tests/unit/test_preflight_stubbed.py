"""preflight checks the local endpoint cannot serve, with botocore's Stubber: Service Quotas, zones
without Fargate, a certificate still pending validation, and CloudFormation's own pre-deployment
validation events (DescribeEvents) shown in the review and in a failed change set's error."""

from __future__ import annotations

import pytest

from automl_cfn.deploy import plan, preflight, review as reviews
from automl_cfn.deploy.target import DeployOptions, Target
from automl_cfn.errors import AwsError
from automl_cfn.settings import with_overrides

from .test_deploy_stubbed import StubAws, aws  # noqa: F401  (the fixture)

CHANGE_SET = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/automl-dev/1"


def quotas_page(*pairs):
    return {"Quotas": [{"QuotaName": name, "Value": value, "ServiceCode": "x", "QuotaCode": "L-1"}
                       for name, value in pairs]}


def test_quotas_fail_where_the_account_is_full(aws, dev):
    settings = with_overrides(dev, nat_gateways="per_az", az_count=2, use_fargate_spot=False,
                              prediction_max_capacity=10, predict_cpu=1024, predict_memory=2048)
    ctx = preflight.Context(Target(settings=settings, aws=aws, env_flag="--env dev"))
    ec2, quotas = aws.stub("ec2"), aws.stub("service-quotas")
    ec2.add_response("describe_vpcs", {"Vpcs": [{"VpcId": f"vpc-{i}"} for i in range(5)]})
    quotas.add_response("list_service_quotas", quotas_page(("VPCs per Region", 5.0)), {"ServiceCode": "vpc"})
    ec2.add_response("describe_addresses", {"Addresses": [{"AllocationId": "eipalloc-1"}]})
    quotas.add_response("list_service_quotas", quotas_page(("EC2-VPC Elastic IPs", 5.0)), {"ServiceCode": "ec2"})
    ec2.add_response("describe_nat_gateways", {"NatGateways": [
        {"NatGatewayId": "nat-1", "SubnetId": "subnet-1", "State": "available"}]})
    ec2.add_response("describe_subnets", {"Subnets": [{"SubnetId": "subnet-1", "AvailabilityZone": "us-east-1a"}]})
    quotas.add_response("list_service_quotas", quotas_page(("NAT gateways per Availability Zone", 5.0)),
                        {"ServiceCode": "vpc"})
    # An applied quota list without the Fargate line: the default list answers.
    quotas.add_response("list_service_quotas", quotas_page(), {"ServiceCode": "fargate"})
    quotas.add_response("list_aws_default_service_quotas", quotas_page(("Fargate On-Demand vCPU resource count", 6.0)),
                        {"ServiceCode": "fargate"})
    checks = preflight.quotas_check(ctx)
    assert [c.status for c in checks] == ["fail", "pass", "pass", "fail"]
    assert checks[0].detail == "VPCs: 5 in use + 1 needed > quota 5"
    assert "request an increase of 'VPCs per Region'" in checks[0].fix
    # 10 tasks of 1 vCPU, twice over while a deployment runs, plus optimize (2) and train (1).
    assert checks[3].detail.endswith("plus optimize and train): 23 needed > quota 6")


def test_quotas_that_cannot_be_read_are_a_warning(aws, dev):
    ctx = preflight.Context(Target(settings=dev, aws=aws, env_flag="--env dev"))
    aws.stub("ec2").add_client_error("describe_vpcs", "UnauthorizedOperation", "not allowed")
    assert [c.status for c in preflight.quotas_check(ctx)] == ["warn"]


def test_no_quota_call_when_the_change_does_not_touch_them(aws, dev):
    ctx = preflight.Context(Target(settings=dev, aws=aws, env_flag="--env dev"), stack={"StackId": STACK_ID},
                            changed={"AlarmCpuThreshold"})
    assert preflight.quotas_check(ctx) == [] and preflight.zones_check(ctx) == []


class TokyoAws(StubAws):
    region = "ap-northeast-1"


def test_a_zone_without_fargate(dev):
    aws = TokyoAws()
    ctx = preflight.Context(Target(settings=with_overrides(dev, az_count=2), aws=aws, env_flag="--env dev"))
    aws.stub("ec2").add_response("describe_availability_zones", {"AvailabilityZones": [
        {"ZoneName": "ap-northeast-1a", "ZoneId": "apne1-az3", "State": "available", "ZoneType": "availability-zone"},
        {"ZoneName": "ap-northeast-1c", "ZoneId": "apne1-az1", "State": "available", "ZoneType": "availability-zone"},
        {"ZoneName": "ap-northeast-1d", "ZoneId": "apne1-az2", "State": "available", "ZoneType": "availability-zone"},
        {"ZoneName": "ap-northeast-1-tpe-1a", "ZoneId": "apne1-tpe1-az1", "State": "available",
         "ZoneType": "local-zone"}]})
    check, = preflight.zones_check(ctx)
    assert check.status == "fail"
    assert check.detail.startswith("ap-northeast-1a (apne1-az3) does not offer Fargate in ap-northeast-1")


def test_a_certificate_pending_validation(aws, dev):
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    settings = with_overrides(dev, load_balancer="internal", certificate_arn=arn)
    ctx = preflight.Context(Target(settings=settings, aws=aws, env_flag="--env dev"))
    aws.stub("acm").add_response("describe_certificate", {"Certificate": {
        "CertificateArn": arn, "DomainName": "predict.example.com", "Status": "PENDING_VALIDATION"}})
    check, = preflight.certificate_check(ctx)
    assert (check.status, check.detail) == ("fail", "certificate for predict.example.com is PENDING_VALIDATION")


VALIDATION_EVENTS = {"OperationEvents": [
    {"EventId": "1", "EventType": "VALIDATION_ERROR", "LogicalResourceId": "DataBucket",
     "ValidationName": "NAME_CONFLICT_VALIDATION", "ValidationFailureMode": "FAIL",
     "ValidationStatusReason": "Resource of type AWS::S3::Bucket with identifier automl-dev-data already exists",
     "ValidationPath": "/Resources/DataBucket/Properties/BucketName"},
    {"EventId": "2", "EventType": "PROGRESS_EVENT", "LogicalResourceId": "Vpc"},
    {"EventId": "3", "EventType": "VALIDATION_ERROR", "LogicalResourceId": "OldBucket",
     "ValidationName": "S3_BUCKET_EMPTINESS_VALIDATION", "ValidationFailureMode": "WARN",
     "ValidationStatusReason": "Bucket is not empty"},
]}


def test_validation_events_are_lines_of_the_review(aws):
    aws.stub("cloudformation").add_response("describe_events", VALIDATION_EVENTS,
                                            {"ChangeSetName": CHANGE_SET, "Filters": {"FailedEvents": True}})
    lines = plan.validation_findings(aws.client("cloudformation"), CHANGE_SET)
    assert lines == [
        "  NAME_CONFLICT_VALIDATION: DataBucket at /Resources/DataBucket/Properties/BucketName: Resource of type "
        "AWS::S3::Bucket with identifier automl-dev-data already exists",
        "  S3_BUCKET_EMPTINESS_VALIDATION (warning): OldBucket: Bucket is not empty"]
    review = reviews.StackReview("automl-dev", validation=lines)
    assert "CloudFormation pre-deployment validation:" in reviews.render_text(review, colour=False)
    assert "- S3_BUCKET_EMPTINESS_VALIDATION (warning)" in reviews.to_markdown(review)


def test_a_change_set_failed_by_validation_says_why(aws, dev):
    aws.stub("cloudwatch").add_response("describe_alarms", {"MetricAlarms": []})
    cfn = aws.stub("cloudformation")
    cfn.add_response("create_change_set", {"Id": CHANGE_SET, "StackId": STACK_ID})
    cfn.add_response("describe_change_set", {"Status": "FAILED", "StatusReason": "The following hook(s)/validation "
                                             "failed: [AWS::EarlyValidation::ResourceExistenceCheck]",
                                             "ChangeSetId": CHANGE_SET})
    cfn.add_response("describe_events", VALIDATION_EVENTS)
    cfn.add_response("delete_change_set", {})
    target = Target(settings=dev, aws=aws, env_flag="--env dev")
    with pytest.raises(AwsError, match="pre-deployment validation failed: NAME_CONFLICT_VALIDATION: DataBucket "
                                       r"at .*already exists \(and 1 more\)"):
        plan.create(target, {"StackName": "automl-dev", "ChangeSetType": "CREATE"}, DeployOptions(poll=0), None,
                    {}, {})


def test_an_endpoint_without_describe_events_means_no_findings(aws):
    aws.stub("cloudformation").add_client_error("describe_events", "InvalidAction", "not here")
    assert plan.validation_findings(aws.client("cloudformation"), CHANGE_SET) == []


def test_the_release_alarms_that_exist_become_rollback_triggers(aws, dev):
    """Stubbed: the local endpoint keeps the triggers but does not roll back on them."""
    from automl_cfn.deploy import rollback
    from automl_cfn.settings import with_overrides

    names = rollback.release_alarm_names("automl-dev")
    aws.stub("cloudwatch").add_response("describe_alarms", {"MetricAlarms": [
        {"AlarmName": "automl-dev-predict-5xx", "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
                                                            "automl-dev-predict-5xx"},
        {"AlarmName": "automl-dev-model-quality-low", "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
                                                                  "automl-dev-model-quality-low"}]},
        {"AlarmNames": names, "AlarmTypes": ["MetricAlarm"]})
    target = Target(settings=with_overrides(dev, rollback_monitoring_minutes=10), aws=aws, env_flag="--env dev")
    found = rollback.configuration(target)
    assert found == {"MonitoringTimeInMinutes": 10, "RollbackTriggers": [
        {"Arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:automl-dev-model-quality-low",
         "Type": "AWS::CloudWatch::Alarm"},
        {"Arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:automl-dev-predict-5xx",
         "Type": "AWS::CloudWatch::Alarm"}]}
    assert "automl-dev-model-quality-low, automl-dev-predict-5xx; watched for 10 min" in rollback.lines(found)[0]


def test_with_no_alarm_to_watch_the_change_set_removes_the_triggers(aws, dev):
    """An omitted RollbackConfiguration keeps the previous triggers: nothing to watch is said outright."""
    from automl_cfn.deploy import rollback

    aws.stub("cloudwatch").add_response("describe_alarms", {"MetricAlarms": []})
    assert rollback.configuration(Target(settings=dev, aws=aws, env_flag="--env dev")) == {"RollbackTriggers": []}
    assert "no rollback triggers" in rollback.lines({"RollbackTriggers": []})[0]


def test_a_deploy_looks_each_retained_name_up_once(aws):
    from automl_cfn.deploy import retained

    repository = {"repositoryName": "automl-dev-train", "repositoryArn": "arn:aws:ecr:us-east-1:1:repository/x",
                  "registryId": "123456789012", "repositoryUri": "x"}
    ecr = aws.stub("ecr")
    for _ in range(2):   # once inside the block, once after it
        ecr.add_response("describe_repositories", {"repositories": [repository]},
                         {"repositoryNames": ["automl-dev-train"]})
        ecr.add_response("list_images", {"imageIds": [{"imageTag": "v1"}]}, {"repositoryName": "automl-dev-train"})
    item = retained.Retained("registry", "TrainRepository", "AWS::ECR::Repository", "automl-dev-train")
    with retained.lookups_shared():
        assert retained.lookup(aws, item.type, item.name).holds == "1 images"   # the preflight asks
        adopted = retained.find(aws, item)                                       # and the adoption
        assert adopted.retained == item and retained.lookup(aws, item.type, item.name).retained is None
    assert retained.find(aws, item).physical_id == "automl-dev-train"   # outside: asked again
    ecr.assert_no_pending_responses()


def test_more_than_a_hundred_alarm_names_take_one_request_a_hundred(aws):
    names = [f"automl-dev-alarm-{i:03d}" for i in range(101)]
    cloudwatch = aws.stub("cloudwatch")
    cloudwatch.add_response("describe_alarms", {"MetricAlarms": [{"AlarmName": names[7]}]},
                            {"AlarmNames": names[:100], "MaxRecords": 100})
    cloudwatch.add_response("describe_alarms", {"MetricAlarms": [{"AlarmName": names[100]}]},
                            {"AlarmNames": names[100:], "MaxRecords": 100})
    assert preflight._existing_alarms(aws, names) == {names[7], names[100]}
    cloudwatch.assert_no_pending_responses()
