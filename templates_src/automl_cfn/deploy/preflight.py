"""preflight: what would fail on this account and region, found before a change set.

Each check answers pass, warn, fail or skip, with the fix for a fail.  `automl-cfn
preflight` runs them all and prints the table; `deploy` runs them before every change
set (the live ones only where the change touches what they check) and stops on a fail.

Offline, from the templates and settings alone:
  settings      the combinations AWS refuses (refused when the settings load; shown here)
  names         every name the templates build, within its service's limit in this region
  mappings      every Fn::FindInMap covers this region
Live, with credentials:
  zones         the region has az_count zones, and each zone the network takes offers Fargate
  existing-vpc  existing_vpc_id's subnets, and from its private ones a way to each service the tasks
                call: NAT, or endpoints with private DNS that admit the tasks (preflight_network.py)
  existing      named resources that exist already and belong to no stack of this environment
  quotas        VPCs, Elastic IPs, NAT gateways per zone, Fargate vCPUs (Service Quotas)
  certificate   exists, is ISSUED, and is in the region
  kms-key       exists and is enabled; permissions-boundary: the policy exists (and the CI role has it)
  images        the image tag is in every ECR repository a task runs from
  traffic       a change to the production listener rule while ECS has moved traffic off blue
After the change set is created, `deploy` shows CloudFormation's own pre-deployment
validation (describe_events, VALIDATION_ERROR) in the review (plan.py).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Callable

from .. import name_scopes, regional, ui
from ..errors import RefusedError
from ..model import SERVICES
from ..settings import PROJECT_BOUNDARY
from .aws import error_code, error_message
from .check import FAIL, PASS, SKIP, WARN, Check
from .preflight_network import FARGATE_ZONE_IDS, existing_vpc_check
from .retained import KINDS, lookup, owner
from .target import Target

# Service Quotas, found by name (codes differ per service; names are what the console shows).
VPCS = ("vpc", "VPCs per Region")
ELASTIC_IPS = ("ec2", "EC2-VPC Elastic IPs")
NAT_PER_ZONE = ("vpc", "NAT gateways per Availability Zone")
FARGATE_ON_DEMAND = ("fargate", "Fargate On-Demand vCPU resource count")
FARGATE_SPOT = ("fargate", "Fargate Spot vCPU resource count")
DEPLOYMENT_SURGE = 2      # the prediction service's MaximumPercent (200): old and new tasks run together


@dataclass
class Report:
    stack: str
    account: str
    region: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def to_json(self) -> str:
        return json.dumps({"stack": self.stack, "account": self.account, "region": self.region,
                           "ok": not self.failed, "checks": [asdict(c) for c in self.checks]}, indent=2)

    def show(self, output: str = "text") -> None:
        if output == "json":
            print(self.to_json())
            return
        marks = {PASS: ui.Styled("pass", "green"), WARN: ui.Styled("warn", "yellow"),
                 FAIL: ui.Styled("fail", "bold red"), SKIP: ui.Styled("skip", "dim")}
        rows = [[c.name, marks[c.status], c.detail, c.fix] for c in self.checks]
        ui.table(["Check", "Status", "Detail", "Fix"], rows,
                 title=f"preflight for {self.stack}: account {self.account}, region {self.region}")


@dataclass
class Context:
    """What the checks read: the target, the deployed stack (if any), and which parameters change."""

    target: Target
    stack: dict | None = None
    prediction: object | None = None           # planner.StackPlan, once the deploy has one
    changed: set[str] | None = None            # parameters whose value changes; None: a first deploy or the verb
    image_tag: str | None = None
    offline: bool = False

    @property
    def settings(self):
        return self.target.settings

    @property
    def region(self) -> str:
        return self.target.aws.region

    @property
    def values(self) -> dict[str, str]:
        return {**self.target.parameters(), "TemplatesBucket": "templates", "TemplatesPrefix": "p/"}

    def touches(self, *parameters: str) -> bool:
        return self.changed is None or bool(self.changed & set(parameters))


# ---------------------------------------------------------------------------
# offline
# ---------------------------------------------------------------------------

def settings_check(ctx: Context) -> list[Check]:
    s = ctx.settings
    endpoint = "no load balancer" if s.load_balancer == "none" else \
        f"{s.load_balancer} load balancer over {s.az_count} zones" + (", HTTPS" if s.certificate_arn else "")
    return [Check("settings", PASS, f"valid ({endpoint}); combinations AWS refuses are refused when they load")]


def names_check(ctx: Context) -> list[Check]:
    names = regional.explicit_names(ctx.target.documents, ctx.values, ctx.region, _account(ctx))
    long = [n for n in names if not n.fits]
    if long:
        first = long[0]
        return [Check("names", FAIL, f"{first.where} name {first.value!r} is {len(first.value)} characters in "
                      f"{ctx.region}, over the {first.limit} {first.type} allows" +
                      (f" (and {len(long) - 1} more)" if len(long) > 1 else ""),
                      "shorten project_name or environment")]
    longest = max(names, key=lambda n: len(n.value) / (n.limit or 1_000_000))
    return [Check("names", PASS, f"{len(names)} names fit in {ctx.region}; closest to its limit: {longest.where} "
                  f"({len(longest.value)} of {longest.limit})")]


def mappings_check(ctx: Context) -> list[Check]:
    failures = regional.unmapped(ctx.target.documents, ctx.values, ctx.region, _account(ctx))
    if failures:
        return [Check("mappings", FAIL, failures[0] + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""),
                      "add the region to the template's map, or a condition that keeps the resource out")]
    return [Check("mappings", PASS, f"every map the templates read covers {ctx.region}")]


# ---------------------------------------------------------------------------
# live
# ---------------------------------------------------------------------------

def zones_check(ctx: Context) -> list[Check]:
    if not ctx.touches("AzCount") or ctx.settings.existing_vpc_id:
        return []   # an existing VPC's zones are its subnets' (existing_vpc_check)
    zones = sorted((z for z in ctx.target.aws.client("ec2").describe_availability_zones()["AvailabilityZones"]
                    if z.get("State", "available") == "available"
                    and z.get("ZoneType", "availability-zone") == "availability-zone"),
                   key=lambda z: z["ZoneName"])
    wanted = ctx.settings.az_count
    if len(zones) < wanted:
        return [Check("zones", FAIL, f"{ctx.region} has {len(zones)} availability zones; az_count is {wanted}",
                      f"set az_count: {len(zones)}")]
    chosen = zones[:wanted]   # Fn::GetAZs lists them by name; the network takes the first az_count
    offered = FARGATE_ZONE_IDS.get(ctx.region)
    without = [z for z in chosen if offered is not None and z.get("ZoneId") not in offered]
    if without:
        shown = ", ".join(f"{z['ZoneName']} ({z.get('ZoneId')})" for z in without)
        return [Check("zones", FAIL, f"{shown} does not offer Fargate in {ctx.region} (Fargate: "
                      f"{', '.join(sorted(offered))})", "lower az_count, or deploy to another region")]
    shown = ", ".join(f"{z['ZoneName']} ({z.get('ZoneId', '?')})" for z in chosen)
    return [Check("zones", PASS, f"{wanted} of {len(zones)} zones, all offering Fargate: {shown}")]


def _find_role(aws, name):
    return _exists(lambda: aws.client("iam").get_role(RoleName=name), name, ("NoSuchEntity",))


def _find_cluster(aws, name):
    clusters = aws.client("ecs").describe_clusters(clusters=[name]).get("clusters", [])
    return name if any(c.get("status") == "ACTIVE" for c in clusters) else None


def _find_topic(aws, name):
    arn = f"arn:aws:sns:{aws.region}:{aws.account_id()}:{name}"
    return _exists(lambda: aws.client("sns").get_topic_attributes(TopicArn=arn), arn, ("NotFound",))


def _find_state_machine(aws, name):
    arn = f"arn:aws:states:{aws.region}:{aws.account_id()}:stateMachine:{name}"
    return _exists(lambda: aws.client("stepfunctions").describe_state_machine(stateMachineArn=arn), arn,
                   ("StateMachineDoesNotExist",))


def _existing_alarms(aws, names: list[str]) -> set[str]:
    """Which of these alarms exist: DescribeAlarms takes up to 100 names a request."""
    found = set()
    for start in range(0, len(names), 100):
        page = aws.client("cloudwatch").describe_alarms(AlarmNames=names[start:start + 100], MaxRecords=100)
        found.update(alarm["AlarmName"] for alarm in page.get("MetricAlarms", []))
    return found


def _find_dashboard(aws, name):
    return _exists(lambda: aws.client("cloudwatch").get_dashboard(DashboardName=name), name,
                   ("ResourceNotFound", "ResourceNotFoundException"))


def _exists(call: Callable, physical_id: str, missing: tuple[str, ...]) -> str | None:
    try:
        call()
    except Exception as exc:
        if error_code(exc) in missing:
            return None
        raise
    return physical_id


ALARM = "AWS::CloudWatch::Alarm"
# Named resources CloudFormation would refuse to create ("already exists"), beyond the retained kinds.
NAMED = {
    "AWS::IAM::Role": ("IAM role", _find_role, "aws iam delete-role --role-name {name}"),
    "AWS::ECS::Cluster": ("ECS cluster", _find_cluster, "aws ecs delete-cluster --cluster {name}"),
    "AWS::SNS::Topic": ("SNS topic", _find_topic, "aws sns delete-topic --topic-arn {id}"),
    "AWS::StepFunctions::StateMachine": ("state machine", _find_state_machine,
                                         "aws stepfunctions delete-state-machine --state-machine-arn {id}"),
    ALARM: ("alarm", None, "aws cloudwatch delete-alarms --alarm-names {name}"),   # looked up together
    "AWS::CloudWatch::Dashboard": ("dashboard", _find_dashboard,
                                   "aws cloudwatch delete-dashboards --dashboard-names {name}"),
}


def existing_check(ctx: Context) -> list[Check]:
    """Named resources in the way: ours pass; another stack's fail; unowned ones are adopted if retained."""
    from .. import providers

    names = regional.explicit_names(ctx.target.documents, ctx.values, ctx.region, _account(ctx))
    added = _added(ctx)
    if added is not None:
        names = [n for n in names if tuple(n.where.split("/")) in added]
    checks, cfn, ours, aws = [], ctx.target.cfn, ctx.target.name, ctx.target.aws
    alarms = _existing_alarms(aws, sorted({n.value for n in names if n.type == ALARM}))
    for name in names:
        if name.type not in KINDS and name.type not in NAMED:
            continue
        physical_id = _existing_id(aws, name, alarms)
        if physical_id is None:
            continue
        if name.type in KINDS:
            label, fix = KINDS[name.type].label, None
        else:
            label, _, fix = NAMED[name.type]
        holder = owner(cfn, physical_id)
        if holder and (holder == ours or holder.startswith(f"{ours}-")):
            continue
        if holder:
            checks.append(Check("existing", FAIL, f"{label} {name.value} belongs to stack {holder}",
                                "delete it there, or choose another project_name or environment"))
        elif fix is None and providers.get(name.type).importable_by_name:
            checks.append(Check("existing", WARN, f"{label} {name.value} exists and no stack holds it (retained by an earlier deploy, or being migrated)",
                                f"nothing: '{command(ctx, 'deploy')}' adopts it (import) with its data"))
        elif fix is None:
            checks.append(Check("existing", WARN, f"{label} {name.value} exists and no stack holds it (retained by an earlier deploy, or being migrated)",
                                "nothing: the deploy uses it by ARN"))
        elif name_scopes.account_wide(name.type):
            # Found account-wide, looked up in this region only: a stack in another region may hold it.
            checks.append(Check("existing", FAIL, f"{label} {name.value} exists and no stack in {ctx.region} holds "
                                f"it; {label} names are account-wide, so a stack in another region may",
                                "if no stack in any region holds it: " + fix.format(name=name.value, id=physical_id) +
                                "; else choose another project_name or environment"))
        else:
            checks.append(Check("existing", FAIL, f"{label} {name.value} exists and belongs to no stack",
                                fix.format(name=name.value, id=physical_id) +
                                ", or choose another project_name or environment"))
    return checks or [Check("existing", PASS, f"none of the {len(names)} names is taken")]


