"""Typed, validated settings: one object per environment, checked once at the edge.

A settings file is the Terraform deployment's terraform.tfvars with the same
variable names (config/<env>.yaml).  `--var name=value` overrides a value the
way `terraform -var` does.  Every failure raises SettingsError with one line
naming the setting, the bad value and what is allowed; nothing below this
module re-validates.
"""

from __future__ import annotations

import os
import ipaddress
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

from .errors import UserError
from .model import LOG_SOURCES, REPOSITORIES, SERVICES


class Pattern:
    """A regular expression compiled on first use (re caches it then): a settings file sets few of the
    values these check, and compiling them all up front costs a millisecond of every run."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def fullmatch(self, text: str):
        return re.fullmatch(self.pattern, text)


class SettingsError(UserError, ValueError):
    """A user mistake in a settings file or override: one line, exit code 2."""


# Fargate's task size table: the memory (MiB) each CPU value (units) accepts.
FARGATE_MEMORY_BY_CPU: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
FARGATE_MEMORY_VALUES = tuple(sorted({m for ms in FARGATE_MEMORY_BY_CPU.values() for m in ms}))

# The retention periods CloudWatch Logs accepts (never-expire is not offered:
# every log group here has a retention).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

NAT_GATEWAY_MODES = ("per_az", "single", "none")
AZ_COUNTS = (1, 2, 3)

# Names end up in bucket, role, repository, cluster and load balancer names:
# lowercase, and short enough for the longest name built from them.
PROJECT_NAME_RE = Pattern(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PROJECT_NAME_MAX = 16
ENVIRONMENT_RE = Pattern(r"^[a-z][a-z0-9]*$")
ENVIRONMENT_MAX = 8
REGION_RE = Pattern(r"^[a-z]{2,4}(-[a-z]+){1,3}-[0-9]$")   # us-east-1, us-gov-west-1, eusc-de-east-1
EMAIL_RE = Pattern(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
KMS_KEY_ARN_RE = Pattern(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$")
PROJECT_BOUNDARY = "project"   # permissions_boundary: `<project>-<env>-boundary`, created by `automl-cfn deploy-role`
POLICY_ARN_RE = Pattern(r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$")
SECRET_ARN_RE = Pattern(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$")
# Numeric or named, optional group, never root (user or UID 0).
CONTAINER_USER_RE = Pattern(r"^(?!(0|root)(:|$))([0-9]{1,10}|[a-z_][a-z0-9_-]{0,31})(:([0-9]{1,10}|[a-z_][a-z0-9_-]{0,31}))?$")
CERTIFICATE_ARN_RE = Pattern(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
HEALTH_PATH_RE = Pattern(r"^/[A-Za-z0-9/_.~-]{0,1023}$")
IMAGE_TAG_RE = Pattern(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
ORGANIZATION_ID_RE = Pattern(r"o-[a-z0-9]{10,32}")
ENV_NAME_RE = Pattern(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")

# The longest names built from `<project_name>-<environment>` and the region, as
# (what, characters besides that prefix and the region, the limit AWS sets).
# tests/unit/test_names.py builds every explicit name in the templates for every
# region and fails unless these accept exactly the prefixes whose names all fit.
# Every optional feature on, over config/dev.yaml: what `make scan`, the region and name tests
# and the lifecycle tests judge besides the environments in config/.
FULL_FEATURED: dict[str, Any] = {
    "az_count": 3, "nat_gateways": "per_az", "enable_flow_logs": True, "private_endpoints": True,
    "load_balancer": "public", "certificate_arn":
        "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
    "deployment_strategy": "blue_green", "enable_lb_access_logs": True, "enable_access_logging": True,
    "kms_key": "create", "api_key_secret": "create", "enable_stepfunctions": True,
    "permissions_boundary": "arn:aws:iam::123456789012:policy/automl-boundary", "termination_protection": True,
    "image_tag_immutable": True, "pipeline_schedule": "cron(0 3 ? * MON *)", "retrain_on_new_data": True,
    "model_quality_metric": "validation_accuracy", "model_quality_min": 0.8,
}

LONGEST_NAMES = (
    ("the access-log bucket", len("-access-logs-") + len("123456789012") + len("-"), 63),
    ("the ECS infrastructure role", len("-ecs-infrastructure-role-"), 64),
)

# Subnets are carved from the VPC as eight equal slots (public 1-3, private
# 1-3, two spare) so that changing az_count never renumbers a subnet.
SUBNET_SLOTS_BITS = 3
VPC_PREFIX_RANGE = (16, 28)       # what EC2 accepts for a VPC
SUBNET_PREFIX_MAX = 28            # what EC2 accepts for a subnet


class ImageBuild(NamedTuple):
    repository: str
    context: str
    dockerfile: str
    build_args: dict
    platform: str


# Relative paths are relative to the project directory.
# The example images: one Dockerfile, the step chosen by the STEP build argument.
IMAGE_DEFAULTS = {"context": ".", "dockerfile": "docker/Dockerfile", "build_args": {"STEP": "{repository}"},
                  "platform": "linux/amd64"}
IMAGE_KEYS = {"context": str, "dockerfile": str, "build_args": dict, "platform": str}


def setting(default: Any, kind: type, group: str, doc: str, **rules: Any) -> Any:
    """A settings field: its type, README group and description travel with it."""
    return field(default=default, metadata={"kind": kind, "group": group, "doc": doc, **rules})


@dataclass(frozen=True, init=False, repr=False, eq=False)   # __init__, __eq__, __repr__, __hash__ below
class Settings:
    # -- naming ------------------------------------------------------------
    project_name: str = setting("automl", str, "Naming", "Prefix of every resource name")
    environment: str = setting("", str, "Naming", "Environment name (dev, prod, ...); defaults to --env")
    aws_region: str = setting("us-east-1", str, "Naming", "Region the stacks deploy to")
    # -- network -----------------------------------------------------------
    vpc_cidr: str = setting("10.0.0.0/16", str, "Network", "VPC address range, /16 to /25")
    az_count: int = setting(2, int, "Network", "Availability zones to span (1-3)", choices=AZ_COUNTS)
    nat_gateways: str = setting(
        "per_az", str, "Network",
        "NAT gateways: per_az (HA), single (one shared), none (tasks get public IPs)",
        choices=NAT_GATEWAY_MODES,
    )
    enable_flow_logs: bool = setting(False, bool, "Network", "VPC flow logs to CloudWatch Logs")
    private_endpoints: bool = setting(
        False, bool, "Network", "VPC interface endpoints for every AWS API the tasks call; with nat_gateways: none "
        "the tasks run in private subnets with no route to the internet")
    existing_vpc_id: str = setting("", str, "Network", "Deploy into this VPC (vpc-...) instead of creating one")
    existing_private_subnet_ids: str = setting(
        "", str, "Network", "With existing_vpc_id: the private subnets the tasks run in, one per AZ, comma-separated")
    existing_public_subnet_ids: str = setting(
        "", str, "Network", "With existing_vpc_id and a public load balancer: its public subnets, one per AZ")
    flow_log_retention_days: int = setting(90, int, "Network", "Days VPC flow logs are kept (a value CloudWatch accepts)",
                                           choices=LOG_RETENTION_DAYS)
    # -- task sizes --------------------------------------------------------
    optimize_cpu: int = setting(4096, int, "Tasks", "Optimize task CPU units", choices=tuple(FARGATE_MEMORY_BY_CPU))
    optimize_memory: int = setting(8192, int, "Tasks", "Optimize task memory (MiB)", choices=FARGATE_MEMORY_VALUES)
    train_cpu: int = setting(2048, int, "Tasks", "Train task CPU units", choices=tuple(FARGATE_MEMORY_BY_CPU))
    train_memory: int = setting(4096, int, "Tasks", "Train task memory (MiB)", choices=FARGATE_MEMORY_VALUES)
    predict_cpu: int = setting(1024, int, "Tasks", "Predict task CPU units", choices=tuple(FARGATE_MEMORY_BY_CPU))
    predict_memory: int = setting(2048, int, "Tasks", "Predict task memory (MiB)", choices=FARGATE_MEMORY_VALUES)
    use_fargate_spot: bool = setting(False, bool, "Tasks", "Run on FARGATE_SPOT by default (60-70% cheaper)")
    image_tag: str = setting("", str, "Tasks", "Image tag the task definitions run; empty until images are pushed")
    # -- prediction service ------------------------------------------------
    enable_prediction_service: bool = setting(True, bool, "Prediction service", "Run predict as a long-lived ECS service")
    prediction_service_count: int = setting(2, int, "Prediction service", "Desired tasks of the service", min=0, max=1000)
    prediction_min_capacity: int = setting(1, int, "Prediction service", "Autoscaling minimum tasks", min=0, max=1000)
    prediction_max_capacity: int = setting(4, int, "Prediction service", "Autoscaling maximum tasks", min=1, max=1000)
    prediction_cpu_target: int = setting(70, int, "Prediction service", "Target CPU % for autoscaling", min=10, max=95)
    # -- prediction endpoint -----------------------------------------------
    load_balancer: str = setting("none", str, "Prediction endpoint",
                                 "Application Load Balancer in front of predict: none, internal, public",
                                 choices=("none", "internal", "public"))
    predict_container_port: int = setting(8080, int, "Prediction endpoint", "Port the predict container listens on",
                                          min=1, max=65535)
    health_check_path: str = setting("/health", str, "Prediction endpoint", "HTTP path the load balancer checks")
    certificate_arn: str = setting("", str, "Prediction endpoint",
                                   "ACM certificate: HTTPS listener and HTTP redirect (empty: HTTP only)")
    allow_cleartext_api_key: bool = setting(
        False, bool, "Prediction endpoint",
        "Accept an API key crossing an internal load balancer over plain HTTP (no certificate_arn), where "
        "anyone who sees the VPC's traffic can read it")
    deployment_strategy: str = setting("rolling", str, "Prediction endpoint",
                                       "How new images reach the service: rolling, blue_green, canary, linear",
                                       choices=("rolling", "blue_green", "canary", "linear"))
    deployment_bake_minutes: int = setting(5, int, "Prediction endpoint",
                                           "Minutes a blue/green, canary or linear step bakes before going on",
                                           min=0, max=1440)
    canary_percent: int = setting(10, int, "Prediction endpoint", "Traffic share of the canary", min=1, max=99)
    linear_step_percent: int = setting(20, int, "Prediction endpoint", "Traffic added per linear step",
                                       min=3, max=100)
    enable_lb_access_logs: bool = setting(False, bool, "Prediction endpoint",
                                          "Load balancer access logs to a bucket of their own")
    prediction_requests_per_target: int = setting(
        1000, int, "Prediction endpoint", "Requests per task a minute that autoscaling aims for (with a load balancer)",
        min=1, max=1_000_000)
    # -- storage -----------------------------------------------------------
    predictions_archive_days: int = setting(90, int, "Storage", "Days before predictions/ moves to Glacier", min=1, max=3650)
    noncurrent_version_days: int = setting(30, int, "Storage", "Days old object versions are kept", min=1, max=3650)
    data_intelligent_tiering: bool = setting(False, bool, "Storage", "Move data/ to S3 Intelligent-Tiering")
    # -- registry ----------------------------------------------------------
    image_tag_immutable: bool = setting(True, bool, "Registry", "ECR tags cannot be overwritten")
    ecr_keep_images: int = setting(20, int, "Registry", "Tagged images each repository keeps", min=1, max=1000)
    # -- monitoring --------------------------------------------------------
    log_retention_days: int = setting(30, int, "Monitoring", "CloudWatch Logs retention", choices=LOG_RETENTION_DAYS)
    alarm_email: str = setting("", str, "Monitoring", "Email subscribed to alarms (optional)")
    alarm_cpu_threshold: int = setting(80, int, "Monitoring", "CPU % that raises an alarm", min=1, max=100)
    alarm_memory_threshold: int = setting(80, int, "Monitoring", "Memory % that raises an alarm", min=1, max=100)
    # -- security ----------------------------------------------------------
    kms_key: str = setting("", str, "Security",
                           "Customer-managed KMS key: empty (AWS-managed keys), create, or a key ARN")
    permissions_boundary: str = setting("", str, "Security",
                                        "Every role's permissions boundary: empty (none), project (the policy "
                                        "`automl-cfn deploy-role` creates; what its CI role requires), or a policy ARN")
    api_key_secret: str = setting("", str, "Security",
                                  "Secrets Manager secret injected into predict as API_KEY: empty, create, or an ARN")
    enable_access_logging: bool = setting(False, bool, "Security", "S3 server access logs to a separate bucket")
    container_user: str = setting("1000:1000", str, "Security",
                                  "User the containers run as (UID[:GID] or name; never root)")
    # -- pipeline ----------------------------------------------------------
    enable_stepfunctions: bool = setting(False, bool, "Pipeline", "Step Functions pipeline optimize -> train -> predict")
    pipeline_schedule: str = setting("", str, "Pipeline",
                                     "EventBridge Scheduler expression that starts the pipeline: empty (none), "
                                     "rate(...) or cron(...)")
    pipeline_schedule_timezone: str = setting("UTC", str, "Pipeline", "IANA time zone pipeline_schedule is read in")
    retrain_on_new_data: bool = setting(False, bool, "Pipeline",
                                        "Start the pipeline when objects land under data/ (one run per burst)")
    retrain_quiet_minutes: int = setting(5, int, "Pipeline",
                                         "Minutes uploads are collected into one start (EventBridge Pipes batching "
                                         "window, at most 5)", min=1, max=5)
    model_quality_metric: str = setting("", str, "Pipeline",
                                        "Metric train publishes to the environment's namespace; empty: no quality gate")
    model_quality_min: float = setting(0.0, float, "Pipeline",
                                       "Lowest model_quality_metric that reaches predict and keeps a release",
                                       min=-1_000_000_000, max=1_000_000_000)
    # -- deploy ------------------------------------------------------------
    termination_protection: bool = setting(False, bool, "Deploy",
                                           "Stack termination protection, and deletion protection on the load balancer")
    express_deploys: bool = setting(False, bool, "Deploy", "Deploy in CloudFormation's EXPRESS mode by default")
    rollback_monitoring_minutes: int = setting(0, int, "Deploy",
                                               "Minutes CloudFormation watches the release alarms after a deploy "
                                               "before it counts as done (a firing alarm rolls the deploy back)",
                                               min=0, max=180)
    # -- cost assumptions (automl-cfn cost) --------------------------------
    expected_task_hours: int = setting(10, int, "Cost", "Hours a month each one-off task (optimize, train, predict) runs",
                                       min=0, max=744)
    expected_storage_gb: int = setting(100, int, "Cost", "GB kept in the data bucket", min=0, max=10_000_000)
    expected_log_gb: int = setting(10, int, "Cost", "GB of container and pipeline logs ingested a month",
                                   min=0, max=1_000_000)
    expected_flow_log_gb: int = setting(5, int, "Cost", "GB of VPC flow logs a month (when enabled)",
                                        min=0, max=1_000_000)
    expected_image_gb: int = setting(10, int, "Cost", "GB of images kept in ECR", min=0, max=100_000)
    nat_data_gb: int = setting(50, int, "Cost", "GB a month through the NAT gateways", min=0, max=10_000_000)
    expected_data_objects: int = setting(1000, int, "Cost",
                                         "Objects written under data/ a month (with retrain_on_new_data)",
                                         min=0, max=1_000_000_000)
    # -- images ------------------------------------------------------------
    images: dict = setting(None, dict, "Images",
                           "Per image: context, dockerfile, build_args, platform (see 'Images' in README.md)")

    # -- migration -------------------------------------------------------
    adopted_names: dict = setting(None, dict, "Migration",
                                  "Names kept from a Terraform deployment: data_bucket, repositories, log_groups "
                                  "(written by 'automl-cfn migrate apply'; see 'Migrating from the Terraform "
                                  "deployment' in README.md)")

    # -- accounts ----------------------------------------------------------
    organization_id: str = setting("", str, "Accounts",
                                   "AWS Organizations ID (o-...): the accounts of the organisation may read "
                                   "published releases and nested templates from the artifacts bucket (promotion "
                                   "to another account, StackSets); empty: this account only")
    config_home_region: str = setting("", str, "Accounts",
                                      "Region whose AWS Config baseline records the account's global IAM resources "
                                      "(users, groups, roles, policies); the baseline in every other Region leaves "
                                      "them out. Empty: aws_region")

    # Written out, not generated: dataclasses compiles a 68-parameter __init__ and a 68-field __eq__ on
    # every run (2 ms of the 0.1 s `templates` takes); over all fields a repr is a screenful, and a hash
    # fails on the dict fields.
    def __init__(self, **values: Any) -> None:
        unknown = values.keys() - SETTING_FIELDS.keys()
        if unknown:
            raise TypeError(f"Settings() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
        for name, spec in SETTING_FIELDS.items():
            object.__setattr__(self, name, values.get(name, spec.default))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __repr__(self) -> str:
        return f"Settings(project_name={self.project_name!r}, environment={self.environment!r}, " \
               f"aws_region={self.aws_region!r})"

    def __hash__(self) -> int:
        return hash((self.project_name, self.environment, self.aws_region))

    def image(self, repository: str) -> "ImageBuild":
        """How to build one repository's image (defaults filled in)."""
        given = (self.images or {}).get(repository, {})
        return ImageBuild(
            repository=repository,
            context=given.get("context", IMAGE_DEFAULTS["context"]),
            dockerfile=given.get("dockerfile", IMAGE_DEFAULTS["dockerfile"].format(repository=repository)),
            build_args=dict(given.get("build_args", {k: v.format(repository=repository)
                                                      for k, v in IMAGE_DEFAULTS["build_args"].items()})),
            platform=given.get("platform", IMAGE_DEFAULTS["platform"]),
        )

    # -- derived values (no validation below this line) -------------------
    @property
    def prefix(self) -> str:
        """`automl-dev`: the stem of every resource name and the root stack name."""
        return f"{self.project_name}-{self.environment}"

    @property
    def stack_name(self) -> str:
        return self.prefix

    @property
    def home_region(self) -> str:
        """Where the account baseline records the global IAM types: config_home_region, else aws_region."""
        return self.config_home_region or self.aws_region

    @property
    def subnet_cidr_bits(self) -> int:
        """Host bits of each subnet (Fn::Cidr's cidrBits)."""
        return 32 - (ipaddress.ip_network(self.vpc_cidr).prefixlen + SUBNET_SLOTS_BITS)

    def adopted_name(self, kind: str, key: str | None = None) -> str:
        """The name an adopted resource keeps from Terraform, or "" where automl-cfn names it."""
        given = (self.adopted_names or {}).get(kind)
        if key is None:
            return given or ""
        return (given or {}).get(key, "")

    def repository_name(self, repository: str) -> str:
        return self.adopted_name("repositories", repository) or f"{self.prefix}-{repository}"

    def cpu(self, service: str) -> int:
        return getattr(self, f"{service}_cpu")

    def memory(self, service: str) -> int:
        return getattr(self, f"{service}_memory")

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SETTING_FIELDS = {f.name: f for f in fields(Settings)}


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

