"""Compute: the ECS cluster (Container Insights, FARGATE and FARGATE_SPOT),
the task security group, the three task definitions from one definition, and
the prediction service with its circuit breaker and CPU autoscaling.

Before the first image push (ImageTag empty) the service exists with zero
tasks and no autoscaling, so a first deploy on an empty registry does not
wait on tasks that cannot pull an image.
"""

from __future__ import annotations

from troposphere import (And, Condition, Equals, GetAtt, If, Join, Not, NoValue, Ref, Sub,
                         applicationautoscaling as scaling, ec2, ecs)

from ..model import (BEST_PARAMS_KEY, DATA_PREFIX, DEPLOYMENT_ALARMS, MODELS_PREFIX, PREDICTION_SERVICE,
                     PREDICTIONS_PREFIX, SCRATCH_PATH, SERVICES, title)
from . import names, traffic
from .base import NONE, StackTemplate

SCRATCH_VOLUME = "scratch"
HTTPS = 443
# Set on predict only where the settings allow an endpoint without an API key
# (docker/app/automl_example/predict.py reads it: without it and without API_KEY, predict refuses).
OPEN_ENDPOINT_VARIABLE = "ALLOW_UNAUTHENTICATED"


def build() -> StackTemplate:
    st = StackTemplate("compute", "ECS cluster, task definitions, prediction service")
    cluster = st.add(ecs.Cluster(
        "Cluster", ClusterName=names.cluster_name(),
        ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
    ))
    providers = st.add(capacity_providers(st, cluster))
    security_group = st.add(task_security_group(st))
    task_definitions = {service: st.add(task_definition(st, service)) for service in SERVICES}
    service = st.add(prediction_service(st, cluster, providers, security_group, task_definitions[PREDICTION_SERVICE]),
                     condition="PredictionServiceEnabled")
    target = st.add(scalable_target(st, cluster, service), condition="PredictionServiceScales")
    st.add(cpu_target_tracking(st, target), condition="PredictionServiceScales")
    st.add(request_target_tracking(st, target), condition="ScalesOnRequests")
    st.add(ec2.SecurityGroupIngress(
        "TaskIngressFromLoadBalancer", GroupId=Ref(security_group), IpProtocol="tcp",
        FromPort=st.ref("PredictContainerPort"), ToPort=st.ref("PredictContainerPort"),
        SourceSecurityGroupId=Ref(st.input("LoadBalancerSecurityGroupId", "Load balancer security group, or none")),
        Description="only the load balancer reaches the prediction tasks",
    ), condition="HasLoadBalancer")
    endpoints = Ref(st.input("EndpointSecurityGroupId", "Security group of the interface endpoints, or none"))
    st.add(ec2.SecurityGroupIngress(
        "EndpointIngressFromTasks", GroupId=endpoints, IpProtocol="tcp", FromPort=HTTPS, ToPort=HTTPS,
        SourceSecurityGroupId=Ref(security_group), Description="the tasks, and only they, reach the endpoints",
    ), condition=st.add_condition("HasInterfaceEndpoints", Not(Equals(endpoints, NONE))))

    st.output("ClusterName", Ref(cluster), "ECS cluster name")
    st.output("ClusterArn", GetAtt(cluster, "Arn"), "ECS cluster ARN")
    st.output("TaskSecurityGroupId", Ref(security_group), "Security group of the tasks")
    for name, definition in task_definitions.items():
        st.output(f"{title(name)}TaskFamily", names.task_family(name), f"Task definition family of {name}")
        st.output(f"{title(name)}TaskDefinitionArn", Ref(definition), f"Current task definition of {name}")
    st.output("PredictionServiceName", GetAtt(service, "Name"), "Prediction service name",
              condition="PredictionServiceEnabled")
    return st


def capacity_providers(st: StackTemplate, cluster) -> ecs.ClusterCapacityProviderAssociations:
    """Both Fargate providers available; UseFargateSpot picks the default."""
    return ecs.ClusterCapacityProviderAssociations(
        "ClusterCapacityProviders",
        Cluster=Ref(cluster),
        CapacityProviders=["FARGATE", "FARGATE_SPOT"],
        DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategy(
            CapacityProvider=default_provider(st), Weight=1,
        )],
    )


def default_provider(st: StackTemplate) -> If:
    return If(st.condition("SpotByDefault"), "FARGATE_SPOT", "FARGATE")