def _existing_id(aws, name, alarms: set[str]) -> str | None:
    """The ID of what holds this name in the account, or None: one lookup (shared with adoption); the
    alarms were looked up together."""
    if name.type in KINDS:
        found = lookup(aws, name.type, name.value)
        return found.physical_id if found else None
    if name.type == ALARM:
        return name.value if name.value in alarms else None
    return NAMED[name.type][1](aws, name.value)


def _added(ctx: Context) -> set[tuple[str, str]] | None:
    """(stack, LogicalId) the change adds, when a prediction says; None: judge every name."""
    if ctx.prediction is None:
        return None
    return {(path[-1].removesuffix("Stack").lower(), change.logical_id)
            for path, change in ctx.prediction.walk() if path and change.action == "Add"}


def quotas_check(ctx: Context) -> list[Check]:
    if not ctx.touches("AzCount", "NatGateways", "PredictionMaxCapacity", "PredictCpu", "OptimizeCpu", "TrainCpu",
                       "UseFargateSpot"):
        return []
    try:
        return _quotas(ctx)
    except Exception as exc:
        if not error_code(exc):
            raise
        return [Check("quotas", WARN, f"Service Quotas could not be read ({error_code(exc)}: {error_message(exc)})",
                      "grant servicequotas:ListServiceQuotas to check VPC, Elastic IP, NAT and Fargate quotas")]