def load_settings(
    env: str | None = None,
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    root: str | Path = ".",
) -> Settings:
    """Read config/<env>.yaml (or `config`), apply `--var` overrides, validate."""
    if env is not None and not ENV_NAME_RE.fullmatch(env):
        raise SettingsError(
            f"--env {_shown(env)}: not an environment name (letters, digits, '-' and '_', up to 32 characters)"
        )
    if config is None:
        if env is None:
            raise SettingsError("no environment given: pass --env NAME (reads config/NAME.yaml) or --config FILE")
        path = Path(root) / "config" / f"{env}.yaml"
        shown = f"config/{env}.yaml"
        parsed = Path(root) / ".cache" / "automl-cfn" / "settings"   # a project's own files: parses kept
    else:
        path = Path(config)
        shown = str(config)
        parsed = None
    values = read_settings_file(path, shown, parsed)
    source = {name: shown for name in values}
    for name, value in parse_overrides(overrides).items():
        values[name] = value
        source[name] = "--var"
    if env is not None:
        chosen = values.get("environment")
        if chosen in (None, ""):
            values["environment"] = env
            source["environment"] = "--env"
        elif chosen != env:
            raise SettingsError(
                f"environment: {_shown(chosen)} (from {source['environment']}) conflicts with --env {_shown(env)}; "
                "make them agree or drop one"
            )
    return validate(values)