def task_security_group(st: StackTemplate) -> ec2.SecurityGroup:
    """No ingress at all; egress only HTTPS (ECR, S3, CloudWatch, package mirrors)."""
    return ec2.SecurityGroup(
        "TaskSecurityGroup",
        GroupDescription="automl-cfn ECS tasks: no ingress, HTTPS egress only",
        GroupName=names.name("tasks"),
        VpcId=Ref(st.input("VpcId", "VPC ID")),
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=HTTPS, ToPort=HTTPS, CidrIp="0.0.0.0/0",
            Description="HTTPS to AWS APIs and registries",
        )],
    )


def image(st: StackTemplate, service: str):
    """`<repository uri>:<ImageTag>`, or `:latest` before the first tagged push."""
    uri = Ref(st.input(f"{title(service)}RepositoryUri", f"URI of the {service} repository"))
    return If(
        st.condition("HasImageTag"),
        Sub("${Uri}:${ImageTag}", Uri=uri, ImageTag=st.ref("ImageTag")),
        Sub("${Uri}:latest", Uri=uri),
    )


def environment(st: StackTemplate, service: str) -> list:
    bucket = Ref(st.input("DataBucketName", "Data bucket name"))
    values = {
        "SERVICE": service,
        "ENVIRONMENT": Ref(st.environment),
        "DATA_BUCKET": bucket,
        "DATA_PREFIX": DATA_PREFIX,
        "MODELS_PREFIX": MODELS_PREFIX,
        "PREDICTIONS_PREFIX": PREDICTIONS_PREFIX,
        "BEST_PARAMS_KEY": BEST_PARAMS_KEY,
        "METRICS_NAMESPACE": names.metric_namespace(),
    }
    if service != PREDICTION_SERVICE:
        return [ecs.Environment(Name=key, Value=value) for key, value in values.items()]
    # What the service listens on and answers its health check at; and, only where the settings allow
    # an endpoint without a key, that it is open: without a key and without this, predict refuses.
    values.update(PORT=st.ref("PredictContainerPort"), HEALTH_CHECK_PATH=st.ref("HealthCheckPath"))
    return [ecs.Environment(Name=key, Value=value) for key, value in values.items()] + [
        If(unauthenticated_endpoint(st), ecs.Environment(Name=OPEN_ENDPOINT_VARIABLE, Value="true"), NoValue)]


def unauthenticated_endpoint(st: StackTemplate) -> str:
    """No API key, and no internet-facing load balancer (the settings refuse one without a key; a
    template deployed by hand with one still gets a predict that refuses every request)."""
    return st.add_condition("UnauthenticatedEndpointAllowed", And(
        Not(Condition(st.condition("HasApiKeySecret"))), Not(Condition(st.condition("PublicLoadBalancer")))))


def api_key(st: StackTemplate):
    """The API key secret as an ECS secret (fetched at start, never in the task definition), and the
    previous key's, which predict accepts too: a task started during a rotation accepts both."""
    secret = Ref(st.input("ApiKeySecretArn", "API key secret ARN, or none"))
    previous_secret = Ref(st.input("ApiKeyPreviousSecretArn", "Previous API key secret ARN, or none"))
    previous = If(st.condition("HasApiKeyPreviousSecret"),
                  ecs.Secret(Name="API_KEY_PREVIOUS", ValueFrom=previous_secret), NoValue)
    return If(st.condition("HasApiKeySecret"), [ecs.Secret(Name="API_KEY", ValueFrom=secret), previous], NoValue)


def task_definition(st: StackTemplate, service: str) -> ecs.TaskDefinition:
    cpu, memory = st.ref(f"{title(service)}Cpu"), st.ref(f"{title(service)}Memory")
    log_group = Ref(st.input(f"{title(service)}LogGroupName", f"Log group of {service}"))
    return ecs.TaskDefinition(
        f"{title(service)}TaskDefinition",
        Family=names.task_family(service),
        Cpu=cpu,
        Memory=memory,
        NetworkMode="awsvpc",
        RequiresCompatibilities=["FARGATE"],
        RuntimePlatform=ecs.RuntimePlatform(OperatingSystemFamily="LINUX", CpuArchitecture="X86_64"),
        ExecutionRoleArn=Ref(st.input("ExecutionRoleArn", "ECS task execution role ARN")),
        TaskRoleArn=Ref(st.input(f"{title(service)}TaskRoleArn", f"Task role ARN of {service}")),
        # Writable scratch space; the image's own filesystem stays read-only.
        Volumes=[ecs.Volume(Name=SCRATCH_VOLUME)],
        ContainerDefinitions=[ecs.ContainerDefinition(
            Name=service,
            Image=image(st, service),
            Essential=True,
            # Container-level memory as well as the task's: the hard limit the
            # container is held to (and what ECS run-task tooling reads).
            Memory=memory,
            Privileged=False,
            ReadonlyRootFilesystem=True,
            User=st.ref("ContainerUser"),
            MountPoints=[ecs.MountPoint(SourceVolume=SCRATCH_VOLUME, ContainerPath=SCRATCH_PATH, ReadOnly=False)],
            Environment=environment(st, service),
            Secrets=api_key(st) if service == PREDICTION_SERVICE else NoValue,
            PortMappings=If(st.condition("HasLoadBalancer"), [ecs.PortMapping(
                ContainerPort=st.ref("PredictContainerPort"), Protocol="tcp")], NoValue)
            if service == PREDICTION_SERVICE else NoValue,
            LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options={
                "awslogs-group": log_group,
                "awslogs-region": Ref("AWS::Region"),
                "awslogs-stream-prefix": service,
            }),
        )],
    )