def _quotas(ctx: Context) -> list[Check]:
    s, aws, first = ctx.settings, ctx.target.aws, ctx.stack is None
    ec2 = aws.client("ec2")
    checks = []
    nat_wanted = {"per_az": s.az_count, "single": 1}.get(s.nat_gateways, 0)

    def judge(quota, what: str, need: float, used: int | None, fix: str) -> None:
        """`used` None: the account's use is not known here (running Fargate tasks), so `need` alone."""
        limit = quota_value(aws, *quota)
        taken = f"{used} in use + " if used is not None else ""
        if limit is None:
            checks.append(Check("quotas", WARN, f"{quota[1]}: no quota found", ""))
        elif (used or 0) + need > limit:
            checks.append(Check("quotas", FAIL, f"{what}: {taken}{need:g} needed > quota {limit:g}",
                                f"request an increase of '{quota[1]}' in Service Quotas, or {fix}"))
        else:
            checks.append(Check("quotas", PASS, f"{what}: {taken}{need:g} needed, quota {limit:g}"))

    judge(VPCS, "VPCs", 1 if first and not s.existing_vpc_id else 0, len(ec2.describe_vpcs()["Vpcs"]),
          "delete an unused VPC")
    if nat_wanted:
        judge(ELASTIC_IPS, "Elastic IPs", nat_wanted if first else 0, len(ec2.describe_addresses()["Addresses"]),
              "use nat_gateways: single")
        per_zone: dict[str, int] = {}
        subnets = {}
        for gateway in ec2.describe_nat_gateways()["NatGateways"]:
            if gateway.get("State") in ("pending", "available"):
                subnets.setdefault(gateway["SubnetId"], 0)
                subnets[gateway["SubnetId"]] += 1
        if subnets:
            for subnet in ec2.describe_subnets(SubnetIds=list(subnets))["Subnets"]:
                zone = subnet["AvailabilityZone"]
                per_zone[zone] = per_zone.get(zone, 0) + subnets[subnet["SubnetId"]]
        judge(NAT_PER_ZONE, "NAT gateways in the busiest zone", 1 if first else 0, max(per_zone.values(), default=0),
              "use nat_gateways: single")
    vcpus = (s.prediction_max_capacity * s.cpu("predict") * DEPLOYMENT_SURGE * s.enable_prediction_service
             + s.cpu("optimize") + s.cpu("train")) / 1024
    judge(FARGATE_SPOT if s.use_fargate_spot else FARGATE_ON_DEMAND,
          "Fargate vCPUs at the most (prediction_max_capacity tasks twice over during a deployment, plus optimize "
          "and train)", vcpus, None, "lower prediction_max_capacity or the task CPU")
    return checks


