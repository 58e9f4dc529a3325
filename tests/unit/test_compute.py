"""Compute template: cluster, task definitions, security group, prediction service."""

from __future__ import annotations

import pytest

from automl_cfn.model import SERVICES


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
    assert definition["TaskRoleArn"] == {"Ref": "TaskRoleArn"}
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
    assert container["Image"]["Fn::Sub"][0] == "${Uri}:${ImageTag}"


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