def prediction_service(st: StackTemplate, cluster, providers, security_group, definition) -> ecs.Service:
    """The long-running predict tasks, in the task subnets the network chose."""
    def strategy(provider: str) -> list:
        return [ecs.CapacityProviderStrategyItem(CapacityProvider=provider, Weight=1)]

    return ecs.Service(
        "PredictionService",
        ServiceName=names.service_name(PREDICTION_SERVICE),
        Cluster=Ref(cluster),
        TaskDefinition=Ref(definition),
        DesiredCount=If(st.condition("HasImageTag"), st.ref("PredictionServiceCount"), 0),
        CapacityProviderStrategy=If(st.condition("SpotByDefault"), strategy("FARGATE_SPOT"), strategy("FARGATE")),
        PlatformVersion="LATEST",
        NetworkConfiguration=ecs.NetworkConfiguration(AwsvpcConfiguration=ecs.AwsvpcConfiguration(
            Subnets=Ref(st.input("TaskSubnets", "Subnets tasks run in", type="CommaDelimitedList")),
            SecurityGroups=[Ref(security_group)],
            AssignPublicIp=Ref(st.input("AssignPublicIp", "ENABLED when tasks run in public subnets")),
        )),
        LoadBalancers=If(st.condition("HasLoadBalancer"), [load_balancer_link(st)], NoValue),
        HealthCheckGracePeriodSeconds=If(st.condition("HasLoadBalancer"), 60, NoValue),
        DeploymentConfiguration=deployment_configuration(st),
        PropagateTags="SERVICE",
        EnableECSManagedTags=True,
        DependsOn=providers.title,
    )


def load_balancer_link(st: StackTemplate) -> ecs.LoadBalancer:
    """The service in its target group; for traffic shifting, the alternate group and the rule ECS moves."""
    wired = {name: Ref(st.input(name, description)) for name, description in (
        ("BlueTargetGroupArn", "Primary target group, or none"),
        ("GreenTargetGroupArn", "Alternate target group, or none"),
        ("ProductionListenerRuleArn", "Production listener rule, or none"),
        ("EcsInfrastructureRoleArn", "Role ECS shifts traffic with, or none"),
    )}
    return ecs.LoadBalancer(
        ContainerName=PREDICTION_SERVICE,
        ContainerPort=st.ref("PredictContainerPort"),
        TargetGroupArn=wired["BlueTargetGroupArn"],
        AdvancedConfiguration=If(st.condition("ShiftsTraffic"), ecs.AdvancedConfiguration(
            AlternateTargetGroupArn=wired["GreenTargetGroupArn"],
            ProductionListenerRule=wired["ProductionListenerRuleArn"],
            RoleArn=wired["EcsInfrastructureRoleArn"],
        ), NoValue),
    )


def deployment_configuration(st: StackTemplate) -> ecs.DeploymentConfiguration:
    """Rolling by default; blue/green, canary or linear with a bake time; with a load
    balancer, the endpoint's alarms stop and roll back a bad deployment."""
    bake = st.ref("DeploymentBakeMinutes")
    strategy = If(st.condition("IsBlueGreen"), "BLUE_GREEN",
                  If(st.condition("IsCanary"), "CANARY", If(st.condition("IsLinear"), "LINEAR", "ROLLING")))
    return ecs.DeploymentConfiguration(
        MinimumHealthyPercent=100, MaximumPercent=200,
        DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
        Strategy=If(st.condition("HasLoadBalancer"), strategy, "ROLLING"),
        BakeTimeInMinutes=If(st.condition("ShiftsTraffic"), bake, NoValue),
        CanaryConfiguration=If(st.condition("IsCanary"), ecs.CanaryConfiguration(
            CanaryPercent=st.ref("CanaryPercent"), CanaryBakeTimeInMinutes=bake), NoValue),
        LinearConfiguration=If(st.condition("IsLinear"), ecs.LinearConfiguration(
            StepPercent=st.ref("LinearStepPercent"), StepBakeTimeInMinutes=bake), NoValue),
        Alarms=release_alarms(st),
    )


