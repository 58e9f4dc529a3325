"""A monthly cost estimate, offline, from the generated templates and the
resolved parameters: every line shows its quantity, unit price and
assumption.  Prices come from data/prices.json (dated, source noted)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Mapping

from .evaluate import Evaluation, nested_stacks
from .model import SERVICES, title
from .settings import Settings


@dataclass
class Line:
    item: str
    quantity: float
    unit: str
    unit_price: float
    assumption: str

    @property
    def monthly(self) -> float:
        return round(self.quantity * self.unit_price, 2)


@dataclass
class Estimate:
    region: str
    price_region: str
    price_date: str
    lines: list[Line]

    @property
    def total(self) -> float:
        return round(sum(line.monthly for line in self.lines), 2)

    def by_item(self) -> dict[str, float]:
        return {line.item: line.monthly for line in self.lines}


def prices() -> dict:
    return json.loads(resources.files("automl_cfn").joinpath("data/prices.json").read_text())


def fargate_rate(cpu: int, memory: int, spot: bool, p: dict) -> float:
    kind = "fargate_spot" if spot else "fargate"
    return cpu / 1024 * p[f"{kind}_vcpu_hour"] + memory / 1024 * p[f"{kind}_gb_hour"]


def estimate(documents: Mapping[str, dict], parameters: Mapping[str, str], settings: Settings,
             region: str | None = None) -> Estimate:
    table = prices()
    region = region or settings.aws_region
    price_region = region if region in table["regions"] else table["default_region"]
    p, hours = table["regions"][price_region], table["hours_per_month"]
    stacks = nested_stacks(documents, parameters)
    values = Evaluation(documents["root"], parameters).parameters   # the settings, as root parameters
    spot = values["UseFargateSpot"] == "true"
    # Tasks get public IPs only in a VPC of ours with neither NAT nor endpoints.
    public_ip_tasks = values["NatGateways"] == "none" and values.get("PrivateEndpoints") != "true" and \
        not values.get("ExistingVpcId")
    lines: list[Line] = []

    def add(item, quantity, unit, price, assumption):
        if quantity:
            lines.append(Line(item, round(quantity, 4), unit, price, assumption))

    network = stacks.get("network") or Evaluation({"Resources": {}})   # none of ours in an existing VPC
    nat = len(network.of_type("AWS::EC2::NatGateway"))
    interface = [e for e in network.of_type("AWS::EC2::VPCEndpoint").values()
                 if e["Properties"].get("VpcEndpointType") == "Interface"]
    # The tasks' traffic is AWS APIs (ECR, logs, metrics ...): with endpoints it leaves NAT for them.
    through_nat = 0 if interface else settings.nat_data_gb
    add("NAT gateway hours", nat * hours, "hour", p["nat_gateway_hour"], f"{nat} gateway(s) around the clock")
    add("NAT gateway data", through_nat if nat else 0, "GB", p["nat_gateway_gb"], f"nat_data_gb={settings.nat_data_gb}")
    eips = len(network.of_type("AWS::EC2::EIP"))
    add("Public IPv4 (NAT gateways)", eips * hours, "hour", p["public_ipv4_hour"], "one address per NAT gateway")
    zones = sum(len(e["Properties"].get("SubnetIds", [])) for e in interface)
    add("VPC interface endpoints", zones * hours, "AZ-hour", p["interface_endpoint_hour"],
        f"{len(interface)} endpoint(s), one network interface per AZ each")
    add("VPC interface endpoint data", settings.nat_data_gb if interface else 0, "GB", p["interface_endpoint_gb"],
        f"nat_data_gb={settings.nat_data_gb} of AWS API traffic, through the endpoints instead of NAT")

    compute = stacks["compute"]
    kind = "Fargate Spot" if spot else "Fargate"
    if "PredictionService" in compute.resources():
        count = int(values["PredictionServiceCount"])
        cpu, memory = int(values["PredictCpu"]), int(values["PredictMemory"])
        add(f"{kind}: prediction service", count * hours, "task-hour", round(fargate_rate(cpu, memory, spot, p), 6),
            f"{count} task(s) of {cpu / 1024:g} vCPU / {memory / 1024:g} GB around the clock, once an image is deployed")
        if public_ip_tasks:
            add("Public IPv4 (prediction tasks)", count * hours, "hour", p["public_ipv4_hour"],
                "no NAT gateway: each task has a public IP")
    for service in SERVICES:
        cpu, memory = int(values[f"{title(service)}Cpu"]), int(values[f"{title(service)}Memory"])
        add(f"{kind}: {service} runs", settings.expected_task_hours, "task-hour",
            round(fargate_rate(cpu, memory, spot, p), 6),
            f"expected_task_hours={settings.expected_task_hours} at {cpu / 1024:g} vCPU / {memory / 1024:g} GB")
    if public_ip_tasks:
        add("Public IPv4 (one-off tasks)", settings.expected_task_hours * len(SERVICES), "hour", p["public_ipv4_hour"],
            "no NAT gateway: each task has a public IP")

    add("S3 storage", settings.expected_storage_gb, "GB-month", p["s3_standard_gb_month"],
        f"expected_storage_gb={settings.expected_storage_gb}, S3 Standard")
    add("ECR storage", settings.expected_image_gb, "GB-month", p["ecr_storage_gb_month"],
        f"expected_image_gb={settings.expected_image_gb}")

    monitoring = stacks["monitoring"]
    retention = int(values["LogRetentionDays"])
    add("CloudWatch Logs ingestion", settings.expected_log_gb, "GB", p["logs_ingest_gb"],
        f"expected_log_gb={settings.expected_log_gb}")
    stored = settings.expected_log_gb * min(retention, 365) / 30
    add("CloudWatch Logs storage", stored, "GB-month", p["logs_store_gb_month"],
        f"{retention}-day retention keeps about {stored:g} GB")
    if network.of_type("AWS::EC2::FlowLog"):
        add("VPC flow logs ingestion", settings.expected_flow_log_gb, "GB", p["logs_ingest_gb"],
            f"expected_flow_log_gb={settings.expected_flow_log_gb}")
    alarm_metrics = sum(sum(1 for m in a["Properties"].get("Metrics", []) if "MetricStat" in m) or 1
                        for a in monitoring.of_type("AWS::CloudWatch::Alarm").values())
    add("CloudWatch alarm metrics", alarm_metrics, "metric", p["alarm_metric_month"],
        "metric-math alarms are billed per metric they read")
    add("CloudWatch dashboard", len(monitoring.of_type("AWS::CloudWatch::Dashboard")), "dashboard",
        p["dashboard_month"], "beyond the account's 3 free dashboards")
    pipeline = stacks.get("pipeline")
    if pipeline and pipeline.of_type("AWS::Scheduler::Schedule"):
        from .schedule import runs_per_month

        expression = values["PipelineSchedule"]   # the parameters' (a review estimates the deployed side too)
        runs = runs_per_month(expression)
        add("EventBridge Scheduler invocations", runs / 1e6, "million", p["scheduler_invocation_million"],
            f"{runs} a month ({expression}); the first 14 million a month are free per account")
        add("Step Functions state transitions (scheduled runs)", runs * STATE_TRANSITIONS_PER_RUN / 1000, "thousand",
            p["states_transition_thousand"], f"{runs} runs of about {STATE_TRANSITIONS_PER_RUN} transitions")
    if pipeline and pipeline.of_type("AWS::Pipes::Pipe"):
        objects = settings.expected_data_objects
        add("EventBridge events (new data)", objects / 1e6, "million", p["eventbridge_event_million"],
            f"expected_data_objects={objects}: one Object Created event each")
        add("SQS requests (new-data queue)", 3 * objects / 1e6, "million", p["sqs_request_million"],
            "send, receive and delete per object, at most")
        add("EventBridge Pipes requests", objects / 1e6, "million", p["pipes_request_million"],
            "at most one per object; a batch of small notices counts once per 64 KB")
    security = stacks.get("security")
    if security:
        add("KMS customer-managed key", len(security.of_type("AWS::KMS::Key")), "key", p["kms_key_month"],
            "plus requests, small with S3 bucket keys")
        add("Secrets Manager secret", len(security.of_type("AWS::SecretsManager::Secret")), "secret",
            p["secret_month"], "the generated API key and the previous-key secret rotations use")
    return Estimate(region, price_region, table["date"], lines)


# Gate, choice, three tasks (each with a retry at most), quality read and choice, end.
STATE_TRANSITIONS_PER_RUN = 10


def to_json(estimate: Estimate) -> str:
    return json.dumps({"region": estimate.region, "price_region": estimate.price_region,
                       "price_date": estimate.price_date, "total": estimate.total,
                       "lines": [{**asdict(line), "monthly": line.monthly} for line in estimate.lines]}, indent=2)


def render(estimate: Estimate) -> None:
    from . import ui

    rows = [[line.item, f"{line.quantity:g} {line.unit}", f"${line.unit_price:g}", f"${line.monthly:,.2f}",
             line.assumption] for line in estimate.lines]
    rows.append(["Total", "", "", f"${estimate.total:,.2f}", ""])
    ui.table(["Item", "Quantity", "Unit price", "Monthly", "Assumption"], rows,
             title=f"Monthly estimate, {estimate.region} (prices of {estimate.price_date})")
    if estimate.price_region != estimate.region:
        ui.info(f"note: no prices for {estimate.region} in data/prices.json; the estimate uses "
                f"{estimate.price_region} prices")


# The tasks' three ways out, for the README's table: the settings each takes.
EGRESS_SHAPES = (
    ("NAT gateway per AZ", {"nat_gateways": "per_az", "private_endpoints": False},
     "private subnets; internet egress that survives a zone outage"),
    ("One NAT gateway", {"nat_gateways": "single", "private_endpoints": False},
     "private subnets; internet egress through one zone"),
    ("Endpoints only", {"nat_gateways": "none", "private_endpoints": True},
     "private subnets, no route to the internet: AWS APIs only, through interface endpoints"),
)
NETWORK_ITEMS = ("NAT gateway", "Public IPv4", "VPC interface endpoint")


def egress_markdown(documents: Mapping[str, dict], environments: Mapping[str, Settings]) -> str:
    """Monthly network cost of each egress shape at each environment's sizes (README, "What it costs")."""
    from .parameters import parameter_values
    from .settings import with_overrides

    names = list(environments)
    lines = ["| Egress | " + " | ".join(names) + " | What the tasks can reach |",
             "|---|" + "---|" * len(names) + "---|"]
    for label, overrides, reach in EGRESS_SHAPES:
        cells = []
        for settings in environments.values():
            shaped = with_overrides(settings, **overrides)
            lines_ = estimate(documents, parameter_values(shaped), shaped).lines
            cells.append(f"${sum(l.monthly for l in lines_ if l.item.startswith(NETWORK_ITEMS)):,.2f}")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {reach} |")
    return "\n".join(lines) + "\n"
