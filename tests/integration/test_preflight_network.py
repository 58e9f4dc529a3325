"""preflight on an existing VPC, built on the local endpoint in each shape a landing zone hands over: from
its private subnets the tasks must reach ECR (API and registry), S3 (image layers and the data bucket),
CloudWatch Logs and metrics, and Secrets Manager with an API key, through NAT or through endpoints that
work (private DNS on, HTTPS admitted from the tasks, S3 by a gateway endpoint on the route table).

Docs: fargate-task-networking.html, AmazonECR/latest/userguide/vpc-endpoints.html,
platform-version-migration.html (see deploy/preflight_network.py)."""

from __future__ import annotations

import json

import pytest

from .conftest import act_as, github_session, outputs, stack_names
from .test_deploy_role import deploy_role_stack
from .test_networks import existing_vpc

ALL_INTERFACES = ("ecr.api", "ecr.dkr", "logs", "monitoring")
# What dev's tasks need (no API key): each named in a failure, with what it is for.
NEEDED = {"ecr.api": "image manifests", "ecr.dkr": "image pulls", "s3": "image layers (ECR keeps them in S3)",
          "logs": "every container's output", "monitoring": "train's scores"}


def shape(clients, *, nat: bool = False, interfaces=ALL_INTERFACES, s3_gateway: bool = True,
          private_dns: bool = True, https_from: str = "vpc", internet_route: bool = False) -> dict:
    """A VPC with two private subnets on a route table of their own, its DNS attributes on (what private DNS
    needs), interface endpoints in the private subnets behind one security group, and an S3 gateway endpoint
    on the private route table.  https_from: the endpoint group's inbound rule ("vpc": TCP 443 from the VPC's
    range; "port 80": TCP 80 only; "one subnet": 443 from the first private subnet only; "none")."""
    vpc = existing_vpc(clients, nat=nat)
    ec2 = clients("ec2")
    ec2.modify_vpc_attribute(VpcId=vpc["vpc"], EnableDnsHostnames={"Value": True})
    if nat:
        table = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [vpc["private"][0]]}])[
            "RouteTables"][0]["RouteTableId"]
    else:
        table = ec2.create_route_table(VpcId=vpc["vpc"])["RouteTable"]["RouteTableId"]
        for subnet in vpc["private"]:
            ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    if internet_route:
        gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc["vpc"])
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    group = ec2.create_security_group(GroupName="endpoints", Description="interface endpoints",
                                      VpcId=vpc["vpc"])["GroupId"]
    rule = {"vpc": (443, "10.20.0.0/16"), "port 80": (80, "10.20.0.0/16"), "one subnet": (443, "10.20.1.0/24")}
    if https_from in rule:
        port, cidr = rule[https_from]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}])
    endpoints = {}
    for service in interfaces:
        endpoints[service] = ec2.create_vpc_endpoint(
            VpcId=vpc["vpc"], ServiceName=f"com.amazonaws.us-east-1.{service}", VpcEndpointType="Interface",
            SubnetIds=vpc["private"], SecurityGroupIds=[group], PrivateDnsEnabled=private_dns)["VpcEndpoint"]
    if s3_gateway:
        endpoints["s3"] = ec2.create_vpc_endpoint(VpcId=vpc["vpc"], ServiceName="com.amazonaws.us-east-1.s3",
                                                  VpcEndpointType="Gateway", RouteTableIds=[table])["VpcEndpoint"]
    return {**vpc, "table": table, "group": group, "endpoints": endpoints}


def into(vpc: dict) -> tuple[str, ...]:
    return ("--var", f"existing_vpc_id={vpc['vpc']}", "--var", f"existing_private_subnet_ids={','.join(vpc['private'])}")


def network_checks(cli, vpc: dict, *args) -> tuple[int, list[dict]]:
    code, out, err = cli("preflight", "--env", "dev", "--format", "json", *into(vpc), *args)
    assert out, err
    return code, [c for c in json.loads(out)["checks"] if c["name"] == "existing-vpc"]


