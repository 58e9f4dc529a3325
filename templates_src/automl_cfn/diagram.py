"""The architecture, drawn from the templates for one environment.

Everything shown is read from the evaluated templates (what exists for these
parameters), so optional parts appear only when enabled.  One graph model,
three renderings: Mermaid (renders on GitHub), Graphviz DOT, and SVG through
Graphviz's `dot` when it is installed.
"""

from __future__ import annotations

import re
from typing import Mapping

from .evaluate import Evaluation, nested_stacks
from .errors import UserError
from .model import DATA_PREFIX, MODELS_PREFIX, PREDICTIONS_PREFIX, REPOSITORIES, SERVICES, title
from .settings import Settings


class Graph:
    """Groups, nodes and labelled edges, in the order they were added (a plain class: generation runs
    on every `make templates`, and a dataclass compiles its methods each time)."""

    def __init__(self) -> None:
        self.groups: dict[str, tuple[str, list[str]]] = {}   # id -> (label, node ids)
        self.nodes: dict[str, str] = {}                       # id -> label
        self.edges: list[tuple[str, str, str]] = []           # (from, to, label)

    def node(self, node_id: str, label: str, group: str | None = None) -> str:
        self.nodes[node_id] = label
        if group:
            self.groups[group][1].append(node_id)
        return node_id

    def group(self, group_id: str, label: str) -> str:
        self.groups.setdefault(group_id, (label, []))
        return group_id

    def edge(self, source: str, target: str, label: str = "") -> None:
        self.edges.append((source, target, label))


def build(documents: Mapping[str, dict], parameters: Mapping[str, str], settings: Settings) -> Graph:
    stacks = nested_stacks(documents, parameters)
    values = Evaluation(documents["root"], parameters).parameters   # the settings, as root parameters
    g = Graph()
    network = stacks["network"].resources() if "network" in stacks else {}
    existing = values.get("ExistingVpcId", "")
    vpc = g.group("vpc", f"existing VPC {existing}" if existing else f"VPC {values['VpcCidr']}")
    if existing:   # its subnets, routes and egress are its owner's
        private = [s for s in values.get("ExistingPrivateSubnetIds", "").split(",") if s]
        azs = [str(i + 1) for i in range(len(private))]
        for az, subnet in zip(azs, private):
            zone = g.group(f"az{az}", f"AZ {az}")
            g.node(f"private{az}", f"private subnet {subnet}", zone)
            g.groups[vpc][1].append(zone)
    else:
        g.node("igw", "Internet gateway")
        azs = sorted({k[-1] for k in network if re.fullmatch(r"(Public|Private)Subnet\d", k)})
    for az in ([] if existing else azs):
        zone = g.group(f"az{az}", f"AZ {az}")
        g.node(f"public{az}", f"Public subnet {az}", zone)
        g.edge(f"public{az}", "igw", "0.0.0.0/0")
        g.node(f"private{az}", f"Private subnet {az}", zone)
        if f"NatGateway{az}" in network:
            g.node(f"nat{az}", f"NAT gateway {az}", zone)
            g.edge(f"nat{az}", "igw")
        route = network.get(f"PrivateDefaultRoute{az}")
        if route:
            target = route["Properties"]["NatGatewayId"]["Ref"][-1]
            g.edge(f"private{az}", f"nat{target}", "0.0.0.0/0")
        g.groups[vpc][1].append(zone)
    if not existing:
        g.node("s3endpoint", "S3 gateway endpoint", vpc)
    interface = sorted(k.removesuffix("Endpoint") for k, v in network.items()
                       if v["Type"] == "AWS::EC2::VPCEndpoint" and v["Properties"].get("VpcEndpointType") == "Interface")
    if interface:
        g.node("endpoints", f"interface endpoints ({', '.join(interface)})", vpc)
        for az in azs:
            g.edge(f"private{az}", "endpoints", "HTTPS, no internet")
    if "VpcFlowLog" in network:
        g.node("flowlogs", "VPC flow logs", vpc)

    compute = stacks["compute"].existing()
    ecs = g.group("ecs", "ECS cluster (Fargate" + (" Spot)" if values["UseFargateSpot"] == "true" else ")"))
    task_tier = "public" if values["NatGateways"] == "none" and values.get("PrivateEndpoints") != "true" and \
        not existing else "private"
    for service in SERVICES:
        cpu, memory = values[f"{title(service)}Cpu"], values[f"{title(service)}Memory"]
        g.node(f"task_{service}", f"{service} task {int(cpu) / 1024:g} vCPU / {int(memory) / 1024:g} GB", ecs)
    if "PredictionService" in compute:
        g.node("service", f"prediction service x{values['PredictionServiceCount']}", ecs)
        g.edge("service", "task_predict", "runs")
        g.edge("service", f"{task_tier}{azs[0]}", "in subnets")

    registry = g.group("ecr", "ECR")
    for repo in REPOSITORIES:
        g.node(f"repo_{repo}", f"{repo} repository", registry)
    for service in SERVICES:
        g.edge(f"task_{service}", f"repo_{service}", "image")

    storage = stacks["storage"].existing()
    s3 = g.group("s3", "S3 data bucket")
    for prefix in (DATA_PREFIX, MODELS_PREFIX, PREDICTIONS_PREFIX):
        g.node(f"prefix_{prefix.strip('/')}", prefix, s3)
    if "AccessLogsBucket" in storage:
        g.node("accesslogs", "access-logs bucket")
        g.edge("prefix_data", "accesslogs", "access logs")
    if not existing:
        g.edge("s3endpoint", "prefix_data", "private path")

    if "pipeline" in stacks:
        g.node("statemachine", "Step Functions pipeline (one run at a time)")
        gated = "ModelQualityAlarm" in stacks["monitoring"].existing()
        previous = "statemachine"
        for service in SERVICES:
            if gated and service == "predict":
                g.node("quality", f"quality gate: {values['ModelQualityMetric']} >= {values['ModelQualityMin']}")
                g.edge(previous, "quality", "then")
                previous = "quality"
            g.edge(previous, f"task_{service}", "runTask.sync" if previous == "statemachine" else "then")
            previous = f"task_{service}"
        schedule = stacks["pipeline"].of_type("AWS::Scheduler::Schedule")
        for body in schedule.values():
            props = body["Properties"]
            g.node("schedule", f"EventBridge Scheduler {props['ScheduleExpression']} "
                               f"({props['ScheduleExpressionTimezone']})")
            g.edge("schedule", "statemachine", "starts")
        if "NewDataPipe" in stacks["pipeline"].existing():
            g.node("newdata", f"new data: rule, queue, pipe ({int(values['RetrainQuietSeconds']) // 60} min batches)")
            g.edge("prefix_data", "newdata", "Object Created")
            g.edge("newdata", "statemachine", "starts once per batch")
        g.node("manual", "automl-cfn pipeline start")
        g.edge("manual", "statemachine", "starts")
    g.node("logs", "CloudWatch logs, alarms, dashboard")

    iam = g.group("iam", "IAM roles")
    roles = stacks["iam"].existing()
    g.node("role_execution", "execution role", iam)
    g.node("role_task", "task role", iam)
    g.edge("role_execution", "repo_optimize", f"pull ({len(REPOSITORIES)} repositories)")
    g.edge("role_execution", "logs", "write")
    g.edge("role_task", "prefix_data", "read")
    g.edge("role_task", "prefix_models", "read, write")
    g.edge("role_task", "prefix_predictions", "write")
    if "StepFunctionsRole" in roles:
        g.node("role_sfn", "Step Functions role", iam)
        g.edge("role_sfn", "task_optimize", "run tasks")
    security = stacks["security"].existing()
    if "CustomerKey" in security:
        g.node("kms", "KMS key (customer-managed)")
        g.edge("kms", "prefix_data", "encrypts")
    return g


