"""Monitoring: a log group per service (and the pipeline's), CPU and memory
alarms per task family, an SNS topic for alarms (TLS only, published to by
this environment's alarms only) with an optional email subscription, and a
CloudWatch dashboard.

Alarms and the dashboard name the cluster, families and state machine by
their deterministic names (see names.py) rather than by reference, so this
stack needs nothing from compute and compute can depend on its log groups.
"""

from __future__ import annotations

import json

from troposphere import GetAtt, Ref, Sub, cloudwatch, logs, sns

from ..model import DEPLOYMENT_ALARMS, LOG_SOURCES, PREDICTION_SERVICE, SERVICES, title
from ..parameters import adopted_parameter
from . import names, policies, traffic
from .base import StackTemplate

PERIOD_SECONDS = 300
CONTAINER_INSIGHTS = "ECS/ContainerInsights"
# (alarm stem, utilized metric, reserved metric, threshold parameter)
UTILISATION = (
    ("Cpu", "CpuUtilized", "CpuReserved", "AlarmCpuThreshold"),
    ("Memory", "MemoryUtilized", "MemoryReserved", "AlarmMemoryThreshold"),
)


def build() -> StackTemplate:
    st = StackTemplate("monitoring", "log groups, alarms, alarm topic, dashboard")
    for source in LOG_SOURCES:
        add_log_group(st, source)
    topic = st.add(alarm_topic(st))
    st.add(sns.TopicPolicy("AlarmTopicPolicy", Topics=[Ref(topic)],
                           PolicyDocument=policies.document(policies.alarm_topic_statements(Ref(topic)))))
    st.add(sns.SubscriptionResource(
        "AlarmEmailSubscription", TopicArn=Ref(topic), Protocol="email", Endpoint=st.ref("AlarmEmail"),
    ), condition="HasAlarmEmail")
    for service in SERVICES:
        for stem, utilized, reserved, threshold in UTILISATION:
            st.add(utilisation_alarm(st, service, stem, utilized, reserved, threshold, topic))
    for alarm in deployment_alarms(st, topic):
        st.add(alarm, condition="HasLoadBalancer")
    st.add(model_quality_alarm(st, topic), condition="HasModelQualityGate")
    dashboard = st.add(cloudwatch.Dashboard(
        "Dashboard", DashboardName=names.dashboard_name(), DashboardBody=dashboard_body(),
    ))
    st.output("AlarmTopicArn", Ref(topic), "SNS topic that alarms notify")
    st.output("DashboardName", Ref(dashboard), "CloudWatch dashboard name")
    st.output(
        "DashboardUrl",
        Sub("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${D}",
            D=Ref(dashboard)),
        "CloudWatch dashboard in the console",
    )
    return st


def add_log_group(st: StackTemplate, source: str) -> logs.LogGroup:
    """Retained with the data: logs explain what produced a model."""
    condition = "StepFunctionsEnabled" if source == "pipeline" else None
    group = st.add(logs.LogGroup(
        f"{title(source)}LogGroup",
        LogGroupName=st.adopted_or(adopted_parameter("log_groups", source), names.log_group_name(source)),
        RetentionInDays=st.ref("LogRetentionDays"),
        KmsKeyId=st.kms_or(st.kms_key_arn()),
    ), stateful=True, condition=condition)
    st.output(f"{title(source)}LogGroupName", Ref(group), f"Log group of {source}", condition=condition)
    st.output(f"{title(source)}LogGroupArn", GetAtt(group, "Arn"), f"Log group ARN of {source}", condition=condition)
    return group


def alarm_topic(st: StackTemplate) -> sns.Topic:
    # Encrypted only with the environment's own key, whose policy lets
    # CloudWatch alarms publish; the AWS-managed SNS key's policy does not,
    # which would silently drop every alarm.  Its publishers are the alarms
    # alone (AlarmActions and OKActions here), so its policy admits them alone.
    return sns.Topic("AlarmTopic", TopicName=names.name("alarms"), KmsMasterKeyId=st.kms_or(st.kms_key_arn()))


def utilisation_alarm(st, service, stem, utilized, reserved, threshold, topic) -> cloudwatch.Alarm:
    """Percent of reserved CPU or memory a task family uses, from Container Insights."""
    def stat(query_id: str, metric: str) -> cloudwatch.MetricDataQuery:
        return cloudwatch.MetricDataQuery(
            Id=query_id, ReturnData=False,
            MetricStat=cloudwatch.MetricStat(
                Metric=cloudwatch.Metric(Namespace=CONTAINER_INSIGHTS, MetricName=metric, Dimensions=[
                    cloudwatch.MetricDimension(Name="ClusterName", Value=names.cluster_name()),
                    cloudwatch.MetricDimension(Name="TaskDefinitionFamily", Value=names.task_family(service)),
                ]),
                Period=PERIOD_SECONDS, Stat="Average",
            ),
        )

    return cloudwatch.Alarm(
        f"{title(service)}{stem}Alarm",
        AlarmName=names.name(f"{service}-{stem.lower()}-high"),
        AlarmDescription=Sub(f"{service} tasks use more than ${{{threshold}}}% of their reserved {stem.lower()}"),
        Metrics=[
            stat("utilized", utilized),
            stat("reserved", reserved),
            cloudwatch.MetricDataQuery(
                Id="percent", Expression="100 * utilized / reserved", Label=f"{stem} %", ReturnData=True,
            ),
        ],
        ComparisonOperator="GreaterThanThreshold",
        Threshold=st.ref(threshold),
        EvaluationPeriods=3,
        DatapointsToAlarm=2,
        # Optimize and train run as one-off tasks: no data between runs is normal.
        TreatMissingData="notBreaching",
        AlarmActions=[Ref(topic)],
        OKActions=[Ref(topic)],
    )