def by_status(checks: list[dict], status: str) -> list[dict]:
    return [c for c in checks if c["status"] == status]


@pytest.mark.parametrize("internet_route", [False, True], ids=["no route at all", "internet gateway only"])
def test_a_vpc_with_no_way_out_names_every_path_the_tasks_need(aws, cli, clients, internet_route):
    """No NAT, no endpoints: each service the tasks call is named with what it is for and what is missing.
    A default route to an internet gateway is no way out for tasks without a public IP."""
    vpc = shape(clients, interfaces=(), s3_gateway=False, internet_route=internet_route)
    code, checks = network_checks(cli, vpc)
    assert code == 3
    failed, = by_status(checks, "fail")
    detail = failed["detail"]
    assert detail.startswith(f"private subnets {', '.join(vpc['private'])} (route table {vpc['table']}: ")
    assert "cannot reach 5 service(s) the tasks call" in detail
    for service, purpose in NEEDED.items():
        assert f"{service} for {purpose}" in detail
    assert detail.count("(no interface endpoint)") == 4
    assert f"s3 for image layers (ECR keeps them in S3), the data bucket (no s3 gateway endpoint on {vpc['table']})" \
        in detail
    if internet_route:
        assert "its default route goes to internet gateway igw-" in detail
        assert "which tasks without a public IP cannot use" in detail
    else:
        assert f"route table {vpc['table']}: no default route)" in detail
    assert failed["fix"] == (f"give {vpc['table']} a default route through a NAT gateway, or add interface endpoints "
                             f"with private DNS for ecr.api, ecr.dkr, logs, monitoring and an s3 gateway endpoint "
                             f"on {vpc['table']}")


def test_the_cli_refuses_a_vpc_with_no_way_out_and_deploys_nothing(aws, cli, clients):
    vpc = shape(clients, interfaces=(), s3_gateway=False)
    code, out, err = cli("preflight", "--env", "dev", *into(vpc))
    assert code == 3, err
    assert "existing-vpc\tfail\tprivate subnets" in out and "ecr.dkr for image pulls (no interface endpoint)" in out
    code, out, err = cli("deploy", "--env", "dev", "--yes", *into(vpc))
    assert code == 3
    line = err.strip().splitlines()[-1]
    assert line.startswith("automl-cfn: error: preflight existing-vpc: private subnets")
    for service in NEEDED:
        assert f"{service} for " in line
    assert "automl-dev" not in stack_names(clients("cloudformation"))
    assert clients("ecs").list_clusters()["clusterArns"] == []


def test_nat_alone_reaches_everything(aws, cli, clients):
    vpc = shape(clients, nat=True, interfaces=(), s3_gateway=False)
    code, checks = network_checks(cli, vpc)
    passed, = checks
    assert passed["status"] == "pass", checks
    assert "reach every service the tasks call: ecr.api through NAT gateway nat-" in passed["detail"]
    assert "; monitoring through NAT gateway nat-" in passed["detail"]