def quota_value(aws, service: str, name: str) -> float | None:
    """The applied quota by name, else AWS's default."""
    quotas = aws.client("service-quotas")
    for operation in ("list_service_quotas", "list_aws_default_service_quotas"):
        for page in quotas.get_paginator(operation).paginate(ServiceCode=service):
            for quota in page.get("Quotas", []):
                if quota.get("QuotaName") == name:
                    return float(quota["Value"])
    return None


def certificate_check(ctx: Context) -> list[Check]:
    arn = ctx.settings.certificate_arn
    if not arn or not ctx.touches("CertificateArn"):
        return []
    failed, found = _regional_resource(
        ctx, "certificate", "certificate_arn", arn, "ResourceNotFoundException", "check certificate_arn",
        f"request or import the certificate in {ctx.region}",
        lambda: ctx.target.aws.client("acm").describe_certificate(CertificateArn=arn)["Certificate"])
    if failed:
        return failed
    domain, status = found.get("DomainName", "?"), found.get("Status", "?")
    if status != "ISSUED":
        return [Check("certificate", FAIL, f"certificate for {domain} is {status}",
                      "finish its validation (DNS or email) until ACM shows ISSUED")]
    return [Check("certificate", PASS, f"{domain}: ISSUED in {ctx.region}")]