SETTINGS_FILE_MAX = 1024 * 1024   # bytes; a settings file is a few hundred


def read_settings_file(path: Path, shown: str, parsed: Path | None = None) -> dict[str, Any]:
    """The file's settings, checked.  With `parsed` (a directory), the parse of these exact bytes is
    kept there as JSON, so an unchanged file costs no YAML parser import (about 8 ms of start-up)."""
    data = read_yaml_mapping(path, shown, "settings file", "a mapping of settings such as 'environment: dev'",
                             parsed)
    for key in data:
        if not isinstance(key, str):
            raise SettingsError(f"{shown}: setting name {_shown(key)} is a {_type_name(key)}, expected a name")
        _check_known(key, where=f"{shown}: ")
    return dict(data)


def read_yaml_mapping(path: Path, shown: str, what: str, expected: str, parsed: Path | None = None) -> dict:
    """A small YAML file whose top level is a mapping, read as hostile input: a regular file (a FIFO would
    block) of at most 1 MiB, UTF-8 text, no anchors or aliases, no duplicate keys.  `what` names the file in
    messages ("settings file"), `expected` says what its top level should be."""
    import stat

    try:
        kind = path.stat().st_mode   # stat, not open: opening a FIFO would wait for a writer
        if stat.S_ISDIR(kind):
            raise IsADirectoryError
        if not stat.S_ISREG(kind):
            raise SettingsError(f"{shown}: is not a regular file (a FIFO, device or socket); expected a YAML {what}")
        with path.open("rb") as handle:
            raw = handle.read(SETTINGS_FILE_MAX + 1)
    except FileNotFoundError:
        available = sorted(p.stem for p in path.parent.glob("*.yaml")) if path.parent.is_dir() else []
        hint = f" (available: {', '.join(available)})" if available and what == "settings file" else ""
        raise SettingsError(f"{shown}: {what} not found{hint}") from None
    except IsADirectoryError:
        raise SettingsError(f"{shown}: is a directory, expected a YAML {what}") from None
    except OSError as exc:
        raise SettingsError(f"{shown}: cannot read {what} ({exc.strerror})") from None
    if len(raw) > SETTINGS_FILE_MAX:
        raise SettingsError(f"{shown}: is larger than {SETTINGS_FILE_MAX // 1024} KiB; a {what} is a few "
                            "hundred bytes")
    if b"\0" in raw:
        raise SettingsError(f"{shown}: is a binary file, expected a YAML {what}")
    kept = _kept_parse(parsed, raw)
    data = kept if kept is not None else _parse(raw, shown, what)
    if kept is None:
        _keep_parse(parsed, raw, data)
    if data is None:
        raise SettingsError(f"{shown}: is empty, expected {expected}")
    if not isinstance(data, dict):
        raise SettingsError(f"{shown}: top level is a {_type_name(data)}, expected {expected}")
    return data


