"""preflight, the network: an existing VPC's subnets, and how its private subnets reach each AWS API the
tasks call.

With existing_vpc_id the tasks run in the VPC's private subnets without a public IP (AssignPublicIp
DISABLED: stacks.CHILD_FALLBACKS).  "For a task on Fargate to pull a container image, the task must have a
route to the internet", or reach ECR through interface endpoints (Amazon ECS task networking options for
Fargate, docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html).  So each service
the settings make the tasks call (NEEDS_BY_FEATURE) is reached from a private subnet in one of these ways:

  NAT        a default route (0.0.0.0/0) through a NAT gateway, or through a transit gateway, virtual private
             gateway, NAT instance or firewall endpoint the VPC's owner runs egress behind (what lies beyond
             them is not this account's to see): the services' public endpoints.  A
             default route to an internet gateway is no way out for a task without a public IP.
  interface  an available interface endpoint of the service with private DNS: the service's usual host
             name then resolves to the endpoint inside the VPC (CreateVpcEndpoint's PrivateDnsEnabled, which
             needs the VPC's enableDnsSupport and enableDnsHostnames: EC2 API reference).  Its security
             groups must admit TCP 443 from the tasks ("The security group attached to the VPC endpoint must
             allow incoming connections on port 443 from the private subnet of the VPC": Amazon ECR interface
             VPC endpoints, docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html).  With private
             DNS the endpoint takes the service's calls even where a NAT route exists, so its groups matter
             then too; without private DNS the SDK calls the public name and the endpoint goes unused.
  gateway    S3 only: a gateway endpoint on the subnet's route table.  ECR keeps image layers in S3, so a
             pull needs ecr.api, ecr.dkr and the S3 gateway endpoint; a task definition that references
             Secrets Manager secrets needs its endpoint too (Migrating to Linux platform version 1.4.0,
             docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-version-migration.html).

Without this check AWS answers minutes into the deploy, with tasks stopped while pulling their image or
reading their secret (repost.aws/knowledge-center/ecs-fargate-docker-timeout-error) and a service that
never stabilises.  What is printed from AWS passes through ui.printable.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from .. import ui
from ..model import TASK_ACCESS
from ..settings import subnet_ids
from .aws import error_code, error_message
from .check import FAIL, PASS, WARN, Check

NAME = "existing-vpc"
HTTPS = 443

# Zones that offer Fargate, where a region's do not all: "Supported Regions for Amazon ECS on
# AWS Fargate", docs.aws.amazon.com/AmazonECS/latest/developerguide/AWS_Fargate-Regions.html
# (Linux containers).  Zone IDs, the same in every account; zone names map to them per account.
FARGATE_ZONE_IDS = {
    "us-west-1": {"usw1-az1", "usw1-az3"},
    "ap-northeast-1": {"apne1-az1", "apne1-az2", "apne1-az4"},
}


class Need(NamedTuple):
    service: str     # the endpoint service's last part: com.amazonaws.<region>.<service>
    purpose: str     # what the tasks use it for


class Feature(NamedTuple):
    on: Callable     # Settings -> bool
    parameter: str   # the stack parameter that turns the feature on ("": always on); its change re-runs the check
    needs: tuple[Need, ...]


# What the tasks call, by the feature that makes them call it: the one table the check derives its list from.
# Not here: STS (task role credentials come from the ECS agent's credential endpoint, not from STS) and ECS
# (Fargate's agent reaches ECS outside the task's network interface); KMS is called by S3, Logs and Secrets
# Manager on the tasks' behalf, never by the tasks.
NEEDS_BY_FEATURE = {
    "images": Feature(lambda s: True, "", (Need("ecr.api", "image manifests"), Need("ecr.dkr", "image pulls"),
                                           Need("s3", "image layers (ECR keeps them in S3)"))),
    "logs": Feature(lambda s: True, "", (Need("logs", "every container's output (awslogs driver)"),)),
    "data": Feature(lambda s: any(a.reads or a.writes for a in TASK_ACCESS.values()), "",
                    (Need("s3", "the data bucket"),)),
    "metrics": Feature(lambda s: any(a.publishes_metrics for a in TASK_ACCESS.values()), "",
                       (Need("monitoring", "train's scores (PutMetricData), which the quality gate reads"),)),
    "api key": Feature(lambda s: bool(s.api_key_secret), "ApiKeySecret",
                       (Need("secretsmanager", "the API key ECS hands predict when it starts"),)),
}
GATEWAY_SERVICES = ("s3",)   # reached through a gateway endpoint on the route table, as ECR's layers need
NETWORK_PARAMETERS = ("ExistingVpcId", "ExistingPrivateSubnetIds", "ExistingPublicSubnetIds")
# Default-route targets that lead out of the VPC for a task without a public IP.
EGRESS_TARGETS = (("NatGatewayId", "NAT gateway"), ("TransitGatewayId", "transit gateway"),
                  ("NetworkInterfaceId", "network interface"), ("InstanceId", "NAT instance"),
                  ("CoreNetworkArn", "core network"))


def needed(settings) -> dict[str, list[str]]:
    """service -> what the tasks use it for, in the table's order, for these settings."""
    found: dict[str, list[str]] = {}
    for feature in NEEDS_BY_FEATURE.values():
        if feature.on(settings):
            for need in feature.needs:
                found.setdefault(need.service, []).append(need.purpose)
    return found


