"""Compute template: cluster, task definitions, security group, prediction service."""

from __future__ import annotations

import pytest

from automl_cfn.evaluate import Evaluation
from automl_cfn.model import BEST_PARAMS_KEY, SERVICES
from automl_cfn.parameters import parameter_values
from automl_cfn.stacks.compute import OPEN_ENDPOINT_VARIABLE

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:automl/dev/api-key-AbCdEf"


def test_cluster_has_container_insights_and_both_fargate_providers(stack):
    resources = stack("compute").resources()
    assert resources["Cluster"]["Properties"]["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    assoc = resources["ClusterCapacityProviders"]["Properties"]
    assert assoc["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]


@pytest.mark.parametrize("spot, provider", [(True, "FARGATE_SPOT"), (False, "FARGATE")])
def test_default_capacity_provider_follows_use_fargate_spot(stack, spot, provider):
    resources = stack("compute", use_fargate_spot=spot, image_tag="v1").resources()
    strategy = resources["ClusterCapacityProviders"]["Properties"]["DefaultCapacityProviderStrategy"]
    assert strategy == [{"CapacityProvider": provider, "Weight": 1}]
    service = resources["PredictionService"]["Properties"]
    assert service["CapacityProviderStrategy"] == [{"CapacityProvider": provider, "Weight": 1}]


@pytest.mark.parametrize("service", SERVICES)
def test_task_definitions_from_one_definition(stack, dev, service):
    definition = stack("compute", image_tag="abc1234").resources()[f"{service.capitalize()}TaskDefinition"][
        "Properties"]
    assert definition["Cpu"] == str(dev.cpu(service)) and definition["Memory"] == str(dev.memory(service))
    assert definition["RequiresCompatibilities"] == ["FARGATE"] and definition["NetworkMode"] == "awsvpc"
    assert definition["Family"] == {"Fn::Sub": f"${{ProjectName}}-${{Environment}}-{service}"}
    assert definition["ExecutionRoleArn"] == {"Ref": "ExecutionRoleArn"}
    assert definition["TaskRoleArn"] == {"Ref": f"{service.capitalize()}TaskRoleArn"}   # its own role
    (container,) = definition["ContainerDefinitions"]
    assert container["Name"] == service
    assert container["ReadonlyRootFilesystem"] is True and container["Privileged"] is False
    assert container["Memory"] == str(dev.memory(service))
    assert container["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "scratch"}]
    assert definition["Volumes"] == [{"Name": "scratch"}]
    logs = container["LogConfiguration"]
    assert logs["LogDriver"] == "awslogs"
    assert logs["Options"]["awslogs-group"] == {"Ref": f"{service.capitalize()}LogGroupName"}
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["DATA_BUCKET"] == {"Ref": "DataBucketName"}
    assert (env["DATA_PREFIX"], env["MODELS_PREFIX"], env["PREDICTIONS_PREFIX"]) == ("data/", "models/", "predictions/")
    assert env["BEST_PARAMS_KEY"] == BEST_PARAMS_KEY   # the one object optimize's role may write
    assert container["Image"]["Fn::Sub"][0] == "${Uri}:${ImageTag}"


def open_declared(compute) -> dict:
    """Each task definition -> whether it declares its endpoint open (ALLOW_UNAUTHENTICATED=true)."""
    return {name: {"Name": OPEN_ENDPOINT_VARIABLE, "Value": "true"} in body["Properties"]["ContainerDefinitions"][0][
        "Environment"] for name, body in compute.of_type("AWS::ECS::TaskDefinition").items()}


@pytest.mark.parametrize("settings, secret, is_open", [
    ({}, None, True),                                                      # no load balancer: nothing reaches it
    ({"load_balancer": "internal"}, None, True),                          # inside the VPC, no key asked for
    ({"load_balancer": "internal", "certificate_arn": CERT, "api_key_secret": "create"}, SECRET, False),
    ({"load_balancer": "internal", "api_key_secret": "create", "allow_cleartext_api_key": True}, SECRET, False),
    ({"load_balancer": "public", "certificate_arn": CERT, "api_key_secret": "create"}, SECRET, False),
    ({"api_key_secret": "create"}, SECRET, False),
])
def test_predict_is_declared_open_only_where_the_settings_allow_no_key(stack, settings, secret, is_open):
    compute = stack("compute", wired={"ApiKeySecretArn": secret or "none"}, **settings)
    assert open_declared(compute) == {"OptimizeTaskDefinition": False, "TrainTaskDefinition": False,
                                      "PredictTaskDefinition": is_open}


def test_a_public_load_balancer_without_a_key_deployed_by_hand_is_not_declared_open(templates, dev):
    """The settings refuse it; a template deployed by hand with those parameters still gets a predict that refuses
    every request (the app fails closed without a key or the declaration)."""
    parameters = {**parameter_values(dev), "LoadBalancer": "public", "CertificateArn": CERT}
    compute = Evaluation(templates["compute"], {"KmsKeyArn": "none", "ApiKeySecretArn": "none",
                                                "LbLogsBucketName": "none", **parameters})
    assert not any(open_declared(compute).values())


def test_image_is_latest_before_the_first_push(stack):
    container = stack("compute", image_tag="").resources()["TrainTaskDefinition"]["Properties"][
        "ContainerDefinitions"][0]
    assert container["Image"]["Fn::Sub"][0] == "${Uri}:latest"


def test_security_group_admits_nothing_and_only_sends_https(stack):
    group = stack("compute").resources()["TaskSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert group["SecurityGroupEgress"] == [{
        "CidrIp": "0.0.0.0/0", "Description": "HTTPS to AWS APIs and registries",
        "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443,
    }]


def test_first_deploy_on_an_empty_registry_runs_no_tasks(stack):
    resources = stack("compute", image_tag="").resources()
    assert resources["PredictionService"]["Properties"]["DesiredCount"] == 0
    assert "PredictionScalableTarget" not in resources and "PredictionCpuScaling" not in resources


def test_service_with_an_image_scales_on_cpu_between_min_and_max(stack):
    resources = stack("compute", image_tag="v1", prediction_service_count=2, prediction_min_capacity=1,
                      prediction_max_capacity=6, prediction_cpu_target=60).resources()
    service = resources["PredictionService"]["Properties"]
    assert service["DesiredCount"] == "2"
    breaker = service["DeploymentConfiguration"]["DeploymentCircuitBreaker"]
    assert breaker == {"Enable": True, "Rollback": True}
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["Subnets"] == {"Ref": "TaskSubnets"} and network["AssignPublicIp"] == {"Ref": "AssignPublicIp"}
    assert network["SecurityGroups"] == [{"Ref": "TaskSecurityGroup"}]
    target = resources["PredictionScalableTarget"]["Properties"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == ("1", "6")
    tracking = resources["PredictionCpuScaling"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == "60"
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ECSServiceAverageCPUUtilization"


def test_no_prediction_service_when_disabled(stack):
    resources = stack("compute", enable_prediction_service=False, image_tag="v1").resources()
    assert not {"PredictionService", "PredictionScalableTarget", "PredictionCpuScaling"} & set(resources)
    assert "PredictionServiceName" not in stack("compute", enable_prediction_service=False).outputs()
