"""Network shapes on the strict local endpoint: into a VPC made beforehand (no network stack of ours),
and private subnets with no internet egress (interface endpoints only)."""

from __future__ import annotations

import pytest

from .conftest import outputs, stack_names


def existing_vpc(clients, nat: bool = True, cidr: str = "10.20.0.0/16") -> dict:
    """A VPC as a landing zone hands it over: private subnets in two zones, a default route via NAT."""
    ec2 = clients("ec2")
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    base = cidr.split(".")
    private = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base[0]}.{base[1]}.{i + 1}.0/24",
                                 AvailabilityZone=zone)["Subnet"]["SubnetId"] for i, zone in enumerate(zones)]
    public = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"{base[0]}.{base[1]}.{i + 11}.0/24",
                                AvailabilityZone=zone)["Subnet"]["SubnetId"] for i, zone in enumerate(zones)]
    if nat:
        gateway = ec2.create_nat_gateway(SubnetId=public[0], AllocationId=ec2.allocate_address(
            Domain="vpc")["AllocationId"])["NatGateway"]["NatGatewayId"]
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=gateway)
        for subnet in private:
            ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    return {"vpc": vpc, "private": private, "public": public, "zones": zones}


def into(vpc: dict) -> tuple[str, ...]:
    return ("--var", f"existing_vpc_id={vpc['vpc']}", "--var", f"existing_private_subnet_ids={','.join(vpc['private'])}")


def test_deploy_into_an_existing_vpc(aws, cli, clients):
    vpc = existing_vpc(clients)
    code, out, err = cli("deploy", "--env", "dev", "--yes", *into(vpc))
    assert code == 0, err[-3000:]
    assert not any("NetworkStack" in name for name in stack_names(clients("cloudformation")))
    found = outputs(clients("cloudformation"), "automl-dev")
    assert found["VpcId"] == vpc["vpc"] and found["TaskSubnets"] == ",".join(vpc["private"])
    assert found["AssignPublicIp"] == "DISABLED"
    group = clients("ec2").describe_security_groups(GroupIds=[found["TaskSecurityGroupId"]])["SecurityGroups"][0]
    assert group["VpcId"] == vpc["vpc"]
    # Nothing of a VPC of ours: no VPC, NAT gateway or flow log beyond the one we made.
    assert [v["VpcId"] for v in clients("ec2").describe_vpcs()["Vpcs"] if v["CidrBlock"] == "10.0.0.0/16"] == []
    # Leaving the VPC for one of our own is refused before any change set, with what to do instead.
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--reset")
    assert code == 3 and "existing_vpc_id is fixed when an environment is created" in err


def test_an_internal_load_balancer_admits_the_existing_vpcs_range(aws, cli, clients):
    vpc = existing_vpc(clients, cidr="10.30.0.0/16")
    code, out, err = cli("deploy", "--env", "dev", "--yes", *into(vpc), "--var", "load_balancer=internal")
    assert code == 0, err[-3000:]
    groups = clients("ec2").describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["vpc"]]}])
    balancer = [g for g in groups["SecurityGroups"] if "load balancer" in g["Description"]][0]
    assert {r["CidrIp"] for p in balancer["IpPermissions"] for r in p["IpRanges"]} == {"10.30.0.0/16"}


@pytest.mark.parametrize("problem, fragment", [
    ("another vpc", "is in vpc-"),
    ("one zone", "two private subnets are in"),
    ("no egress", "(route table rtb-"),
])
def test_existing_subnets_that_would_fail_are_named_before_any_change_set(aws, cli, clients, problem, fragment):
    vpc = existing_vpc(clients, nat=problem != "no egress")
    ec2 = clients("ec2")
    private = list(vpc["private"])
    if problem == "another vpc":
        other = existing_vpc(clients, cidr="10.40.0.0/16")
        private[1] = other["private"][1]
    if problem == "one zone":
        private[1] = ec2.create_subnet(VpcId=vpc["vpc"], CidrBlock="10.20.50.0/24",
                                       AvailabilityZone=vpc["zones"][0])["Subnet"]["SubnetId"]
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", f"existing_vpc_id={vpc['vpc']}",
                         "--var", f"existing_private_subnet_ids={','.join(private)}")
    line = err.strip().splitlines()[-1]
    assert code == 3 and fragment in line, err
    # One line; without egress it names each service the tasks call (test_preflight_network.py), so longer.
    assert len(line) < (1000 if problem == "no egress" else 400), line
    if problem == "no egress":
        assert "no default route) cannot reach 5 service(s) the tasks call" in line
    assert "automl-dev" not in stack_names(clients("cloudformation"))


def test_private_subnets_with_no_internet_egress(aws, cli, clients):
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", "private_endpoints=true")
    assert code == 0, err[-3000:]
    cfn, ec2 = clients("cloudformation"), clients("ec2")
    found = outputs(cfn, "automl-dev")
    assert found["AssignPublicIp"] == "DISABLED" and found["TaskSubnets"] == found["PrivateSubnets"]
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [found["VpcId"]]}])["VpcEndpoints"]
    interface = sorted(e["ServiceName"].split(".", 3)[-1] for e in endpoints if e["VpcEndpointType"] == "Interface")
    assert interface == ["ecr.api", "ecr.dkr", "ecs", "logs", "monitoring", "sts"]
    # No route to the internet from the subnets the tasks run in.
    for subnet in found["TaskSubnets"].split(","):
        tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])
        routes = [r for t in tables["RouteTables"] for r in t["Routes"]]
        assert not [r for r in routes if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    code, out, err = cli("run", "train", "--env", "dev")
    assert code == 0, err
    arn = out.split("started train: ")[1].strip()
    task = clients("ecs").describe_tasks(cluster=found["ClusterName"], tasks=[arn])["tasks"][0]
    assert task["taskArn"] == arn and task["taskDefinitionArn"].split("/")[-1].startswith("automl-dev-train:")
