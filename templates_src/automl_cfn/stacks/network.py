"""Network: VPC, public and private subnets per AZ, internet and NAT gateways,
route tables, the S3 gateway endpoint and optional VPC flow logs.

Subnets are carved from the VPC CIDR as eight equal slots with Fn::Cidr:
slots 0-2 public, 3-5 private, so changing AzCount adds or removes subnets
without renumbering the others.  NatGateways picks per_az (one per AZ, each
private route table uses its own), single (one in the first AZ, shared) or
none (private subnets keep only the S3 endpoint; tasks run in the public
subnets with public IPs).

PrivateEndpoints adds an interface endpoint (private DNS, in the private
subnets) for every AWS API the tasks and the service call: ECR (API and
registry), CloudWatch Logs and metrics, STS, ECS, and Secrets Manager, KMS
and Step Functions where the environment uses them.  Their security group
admits HTTPS from the task security group only (compute adds that rule: the
task group is compute's), and their policies carry only this account's
principals; the S3 gateway endpoint then reaches only this account's
buckets and the one bucket ECR serves image layers from.  With NatGateways
none the tasks then run in the private subnets with no public IP and no
route to the internet; with NAT, the endpoints carry the AWS traffic NAT
would have charged for.

Not created at all with ExistingVpcId: the root wires the existing VPC's
IDs in its place (stacks.CHILD_FALLBACKS).
"""

from __future__ import annotations

from troposphere import (
    And, Cidr, Condition, GetAtt, GetAZs, If, Join, NoValue, Ref, Select, Sub,
)
from troposphere import ec2, iam, logs

from ..model import MAX_AZS, NONE
from . import names, policies
from .base import StackTemplate, az_condition

# Interface endpoints: the service name's last part -> the condition it needs beyond PrivateEndpoints.
INTERFACE_ENDPOINTS = {
    "ecr.api": None, "ecr.dkr": None,          # image manifests and layers' locations (layers: S3 gateway)
    "logs": None, "monitoring": None,          # awslogs driver; the app's metrics
    "sts": None, "ecs": None,                  # task role credentials; the service and ECS exec
    "secretsmanager": "HasApiKeySecret",       # the API key, injected at start
    "kms": "HasKmsKey",                        # the customer-managed key
    "states": "StepFunctionsEnabled",          # the pipeline
}

SUBNET_SLOTS = 8
PUBLIC, PRIVATE = "Public", "Private"


def build() -> StackTemplate:
    st = StackTemplate("network", "VPC, subnets, gateways, routes, S3 endpoint, flow logs")
    vpc = st.add(vpc_resource(st))
    igw = st.add(ec2.InternetGateway("InternetGateway"))
    attachment = st.add(ec2.VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(igw)))
    public_table = st.add(ec2.RouteTable("PublicRouteTable", VpcId=Ref(vpc)))
    st.add(ec2.Route(
        "PublicDefaultRoute", RouteTableId=Ref(public_table), DestinationCidrBlock="0.0.0.0/0",
        GatewayId=Ref(igw), DependsOn=attachment.title,
    ))

    public_subnets, private_subnets, private_tables = [], [], []
    for index in range(MAX_AZS):
        public_subnets.append(subnet(st, vpc, PUBLIC, index, public_table))
        table = st.add(ec2.RouteTable(f"PrivateRouteTable{index + 1}", VpcId=Ref(vpc)), condition=az_condition(index))
        private_subnets.append(subnet(st, vpc, PRIVATE, index, table))
        private_tables.append(table)
    nat_gateways = [nat_gateway(st, index, public_subnets[index], attachment) for index in range(MAX_AZS)]
    for index, table in enumerate(private_tables):
        private_default_route(st, index, table, nat_gateways)

    st.add(s3_gateway_endpoint(st, vpc, public_table, private_tables))
    endpoint_group = add_interface_endpoints(st, vpc, private_subnets)
    add_flow_logs(st, vpc)

    st.output("VpcId", Ref(vpc), "VPC ID")
    st.output("VpcCidrBlock", GetAtt(vpc, "CidrBlock"), "VPC CIDR block")
    st.output("PublicSubnets", join_in_use(public_subnets), "Public subnet IDs, comma-separated")
    st.output("PrivateSubnets", join_in_use(private_subnets), "Private subnet IDs, comma-separated")
    private = st.condition("TasksInPrivateSubnets")
    st.output(
        "TaskSubnets", If(private, join_in_use(private_subnets), join_in_use(public_subnets)),
        "Subnets tasks run in: private behind NAT or endpoints, else public",
    )
    st.output(
        "AssignPublicIp", If(private, "DISABLED", "ENABLED"),
        "Whether tasks need a public IP to reach ECR and the internet",
    )
    st.output("EndpointSecurityGroupId", If(st.condition("PrivateEndpoints"), Ref(endpoint_group), NONE),
              "Security group of the interface endpoints, or none")
    return st