def kms_key_check(ctx: Context) -> list[Check]:
    key = ctx.settings.kms_key
    if key in ("", "create") or not ctx.touches("KmsKey"):
        return []
    failed, found = _regional_resource(
        ctx, "kms-key", "kms_key", key, "NotFoundException", "check kms_key, or use kms_key: create",
        f"use a key in {ctx.region}, or kms_key: create",
        lambda: ctx.target.aws.client("kms").describe_key(KeyId=key)["KeyMetadata"])
    if failed:
        return failed
    if found.get("KeyState", "Enabled") != "Enabled":
        return [Check("kms-key", FAIL, f"key {found['KeyId']} is {found.get('KeyState')}",
                      "enable the key, or cancel its deletion")]
    return [Check("kms-key", PASS, f"key {found['KeyId']} is enabled")]


def _regional_resource(ctx: Context, name: str, setting: str, arn: str, missing: str, fix_missing: str,
                       fix_region: str, describe: Callable[[], dict]) -> tuple[list[Check], dict]:
    """A resource a setting names by ARN: in the stack's region, and there.  (failures, description)."""
    region = arn.split(":")[3]
    if region != ctx.region:
        return [Check(name, FAIL, f"{setting} is in {region}, the stack in {ctx.region}", fix_region)], {}
    try:
        return [], describe()
    except Exception as exc:
        if error_code(exc) != missing:
            raise
        return [Check(name, FAIL, f"{arn} does not exist", fix_missing)], {}


def boundary_check(ctx: Context) -> list[Check]:
    """The boundary policy exists; the environment's CI deploy role, which may create roles only with the
    environment's boundary on them, deploys only with permissions_boundary: project."""
    s, aws, name = ctx.settings, ctx.target.aws, "permissions-boundary"
    if not ctx.touches("PermissionsBoundary"):
        return []
    if s.permissions_boundary != PROJECT_BOUNDARY and aws.caller_role() == f"{s.prefix}-ci-deploy":
        return [Check(name, FAIL, f"{s.prefix}-ci-deploy creates roles only with {s.prefix}-boundary on them",
                      f"set permissions_boundary: {PROJECT_BOUNDARY}")]
    arn = s.permissions_boundary
    if arn == PROJECT_BOUNDARY:
        arn = f"arn:{aws.partition()}:iam::{aws.account_id()}:policy/{s.prefix}-boundary"
    if not arn:
        return []
    try:
        aws.client("iam").get_policy(PolicyArn=arn)
    except Exception as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        fix = f"deploy 'automl-cfn deploy-role --env {s.environment} --format template' in this account first" \
            if s.permissions_boundary == PROJECT_BOUNDARY else "create it first, or check permissions_boundary"
        return [Check(name, FAIL, f"policy {arn} does not exist", fix)]
    return [Check(name, PASS, f"{arn.split('/')[-1]} exists")]


def images_check(ctx: Context) -> list[Check]:
    tag = ctx.settings.image_tag if ctx.image_tag is None else ctx.image_tag
    if not tag or not ctx.touches("ImageTag"):
        return [] if tag else [Check("images", SKIP, "no image_tag yet: services start once one is pushed")]
    missing = missing_images(ctx.target.aws.client("ecr"), [ctx.settings.repository_name(s) for s in SERVICES], tag)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        return [Check("images", FAIL, f"image tag {tag!r} is not in ECR repository {missing[0]}{more}",
                      f"push it with '{command(ctx, 'build', f'--tag {tag} --push')}', or pass --skip-image-check")]
    return [Check("images", PASS, f"{tag!r} is in every repository a task runs from")]


