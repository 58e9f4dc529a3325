"""What stops a destroy (deploy/protection.py): the refusal's first hint handles every protection found, the
templates set no deletion protection the table misses, and --unprotect turns resources off before the stack."""

from __future__ import annotations

import json
import re
import shlex

import pytest

from automl_cfn.deploy import plan, protection
from automl_cfn.deploy.protection import Protected, Protections

from .test_deploy_stubbed import StubAws, aws  # noqa: F401  (the fixture)

LB = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/automl-dev-Endpoint-X/0123456789abcdef"
ROOT_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/automl-dev/1111"
ENDPOINT_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/automl-dev-EndpointStack-ABC/2222"
BALANCER = Protected("EndpointStack/PredictionLoadBalancer", LB, LB_ARN)


def first_command(message: str) -> list[str]:
    return shlex.split(re.search(r"'(automl-cfn [^']+)'", message).group(1))


@pytest.mark.parametrize("found, named, absent, them", [
    (Protections("automl-dev", termination=True), ["termination protection on automl-dev"],
     ["deletion protection"], "turns it off"),
    (Protections("automl-dev", resources=[BALANCER]),
     ["deletion protection on the load balancer EndpointStack/PredictionLoadBalancer", LB_ARN],
     ["termination protection"], "turns it off"),
    (Protections("automl-dev", termination=True, resources=[BALANCER]),
     ["termination protection on automl-dev", "deletion protection on the load balancer "
      "EndpointStack/PredictionLoadBalancer"], [], "turns both off"),
])
def test_the_refusal_names_each_protection_and_its_first_hint_handles_them_all(found, named, absent, them):
    message = protection.refusal(found, "--env dev")
    assert all(text in message for text in named) and not any(text in message for text in absent)
    assert first_command(message) == ["automl-cfn", "destroy", "--env", "dev", "--unprotect"]
    assert them in message
    # the old first hint turned off the stack's protection alone, which left the load balancer protected
    assert "update-termination-protection" not in message
    assert "set termination_protection: false and deploy" in message


def test_the_hint_keeps_the_way_the_environment_was_named():
    found = Protections("automl-prod", termination=True)
    assert first_command(protection.refusal(found, "--config my-settings.yaml")) == [
        "automl-cfn", "destroy", "--config", "my-settings.yaml", "--unprotect"]
    assert first_command(protection.refusal(found, "")) == ["automl-cfn", "destroy", "--unprotect"]


def test_what_aws_returns_is_printed_on_one_line():
    hostile = Protected("EndpointStack/Lb\n[bold]x", LB, "arn\x1b[31m")
    text = protection.refusal(Protections("automl-dev", resources=[hostile]), "--env dev")
    assert "\n" not in text and "\x1b" not in text


DELETION_PROTECTION = re.compile(r"deletion.?protection|termination.?protection", re.IGNORECASE)


def test_every_deletion_protection_the_templates_set_is_one_destroy_can_turn_off(templates):
    """A resource whose properties set a deletion protection (a property such as DeletionProtection or
    DeletionProtectionEnabled, or the load balancer's deletion_protection.enabled attribute) stops a stack's
    delete half way; destroy --unprotect and the deploy's replacement guard know only the types in KINDS."""
    protected_types = {body["Type"] for document in templates.values()
                       for body in document.get("Resources", {}).values()
                       if body["Type"] != "AWS::CloudFormation::Stack"
                       and DELETION_PROTECTION.search(json.dumps(body.get("Properties", {})))}
    assert protected_types == set(protection.KINDS)
    assert plan.DELETION_PROTECTED == set(protection.KINDS)


def test_find_looks_inside_the_nested_stacks_and_unprotect_turns_the_stack_off_last(aws, capsys):  # noqa: F811
    cfn, elb = aws.stub("cloudformation"), aws.stub("elbv2")
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": "EndpointStack", "PhysicalResourceId": ENDPOINT_ID,
         "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": "CREATE_COMPLETE",
         "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"},
        {"LogicalResourceId": "DataBucket", "PhysicalResourceId": "automl-dev-data",
         "ResourceType": "AWS::S3::Bucket", "ResourceStatus": "CREATE_COMPLETE",
         "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"}]}, {"StackName": ROOT_ID})
    cfn.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": "PredictionLoadBalancer", "PhysicalResourceId": LB_ARN, "ResourceType": LB,
         "ResourceStatus": "DELETE_FAILED", "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"},
        {"LogicalResourceId": "OldLoadBalancer", "PhysicalResourceId": LB_ARN + "0", "ResourceType": LB,
         "ResourceStatus": "DELETE_COMPLETE", "LastUpdatedTimestamp": "2026-01-01T00:00:00Z"}]},
        {"StackName": ENDPOINT_ID})
    elb.add_response("describe_load_balancer_attributes", {"Attributes": [
        {"Key": "deletion_protection.enabled", "Value": "true"}]}, {"LoadBalancerArn": LB_ARN})
    found = protection.find(aws, {"StackName": "automl-dev", "StackId": ROOT_ID, "EnableTerminationProtection": True})
    assert found == Protections("automl-dev", termination=True, resources=[BALANCER])

    calls = []
    aws.client("elbv2").meta.events.register("provide-client-params.*.*", lambda model, **_: calls.append(model.name))
    aws.client("cloudformation").meta.events.register("provide-client-params.*.*", lambda model, **_: calls.append(model.name))
    elb.add_response("modify_load_balancer_attributes", {}, {
        "LoadBalancerArn": LB_ARN, "Attributes": [{"Key": "deletion_protection.enabled", "Value": "false"}]})
    cfn.add_response("update_termination_protection", {"StackId": ROOT_ID},
                     {"StackName": "automl-dev", "EnableTerminationProtection": False})
    protection.turn_off(aws, found)
    assert calls == ["ModifyLoadBalancerAttributes", "UpdateTerminationProtection"]


def test_a_load_balancer_already_gone_protects_nothing(aws):  # noqa: F811
    aws.stub("elbv2").add_client_error("describe_load_balancer_attributes", "LoadBalancerNotFound",
                                       "One or more load balancers not found")
    assert not protection.load_balancer_protected(aws, LB_ARN)