def parameters() -> tuple[str, ...]:
    """The parameters whose change re-runs the check."""
    return NETWORK_PARAMETERS + tuple(f.parameter for f in NEEDS_BY_FEATURE.values() if f.parameter)


def existing_vpc_check(ctx) -> list[Check]:
    """The subnets are the VPC's, one per zone, in zones that offer Fargate, and from each private one the
    tasks reach every service they call."""
    s = ctx.settings
    if not s.existing_vpc_id or not ctx.touches(*parameters()):
        return []
    ec2 = ctx.target.aws.client("ec2")
    private, public = subnet_ids(s.existing_private_subnet_ids), subnet_ids(s.existing_public_subnet_ids)
    try:
        found = {n["SubnetId"]: n for n in ec2.describe_subnets(SubnetIds=sorted(set(private + public)))["Subnets"]}
    except Exception as exc:
        if error_code(exc) not in ("InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"):
            raise
        return [Check(NAME, FAIL, f"a subnet of existing_private_subnet_ids or existing_public_subnet_ids "
                      f"does not exist in {ctx.region} ({_s(error_message(exc))})", "check the subnet IDs")]
    checks = _subnet_placement(ctx.region, s.existing_vpc_id, found, private, public)
    if checks:
        return checks
    vpc = Vpc.read(ec2, s.existing_vpc_id)
    return judge(vpc, {i: found[i] for i in private}, needed(s), _task_group(ctx.stack))


def _subnet_placement(region: str, vpc_id: str, found: dict, private: list[str], public: list[str]) -> list[Check]:
    checks = []
    for kind, ids in (("private", private), ("public", public)):
        outside = [i for i in ids if found[i]["VpcId"] != vpc_id]
        if outside:
            checks.append(Check(NAME, FAIL, f"{kind} subnet {outside[0]} is in {_s(found[outside[0]]['VpcId'])}, "
                                f"not in {vpc_id}", f"use subnets of {vpc_id}"))
        zones = [_s(found[i]["AvailabilityZone"]) for i in ids]
        if len(set(zones)) != len(zones):
            twice = next(z for z in zones if zones.count(z) > 1)
            checks.append(Check(NAME, FAIL, f"two {kind} subnets are in {twice}",
                                "give one subnet in each of az_count availability zones"))
        offered = FARGATE_ZONE_IDS.get(region)
        without = [i for i in ids if offered is not None and found[i].get("AvailabilityZoneId") not in offered]
        if kind == "private" and without:
            checks.append(Check(NAME, FAIL, f"subnet {without[0]} is in a zone without Fargate",
                                "use subnets in zones that offer Fargate"))
        # IPv6-only tasks pull only from ECR's dual-stack image URIs ("Using a VPC in IPv6-only mode", ECS
        # developer guide); the task definitions name each repository's RepositoryUri, ECR's IPv4 name.
        ipv6_only = [i for i in ids if not found[i].get("CidrBlock")]
        if kind == "private" and ipv6_only:
            checks.append(Check(NAME, FAIL, f"private subnet {ipv6_only[0]} has no IPv4 range (IPv6 only): the tasks "
                                "pull their images from ECR's IPv4 endpoint", "use private subnets with an IPv4 range"))
    return checks