@pytest.mark.parametrize("target", ["transit gateway", "virtual private gateway"])
def test_a_default_route_into_the_owners_network_is_a_way_out(aws, cli, clients, target):
    """A landing zone sends egress through its network account (a transit gateway) or its own site (a VPN):
    what lies beyond is not this account's to see, so the route counts as a way out."""
    vpc = shape(clients, interfaces=(), s3_gateway=False)
    ec2 = clients("ec2")
    if target == "transit gateway":
        gateway = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
        ec2.create_route(RouteTableId=vpc["table"], DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=gateway)
    else:
        gateway = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
        ec2.attach_vpn_gateway(VpcId=vpc["vpc"], VpnGatewayId=gateway)
        ec2.create_route(RouteTableId=vpc["table"], DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    code, checks = network_checks(cli, vpc)
    assert [c["status"] for c in checks] == ["pass"], checks
    assert f"ecr.dkr through {target} {gateway}" in checks[0]["detail"]


def test_endpoints_without_the_s3_gateway_endpoint(aws, cli, clients):
    """Interface endpoints for every API but no S3 gateway endpoint: the image layers (and the data bucket)
    are out of reach, and only S3 is named."""
    vpc = shape(clients, s3_gateway=False)
    code, checks = network_checks(cli, vpc)
    failed, = by_status(checks, "fail")
    assert code == 3 and "cannot reach 1 service(s) the tasks call: s3 for image layers" in failed["detail"]
    assert failed["fix"].endswith(f"or add an s3 gateway endpoint on {vpc['table']}")
    # A gateway endpoint on another route table than the subnets' does not count.
    other = clients("ec2").create_route_table(VpcId=vpc["vpc"])["RouteTable"]["RouteTableId"]
    clients("ec2").create_vpc_endpoint(VpcId=vpc["vpc"], ServiceName="com.amazonaws.us-east-1.s3",
                                       VpcEndpointType="Gateway", RouteTableIds=[other])
    assert network_checks(cli, vpc)[0] == 3


def test_endpoints_with_private_dns_off(aws, cli, clients):
    """Without private DNS the SDK calls the services' public names: without NAT each interface service
    fails; with NAT the endpoints go unused (a warning) and the tasks still reach everything."""
    vpc = shape(clients, private_dns=False)
    code, checks = network_checks(cli, vpc)
    failed, = by_status(checks, "fail")
    assert code == 3
    for service in ALL_INTERFACES:
        endpoint = vpc["endpoints"][service]["VpcEndpointId"]
        assert f"(interface endpoint {endpoint} has private DNS off, so the tasks call the public name)" in \
            failed["detail"]
    assert "s3 for" not in failed["detail"]   # its gateway endpoint is there

    with_nat = shape(clients, nat=True, private_dns=False)
    code, checks = network_checks(cli, with_nat)
    assert code == 0 and [c["status"] for c in checks] == ["pass", "warn", "warn", "warn", "warn"]
    assert "goes unused: its private DNS is off, so the tasks reach ecr.api through the NAT route" in \
        by_status(checks, "warn")[0]["detail"]


def test_private_dns_needs_the_vpcs_dns_attributes(aws, cli, clients):
    """Private DNS is a private hosted zone: it answers only with the VPC's enableDnsSupport and
    enableDnsHostnames on (CreateVpcEndpoint, PrivateDnsEnabled)."""
    vpc = shape(clients)
    clients("ec2").modify_vpc_attribute(VpcId=vpc["vpc"], EnableDnsHostnames={"Value": False})
    code, checks = network_checks(cli, vpc)
    failed, = by_status(checks, "fail")
    assert code == 3 and "does not resolve (enableDnsHostnames off), so the tasks call the public name" in \
        failed["detail"]
    assert failed["fix"].endswith("; set the VPC's enableDnsHostnames to true")


@pytest.mark.parametrize("https_from", ["none", "port 80", "one subnet"])
@pytest.mark.parametrize("nat", [False, True], ids=["endpoints only", "with NAT"])
def test_endpoint_security_groups_that_shut_the_tasks_out(aws, cli, clients, https_from, nat):
    """An endpoint with private DNS takes its service's calls, NAT or not: its security groups must admit
    TCP 443 from every private subnet the tasks run in."""
    vpc = shape(clients, nat=nat, https_from=https_from)
    code, checks = network_checks(cli, vpc)
    failed = by_status(checks, "fail")
    assert code == 3 and len(failed) == len(ALL_INTERFACES)
    shut = vpc["private"] if https_from != "one subnet" else vpc["private"][1:]
    logs = next(c for c in failed if vpc["endpoints"]["logs"]["VpcEndpointId"] in c["detail"])
    assert f"(logs, private DNS on) takes the tasks' logs calls, but its security groups ({vpc['group']}) admit no " \
        f"TCP 443 from private subnet(s) {', '.join(shut)}" in logs["detail"]
    assert logs["fix"].startswith("add an inbound rule TCP 443 from 10.20.") and logs["fix"].endswith(vpc["group"])


def test_a_prefix_list_that_holds_the_subnets_admits_them(aws, cli, clients):
    vpc = shape(clients, https_from="none")
    ec2 = clients("ec2")
    listed = ec2.create_managed_prefix_list(PrefixListName="private-subnets", AddressFamily="IPv4", MaxEntries=5,
                                            Entries=[{"Cidr": "10.20.1.0/24"}, {"Cidr": "10.20.2.0/24"}])
    ec2.authorize_security_group_ingress(GroupId=vpc["group"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "PrefixListIds": [{"PrefixListId": listed["PrefixList"]["PrefixListId"]}]}])
    code, checks = network_checks(cli, vpc)
    assert code == 0 and [c["status"] for c in checks] == ["pass"], checks