def vpc_resource(st: StackTemplate) -> ec2.VPC:
    return ec2.VPC(
        "Vpc", CidrBlock=st.ref("VpcCidr"), EnableDnsSupport=True, EnableDnsHostnames=True,
        Tags=st.tags(Name=names.name("vpc")),
    )


def subnet_cidr(st: StackTemplate, slot: int):
    return Select(slot, Cidr(st.ref("VpcCidr"), SUBNET_SLOTS, st.ref("SubnetCidrBits")))


def subnet(st: StackTemplate, vpc, kind: str, index: int, route_table) -> ec2.Subnet:
    """One subnet in AZ `index`, associated with `route_table`."""
    condition = az_condition(index)
    slot = index if kind == PUBLIC else MAX_AZS + index
    resource = st.add(ec2.Subnet(
        f"{kind}Subnet{index + 1}",
        VpcId=Ref(vpc),
        AvailabilityZone=Select(index, GetAZs("")),
        CidrBlock=subnet_cidr(st, slot),
        # Tasks get a public IP only when asked for explicitly (NatGateways none).
        MapPublicIpOnLaunch=False,
        Tags=st.tags(Name=names.name(f"{kind.lower()}-{index + 1}"), Tier=kind.lower()),
    ), condition=condition)
    st.add(ec2.SubnetRouteTableAssociation(
        f"{kind}Subnet{index + 1}RouteTableAssociation", SubnetId=Ref(resource), RouteTableId=Ref(route_table),
    ), condition=condition)
    return resource


def nat_condition(st: StackTemplate, index: int) -> str:
    """The first AZ's NAT gateway serves every mode but none; the others only per_az."""
    if index == 0:
        return st.condition("HasNat")
    return st.add_condition(
        f"NatGateway{index + 1}Wanted",
        And(Condition(st.condition("NatPerAz")), Condition(az_condition(index)))
    )


def nat_gateway(st: StackTemplate, index: int, public_subnet, attachment) -> ec2.NatGateway:
    condition = nat_condition(st, index)
    eip = st.add(ec2.EIP(f"NatEip{index + 1}", Domain="vpc", DependsOn=attachment.title), condition=condition)
    return st.add(ec2.NatGateway(
        f"NatGateway{index + 1}", AllocationId=GetAtt(eip, "AllocationId"), SubnetId=Ref(public_subnet),
        Tags=st.tags(Name=names.name(f"nat-{index + 1}")),
    ), condition=condition)


def private_default_route(st: StackTemplate, index: int, table, nat_gateways) -> None:
    """Private AZ `index` reaches the internet through its own NAT (per_az) or the first (single)."""
    if index == 0:
        condition, target = st.condition("HasNat"), Ref(nat_gateways[0])
    else:
        condition = st.add_condition(
            f"PrivateRoute{index + 1}Wanted",
            And(Condition(st.condition("HasNat")), Condition(az_condition(index))),
        )
        target = If(st.condition("NatPerAz"), Ref(nat_gateways[index]), Ref(nat_gateways[0]))
    st.add(ec2.Route(
        f"PrivateDefaultRoute{index + 1}", RouteTableId=Ref(table), DestinationCidrBlock="0.0.0.0/0",
        NatGatewayId=target,
    ), condition=condition)