def _task_group(stack: dict | None) -> str | None:
    """The tasks' security group once the environment is deployed (before, it does not exist yet)."""
    return next((o.get("OutputValue") for o in (stack or {}).get("Outputs", [])
                 if o.get("OutputKey") == "TaskSecurityGroupId"), None)


# ---------------------------------------------------------------------------
# the VPC, read once
# ---------------------------------------------------------------------------

@dataclass
class Vpc:
    id: str
    tables: list[dict]
    endpoints: list[dict]
    groups: dict[str, dict]          # the interface endpoints' security groups, by ID
    dns_off: list[str]               # the VPC's DNS attributes that are off (private DNS needs both on)
    ec2: object = None
    _prefix_lists: dict = field(default_factory=dict)

    @classmethod
    def read(cls, ec2, vpc_id: str) -> "Vpc":
        in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
        endpoints = _all(ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=in_vpc)
        group_ids = sorted({g["GroupId"] for e in endpoints for g in e.get("Groups", [])})
        groups = {g["GroupId"]: g for g in _all(ec2, "describe_security_groups", "SecurityGroups",
                                                 GroupIds=group_ids)} if group_ids else {}
        dns_off = [name for name in ("enableDnsSupport", "enableDnsHostnames")
                   if not ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=name)[
                       name[0].upper() + name[1:]].get("Value")]
        return cls(vpc_id, _all(ec2, "describe_route_tables", "RouteTables", Filters=in_vpc), endpoints, groups,
                   dns_off, ec2)

    def table_of(self, subnet: str) -> dict | None:
        """The subnet's route table: its own association, else the VPC's main table."""
        own = next((t for t in self.tables if any(a.get("SubnetId") == subnet for a in t.get("Associations", []))),
                   None)
        return own or next((t for t in self.tables if any(a.get("Main") for a in t.get("Associations", []))), None)

    def endpoint(self, kind: str, service: str) -> dict | None:
        """The VPC's endpoint of this kind for the service: an available one first."""
        mine = [e for e in self.endpoints if e.get("VpcEndpointType", "").lower() == kind
                and e.get("ServiceName", "").split(".", 3)[-1] == service]   # com.amazonaws.REGION.ecr.api
        return next((e for e in mine if _available(e)), mine[0] if mine else None)

    def admits(self, endpoint: dict, cidr: str, task_group: str | None) -> bool:
        """An inbound rule of the endpoint's groups lets TCP 443 in from every address of `cidr`, or from
        the tasks' own security group."""
        sources = []
        for group_id in (g["GroupId"] for g in endpoint.get("Groups", [])):
            for rule in self.groups.get(group_id, {}).get("IpPermissions", []):
                if not _carries_https(rule):
                    continue
                if task_group and any(p.get("GroupId") == task_group for p in rule.get("UserIdGroupPairs", [])):
                    return True
                sources += [r["CidrIp"] for r in rule.get("IpRanges", []) if r.get("CidrIp")]
                for listed in rule.get("PrefixListIds", []):
                    sources += self.prefix_list(listed["PrefixListId"])
        subnet = ipaddress.ip_network(cidr, strict=False)
        nets = [n for n in (ipaddress.ip_network(c, strict=False) for c in sources) if n.version == subnet.version]
        return any(subnet.subnet_of(n) for n in ipaddress.collapse_addresses(nets))

    def prefix_list(self, prefix_list_id: str) -> list[str]:
        if prefix_list_id not in self._prefix_lists:
            self._prefix_lists[prefix_list_id] = [e["Cidr"] for e in _all(
                self.ec2, "get_managed_prefix_list_entries", "Entries", PrefixListId=prefix_list_id)]
        return self._prefix_lists[prefix_list_id]


def _all(ec2, operation: str, key: str, **kwargs) -> list[dict]:
    return [item for page in ec2.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]


