"""What changing each setting does to a running environment: the transition table.

One row per change the lifecycle tests make: from a base environment, set
one setting to another value, deploy, set it back, deploy.  The outcome is
one of:

- in place:   resources are added, changed or removed; nothing is replaced
- replaces:   some resources are replaced (new ones first, then the old go)
- refused:    the deploy stops before any change set runs, with the note as
              its one line: CloudFormation would fail half way (a replacement
              that keeps a custom name), or data would be lost
- deploy:     a setting of the deploy itself (no template change)
- elsewhere:  the setting names another environment or only feeds the cost
              estimate or the image build; nothing in this one changes

The offline planner must agree with every row (tests/unit/test_transitions.py),
the strict endpoint must too (tests/integration/test_transitions.py), a
refused deploy prints the row's note, and `make templates` writes the
table into README.md ("Lifecycle").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IN_PLACE, REPLACES, REFUSED, DEPLOY, ELSEWHERE = "in place", "replaces", "refused", "deploy", "elsewhere"

# Base environments: config/dev.yaml with these settings changed.
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shared/api-key-AbCdEf"
BOUNDARY = "arn:aws:iam::123456789012:policy/automl-boundary"
# An existing VPC and one subnet per AZ (the integration matrix creates them and maps these to theirs).
VPC_ID = "vpc-0123456789abcdef0"
SUBNET_IDS = "subnet-0123456789abcdef1,subnet-0123456789abcdef2"
BASES: dict[str, dict[str, Any]] = {
    "dev": {},
    "endpoint": {"load_balancer": "internal"},
    # A public load balancer needs HTTPS and an API key (the settings refuse it without either).
    "endpoint-tls": {"load_balancer": "internal", "certificate_arn": CERTIFICATE, "api_key_secret": SECRET_ARN},
    "canary": {"load_balancer": "internal", "deployment_strategy": "canary"},
    "linear": {"load_balancer": "internal", "deployment_strategy": "linear"},
    "flow-logs": {"enable_flow_logs": True},
    "pipeline": {"enable_stepfunctions": True},
    "retrain": {"enable_stepfunctions": True, "retrain_on_new_data": True},
    "scheduled": {"enable_stepfunctions": True, "pipeline_schedule": "cron(0 3 ? * MON *)",
                  "model_quality_metric": "validation_accuracy", "model_quality_min": 0.8},
}

KMS_FIXED = ("kms_key is fixed when an environment is created: the repositories are encrypted at creation, and "
             "CloudFormation cannot replace a named repository; create a new environment with kms_key set (or "
             "destroy --purge-data this one first)")


@dataclass(frozen=True)
class Transition:
    setting: str
    start: Any
    to: Any
    outcome: str
    note: str
    base: str = "dev"
    also: tuple[tuple[str, Any, Any], ...] = ()   # settings that must change with this one: (name, start, to)

    @property
    def change(self) -> str:
        together = "".join(f", {name} {_show(a)} -> {_show(b)}" for name, a, b in self.also)
        return f"{_show(self.start)} -> {_show(self.to)}{together}"

    @property
    def before(self) -> dict[str, Any]:
        return {self.setting: self.start, **{name: a for name, a, _ in self.also}}

    @property
    def after(self) -> dict[str, Any]:
        return {self.setting: self.to, **{name: b for name, _, b in self.also}}


def _show(value: Any) -> str:
    if value == "":
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if len(text) <= 24 else text[:12] + "..." + text[-6:]


TABLE: tuple[Transition, ...] = (
    # -- network -------------------------------------------------------------
    Transition("existing_vpc_id", "", VPC_ID, REFUSED,
               "existing_vpc_id is fixed when an environment is created: its subnets, security groups and load "
               "balancer live in one VPC, and moving them replaces resources whose names CloudFormation cannot "
               "reuse; create a new environment with existing_vpc_id set instead (and destroy this one)",
               also=(("existing_private_subnet_ids", "", SUBNET_IDS), ("existing_public_subnet_ids", "", SUBNET_IDS))),
    Transition("private_endpoints", False, True, IN_PLACE,
               "adds interface endpoints for the AWS APIs the tasks call; with nat_gateways: none the tasks move to "
               "the private subnets without public IPs"),
    Transition("vpc_cidr", "10.0.0.0/16", "10.1.0.0/16", REFUSED,
               "vpc_cidr is fixed when an environment is created: a new range replaces the VPC, its subnets and the "
               "task security group, whose name CloudFormation cannot reuse; create a new environment instead"),
    Transition("az_count", 2, 3, IN_PLACE, "adds a public and a private subnet in a third zone; back to 2 removes them"),
    Transition("az_count", 2, 1, IN_PLACE, "removes the second zone's subnets; back to 2 adds them"),
    Transition("nat_gateways", "none", "single", IN_PLACE,
               "adds one NAT gateway and the private routes; the tasks move to the private subnets"),
    Transition("nat_gateways", "none", "per_az", IN_PLACE, "adds a NAT gateway and a private route per zone"),
    Transition("enable_flow_logs", False, True, IN_PLACE,
               "adds flow logs; off again keeps the log group, and on again adopts it"),
    # -- tasks -------------------------------------------------------------------
    Transition("optimize_cpu", 2048, 1024, REPLACES, "registers a new revision of the optimize task definition"),
    Transition("optimize_memory", 4096, 5120, REPLACES, "registers a new revision of the optimize task definition"),
    Transition("train_cpu", 1024, 512, REPLACES, "registers a new revision of the train task definition"),
    Transition("train_memory", 2048, 3072, REPLACES, "registers a new revision of the train task definition"),
    Transition("predict_cpu", 512, 256, REPLACES, "registers a new revision of the predict task definition"),
    Transition("predict_memory", 1024, 2048, REPLACES, "registers a new revision of the predict task definition"),
    Transition("use_fargate_spot", True, False, IN_PLACE, "switches the cluster's and the service's capacity provider"),
    Transition("image_tag", "", "v1", REPLACES,
               "registers new revisions of the three task definitions; the service gets its tasks and autoscaling"),
    # -- prediction service ----------------------------------------------------
    Transition("enable_prediction_service", True, False, IN_PLACE, "removes the prediction service; back adds it"),
    Transition("prediction_service_count", 1, 2, IN_PLACE, "changes the service's desired count"),
    Transition("prediction_min_capacity", 1, 0, IN_PLACE, "changes the autoscaling minimum"),
    Transition("prediction_max_capacity", 2, 3, IN_PLACE, "changes the autoscaling maximum"),
    Transition("prediction_cpu_target", 70, 60, IN_PLACE, "changes the CPU target of autoscaling"),
    # -- prediction endpoint -------------------------------------------------------
    Transition("load_balancer", "none", "internal", REPLACES,
               "adds the load balancer, its listener, target group and alarms; a new predict task definition maps "
               "the container port, and the service registers with the target group"),
    Transition("load_balancer", "internal", "public", REPLACES,
               "replaces the load balancer (its scheme is fixed at creation); its listeners and target groups are "
               "replaced with it", base="endpoint-tls"),
    Transition("predict_container_port", 8080, 9090, REPLACES,
               "replaces the target group (its port is fixed at creation) and the predict task definition",
               base="endpoint"),
    Transition("health_check_path", "/health", "/ready", REPLACES,
               "changes the target group's health check; a new predict task definition tells the app the path",
               base="endpoint"),
    Transition("certificate_arn", "", CERTIFICATE, REPLACES,
               "adds the HTTPS listener; port 80 turns into a redirect; the forwarding rule moves to HTTPS",
               base="endpoint"),
    Transition("deployment_strategy", "rolling", "blue_green", IN_PLACE,
               "adds the green target group and the ECS infrastructure role; the service shifts traffic from then on",
               base="endpoint"),
    Transition("deployment_strategy", "rolling", "canary", IN_PLACE, "as blue_green, with a canary step",
               base="endpoint"),
    Transition("deployment_strategy", "rolling", "linear", IN_PLACE, "as blue_green, in linear steps",
               base="endpoint"),
    Transition("deployment_bake_minutes", 5, 10, IN_PLACE, "changes the service's bake times", base="canary"),
    Transition("canary_percent", 10, 20, IN_PLACE, "changes the canary's share of traffic", base="canary"),
    Transition("linear_step_percent", 20, 25, IN_PLACE, "changes the linear step", base="linear"),
    Transition("enable_lb_access_logs", False, True, IN_PLACE,
               "adds the access-log bucket; off again keeps it, on again adopts it", base="endpoint"),
    Transition("prediction_requests_per_target", 1000, 500, IN_PLACE,
               "changes the request-count scaling target (it exists once an image is deployed)", base="endpoint"),
    # -- storage, registry, monitoring ------------------------------------------------
    Transition("predictions_archive_days", 90, 30, IN_PLACE, "changes the data bucket's lifecycle rules"),
    Transition("noncurrent_version_days", 30, 60, IN_PLACE, "changes the data bucket's lifecycle rules"),
    Transition("data_intelligent_tiering", False, True, IN_PLACE, "changes the data bucket's lifecycle rules"),
    Transition("image_tag_immutable", False, True, IN_PLACE, "changes the repositories' tag mutability"),
    Transition("ecr_keep_images", 10, 20, IN_PLACE, "changes the repositories' lifecycle policy"),
    Transition("log_retention_days", 7, 14, IN_PLACE, "changes the log groups' retention"),
    Transition("flow_log_retention_days", 90, 365, IN_PLACE, "changes the flow log group's retention",
               base="flow-logs"),
    Transition("alarm_email", "", "ops@example.com", IN_PLACE, "adds the email subscription to the alarm topic"),
    Transition("alarm_cpu_threshold", 80, 90, IN_PLACE, "changes the CPU alarms"),
    Transition("alarm_memory_threshold", 80, 90, IN_PLACE, "changes the memory alarms"),
    # -- security ------------------------------------------------------------------------
    Transition("kms_key", "", "create", REFUSED, KMS_FIXED),
    Transition("kms_key", "", KEY_ARN, REFUSED, KMS_FIXED),
    Transition("permissions_boundary", "", BOUNDARY, IN_PLACE, "sets the boundary on every role"),
    Transition("api_key_secret", "", "create", REPLACES,
               "adds the secret, the previous-key secret rotations use, and a predict task definition that reads "
               "both; off again keeps the secrets, and on again uses them"),
    Transition("api_key_secret", "", SECRET_ARN, REPLACES,
               "adds the previous-key secret and registers a predict task definition that reads both secrets"),
    Transition("enable_access_logging", False, True, IN_PLACE,
               "adds the access-log bucket; off again keeps it, on again adopts it"),
    Transition("container_user", "1000:1000", "2000:2000", REPLACES,
               "registers new revisions of the three task definitions"),
    # -- pipeline ----------------------------------------------------------------------------
    Transition("enable_stepfunctions", False, True, IN_PLACE,
               "adds the pipeline stack and its log group; off again keeps the log group, on again adopts it"),
    Transition("pipeline_schedule", "", "rate(7 days)", IN_PLACE,
               "adds the schedule that starts the pipeline, its role and its dead-letter queue; back removes them",
               base="pipeline"),
    Transition("pipeline_schedule", "cron(0 3 ? * MON *)", "rate(1 day)", IN_PLACE, "updates the schedule",
               base="scheduled"),
    Transition("pipeline_schedule_timezone", "UTC", "Europe/Berlin", IN_PLACE, "updates the schedule",
               base="scheduled"),
    Transition("retrain_on_new_data", False, True, IN_PLACE,
               "adds the rule on the data bucket's events, the queue, the pipe and its role; back removes them "
               "(the bucket, which always sends its events to EventBridge, stays as it is)", base="pipeline"),
    Transition("retrain_quiet_minutes", 5, 2, IN_PLACE, "updates the pipe's batching window", base="retrain"),
    Transition("model_quality_metric", "", "validation_accuracy", IN_PLACE,
               "adds the quality alarm, the check between train and predict (the state machine is updated in "
               "place) and the alarm to the service's release alarms", base="pipeline"),
    Transition("model_quality_min", 0.8, 0.9, IN_PLACE, "updates the alarm's threshold and the check",
               base="scheduled"),
    # -- the deploy itself -------------------------------------------------------------------
    Transition("termination_protection", False, True, IN_PLACE,
               "turns stack termination protection and the load balancer's deletion protection on or off",
               base="endpoint"),
    Transition("express_deploys", True, False, DEPLOY, "chooses CloudFormation's deployment mode"),
    Transition("rollback_monitoring_minutes", 0, 10, DEPLOY,
               "how long CloudFormation watches the release alarms after a deploy (stack rollback triggers)",
               base="endpoint"),
    # -- migration -----------------------------------------------------------
    Transition("adopted_names", None, {"data_bucket": "automl-legacy-data"}, REFUSED,
               "adopted names are fixed when 'automl-cfn migrate apply' creates an environment around resources "
               "Terraform made: another name replaces a named, retained resource, which CloudFormation refuses; "
               "create a new environment instead (or migrate it from the Terraform state)"),
)

# Settings that never reach this environment's stacks.
ELSEWHERE_SETTINGS = {
    "project_name": "names another environment (a different stack)",
    "environment": "names another environment (a different stack)",
    "aws_region": "names another environment (a different region)",
    "expected_task_hours": "feeds the cost estimate only",
    "expected_storage_gb": "feeds the cost estimate only",
    "expected_log_gb": "feeds the cost estimate only",
    "expected_flow_log_gb": "feeds the cost estimate only",
    "expected_image_gb": "feeds the cost estimate only",
    "nat_data_gb": "feeds the cost estimate only",
    "expected_data_objects": "feeds the cost estimate only",
    "images": "feeds the image build only",
    "organization_id": "shares the artifacts bucket (its own stack, updated before the no-op check)",
    "config_home_region": "chooses the region whose account baseline records the global IAM types (the baseline "
                          "stack, automl-cfn baseline deploy)",
    "allow_cleartext_api_key": "lets the settings accept api_key_secret behind an internal load balancer without "
                               "certificate_arn; nothing deployed changes",
}


# Settings an environment keeps for its life: a deploy that changes them is refused before any change
# set runs, whatever CloudFormation would do (a new adopted name would make a new, empty data bucket).
FIXED_SETTINGS = ("adopted_names",)


def fixed_refusal(parameters: dict[str, tuple[Any, Any]]) -> str | None:
    """The note of the fixed setting whose parameters these (deployed, wanted) pairs change, if any."""
    from .parameters import PARAMETERS

    for name, (deployed, wanted) in parameters.items():
        spec = PARAMETERS.get(name)
        if spec and spec.setting in FIXED_SETTINGS and deployed != wanted:
            return next(t.note for t in TABLE if t.setting == spec.setting)
    return None


def refusal_for(changed_parameters: dict[str, tuple[Any, Any]]) -> str | None:
    """The note of the refused row whose setting this change touches, if any."""
    from .parameters import PARAMETER_NAMES
    from .model import title

    from .parameters import PARAMETERS

    refused = [t for t in TABLE if t.outcome == REFUSED]
    by_parameter = {PARAMETER_NAMES.get(t.setting, title(t.setting)): t for t in refused}
    by_parameter.update({spec.name: t for t in refused for spec in PARAMETERS.values() if spec.setting == t.setting
                         and spec.name not in by_parameter})
    for parameter in changed_parameters:
        if parameter in by_parameter:
            return by_parameter[parameter].note
    return None


def markdown() -> str:
    """The README's Lifecycle table."""
    lines = ["| Setting | Change (and back) | Outcome | What happens |", "|---|---|---|---|"]
    for t in TABLE:
        base = "" if t.base == "dev" else f" (with {', '.join(f'{k}: {_show(v)}' for k, v in BASES[t.base].items())})"
        lines.append(f"| `{t.setting}` | {t.change}{base} | {t.outcome} | {t.note} |")
    for setting, note in ELSEWHERE_SETTINGS.items():
        lines.append(f"| `{setting}` | any | {ELSEWHERE} | {note} |")
    return "\n".join(lines) + "\n"
