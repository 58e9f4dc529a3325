"""Endpoint: the optional Application Load Balancer in front of the prediction service.

LoadBalancer none | internal (private subnets, reachable from the VPC) |
public (public subnets).  With a CertificateArn the listener is HTTPS and
HTTP redirects to it; without, HTTP only.  One target group for rolling
deployments; two (blue and green) when DeploymentStrategy shifts traffic
(blue_green, canary, linear), with the production listener rule ECS moves
between them.  Outputs are "none" when there is no load balancer, so the
other stacks can be wired the same way in every environment.
"""

from __future__ import annotations

from troposphere import Equals, GetAtt, If, Not, NoValue, Ref, Sub, ec2, elasticloadbalancingv2 as elb

from .base import NONE, StackTemplate, scanner_skip
from .storage import LB_LOG_PREFIX

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
DEREGISTRATION_DELAY_SECONDS = 30


def build() -> StackTemplate:
    st = StackTemplate("endpoint", "load balancer, listeners and target groups of the prediction service")
    has_lb = "HasLoadBalancer"
    group = st.add(lb_security_group(st), condition=has_lb)
    balancer = st.add(load_balancer(st, group), condition=has_lb)
    blue = st.add(target_group(st, "BlueTargetGroup"), condition=has_lb)
    green = st.add(target_group(st, "GreenTargetGroup"), condition="ShiftsTraffic")
    https = st.add(elb.Listener(
        "HttpsListener", LoadBalancerArn=Ref(balancer), Port=443, Protocol="HTTPS", SslPolicy=TLS_POLICY,
        Certificates=[elb.Certificate(CertificateArn=st.ref("CertificateArn"))],
        DefaultActions=[not_found()],
    ), condition="HasCertificate")
    st.add(elb.Listener(
        "HttpRedirectListener", LoadBalancerArn=Ref(balancer), Port=80, Protocol="HTTP",
        DefaultActions=[elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(
            Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))],
    ), condition="HasCertificate")
    http = st.add(elb.Listener(
        "HttpListener", LoadBalancerArn=Ref(balancer), Port=80, Protocol="HTTP", DefaultActions=[not_found()],
        Metadata=scanner_skip(
            "CKV_AWS_2", "Plain HTTP only when no certificate_arn is given (meant for internal load balancers); "
                         "with a certificate, HTTP redirects to HTTPS.",
            CKV_AWS_103="No TLS on this listener by design: it exists only without a certificate."),
    ), condition="HttpOnly")
    rule = st.add(elb.ListenerRule(
        "ProductionListenerRule",
        ListenerArn=If(st.condition("HasCertificate"), Ref(https), Ref(http)),
        Priority=1,
        Conditions=[elb.Condition(Field="path-pattern", PathPatternConfig=elb.PathPatternConfig(Values=["/*"]))],
        Actions=[elb.ListenerRuleAction(Type="forward", ForwardConfig=elb.ForwardConfig(TargetGroups=[
            elb.TargetGroupTuple(TargetGroupArn=Ref(blue), Weight=1),
            If(st.condition("ShiftsTraffic"), elb.TargetGroupTuple(TargetGroupArn=Ref(green), Weight=0), NoValue),
        ]))],
    ), condition=has_lb)

    scheme = If(st.condition("HasCertificate"), "https", "http")
    st.output("EndpointUrl", If(has_lb, Sub("${Scheme}://${Dns}", Scheme=scheme, Dns=GetAtt(balancer, "DNSName")),
                                NONE), "URL of the prediction endpoint, or none")
    st.output("LoadBalancerFullName", If(has_lb, GetAtt(balancer, "LoadBalancerFullName"), NONE),
              "app/NAME/ID of the load balancer (CloudWatch dimension), or none")
    st.output("BlueTargetGroupArn", If(has_lb, Ref(blue), NONE), "Primary target group, or none")
    st.output("BlueTargetGroupFullName", If(has_lb, GetAtt(blue, "TargetGroupFullName"), NONE),
              "targetgroup/NAME/ID of the primary target group, or none")
    st.output("GreenTargetGroupArn", If(st.condition("ShiftsTraffic"), Ref(green), NONE), "Alternate target group, or none")
    st.output("ProductionListenerRuleArn", If(has_lb, Ref(rule), NONE), "Rule ECS shifts traffic with, or none")
    st.output("LoadBalancerSecurityGroupId", If(has_lb, Ref(group), NONE), "Security group of the load balancer, or none")
    return st


