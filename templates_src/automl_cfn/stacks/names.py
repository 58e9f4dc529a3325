"""Physical names and ARNs, derived in one place from ProjectName-Environment.

Names are deterministic so that a stack can refer to what another stack
creates without a dependency between them (monitoring alarms name the
cluster, the Step Functions role names the task families), and so that
operators can type them.  Every template that uses these declares the
ProjectName and Environment parameters (StackTemplate does).
"""

from __future__ import annotations

from troposphere import Sub

from ..model import MODEL_QUALITY_ALARM

PREFIX = "${ProjectName}-${Environment}"


def name(suffix: str) -> Sub:
    """`automl-dev-<suffix>`."""
    return Sub(f"{PREFIX}-{suffix}")


def arn(service: str, resource: str, region: bool = True, account: bool = True) -> Sub:
    """An ARN in this partition, region and account; `resource` may use ${...}."""
    r = "${AWS::Region}" if region else ""
    a = "${AWS::AccountId}" if account else ""
    return Sub(f"arn:${{AWS::Partition}}:{service}:{r}:{a}:{resource}")


def cluster_name() -> Sub:
    return name("cluster")


def cluster_arn() -> Sub:
    return arn("ecs", f"cluster/{PREFIX}-cluster")


def task_family(service: str) -> Sub:
    return name(service)


def task_definition_arn_pattern(service: str) -> Sub:
    """Every revision of one task family."""
    return arn("ecs", f"task-definition/{PREFIX}-{service}:*")


def task_arn_pattern() -> Sub:
    return arn("ecs", f"task/{PREFIX}-cluster/*")


def service_name(service: str) -> Sub:
    return name(service)


def repository_name(repository: str) -> Sub:
    return name(repository)


def log_group_name(source: str) -> Sub:
    """ECS containers log under /ecs/; Step Functions under /aws/vendedlogs/
    (the prefix AWS recommends so the log resource policy stays small)."""
    if source == "pipeline":
        return Sub(f"/aws/vendedlogs/states/{PREFIX}-pipeline")
    return Sub(f"/ecs/{PREFIX}-{source}")


def state_machine_name() -> Sub:
    return name("pipeline")


def state_machine_arn() -> Sub:
    return arn("states", f"stateMachine:{PREFIX}-pipeline")


def account_wide_name(suffix: str) -> Sub:
    """`automl-dev-<suffix>-<region>`, for a type whose names are unique in the account, not in a region
    (name_scopes.py): the same environment in another region of the account gets its own."""
    return Sub(f"{PREFIX}-{suffix}-${{AWS::Region}}")


def role_name(purpose: str) -> Sub:
    return account_wide_name(f"{purpose}-role")


def dashboard_name() -> Sub:
    """All dashboards of an account are global, not region-specific."""
    return account_wide_name("pipeline")


def bucket_name(purpose: str) -> Sub:
    """Globally unique: the account and region make the name collision-free."""
    return Sub(f"{PREFIX}-{purpose}-${{AWS::AccountId}}-${{AWS::Region}}")


def metric_namespace() -> Sub:
    """CloudWatch namespace the task role may publish custom metrics to."""
    return Sub(f"{PREFIX}/pipeline")


def deployment_alarm_name(kind: str) -> Sub:
    return name(f"predict-{kind}")


def model_quality_alarm_name() -> Sub:
    """Below model_quality_min: the pipeline stops before predict, and a release rolls back."""
    return name(MODEL_QUALITY_ALARM)


def dead_letter_queue_name() -> Sub:
    return name("pipeline-schedule-dlq")


def dead_letter_queue_arn() -> Sub:
    return arn("sqs", f"{PREFIX}-pipeline-schedule-dlq")


def retrain_queue_name() -> Sub:
    return name("retrain-requests")


def retrain_queue_arn() -> Sub:
    return arn("sqs", f"{PREFIX}-retrain-requests")


# The new-data rule and pipe share one name (a rule and a pipe live in different namespaces).
NEW_DATA = "new-data"


def new_data_name() -> Sub:
    return name(NEW_DATA)


def new_data_rule_arn() -> Sub:
    """The rule on the default event bus that queues new-data notices (the key policy names it before it exists)."""
    return arn("events", f"rule/{PREFIX}-{NEW_DATA}")


def default_schedule_group_arn() -> Sub:
    """The schedule lives in the default group: Scheduler names the group, not the schedule, as its source."""
    return arn("scheduler", "schedule-group/default")


def alarm_arn_pattern() -> Sub:
    """Every alarm of the environment: all of them are named `<project>-<env>-...` (name())."""
    return arn("cloudwatch", f"alarm:{PREFIX}-*")


def flow_log_arn_pattern() -> Sub:
    """Flow logs of this account and region (the role exists before the flow log has an ID)."""
    return arn("ec2", "vpc-flow-log/*")


def ecs_arn_pattern() -> Sub:
    """What ECS names as the source when it assumes a task's roles: ECS resources of this account and region."""
    return arn("ecs", "*")