def _parse(raw: bytes, shown: str, what: str = "settings file") -> Any:
    import yaml  # only a changed settings file pays for the YAML parser

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{shown}: not UTF-8 text (byte {exc.start}), expected a YAML {what}") from None
    try:
        data = yaml.load(text, Loader=strict_loader())
    except RefusedYaml as exc:
        raise SettingsError(f"{shown}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start and mark and start.line != mark.line:
            problem += f" ({context} that starts at line {start.line + 1})"
        raise SettingsError(f"{shown}: YAML syntax error{where}: {problem}") from None
    return data


def _kept_parse(parsed: Path | None, raw: bytes) -> Any:
    import json

    from .digest import sha256_hex

    if parsed is None:
        return None
    try:
        return json.loads((parsed / f"{sha256_hex(raw)}.json").read_text())["data"]
    except (OSError, ValueError, KeyError):
        return None


def _keep_parse(parsed: Path | None, raw: bytes, data: Any) -> None:
    import json

    from .digest import sha256_hex

    if parsed is None or not isinstance(data, dict):
        return
    try:
        text = json.dumps({"data": data})
        if json.loads(text)["data"] != data:   # YAML types JSON cannot hold (dates ...): parse every time
            return
        parsed.mkdir(parents=True, exist_ok=True)
        target = parsed / f"{sha256_hex(raw)}.json"
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(text)
        temporary.replace(target)
    except (OSError, TypeError, ValueError):
        pass


class RefusedYaml(Exception):
    """YAML that is valid but refused in a settings file (an alias, a duplicate key)."""


def strict_loader():
    """A safe loader that refuses anchors and aliases (a few hundred bytes of nested aliases expand to
    billions of values) and duplicate keys (YAML keeps the last one silently)."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise RefusedYaml(f"YAML anchors and aliases (&{event.anchor} / *{event.anchor}) are not allowed in "
                                  f"a settings file (line {event.start_mark.line + 1}); write the value out")
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if isinstance(key, (str, int, float, bool)) and key in seen:
                    raise RefusedYaml(f"{_shown(key)} is given twice (lines {seen[key]} and {line}); keep one")
                if isinstance(key, (str, int, float, bool)):
                    seen[key] = line
            return super().construct_mapping(node, deep)

    return StrictLoader


def parse_overrides(overrides: Iterable[str]) -> dict[str, Any]:
    """`name=value` strings -> typed values, as `terraform -var` takes them."""
    parsed: dict[str, Any] = {}
    for item in overrides:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SettingsError(f"--var {_shown(item)}: expected name=value, e.g. --var optimize_cpu=2048")
        _check_known(name, where="--var ")
        kind = SETTING_FIELDS[name].metadata["kind"]
        parsed[name] = _coerce_text(name, text, kind)
    return parsed


def _coerce_text(name: str, text: str, kind: type) -> Any:
    if kind is dict:
        raise SettingsError(f"--var {name}: a mapping cannot be set with --var; set it in the settings file")
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise SettingsError(f"--var {name}={_shown(text)}: expected true or false")
    if kind is int:
        if re.fullmatch(r"-?[0-9]+", text.strip()):
            return int(text)
        raise SettingsError(f"--var {name}={_shown(text)}: expected a whole number")
    if kind is float:
        if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text.strip()):
            return float(text)
        raise SettingsError(f"--var {name}={_shown(text)}: expected a number, e.g. 0.8")
    return text


def _check_known(name: str, where: str) -> None:
    if name in SETTING_FIELDS:
        return
    close = _closest(name, SETTING_FIELDS)
    hint = f"; did you mean {_shown(close[0])}?" if close else "; see the variables table in README.md"
    raise SettingsError(f"{where}unknown setting {_shown(name)}{hint}")


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------

def validate(values: Mapping[str, Any]) -> Settings:
    """Type-check and range-check every value, then the rules that span several."""
    checked: dict[str, Any] = {}
    for name, value in values.items():
        _check_known(name, where="")
        checked[name] = _check_field(name, value)
    settings = Settings(**checked)
    _check_names(settings)
    _check_network(settings)
    _check_existing_vpc(settings)
    _check_task_sizes(settings)
    _check_prediction_counts(settings)
    _check_optional_strings(settings)
    _check_images(settings)
    _check_adopted_names(settings)
    _check_security(settings)
    _check_pipeline(settings)
    _check_container_user(settings)
    _check_endpoint(settings)
    _check_rollout_time(settings)
    if settings.organization_id and not ORGANIZATION_ID_RE.fullmatch(settings.organization_id):
        raise SettingsError(f"organization_id: {_shown(settings.organization_id)} is not an AWS Organizations ID; "
                            "allowed: empty, or o- and 10 to 32 lowercase letters and digits")
    if settings.config_home_region:
        check_home_region(settings.config_home_region, settings.aws_region, "config_home_region")
    return settings


def check_home_region(region: str, aws_region: str, where: str) -> None:
    """The home region records the global IAM types: a Region where AWS Config can (config_rules), in the
    partition of the environment's Region."""
    from .config_rules import GLOBAL_IAM_REGIONS, partition

    if not REGION_RE.fullmatch(region):
        raise SettingsError(f"{where}: {_shown(region)} is not an AWS region name such as us-east-1 or eu-west-1")
    if region not in GLOBAL_IAM_REGIONS:
        raise SettingsError(f"{where}: AWS Config cannot record the global IAM resource types in {region} (it came "
                            "there after February 2022); allowed: " + ", ".join(GLOBAL_IAM_REGIONS))
    if partition(region) != partition(aws_region):
        raise SettingsError(f"{where}: {region} is in partition {partition(region)}, aws_region {aws_region} in "
                            f"{partition(aws_region)}; choose a home region of {partition(aws_region)}")


def _check_field(name: str, value: Any) -> Any:
    meta = SETTING_FIELDS[name].metadata
    kind = meta["kind"]
    if kind is bool and not isinstance(value, bool):
        quoted = " (write it unquoted)" if isinstance(value, str) and value.lower() in ("true", "false") else ""
        raise SettingsError(f"{name}: expected true or false, got {_describe(value)}{quoted}")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise SettingsError(f"{name}: expected a whole number, got {_describe(value)}")
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise SettingsError(f"{name}: expected a number, got {_describe(value)}")
        value = float(value)
    if kind is str:
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise SettingsError(f"{name}: expected a string, got {_describe(value)}")
        control = next((c for c in value if ord(c) < 32 or ord(c) == 127), None)
        if control is not None:
            raise SettingsError(f"{name}: {_shown(value)} contains the control character {control!r}; allowed: "
                                "printable characters only (a trailing newline from a shell or a file included)")
    if kind is dict:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise SettingsError(f"{name}: expected a mapping, got {_describe(value)}")
    if "choices" in meta and value not in meta["choices"]:
        raise SettingsError(f"{name}: {_shown(value)} is not allowed; allowed: {_list(meta['choices'])}")
    low, high = meta.get("min"), meta.get("max")
    if low is not None and value < low or high is not None and value > high:
        raise SettingsError(f"{name}: {value} is out of range; allowed: {low} to {high}")
    return value


def _check_names(s: Settings) -> None:
    rules = (
        ("project_name", PROJECT_NAME_RE, PROJECT_NAME_MAX,
         "lowercase letters, digits and single hyphens, starting with a letter"),
        ("environment", ENVIRONMENT_RE, ENVIRONMENT_MAX, "lowercase letters and digits, starting with a letter"),
    )
    for name, pattern, limit, allowed in rules:
        value = getattr(s, name)
        if value == "":
            raise SettingsError(f"{name}: must not be empty; allowed: {allowed}, 1 to {limit} characters")
        if not pattern.fullmatch(value):
            raise SettingsError(f"{name}: {_shown(value)} would make invalid AWS resource names; allowed: {allowed}")
        if len(value) > limit:
            raise SettingsError(f"{name}: {_shown(value)} is {len(value)} characters; at most {limit}")
    if not REGION_RE.fullmatch(s.aws_region):
        raise SettingsError(f"aws_region: {_shown(s.aws_region)} is not an AWS region name such as us-east-1 or eu-west-1")
    check_name_lengths(s.prefix, s.aws_region)


def check_name_lengths(prefix: str, region: str, where: str = "aws_region") -> None:
    """Every name built from the prefix fits its AWS limit in this region (see LONGEST_NAMES)."""
    for what, extra, limit in LONGEST_NAMES:
        length = len(prefix) + extra + len(region)
        if length > limit:
            raise SettingsError(
                f"project_name and environment ({_shown(prefix)}) make {what}'s name {length} characters in {region} "
                f"({where}), over the {limit} AWS allows; shorten them by {length - limit} characters together")


VPC_ID_RE = Pattern(r"vpc-[0-9a-f]{8}([0-9a-f]{9})?")
SUBNET_ID_RE = Pattern(r"subnet-[0-9a-f]{8}([0-9a-f]{9})?")


def subnet_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _check_existing_vpc(s: Settings) -> None:
    """An existing VPC brings its own subnets, routes and egress: the settings that would build them
    describe a VPC automl-cfn does not own."""
    if not s.existing_vpc_id:
        for name in ("existing_private_subnet_ids", "existing_public_subnet_ids"):
            if getattr(s, name):
                raise SettingsError(f"{name}: goes with existing_vpc_id (the VPC they belong to); set it, or leave "
                                    f"{name} empty to create a VPC")
        return
    if not VPC_ID_RE.fullmatch(s.existing_vpc_id):
        raise SettingsError(f"existing_vpc_id: {_shown(s.existing_vpc_id)} is not a VPC ID; allowed: empty, or "
                            "vpc- and 8 or 17 hexadecimal digits")
    for name, wanted in (("existing_private_subnet_ids", True), ("existing_public_subnet_ids",
                                                                 s.load_balancer == "public")):
        ids = subnet_ids(getattr(s, name))
        bad = next((i for i in ids if not SUBNET_ID_RE.fullmatch(i)), None)
        if bad is not None:
            raise SettingsError(f"{name}: {_shown(bad)} is not a subnet ID; allowed: subnet- and 8 or 17 "
                                "hexadecimal digits, comma-separated")
        if len(set(ids)) != len(ids):
            raise SettingsError(f"{name}: a subnet is listed twice; give one subnet per availability zone")
        if wanted and len(ids) != s.az_count:
            raise SettingsError(f"{name}: {len(ids)} subnet(s) for az_count: {s.az_count}; give one subnet in each "
                                "of az_count availability zones" + (" (a public load balancer needs public subnets)"
                                                                    if "public" in name else ""))
    for name, value, allowed in (("nat_gateways", s.nat_gateways != "none", "nat_gateways: none"),
                                 ("enable_flow_logs", s.enable_flow_logs, "enable_flow_logs: false"),
                                 ("private_endpoints", s.private_endpoints, "private_endpoints: false")):
        if value:
            raise SettingsError(f"{name}: describes the VPC automl-cfn creates; existing_vpc_id's egress, endpoints "
                                f"and flow logs are its owner's. Set {allowed} with existing_vpc_id")


def _check_network(s: Settings) -> None:
    try:
        vpc = ipaddress.ip_network(s.vpc_cidr, strict=True)
    except ValueError as exc:
        detail = str(exc)
        if "host bits set" in detail:
            base = ipaddress.ip_network(s.vpc_cidr, strict=False)
            raise SettingsError(f"vpc_cidr: {_shown(s.vpc_cidr)} has host bits set; did you mean {_shown(str(base))}?") from None
        raise SettingsError(f"vpc_cidr: {_shown(s.vpc_cidr)} is not an IPv4 CIDR block such as 10.0.0.0/16") from None
    if vpc.version != 4:
        raise SettingsError(f"vpc_cidr: {_shown(s.vpc_cidr)} is IPv6; a VPC's primary block is IPv4 such as 10.0.0.0/16")
    # One allowed range in every message: what a VPC takes (/16 to /28), narrowed by the subnets cut
    # from it (each SUBNET_SLOTS_BITS longer, at most /28).
    low, high = VPC_PREFIX_RANGE[0], min(VPC_PREFIX_RANGE[1], SUBNET_PREFIX_MAX - SUBNET_SLOTS_BITS)
    if vpc.prefixlen < low:
        raise SettingsError(f"vpc_cidr: /{vpc.prefixlen} is larger than a VPC can be; allowed: /{low} to /{high}")
    if vpc.prefixlen > high:
        raise SettingsError(
            f"vpc_cidr: /{vpc.prefixlen} is too small for its subnets (each would be "
            f"/{vpc.prefixlen + SUBNET_SLOTS_BITS}, smaller than /{SUBNET_PREFIX_MAX}); allowed: /{low} to /{high}")
    if not (vpc.is_private or vpc.subnet_of(ipaddress.ip_network("100.64.0.0/10"))):
        raise SettingsError(
            f"vpc_cidr: {_shown(s.vpc_cidr)} is publicly routable; use a private range "
            "(10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10)"
        )


def _check_task_sizes(s: Settings) -> None:
    for service in SERVICES:
        cpu, memory = s.cpu(service), s.memory(service)
        allowed = FARGATE_MEMORY_BY_CPU[cpu]
        if memory not in allowed:
            raise SettingsError(
                f"{service}_memory: {memory} is not offered by Fargate with {service}_cpu={cpu}; "
                f"allowed: {_list(allowed)}"
            )


def _check_prediction_counts(s: Settings) -> None:
    if s.prediction_min_capacity > s.prediction_max_capacity:
        raise SettingsError(
            f"prediction_min_capacity: {s.prediction_min_capacity} is above prediction_max_capacity "
            f"({s.prediction_max_capacity}); min must be at most max"
        )
    count = s.prediction_service_count
    if not s.prediction_min_capacity <= count <= s.prediction_max_capacity:
        raise SettingsError(
            f"prediction_service_count: {count} is outside prediction_min_capacity..prediction_max_capacity "
            f"({s.prediction_min_capacity}..{s.prediction_max_capacity})"
        )


def _check_optional_strings(s: Settings) -> None:
    if s.alarm_email and not EMAIL_RE.fullmatch(s.alarm_email):
        raise SettingsError(f"alarm_email: {_shown(s.alarm_email)} is not an email address; leave it empty for none")
    if s.image_tag and not IMAGE_TAG_RE.fullmatch(s.image_tag):
        raise SettingsError(
            f"image_tag: {_shown(s.image_tag)} is not a valid image tag; allowed: letters, digits, '_', '.', '-' "
            "(not first), up to 128 characters, or empty before the first push"
        )


METRIC_NAME_RE = Pattern(r"[A-Za-z0-9_.\-/:]{1,255}")


def _check_pipeline(s: Settings) -> None:
    from .schedule import ScheduleError, check, is_time_zone

    if s.pipeline_schedule:
        if not s.enable_stepfunctions:
            raise SettingsError("pipeline_schedule starts the Step Functions pipeline: set enable_stepfunctions: true, "
                                "or leave pipeline_schedule empty")
        try:
            check(s.pipeline_schedule)
        except ScheduleError as exc:
            raise SettingsError(f"pipeline_schedule: {_shown(s.pipeline_schedule)}: {exc}") from None
    if s.retrain_on_new_data and not s.enable_stepfunctions:
        raise SettingsError("retrain_on_new_data starts the Step Functions pipeline: set enable_stepfunctions: true, "
                            "or retrain_on_new_data: false")
    if s.pipeline_schedule_timezone != "UTC" and not is_time_zone(s.pipeline_schedule_timezone):
        raise SettingsError(f"pipeline_schedule_timezone: {_shown(s.pipeline_schedule_timezone)} is not an IANA "
                            "time zone; allowed: names such as UTC, Europe/Berlin, America/New_York")
    if s.model_quality_metric and not METRIC_NAME_RE.fullmatch(s.model_quality_metric):
        raise SettingsError(f"model_quality_metric: {_shown(s.model_quality_metric)} is not a CloudWatch metric name; "
                            "allowed: 1 to 255 letters, digits and . _ - / :")


def _check_security(s: Settings) -> None:
    if s.kms_key not in ("", "create") and not KMS_KEY_ARN_RE.fullmatch(s.kms_key):
        raise SettingsError(f"kms_key: {_shown(s.kms_key)} is not a KMS key ARN; allowed: empty, create, or "
                            "arn:aws:kms:REGION:ACCOUNT:key/KEY-ID")
    if s.permissions_boundary not in ("", PROJECT_BOUNDARY) and not POLICY_ARN_RE.fullmatch(s.permissions_boundary):
        raise SettingsError(f"permissions_boundary: {_shown(s.permissions_boundary)} is not an IAM policy ARN; allowed: "
                            f"empty, {PROJECT_BOUNDARY}, or arn:aws:iam::ACCOUNT:policy/NAME")
    if s.api_key_secret not in ("", "create") and not SECRET_ARN_RE.fullmatch(s.api_key_secret):
        raise SettingsError(f"api_key_secret: {_shown(s.api_key_secret)} is not a Secrets Manager secret ARN; allowed: "
                            "empty, create, or arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME")


def _check_endpoint(s: Settings) -> None:
    if s.deployment_strategy != "rolling" and s.load_balancer == "none":
        raise SettingsError(f"deployment_strategy: {s.deployment_strategy} shifts traffic through a load balancer; "
                            "set load_balancer: internal or public, or use rolling")
    if s.load_balancer != "none" and not s.enable_prediction_service:
        raise SettingsError("load_balancer: needs the prediction service (enable_prediction_service: true)")
    if s.certificate_arn and not CERTIFICATE_ARN_RE.fullmatch(s.certificate_arn):
        raise SettingsError(f"certificate_arn: {_shown(s.certificate_arn)} is not an ACM certificate ARN; allowed: empty "
                            "or arn:aws:acm:REGION:ACCOUNT:certificate/ID")
    if s.certificate_arn and s.load_balancer == "none":
        raise SettingsError("certificate_arn: is used by the load balancer; set load_balancer too")
    if s.load_balancer != "none" and s.az_count < 2:
        raise SettingsError(f"load_balancer: {s.load_balancer} needs az_count: 2 or 3 (an Application Load Balancer "
                            "spans at least two availability zones); allowed with az_count: 1: load_balancer: none")
    if s.load_balancer == "public" and not s.certificate_arn:
        raise SettingsError("load_balancer: public needs certificate_arn (plain HTTP on the internet would carry the "
                            "API key in clear text); allowed: set certificate_arn, or load_balancer: internal")
    if s.load_balancer == "public" and not s.api_key_secret:
        raise SettingsError("load_balancer: public needs api_key_secret (without a key the prediction API is open to "
                            "the internet); allowed: api_key_secret create or a secret ARN, or load_balancer: "
                            "internal or none")
    if s.load_balancer == "internal" and s.api_key_secret and not s.certificate_arn and not s.allow_cleartext_api_key:
        raise SettingsError("certificate_arn: needed with api_key_secret behind load_balancer: internal (over plain "
                            "HTTP the API key crosses the VPC in clear text); allowed: set certificate_arn, or "
                            "allow_cleartext_api_key: true to accept that")
    if not HEALTH_PATH_RE.fullmatch(s.health_check_path):
        raise SettingsError(f"health_check_path: {_shown(s.health_check_path)} must start with / and hold URL "
                            "path characters only")


def _check_rollout_time(s: Settings) -> None:
    """CloudFormation refuses a canary or linear deployment whose bakes add up to over 33 hours (the
    reckoning and its sources: rollout_time.py); refused here, before anything is deployed."""
    from .rollout_time import DEPLOYMENT_LIMIT_MINUTES, bakes, formula, longest_bake, smallest_linear_step

    strategy, step = s.deployment_strategy, s.linear_step_percent
    total = bakes(strategy, step) * s.deployment_bake_minutes
    if total <= DEPLOYMENT_LIMIT_MINUTES:
        return
    given = f"deployment_strategy: {strategy}" + (f", linear_step_percent: {step}" if strategy == "linear" else "")
    allowed = f"deployment_bake_minutes up to {longest_bake(strategy, step)}"
    if strategy == "linear":
        wider = smallest_linear_step(s.deployment_bake_minutes)
        allowed += f" (with linear_step_percent: {step}), or linear_step_percent: {wider}" + (
            " or more" if wider < 100 else "")
    raise SettingsError(
        f"deployment_bake_minutes: {s.deployment_bake_minutes} with {given} makes a deployment CloudFormation "
        f"reckons at {total} minutes ({formula(strategy, step)}), over the {DEPLOYMENT_LIMIT_MINUTES} (33 hours) it "
        f"accepts; allowed: {allowed}")


def _check_container_user(s: Settings) -> None:
    if not CONTAINER_USER_RE.fullmatch(s.container_user):
        raise SettingsError(f"container_user: {_shown(s.container_user)} is not allowed; a UID[:GID] or user name, "
                            "not root (the containers run without root, with a read-only root filesystem)")


def _check_images(s: Settings) -> None:
    for repository, spec in (s.images or {}).items():
        if repository not in REPOSITORIES:
            close = _closest(str(repository), REPOSITORIES)
            hint = f"; did you mean {_shown(close[0])}?" if close else ""
            raise SettingsError(f"images: unknown image {_shown(repository)}{hint} (images: {', '.join(REPOSITORIES)})")
        if not isinstance(spec, dict):
            raise SettingsError(f"images.{repository}: expected a mapping with {', '.join(IMAGE_KEYS)}")
        for key, value in spec.items():
            if key not in IMAGE_KEYS:
                raise SettingsError(f"images.{repository}: unknown key {_shown(key)}; allowed: {', '.join(IMAGE_KEYS)}")
            if not isinstance(value, IMAGE_KEYS[key]) or isinstance(value, bool):
                raise SettingsError(f"images.{repository}.{key}: expected a {IMAGE_KEYS[key].__name__}, "
                                    f"got {_describe(value)}")
            if key == "build_args" and not all(isinstance(k, str) and isinstance(v, (str, int))
                                               for k, v in value.items()):
                raise SettingsError(f"images.{repository}.build_args: expected NAME: value pairs")


def with_overrides(settings: Settings, **values: Any) -> Settings:
    """A validated copy with some values changed (tests and verbs use it)."""
    return validate({**settings.as_dict(), **values}) if values else replace(settings)


SHOWN_MAX = 80   # an echoed value is cut here: an error line must stay one line, whatever the input


# Adopted names, as the provider schemas cfn-lint ships allow them (a unit test compares).
ADOPTED_NAME_RULES = {
    "data_bucket": (None, r"(?=.{3,63}\Z)[a-z0-9][a-z0-9.-]*[a-z0-9]", "an S3 bucket name (3 to 63 lowercase "
                                                                         "letters, digits, '.' and '-')"),
    "repositories": (REPOSITORIES, r"(?=.{2,256}\Z)([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)"
                                   r"[a-z0-9]+)*)*)", "an ECR repository name"),
    "log_groups": (LOG_SOURCES, r"[.\-_/#A-Za-z0-9]{1,512}", "a log group name (letters, digits and ._-/#)"),
}


def _check_adopted_names(s: Settings) -> None:
    for kind, given in (s.adopted_names or {}).items():
        if kind not in ADOPTED_NAME_RULES:
            raise SettingsError(f"adopted_names: unknown key {_shown(kind)}; allowed: {', '.join(ADOPTED_NAME_RULES)}")
        keys, pattern, what = ADOPTED_NAME_RULES[kind]
        names = {None: given} if keys is None else given
        if keys is not None and not isinstance(given, dict):
            raise SettingsError(f"adopted_names.{kind}: expected a mapping of {', '.join(keys)} to names")
        for key, name in names.items():
            where = f"adopted_names.{kind}" + (f".{key}" if key is not None else "")
            if keys is not None and key not in keys:
                raise SettingsError(f"adopted_names.{kind}: unknown key {_shown(key)}; allowed: {', '.join(keys)}")
            if not isinstance(name, str) or not re.fullmatch(pattern, name):
                raise SettingsError(f"{where}: {_shown(name)} is not {what}")


def _closest(word: str, choices: Iterable[str]) -> list[str]:
    """The one choice closest to a misspelt word, if any (difflib is imported only for a mistake)."""
    import difflib

    return difflib.get_close_matches(word, choices, n=1, cutoff=0.6)


def _shown(value: Any) -> str:
    """repr() of a value for an error message, at most SHOWN_MAX characters (a huge or deeply nested
    value is never expanded in full)."""
    text = reprlib_repr(value)
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX - 3] + "..."


def reprlib_repr(value: Any) -> str:
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = SHOWN_MAX
    shortener.maxlevel, shortener.maxlist, shortener.maxdict = 2, 4, 4
    return shortener.repr(value)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"string {_shown(value)}"
    return f"{_type_name(value)} {_shown(value)}"


def _type_name(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", int: "number", float: "number",
            bool: "boolean", type(None): "null"}.get(type(value), type(value).__name__)


def _list(values: Iterable[Any]) -> str:
    """Short enough for one line: an even run of numbers becomes 'A to B in steps of S'."""
    values = list(values)
    if len(values) > 4 and all(isinstance(v, int) for v in values):
        steps = {b - a for a, b in zip(values, values[1:])}
        if len(steps) == 1:
            return f"{values[0]} to {values[-1]} in steps of {steps.pop()}"
    return ", ".join(map(str, values))