def test_a_complete_vpc_passes_and_names_each_way(aws, cli, clients):
    vpc = shape(clients)
    code, checks = network_checks(cli, vpc)
    passed, = checks
    assert code == 0 and passed["status"] == "pass", checks
    endpoint = vpc["endpoints"]
    assert f"ecr.api through interface endpoint {endpoint['ecr.api']['VpcEndpointId']}" in passed["detail"]
    assert f"s3 through gateway endpoint {endpoint['s3']['VpcEndpointId']}" in passed["detail"]
    assert passed["detail"].startswith(f"2 private subnet(s) of {vpc['vpc']} in 2 zone(s)")


def test_the_metrics_endpoint_is_needed_because_train_publishes(aws, cli, clients):
    """train publishes its held-out scores to CloudWatch (model.TASK_ACCESS): without a monitoring endpoint
    and without NAT its PutMetricData would time out."""
    vpc = shape(clients, interfaces=("ecr.api", "ecr.dkr", "logs"))
    code, checks = network_checks(cli, vpc)
    failed, = by_status(checks, "fail")
    assert code == 3 and "cannot reach 1 service(s) the tasks call: monitoring for train's scores" in failed["detail"]


def test_an_api_key_needs_the_secrets_manager_endpoint(aws, cli, clients):
    """With api_key_secret ECS reads the secret when predict starts (the task definition references it)."""
    vpc = shape(clients)
    key = ("--var", "api_key_secret=create")
    code, checks = network_checks(cli, vpc, *key)
    failed, = by_status(checks, "fail")
    assert code == 3 and "secretsmanager for the API key ECS hands predict when it starts (no interface endpoint)" \
        in failed["detail"]
    clients("ec2").create_vpc_endpoint(VpcId=vpc["vpc"], ServiceName="com.amazonaws.us-east-1.secretsmanager",
                                       VpcEndpointType="Interface", SubnetIds=vpc["private"],
                                       SecurityGroupIds=[vpc["group"]], PrivateDnsEnabled=True)
    code, checks = network_checks(cli, vpc, *key)
    assert code == 0 and "secretsmanager through interface endpoint vpce-" in checks[0]["detail"]