def missing_images(ecr, names: list[str], tag: str) -> list[str]:
    """The repositories of these names that do not hold `tag`."""
    missing = []
    for name in names:
        try:
            ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])
        except Exception as exc:
            if error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
                missing.append(name)
                continue
            raise
    return missing


PRODUCTION_RULE = ("EndpointStack", "ProductionListenerRule")


def traffic_check(ctx: Context) -> list[Check]:
    """ECS moves the production rule's weights during blue/green, canary and linear deployments and leaves
    them on green.  A template update of the rule writes blue 1 / green 0 back, sending traffic to a group
    whose tasks ECS has drained: refuse it while traffic is off blue."""
    if ctx.prediction is None or ctx.stack is None:
        return []
    touched = [c for path, c in ctx.prediction.walk() if (path[-1:] + (c.logical_id,)) == PRODUCTION_RULE
               and c.action in ("Modify", "Remove")]
    if not touched:
        return []
    cfn = ctx.target.cfn
    endpoint = _physical_id(cfn, ctx.target.name, PRODUCTION_RULE[0])
    rule_arn = endpoint and _physical_id(cfn, endpoint, PRODUCTION_RULE[1])
    if not rule_arn:
        return []
    blue = _physical_id(cfn, endpoint, "BlueTargetGroup")
    rules = ctx.target.aws.client("elbv2").describe_rules(RuleArns=[rule_arn])["Rules"]
    weights = {}
    for action in rules[0].get("Actions", []) if rules else []:
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups", []):
            weights[group["TargetGroupArn"]] = group.get("Weight", 1)
    if weights and weights.get(blue, 0) == 0:
        shown = ", ".join(f"{arn.split('/')[-2]} {weight}" for arn, weight in weights.items())
        return [Check("traffic", FAIL, f"ECS has moved production traffic off the blue target group ({shown}); "
                      "this change rewrites the production listener rule to blue",
                      f"release once more ('{command(ctx, 'release', '--tag TAG')}') so ECS moves traffic back to "
                      "blue, then deploy this change")]
    return [Check("traffic", PASS, "the production listener rule changes while traffic is on blue, as the template "
                  "says")]


def _physical_id(cfn, stack: str, logical_id: str) -> str | None:
    try:
        return cfn.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)[
            "StackResourceDetail"].get("PhysicalResourceId")
    except Exception as exc:
        if error_code(exc) != "ValidationError":
            raise
        return None


OFFLINE = (settings_check, names_check, mappings_check)
LIVE = (zones_check, existing_vpc_check, quotas_check, certificate_check, kms_key_check, boundary_check, images_check)
AFTER_PREDICTION = (existing_check, traffic_check)


def run(ctx: Context, checks) -> list[Check]:
    results = []
    for check in checks:
        results += check(ctx)
    return results


def report(ctx: Context) -> Report:
    """Every check (the verb): offline ones, and live ones unless ctx.offline."""
    checks = run(ctx, OFFLINE)
    if not ctx.offline:
        checks += run(ctx, LIVE + AFTER_PREDICTION)
    return Report(ctx.target.name, "offline" if ctx.offline else _account(ctx), ctx.region, checks)


def enforce(checks: list[Check]) -> None:
    """In a deploy: warnings are shown, the first failure stops it before any change set."""
    for check in checks:
        if check.status == WARN:
            ui.info(f"preflight {check.name}: {check.detail}" + (f"; {check.fix}" if check.fix else ""))
    failed = [c for c in checks if c.status == FAIL]
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more: run 'automl-cfn preflight')" if len(failed) > 1 else ""
        # One line, whatever AWS's data in the detail holds (control characters become spaces).
        raise RefusedError(ui.printable(f"preflight {first.name}: {first.detail}; fix: {first.fix}{more}"))


def changed_parameters(stack: dict | None, values: dict[str, str]) -> set[str] | None:
    if stack is None:
        return None
    deployed = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    return {k for k, v in values.items() if deployed.get(k) != v}


def command(ctx: Context, verb: str, rest: str = "") -> str:
    return " ".join(part for part in ("automl-cfn", verb, ctx.target.env_flag, rest) if part)


def _account(ctx: Context) -> str:
    if ctx.stack and ctx.stack.get("StackId", "").startswith("arn:"):
        return ctx.stack["StackId"].split(":")[4]
    return "123456789012" if ctx.offline else ctx.target.account