# ---------------------------------------------------------------------------
# renderings
# ---------------------------------------------------------------------------

def layout(g: Graph):
    """Groups (nested) with their nodes, then ungrouped nodes: the shared walk of both renderings.

    Yields ("open", id, label, depth), ("node", id, label, depth) and ("close", id, None, depth).
    """
    nested = {member for _, members in g.groups.values() for member in members if member in g.groups}
    grouped = {member for _, members in g.groups.values() for member in members}

    def walk(group_id: str, depth: int):
        label, members = g.groups[group_id]
        yield "open", group_id, label, depth
        for member in members:
            if member in g.groups:
                yield from walk(member, depth + 1)
            else:
                yield "node", member, g.nodes[member], depth + 1
        yield "close", group_id, None, depth

    for group_id in g.groups:
        if group_id not in nested:
            yield from walk(group_id, 1)
    for node_id, label in g.nodes.items():
        if node_id not in grouped:
            yield "node", node_id, label, 1


def mermaid(g: Graph) -> str:
    shapes = {"open": '{indent}subgraph {id}["{label}"]', "node": '{indent}{id}["{label}"]', "close": "{indent}end"}
    lines = ["flowchart LR"] + [shapes[kind].format(indent="  " * depth, id=item, label=label)
                                for kind, item, label, depth in layout(g)]
    lines += [f"  {s} -->|{label}| {t}" if label else f"  {s} --> {t}" for s, t, label in g.edges]
    return "\n".join(lines) + "\n"


def dot(g: Graph) -> str:
    shapes = {"open": '{indent}subgraph cluster_{id} {{ label="{label}";', "node": '{indent}{id} [label="{label}"];',
              "close": "{indent}}}"}
    lines = ["digraph automl {", '  rankdir=LR; node [shape=box, style="rounded", fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];']
    lines += [shapes[kind].format(indent="  " * depth, id=item, label=label) for kind, item, label, depth in layout(g)]
    lines += [f'  {s} -> {t} [label="{label}"];' if label else f"  {s} -> {t};" for s, t, label in g.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def has_dot() -> bool:
    """Graphviz's dot on PATH (shutil.which, without importing shutil on every generation)."""
    import os

    return any(os.access(os.path.join(folder, "dot"), os.X_OK)
               for folder in os.environ.get("PATH", "").split(os.pathsep) if folder)


def svg(g: Graph) -> bytes:
    import shutil
    import subprocess

    binary = shutil.which("dot")
    if not binary:
        raise UserError("SVG needs Graphviz's dot: install it (Debian/Ubuntu: apt-get install graphviz; "
                        "macOS: brew install graphviz), or use --format mermaid or dot")
    result = subprocess.run([binary, "-Tsvg"], input=dot(g).encode(), capture_output=True, check=True)
    return result.stdout


def svg_cached(g: Graph, existing) -> bytes:
    """The SVG, reusing `existing` when it was drawn from the same DOT source
    (running Graphviz is most of the time `automl-cfn templates` takes)."""
    from .digest import sha256_hex

    source = dot(g)
    stamp = f"<!-- automl-cfn dot sha256:{sha256_hex(source.encode())} -->\n".encode()
    try:
        current = existing.read_bytes()
    except OSError:
        current = b""
    if current.startswith(stamp):
        return current
    return stamp + svg(g)


def render(documents, parameters, settings: Settings, fmt: str):
    graph = build(documents, parameters, settings)
    return {"mermaid": mermaid, "dot": dot, "svg": svg}[fmt](graph)