def test_a_deployed_environments_task_group_may_be_the_source(aws, cli, clients):
    """Once deployed, the tasks have their security group (a stack output): an endpoint group that admits
    it, and no address range, admits the tasks."""
    vpc = shape(clients, nat=True, interfaces=())
    assert cli("deploy", "--env", "dev", "--yes", *into(vpc))[0] == 0
    tasks = outputs(clients("cloudformation"), "automl-dev")["TaskSecurityGroupId"]
    ec2 = clients("ec2")
    group = ec2.create_security_group(GroupName="from-tasks", Description="endpoints", VpcId=vpc["vpc"])["GroupId"]
    endpoint = ec2.create_vpc_endpoint(VpcId=vpc["vpc"], ServiceName="com.amazonaws.us-east-1.logs",
                                       VpcEndpointType="Interface", SubnetIds=vpc["private"],
                                       SecurityGroupIds=[group], PrivateDnsEnabled=True)["VpcEndpoint"]
    code, checks = network_checks(cli, vpc)
    assert code == 3 and f"admit no TCP 443 from private subnet(s) {', '.join(vpc['private'])} (10.20.1.0/24, " \
        f"10.20.2.0/24) or from the tasks' security group {tasks}" in checks[0]["detail"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": tasks}]}])
    code, checks = network_checks(cli, vpc)
    assert code == 0 and f"logs through interface endpoint {endpoint['VpcEndpointId']}" in checks[0]["detail"]


def test_the_ci_deploy_role_reads_a_vpc_it_did_not_tag(aws, cli, clients, monkeypatch):
    """The landing zone's VPC carries none of the project's tags; its endpoints' group admits the subnets by a
    prefix list of this account and names an AWS-managed one: the deploy role generated for existing_vpc_id
    reads them all (deploy_role.NETWORK_READS) and the check passes; another VPC's attributes it may not
    read."""
    vpc = shape(clients, https_from="none")
    ec2 = clients("ec2")
    listed = ec2.create_managed_prefix_list(PrefixListName="private-subnets", AddressFamily="IPv4", MaxEntries=5,
                                            Entries=[{"Cidr": "10.20.1.0/24"}, {"Cidr": "10.20.2.0/24"}])
    managed = next(p for p in ec2.describe_managed_prefix_lists()["PrefixLists"]
                   if p["PrefixListName"] == "com.amazonaws.us-east-1.s3")
    ec2.authorize_security_group_ingress(GroupId=vpc["group"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [
            {"PrefixListId": managed["PrefixListId"]}, {"PrefixListId": listed["PrefixList"]["PrefixListId"]}]}])
    roles = deploy_role_stack(clients, cli, "dev", *into(vpc))
    act_as(monkeypatch, github_session(aws, roles["DeployRoleArn"], "repo:example/automl:ref:refs/heads/main"))
    code, checks = network_checks(cli, vpc)   # (other checks fail: the CI role wants permissions_boundary)
    assert [c["status"] for c in checks] == ["pass"], checks
    assert aws.refusals() == []

    # Another VPC than the one the role was generated for: refused its DNS attributes, in one line.
    other = shape(clients, https_from="vpc")
    code, out, err = cli("preflight", "--env", "dev", "--format", "json", *into(other))
    assert code != 0 and err.strip().splitlines()[-1].startswith("automl-cfn: error: access denied to "
                                                                 "DescribeVpcAttribute:"), err
    assert f"ec2:DescribeVpcAttribute on resource: arn:aws:ec2:us-east-1:123456789012:vpc/{other['vpc']}" in err


def test_an_ipv6_only_private_subnet_is_named(aws, cli, clients):
    """The tasks pull from each repository's RepositoryUri, ECR's IPv4 name: an IPv6-only subnet has no way to it."""
    vpc = shape(clients)
    ec2 = clients("ec2")
    block = ec2.associate_vpc_cidr_block(VpcId=vpc["vpc"], AmazonProvidedIpv6CidrBlock=True)[
        "Ipv6CidrBlockAssociation"]["Ipv6CidrBlock"]
    only = ec2.create_subnet(VpcId=vpc["vpc"], Ipv6Native=True, Ipv6CidrBlock=block.replace("/56", "/64"),
                             AvailabilityZone=vpc["zones"][1])["Subnet"]["SubnetId"]
    code, checks = network_checks(cli, {**vpc, "private": [vpc["private"][0], only]})
    failed, = by_status(checks, "fail")
    assert code == 3 and failed["detail"].startswith(f"private subnet {only} has no IPv4 range (IPv6 only)")