def not_found() -> elb.Action:
    return elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(
        StatusCode="404", ContentType="text/plain", MessageBody="not found"))


def lb_security_group(st: StackTemplate) -> ec2.SecurityGroup:
    """Clients in (the internet for a public balancer, the VPC for an internal one); only tasks out."""
    vpc_cidr = Ref(st.input("VpcCidr", "VPC CIDR block"))
    clients = If(st.condition("PublicLoadBalancer"), "0.0.0.0/0", vpc_cidr)
    return ec2.SecurityGroup(
        "LoadBalancerSecurityGroup",
        GroupDescription="automl-cfn prediction load balancer: HTTP(S) in, container port to the VPC out",
        VpcId=Ref(st.input("VpcId", "VPC ID")),
        SecurityGroupIngress=[
            ec2.SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp=clients,
                                  Description=f"clients on {port}") for port in (80, 443)],
        SecurityGroupEgress=[ec2.SecurityGroupRule(
            IpProtocol="tcp", FromPort=st.ref("PredictContainerPort"), ToPort=st.ref("PredictContainerPort"),
            CidrIp=vpc_cidr, Description="to the prediction tasks")],
        Metadata=scanner_skip("CKV_AWS_260", "A public load balancer takes HTTP on 80 only to redirect it to HTTPS "
                                             "(or, without a certificate, serves an internal one)."),
    )


def load_balancer(st: StackTemplate, group) -> elb.LoadBalancer:
    public = Ref(st.input("PublicSubnets", "Public subnet IDs", type="CommaDelimitedList"))
    private = Ref(st.input("PrivateSubnets", "Private subnet IDs", type="CommaDelimitedList"))
    return elb.LoadBalancer(
        "PredictionLoadBalancer",
        Type="application",
        Scheme=If(st.condition("PublicLoadBalancer"), "internet-facing", "internal"),
        Subnets=If(st.condition("PublicLoadBalancer"), public, private),
        SecurityGroups=[Ref(group)],
        LoadBalancerAttributes=[
            elb.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
            elb.LoadBalancerAttributes(Key="routing.http.desync_mitigation_mode", Value="strictest"),
        ] + access_log_attributes(st),
        Metadata=scanner_skip(
            "CKV_AWS_91", "Access logs are on with enable_lb_access_logs (decided at deploy time).",
            CKV2_AWS_28="No WAF in front of the prediction endpoint by default; attach one per account policy.",
            CKV2_AWS_20="HTTP redirects to HTTPS whenever certificate_arn is given."),
    )


def access_log_attributes(st: StackTemplate) -> list:
    """Access logs to the storage stack's log bucket when it has one (bucket name "none" otherwise)."""
    bucket = Ref(st.input("LbLogsBucketName", "Load balancer log bucket, or none"))
    wanted = st.add_condition("WritesAccessLogs", Not(Equals(bucket, NONE)))
    return [
        elb.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value=If(wanted, "true", "false")),
        If(wanted, elb.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=bucket), NoValue),
        If(wanted, elb.LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=LB_LOG_PREFIX), NoValue),
    ]


def target_group(st: StackTemplate, logical_id: str) -> elb.TargetGroup:
    return elb.TargetGroup(
        logical_id,
        TargetType="ip",
        Protocol="HTTP",
        Port=st.ref("PredictContainerPort"),
        VpcId=Ref(st.input("VpcId", "VPC ID")),
        HealthCheckPath=st.ref("HealthCheckPath"),
        HealthCheckIntervalSeconds=15,
        HealthyThresholdCount=2,
        UnhealthyThresholdCount=3,
        Matcher=elb.Matcher(HttpCode="200-399"),
        TargetGroupAttributes=[elb.TargetGroupAttribute(
            Key="deregistration_delay.timeout_seconds", Value=str(DEREGISTRATION_DELAY_SECONDS))],
    )
