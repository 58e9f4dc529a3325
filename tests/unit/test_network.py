"""Network template: what exists for each az_count x nat_gateways, and how it is wired."""

from __future__ import annotations

import itertools

import pytest
from tests.conftest import retained

COMBINATIONS = list(itertools.product((1, 2, 3), ("per_az", "single", "none")))


def count(evaluation, resource_type):
    return len(evaluation.of_type(resource_type))


def test_vpc_has_dns_support_and_hostnames(stack):
    vpc = stack("network").resources()["Vpc"]["Properties"]
    assert vpc["EnableDnsSupport"] is True and vpc["EnableDnsHostnames"] is True
    assert vpc["CidrBlock"] == "10.0.0.0/16"


@pytest.mark.parametrize("azs, nat", COMBINATIONS)
def test_subnets_nat_gateways_and_routes_per_mode(stack, azs, nat):
    net = stack("network", az_count=azs, nat_gateways=nat)
    resources = net.resources()
    subnets = net.of_type("AWS::EC2::Subnet")
    assert sorted(subnets) == sorted([f"PublicSubnet{i}" for i in range(1, azs + 1)]
                                     + [f"PrivateSubnet{i}" for i in range(1, azs + 1)])
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())
    expected_nat = {"per_az": azs, "single": 1, "none": 0}[nat]
    assert count(net, "AWS::EC2::NatGateway") == expected_nat
    assert count(net, "AWS::EC2::EIP") == expected_nat
    private_routes = {k: v for k, v in net.of_type("AWS::EC2::Route").items() if k.startswith("PrivateDefault")}
    assert len(private_routes) == (0 if nat == "none" else azs)
    for logical_id, route in private_routes.items():
        az = logical_id[-1]
        target = route["Properties"]["NatGatewayId"]
        assert target == {"Ref": f"NatGateway{az if nat == 'per_az' else 1}"}
    # Each private subnet has its own route table; every table gets the S3 endpoint.
    assert count(net, "AWS::EC2::RouteTable") == 1 + azs
    endpoint = resources["S3GatewayEndpoint"]["Properties"]
    assert len(endpoint["RouteTableIds"]) == 1 + azs
    assert endpoint["VpcEndpointType"] == "Gateway"
    outputs = net.outputs()
    assert outputs["AssignPublicIp"] == ("ENABLED" if nat == "none" else "DISABLED")
    task_subnets = outputs["TaskSubnets"]["Fn::Join"][1]
    tier = "Public" if nat == "none" else "Private"
    assert task_subnets == [{"Ref": f"{tier}Subnet{i}"} for i in range(1, azs + 1)]


def test_subnets_are_carved_from_stable_slots_in_distinct_azs(stack):
    net = stack("network", az_count=3)
    subnets = net.of_type("AWS::EC2::Subnet")
    slots, azs = set(), {}
    for logical_id, subnet in subnets.items():
        props = subnet["Properties"]
        index, cidr = props["CidrBlock"]["Fn::Select"]
        assert cidr["Fn::Cidr"] == ["10.0.0.0/16", 8, "13"]
        slots.add(index)
        az_index = props["AvailabilityZone"]["Fn::Select"][0]
        assert props["AvailabilityZone"]["Fn::Select"][1] == {"Fn::GetAZs": ""}
        azs.setdefault(logical_id.startswith("Public"), set()).add(az_index)
    assert slots == {0, 1, 2, 3, 4, 5}
    assert azs == {True: {0, 1, 2}, False: {0, 1, 2}}


def test_public_route_goes_through_the_attached_internet_gateway(stack):
    resources = stack("network").resources()
    route = resources["PublicDefaultRoute"]
    assert route["Properties"]["GatewayId"] == {"Ref": "InternetGateway"}
    assert route["DependsOn"] == "InternetGatewayAttachment"


@pytest.mark.parametrize("enabled", [True, False])
def test_flow_logs_only_when_enabled_with_their_own_role(stack, enabled):
    net = stack("network", enable_flow_logs=enabled)
    resources = net.resources()
    assert ("VpcFlowLog" in resources) is enabled
    if enabled:
        flow = resources["VpcFlowLog"]["Properties"]
        assert flow["TrafficType"] == "ALL" and flow["ResourceType"] == "VPC"
        assert flow["DeliverLogsPermissionArn"] == {"Fn::GetAtt": ["FlowLogsRole", "Arn"]}
        trust = resources["FlowLogsRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
        assert retained(resources["FlowLogsLogGroup"])
        # Their own retention, not the containers' logs' (dev keeps those 7 days).
        assert resources["FlowLogsLogGroup"]["Properties"]["RetentionInDays"] == "90"
        kept = stack("network", enable_flow_logs=True, flow_log_retention_days=365).resources()
        assert kept["FlowLogsLogGroup"]["Properties"]["RetentionInDays"] == "365"