def _available(endpoint: dict) -> bool:
    return endpoint.get("State", "").lower() == "available"


def _carries_https(rule: dict) -> bool:
    protocol = str(rule.get("IpProtocol", ""))
    if protocol == "-1":
        return True
    return protocol in ("tcp", "6") and rule.get("FromPort", 0) <= HTTPS <= rule.get("ToPort", -1)


def _s(value) -> str:
    return ui.printable(value)


# ---------------------------------------------------------------------------
# judging each private subnet
# ---------------------------------------------------------------------------

class Way(NamedTuple):
    """How one subnet reaches one service: `path` when it does; else `absent` says what is missing.
    `blocked`: an endpoint with private DNS whose groups shut the subnet out; `unused`: one without."""
    path: str = ""
    absent: str = ""
    blocked: dict | None = None
    unused: dict | None = None


def default_route(table: dict | None) -> tuple[str, str]:
    """(the way out through the table's default route, or "";  why there is none)."""
    if table is None:
        return "", "no route table"
    route = next((r for r in table.get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)
    if route is None:
        return "", "no default route"
    if route.get("State", "active") != "active":
        return "", f"its default route is {_s(route.get('State'))}"
    for key, label in EGRESS_TARGETS:
        if route.get(key):
            return f"{label} {_s(route[key])}", ""
    gateway = str(route.get("GatewayId", ""))
    if gateway.startswith("vpce-"):   # a Gateway Load Balancer endpoint: the firewall the owner sends egress through
        return f"firewall endpoint {_s(gateway)}", ""
    if gateway.startswith("vgw-"):    # a VPN to the owner's own network, which egresses for it (as a transit gateway)
        return f"virtual private gateway {_s(gateway)}", ""
    if gateway.startswith("igw-"):
        return "", f"its default route goes to internet gateway {_s(gateway)}, which tasks without a public IP cannot use"
    return "", f"its default route goes to {_s(gateway or 'an unknown target')}"


def reach(vpc: Vpc, service: str, table: dict | None, cidr: str, egress: str, task_group: str | None) -> Way:
    if service in GATEWAY_SERVICES:
        gateway = vpc.endpoint("gateway", service)
        if gateway and _available(gateway) and table and table["RouteTableId"] in gateway.get("RouteTableIds", []):
            return Way(path=f"gateway endpoint {_s(gateway['VpcEndpointId'])}")
        if egress:
            return Way(path=egress)
        where = _s(table["RouteTableId"]) if table else "the subnet's route table"
        return Way(absent=f"no {service} gateway endpoint on {where}")
    endpoint = vpc.endpoint("interface", service)
    if endpoint is None or not _available(endpoint):
        if egress:
            return Way(path=egress)
        return Way(absent="no interface endpoint" if endpoint is None else
                   f"interface endpoint {_s(endpoint['VpcEndpointId'])} is {_s(endpoint.get('State'))}")
    shown = _s(endpoint["VpcEndpointId"])
    if endpoint.get("PrivateDnsEnabled") and not vpc.dns_off:
        if vpc.admits(endpoint, cidr, task_group):
            return Way(path=f"interface endpoint {shown}")
        return Way(absent=f"interface endpoint {shown} shuts it out", blocked=endpoint)
    why = (f"interface endpoint {shown} has private DNS off" if not endpoint.get("PrivateDnsEnabled") else
           f"the private DNS of interface endpoint {shown} does not resolve ({' and '.join(vpc.dns_off)} off)")
    if egress:
        return Way(path=egress, unused=endpoint)
    return Way(absent=f"{why}, so the tasks call the public name")


def judge(vpc: Vpc, subnets: dict[str, dict], needs: dict[str, list[str]], task_group: str | None) -> list[Check]:
    """One fail per group of subnets that miss the same services; one per endpoint whose security groups
    shut tasks out; a warning per endpoint the tasks pass by; else a pass naming each service's way."""
    missing: dict[tuple, list[str]] = {}      # (route table, why no egress, gaps) -> subnets
    blocked: dict[str, tuple[dict, list[str]]] = {}
    unused: dict[str, tuple[dict, str]] = {}
    ways: dict[str, set[str]] = {}
    for subnet_id, subnet in subnets.items():
        table = vpc.table_of(subnet_id)
        egress, no_egress = default_route(table)
        gaps = []
        for service, purposes in needs.items():
            way = reach(vpc, service, table, subnet["CidrBlock"], egress, task_group)
            if way.path:
                ways.setdefault(service, set()).add(way.path)
            elif way.blocked is not None:
                blocked.setdefault(way.blocked["VpcEndpointId"], (way.blocked, []))[1].append(subnet_id)
            else:
                gaps.append(f"{service} for {', '.join(purposes)} ({way.absent})")
            if way.unused is not None:
                unused[way.unused["VpcEndpointId"]] = (way.unused, service)
        if gaps:
            table_id = _s(table["RouteTableId"]) if table else "none"
            missing.setdefault((table_id, no_egress, tuple(gaps)), []).append(subnet_id)
    checks = [_no_way(table_id, no_egress, gaps, ids, vpc) for (table_id, no_egress, gaps), ids in missing.items()]
    checks += [_shut_out(endpoint, ids, subnets, vpc, task_group) for endpoint, ids in blocked.values()]
    if checks:
        return checks
    checks = [Check(NAME, WARN, f"interface endpoint {_s(e['VpcEndpointId'])} ({service}) goes unused: "
                    + ("its private DNS is off" if not e.get("PrivateDnsEnabled") else
                       f"the VPC's {' and '.join(vpc.dns_off)} is off") + f", so the tasks reach {service} "
                    "through the NAT route", "turn its private DNS on (and the VPC's DNS attributes) to keep "
                    "that traffic off NAT") for e, service in unused.values()]
    shown = "; ".join(f"{service} through {', '.join(sorted(ways[service]))}" for service in needs)
    zones = len({s.get("AvailabilityZone") for s in subnets.values()})
    return [Check(NAME, PASS, f"{len(subnets)} private subnet(s) of {vpc.id} in {zones} zone(s) reach every service "
                  f"the tasks call: {shown}")] + checks


def _no_way(table_id: str, no_egress: str, gaps: tuple[str, ...], subnets: list[str], vpc: Vpc) -> Check:
    """A fail naming each service the subnets cannot reach, what it is for, and what is missing."""
    detail = (f"private subnet{'s' if len(subnets) > 1 else ''} {', '.join(subnets)} (route table {table_id}: "
              f"{no_egress or 'no way out'}) cannot reach {len(gaps)} service(s) the tasks call: {'; '.join(gaps)}")
    services = [gap.split(" ", 1)[0] for gap in gaps]
    endpoints = [s for s in services if s not in GATEWAY_SERVICES]
    wanted = ([f"interface endpoints with private DNS for {', '.join(endpoints)}"] if endpoints else []) + \
        [f"an {s} gateway endpoint on {table_id}" for s in services if s in GATEWAY_SERVICES]
    dns = f"; set the VPC's {' and '.join(vpc.dns_off)} to true" if vpc.dns_off and endpoints else ""
    return Check(NAME, FAIL, detail, f"give {table_id} a default route through a NAT gateway, or add "
                 f"{' and '.join(wanted)}{dns}")


def _shut_out(endpoint: dict, shut: list[str], subnets: dict, vpc: Vpc, task_group: str | None) -> Check:
    service = _s(endpoint.get("ServiceName", "").split(".", 3)[-1])
    groups = ", ".join(_s(g["GroupId"]) for g in endpoint.get("Groups", [])) or "none"
    cidrs = ", ".join(_s(subnets[i]["CidrBlock"]) for i in shut)
    source = f" or from the tasks' security group {_s(task_group)}" if task_group else ""
    return Check(NAME, FAIL, f"interface endpoint {_s(endpoint['VpcEndpointId'])} ({service}, private DNS on) takes "
                 f"the tasks' {service} calls, but its security groups ({groups}) admit no TCP {HTTPS} from private "
                 f"subnet(s) {', '.join(shut)} ({cidrs}){source}",
                 f"add an inbound rule TCP {HTTPS} from {cidrs} (or {vpc.id}'s CIDR) to "
                 f"{groups.split(', ')[0]}")
