"""The two network shapes, judged on what each environment deploys (resolved templates)."""

from __future__ import annotations

import pytest

from automl_cfn import cost
from automl_cfn.evaluate import environment
from automl_cfn.parameters import parameter_values
from automl_cfn.settings import SettingsError, validate, with_overrides

VPC = "vpc-0123456789abcdef0"
SUBNETS = "subnet-0123456789abcdef1,subnet-0123456789abcdef2"


def deployed(templates, settings) -> dict:
    """Each nested stack that exists -> its resources, as the root wires it."""
    values = {**parameter_values(settings), "TemplatesBucket": "b", "TemplatesPrefix": "p/",
              "ExistingVpcCidr": "10.9.0.0/16" if settings.existing_vpc_id else ""}
    return {name: child.resources() for name, child in environment(templates, values).items()}


def test_an_existing_vpc_gets_no_vpc_resources_of_ours(templates, dev):
    settings = with_overrides(dev, existing_vpc_id=VPC, existing_private_subnet_ids=SUBNETS,
                              load_balancer="internal")
    stacks = deployed(templates, settings)
    assert "network" not in stacks
    made = {body["Type"] for resources in stacks.values() for body in resources.values()}
    assert not made & {"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::NatGateway", "AWS::EC2::InternetGateway",
                       "AWS::EC2::RouteTable", "AWS::EC2::VPCEndpoint", "AWS::EC2::FlowLog"}
    values = {**parameter_values(settings), "TemplatesBucket": "b", "TemplatesPrefix": "p/",
              "ExistingVpcCidr": "10.9.0.0/16"}
    children = environment(templates, values)
    assert children["compute"].parameters["TaskSubnets"] == SUBNETS.split(",")
    assert children["compute"].parameters["AssignPublicIp"] == "DISABLED"
    assert children["endpoint"].parameters["VpcCidrBlock"] == "10.9.0.0/16"   # the balancer admits that range


def test_private_only_mode_has_no_public_ip_and_no_route_out(templates, dev):
    settings = with_overrides(dev, nat_gateways="none", private_endpoints=True)
    values = {**parameter_values(settings), "TemplatesBucket": "b", "TemplatesPrefix": "p/"}
    network = environment(templates, values)["network"]
    resources = network.resources()
    routes = [b for b in resources.values() if b["Type"] == "AWS::EC2::Route"]
    assert [r for r in routes if "NatGatewayId" in r["Properties"]] == []
    assert {r for r, b in resources.items() if b["Type"] == "AWS::EC2::Route"} == {"PublicDefaultRoute"}
    outputs = network.outputs()
    assert outputs["AssignPublicIp"] == "DISABLED"
    assert outputs["TaskSubnets"] == outputs["PrivateSubnets"]
    interface = sorted(k for k, b in resources.items() if b["Type"] == "AWS::EC2::VPCEndpoint"
                       and b["Properties"]["VpcEndpointType"] == "Interface")
    assert interface == ["EcrApiEndpoint", "EcrDkrEndpoint", "EcsEndpoint", "LogsEndpoint", "MonitoringEndpoint",
                         "StsEndpoint"]
    assert all(resources[e]["Properties"]["PrivateDnsEnabled"] for e in interface)
    # And the endpoints an environment needs beyond those: the secret, the key, the pipeline.
    full = with_overrides(settings, api_key_secret="create", kms_key="create", enable_stepfunctions=True)
    values = {**parameter_values(full), "TemplatesBucket": "b", "TemplatesPrefix": "p/"}
    more = environment(templates, values)["network"].resources()
    assert {"SecretsmanagerEndpoint", "KmsEndpoint", "StatesEndpoint"} <= set(more)


def test_the_endpoints_admit_the_tasks_only(templates, dev):
    settings = with_overrides(dev, nat_gateways="none", private_endpoints=True)
    values = {**parameter_values(settings), "TemplatesBucket": "b", "TemplatesPrefix": "p/"}
    children = environment(templates, values)
    group = children["network"].resources()["EndpointSecurityGroup"]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert group["SecurityGroupEgress"] == [{"IpProtocol": "-1", "CidrIp": "127.0.0.1/32",
                                              "Description": "no egress: endpoints only answer"}]
    rule = children["compute"].resources()["EndpointIngressFromTasks"]["Properties"]
    assert rule["SourceSecurityGroupId"] == {"Ref": "TaskSecurityGroup"}
    assert (rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == (443, 443, "tcp")
    plain = deployed(templates, dev)
    assert "EndpointIngressFromTasks" not in plain["compute"] and "EndpointSecurityGroup" not in plain["network"]


@pytest.mark.parametrize("values, fragment", [
    ({"existing_vpc_id": "vpc-123"}, "is not a VPC ID"),
    ({"existing_vpc_id": VPC, "existing_private_subnet_ids": "subnet-zz"}, "is not a subnet ID"),
    ({"existing_vpc_id": VPC, "existing_private_subnet_ids": "subnet-0123456789abcdef1"},
     "1 subnet(s) for az_count: 2"),
    ({"existing_vpc_id": VPC, "existing_private_subnet_ids": SUBNETS + ",subnet-0123456789abcdef1",
      "az_count": 3}, "listed twice"),
    ({"existing_private_subnet_ids": SUBNETS}, "goes with existing_vpc_id"),
    ({"existing_vpc_id": VPC, "existing_private_subnet_ids": SUBNETS, "nat_gateways": "single"},
     "nat_gateways: describes the VPC automl-cfn creates"),
    ({"existing_vpc_id": VPC, "existing_private_subnet_ids": SUBNETS, "enable_flow_logs": True},
     "enable_flow_logs"),
    ({"existing_vpc_id": VPC, "existing_private_subnet_ids": SUBNETS, "private_endpoints": True},
     "private_endpoints"),
    ({"existing_vpc_id": VPC, "existing_private_subnet_ids": SUBNETS, "load_balancer": "public",
      "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"},
     "a public load balancer needs public subnets"),
])
def test_network_settings_are_validated(values, fragment):
    with pytest.raises(SettingsError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        validate({"environment": "dev", "nat_gateways": "none", **values})


def test_the_egress_table_prices_each_shape(templates, dev, prod):
    table = cost.egress_markdown(templates, {"dev": dev, "prod": prod})
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()[2:]}
    assert set(rows) == {"NAT gateway per AZ", "One NAT gateway", "Endpoints only"}
    endpoints = cost.estimate(templates, {**parameter_values(with_overrides(dev, nat_gateways="none",
                                                                            private_endpoints=True))}, dev)
    items = {line.item: line for line in endpoints.lines}
    assert items["VPC interface endpoints"].quantity == 6 * 2 * 730     # six endpoints, two zones each
    assert "NAT gateway hours" not in items and "Public IPv4 (prediction tasks)" not in items


def test_the_diagram_draws_each_shape(templates, dev):
    from automl_cfn import diagram

    existing = with_overrides(dev, existing_vpc_id=VPC, existing_private_subnet_ids=SUBNETS)
    text = diagram.mermaid(diagram.build(templates, parameter_values(existing), existing))
    assert f"existing VPC {VPC}" in text and "subnet-0123456789abcdef1" in text and "Internet gateway" not in text
    private = with_overrides(dev, private_endpoints=True)
    text = diagram.mermaid(diagram.build(templates, parameter_values(private), private))
    assert "interface endpoints (EcrApi, EcrDkr, Ecs, Logs, Monitoring, Sts)" in text and "no internet" in text
