"""Endpoint: the optional Application Load Balancer in front of the prediction service.

LoadBalancer none | internal (private subnets, reachable from the VPC) |
public (public subnets).  With a CertificateArn the listener is HTTPS and
HTTP redirects to it; without, HTTP only.  One target group for rolling
deployments; two (blue and green) when DeploymentStrategy shifts traffic
(blue_green, canary, linear), with the production listener rule ECS moves
between them.  Outputs are "none" when there is no load balancer, so the
other stacks can be wired the same way in every environment.

The production listener forwards by default too (to the blue group), never
answers 404 itself: ECS blue/green, canary and linear deployments fail on a
listener whose rules mix forward and other actions (fixed-response,
redirect), per "Application Load Balancer resources for blue/green
deployments", docs.aws.amazon.com/AmazonECS/latest/developerguide/
alb-resources-for-blue-green.html, Limitations.  Port 80 with a certificate
only redirects; it is not the production listener.

Shaped so that every setting can change on a running environment:
- one listener on port 80, whose default action switches (forward to blue, or a redirect
  to HTTPS) when a certificate comes or goes: two listeners on port 80 under
  opposite conditions would both exist for a moment, since CloudFormation
  creates before it deletes, and a load balancer takes one listener a port;
- target groups named after their load balancer's ID and the container
  port: when the load balancer is replaced (internal <-> public) or the port
  changes, they are replaced with it, because a target group serves one load
  balancer only.
"""

from __future__ import annotations

from troposphere import Equals, GetAtt, If, Not, NoValue, Ref, Select, Split, Sub, ec2, elasticloadbalancingv2 as elb

from .base import NONE, StackTemplate
from .storage import LB_LOG_PREFIX

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
DEREGISTRATION_DELAY_SECONDS = 30


def build() -> StackTemplate:
    st = StackTemplate("endpoint", "load balancer, listeners and target groups of the prediction service")
    has_lb = "HasLoadBalancer"
    group = st.add(lb_security_group(st), condition=has_lb)
    balancer = st.add(load_balancer(st, group), condition=has_lb)
    blue = st.add(target_group(st, "BlueTargetGroup", balancer, "blue"), condition=has_lb)
    green = st.add(target_group(st, "GreenTargetGroup", balancer, "green"), condition="ShiftsTraffic")
    https = st.add(elb.Listener(
        "HttpsListener", LoadBalancerArn=Ref(balancer), Port=443, Protocol="HTTPS", SslPolicy=TLS_POLICY,
        Certificates=[elb.Certificate(CertificateArn=st.ref("CertificateArn"))],
        DefaultActions=[forward_to(blue)],
    ), condition="HasCertificate")
    http = st.add(elb.Listener(
        "HttpListener", LoadBalancerArn=Ref(balancer), Port=80, Protocol="HTTP",
        DefaultActions=[If(st.condition("HasCertificate"), redirect_to_https(), forward_to(blue))],
    ), condition=has_lb)
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
    st.output("GreenTargetGroupFullName", If(st.condition("ShiftsTraffic"), GetAtt(green, "TargetGroupFullName"), NONE),
              "targetgroup/NAME/ID of the alternate target group, or none")
    st.output("ProductionListenerRuleArn", If(has_lb, Ref(rule), NONE), "Rule ECS shifts traffic with, or none")
    st.output("LoadBalancerSecurityGroupId", If(has_lb, Ref(group), NONE), "Security group of the load balancer, or none")
    return st


def forward_to(group) -> elb.Action:
    return elb.Action(Type="forward", TargetGroupArn=Ref(group))


def redirect_to_https() -> elb.Action:
    return elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(
        Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))


def lb_security_group(st: StackTemplate) -> ec2.SecurityGroup:
    """Clients in (the internet for a public balancer, the VPC for an internal one); only tasks out."""
    vpc_cidr = Ref(st.input("VpcCidrBlock", "CIDR block of the VPC (ours, or the existing one)"))
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
    )


def target_group_name(st: StackTemplate, balancer, colour: str) -> Sub:
    """`<load balancer ID>-<port>-<colour>`: 16 + 1 + 5 + 1 + 5 characters, within the 32 allowed.
    A new load balancer or port gives a new name, so the group is replaced with them."""
    balancer_id = Select(2, Split("/", GetAtt(balancer, "LoadBalancerFullName")))
    return Sub(f"${{Id}}-${{Port}}-{colour}", Id=balancer_id, Port=st.ref("PredictContainerPort"))


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
            # With termination protection the stack cannot be deleted; neither can its load balancer.
            elb.LoadBalancerAttributes(Key="deletion_protection.enabled",
                                       Value=If(st.condition("TerminationProtected"), "true", "false")),
        ] + access_log_attributes(st),
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


def target_group(st: StackTemplate, logical_id: str, balancer, colour: str) -> elb.TargetGroup:
    return elb.TargetGroup(
        logical_id,
        Name=target_group_name(st, balancer, colour),
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