def release_alarms(st: StackTemplate):
    """The alarms a deployment of the service watches and rolls back on: the endpoint's (with a load
    balancer) and the model quality alarm (with a quality gate)."""
    quality = If(st.condition("HasModelQualityGate"), names.model_quality_alarm_name(), NoValue)
    endpoint = [names.deployment_alarm_name(kind) for kind in DEPLOYMENT_ALARMS]
    return If(st.condition("HasLoadBalancer"),
              ecs.DeploymentAlarms(AlarmNames=[*endpoint, quality], Enable=True, Rollback=True),
              If(st.condition("HasModelQualityGate"),
                 ecs.DeploymentAlarms(AlarmNames=[names.model_quality_alarm_name()], Enable=True, Rollback=True),
                 NoValue))


def request_target_tracking(st: StackTemplate, target) -> scaling.ScalingPolicy:
    """With a load balancer, scale on requests per healthy task as well as CPU: requests and
    healthy targets of both target groups, so scaling follows the traffic after a blue/green
    deployment moves it to green."""
    queries = []
    for group in traffic.groups(st):
        for metric, stat in (("RequestCount", "Sum"), ("HealthyHostCount", "Average")):
            queries.append(traffic.present(st, group, scaling.TargetTrackingMetricDataQuery(
                Id=f"{metric[0].lower()}_{group.colour}", ReturnData=False,
                MetricStat=scaling.TargetTrackingMetricStat(Stat=stat, Metric=scaling.TargetTrackingMetric(
                    Namespace="AWS/ApplicationELB", MetricName=metric, Dimensions=[
                        scaling.TargetTrackingMetricDimension(Name="LoadBalancer", Value=traffic.load_balancer(st)),
                        scaling.TargetTrackingMetricDimension(Name="TargetGroup", Value=group.full_name)])),
            )))
    queries.append(scaling.TargetTrackingMetricDataQuery(
        Id="per_task", Label="Requests per healthy task a minute", ReturnData=True,
        Expression=traffic.over_groups(
            st, "r_blue / h_blue",
            "(FILL(r_blue, 0) + FILL(r_green, 0)) / (FILL(h_blue, 0) + FILL(h_green, 0))")))
    return target_tracking(st, target, "PredictionRequestScaling", "request", "PredictionRequestsPerTarget",
                           metrics=scaling.CustomizedMetricSpecification(Metrics=queries))


def scalable_target(st: StackTemplate, cluster, service) -> scaling.ScalableTarget:
    return scaling.ScalableTarget(
        "PredictionScalableTarget",
        ServiceNamespace="ecs",
        ScalableDimension="ecs:service:DesiredCount",
        ResourceId=Join("/", ["service", Ref(cluster), GetAtt(service, "Name")]),
        MinCapacity=st.ref("PredictionMinCapacity"),
        MaxCapacity=st.ref("PredictionMaxCapacity"),
    )


def cpu_target_tracking(st: StackTemplate, target) -> scaling.ScalingPolicy:
    return target_tracking(st, target, "PredictionCpuScaling", "cpu", "PredictionCpuTarget",
                           predefined=scaling.PredefinedMetricSpecification(
                               PredefinedMetricType="ECSServiceAverageCPUUtilization"))


def target_tracking(st: StackTemplate, target, logical_id: str, what: str, target_parameter: str,
                    predefined=None, metrics=None) -> scaling.ScalingPolicy:
    """Keep a metric (predefined, or metric math) near the parameter's value: out in a minute, in after two."""
    chosen = {"PredefinedMetricSpecification": predefined} if predefined else {"CustomizedMetricSpecification": metrics}
    return scaling.ScalingPolicy(
        logical_id,
        PolicyName=names.name(f"predict-{what}-tracking"),
        PolicyType="TargetTrackingScaling",
        ScalingTargetId=Ref(target),
        TargetTrackingScalingPolicyConfiguration=scaling.TargetTrackingScalingPolicyConfiguration(
            **chosen,
            TargetValue=st.ref(target_parameter),
            ScaleInCooldown=120,
            ScaleOutCooldown=60,
        ),
    )