def in_use(resources) -> list:
    """Refs to per-AZ resources, the unused AZs' entries dropped with AWS::NoValue."""
    refs = []
    for index, resource in enumerate(resources):
        condition = az_condition(index)
        refs.append(Ref(resource) if condition is None else If(condition, Ref(resource), NoValue))
    return refs


def join_in_use(resources) -> Join:
    return Join(",", in_use(resources))


def s3_gateway_endpoint(st: StackTemplate, vpc, public_table, private_tables) -> ec2.VPCEndpoint:
    """S3 traffic from every subnet stays on the AWS network (no NAT charges).  With PrivateEndpoints the
    subnets reach nothing else, and the endpoint reaches this account's buckets and ECR's image layers only;
    otherwise its policy is the one AWS attaches by default, written out so that switching back resets it."""
    return ec2.VPCEndpoint(
        "S3GatewayEndpoint",
        VpcId=Ref(vpc),
        VpcEndpointType="Gateway",
        ServiceName=Sub("com.amazonaws.${AWS::Region}.s3"),
        RouteTableIds=[Ref(public_table)] + in_use(private_tables),
        PolicyDocument=If(st.condition("PrivateEndpoints"), policies.s3_endpoint_policy(),
                          policies.full_access_endpoint_policy()),
    )


def add_interface_endpoints(st: StackTemplate, vpc, private_subnets) -> ec2.SecurityGroup:
    """One interface endpoint per API in the private subnets; their group admits no one by itself."""
    wanted = "PrivateEndpoints"
    group = st.add(ec2.SecurityGroup(
        "EndpointSecurityGroup",
        GroupDescription="automl-cfn interface endpoints: HTTPS from the tasks only (compute adds the rule)",
        VpcId=Ref(vpc),
        SecurityGroupEgress=[ec2.SecurityGroupRule(IpProtocol="-1", CidrIp="127.0.0.1/32",
                                                   Description="no egress: endpoints only answer")],
    ), condition=wanted)
    for service, extra in INTERFACE_ENDPOINTS.items():
        condition = wanted if extra is None else st.add_condition(
            f"{title_of(service)}EndpointWanted", And(Condition(st.condition(wanted)), Condition(st.condition(extra))))
        st.add(ec2.VPCEndpoint(
            f"{title_of(service)}Endpoint",
            VpcId=Ref(vpc),
            VpcEndpointType="Interface",
            ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
            PrivateDnsEnabled=True,
            SubnetIds=in_use(private_subnets),
            SecurityGroupIds=[Ref(group)],
            PolicyDocument=policies.account_endpoint_policy(),
        ), condition=condition)
    return group


def title_of(service: str) -> str:
    """ecr.api -> EcrApi: a logical ID part."""
    return "".join(part.capitalize() for part in service.replace("-", ".").split("."))


def add_flow_logs(st: StackTemplate, vpc) -> None:
    """All VPC traffic to a retained log group, delivered by a role of its own."""
    condition = "FlowLogsEnabled"
    group = st.add(logs.LogGroup(
        "FlowLogsLogGroup", LogGroupName=Sub(f"/vpc/{names.PREFIX}-flow-logs"),
        # Kept apart from the containers' logs: investigations reach back further (365 days in prod).
        RetentionInDays=st.ref("FlowLogRetentionDays"),
        KmsKeyId=st.kms_or(st.kms_key_arn()),
    ), stateful=True, condition=condition)
    role = st.add(iam.Role(
        "FlowLogsRole",
        # Named like every role of the environment: the CI role may manage `<project>-<env>-*` roles only.
        RoleName=names.role_name("flow-logs"),
        AssumeRolePolicyDocument=policies.trust("vpc-flow-logs.amazonaws.com"),
        PermissionsBoundary=st.boundary(),
        Policies=[policies.inline("deliver-flow-logs", policies.grant_log_delivery([GetAtt(group, "Arn")]))],
    ), condition=condition)
    st.add(ec2.FlowLog(
        "VpcFlowLog", ResourceId=Ref(vpc), ResourceType="VPC", TrafficType="ALL",
        LogDestinationType="cloud-watch-logs", LogDestination=GetAtt(group, "Arn"),
        DeliverLogsPermissionArn=GetAtt(role, "Arn"),
    ), condition=condition)