def deployment_alarms(st: StackTemplate, topic) -> list[cloudwatch.Alarm]:
    """5xx rate, p95 response time and unhealthy targets of the prediction endpoint:
    the alarms an ECS deployment watches and rolls back on.  Unhealthy targets are
    counted in both target groups: after a blue/green deployment, green serves."""
    balancer = cloudwatch.MetricDimension(Name="LoadBalancer", Value=traffic.load_balancer(st))
    common = dict(EvaluationPeriods=3, DatapointsToAlarm=2, ComparisonOperator="GreaterThanThreshold",
                  TreatMissingData="notBreaching", AlarmActions=[Ref(topic)], OKActions=[Ref(topic)])
    elb = dict(Namespace="AWS/ApplicationELB", Period=60, Dimensions=[balancer])
    specs = {
        "5xx": dict(MetricName="HTTPCode_Target_5XX_Count", Statistic="Sum", Threshold=10, **elb,
                    AlarmDescription="More than 10 target 5xx responses a minute"),
        "latency": dict(MetricName="TargetResponseTime", ExtendedStatistic="p95", Threshold=2, **elb,
                        AlarmDescription="p95 target response time above 2 seconds"),
        "unhealthy": dict(Metrics=unhealthy_targets(st, balancer), Threshold=0,
                          AlarmDescription="Unhealthy prediction targets, in whichever target group serves"),
    }
    return [cloudwatch.Alarm(f"Predict{title(kind)}DeploymentAlarm", AlarmName=names.deployment_alarm_name(kind),
                             **common, **specs[kind]) for kind in DEPLOYMENT_ALARMS]


def model_quality_alarm(st: StackTemplate, topic) -> cloudwatch.Alarm:
    """The metric train publishes fell below model_quality_min: the pipeline stops before predict (its own
    check reads the metric), and a release of the prediction service rolls back (the service watches this)."""
    return cloudwatch.Alarm(
        "ModelQualityAlarm", AlarmName=names.model_quality_alarm_name(),
        AlarmDescription="The newest model is worse than model_quality_min",
        Namespace=names.metric_namespace(), MetricName=st.ref("ModelQualityMetric"), Statistic="Minimum",
        Period=PERIOD_SECONDS, EvaluationPeriods=1, ComparisonOperator="LessThanThreshold",
        Threshold=st.ref("ModelQualityMin"),
        # Train publishes once per run: between runs there is nothing to judge.
        TreatMissingData="notBreaching",
        AlarmActions=[Ref(topic)], OKActions=[Ref(topic)],
    )


def unhealthy_targets(st: StackTemplate, balancer) -> list:
    queries = [traffic.present(st, group, cloudwatch.MetricDataQuery(
        Id=group.colour, ReturnData=False,
        MetricStat=cloudwatch.MetricStat(
            Metric=cloudwatch.Metric(Namespace="AWS/ApplicationELB", MetricName="UnHealthyHostCount", Dimensions=[
                balancer, cloudwatch.MetricDimension(Name="TargetGroup", Value=group.full_name)]),
            Period=60, Stat="Maximum"),
    )) for group in traffic.groups(st)]
    return queries + [cloudwatch.MetricDataQuery(
        Id="unhealthy", Label="Unhealthy targets", ReturnData=True,
        Expression=traffic.over_groups(st, "FILL(blue, 0)", "MAX([FILL(blue, 0), FILL(green, 0)])"))]


def dashboard_body() -> Sub:
    """The dashboard JSON, with ${...} placeholders filled by Fn::Sub."""
    cluster = f"{names.PREFIX}-cluster"
    region = "${AWS::Region}"

    def utilisation_widget(stem, utilized, reserved, y):
        metrics = []
        for index, service in enumerate(SERVICES):
            family = f"{names.PREFIX}-{service}"
            metrics.append([{"expression": f"100 * u{index} / r{index}", "label": service, "id": f"p{index}"}])
            for prefix, metric in (("u", utilized), ("r", reserved)):
                metrics.append([CONTAINER_INSIGHTS, metric, "ClusterName", cluster, "TaskDefinitionFamily", family,
                                {"id": f"{prefix}{index}", "visible": False}])
        return widget(f"{stem} % of reserved, per task family", metrics, 0, y, region)

    widgets = [
        utilisation_widget("CPU", "CpuUtilized", "CpuReserved", 0),
        utilisation_widget("Memory", "MemoryUtilized", "MemoryReserved", 6),
        widget("Running tasks", [
            [CONTAINER_INSIGHTS, "TaskCount", "ClusterName", cluster, {"label": "cluster tasks"}],
            [CONTAINER_INSIGHTS, "RunningTaskCount", "ClusterName", cluster, "ServiceName",
             f"{names.PREFIX}-{PREDICTION_SERVICE}", {"label": "prediction service"}],
        ], 12, 0, region),
        widget("Pipeline executions", [
            ["AWS/States", metric, "StateMachineArn",
             f"arn:${{AWS::Partition}}:states:{region}:${{AWS::AccountId}}:stateMachine:{names.PREFIX}-pipeline"]
            for metric in ("ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed")
        ], 12, 6, region, stat="Sum"),
    ]
    return Sub(json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":")))


def widget(title_text, metrics, x, y, region, stat="Average") -> dict:
    return {
        "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
        "properties": {"title": title_text, "metrics": metrics, "region": region, "stat": stat,
                       "period": PERIOD_SECONDS, "view": "timeSeries"},
    }
