"""IAM: the ECS execution role, one task role per service, the Step Functions role
and the roles that start it.

Every grant is scoped to what the other stacks create: the four repositories,
the services' log groups, the data bucket's locations each task reads and
writes (model.TASK_ACCESS), the three task families on the one cluster.
Policies are built from relationships in policies.py; nothing here is a
hand-written policy blob.
"""

from __future__ import annotations

from troposphere import GetAtt, If, NoValue, Ref, Sub, iam

from ..model import REPOSITORIES, SERVICES, TASK_ACCESS, TaskAccess, title
from . import names, policies
from .base import NONE, StackTemplate

ECS_TASKS = "ecs-tasks.amazonaws.com"
STATES = "states.amazonaws.com"
SCHEDULER = "scheduler.amazonaws.com"
PIPES = "pipes.amazonaws.com"
ECS = "ecs.amazonaws.com"


def build() -> StackTemplate:
    st = StackTemplate("iam", "ECS execution and task roles, Step Functions role")
    repository_arns = [Ref(st.input(f"{title(r)}RepositoryArn", f"ARN of the {r} repository")) for r in REPOSITORIES]
    log_group_arns = [Ref(st.input(f"{title(s)}LogGroupArn", f"Log group ARN of {s}")) for s in SERVICES]
    bucket_arn = Ref(st.input("DataBucketArn", "Data bucket ARN"))

    key_arn = st.kms_key_arn()
    secret_arn = Ref(st.input("ApiKeySecretArn", "API key secret ARN, or none"))
    execution = st.add(role(st, "ExecutionRole", "ecs-execution", ECS_TASKS, {
        "ecr-policy": policies.grant_pull(repository_arns),
        "logs-policy": policies.grant_log_writes(log_group_arns),
    }, optional={
        "secret-policy": ("HasApiKeySecret", policies.grant_read_secret(secret_arn, st.previous_api_key_arn())),
        "kms-policy": ("HasKmsKey", policies.grant_decrypt(key_arn)),
    }))
    tasks = {service: st.add(task_role(st, service, bucket_arn, key_arn)) for service in SERVICES}
    pipeline = st.add(role(st, "StepFunctionsRole", "stepfunctions", STATES, {
        "run-tasks-policy": policies.grant_run_tasks(
            [names.task_definition_arn_pattern(s) for s in SERVICES], names.cluster_arn(),
            names.task_arn_pattern(), [GetAtt(each, "Arn") for each in (execution, *tasks.values())],
        ) + policies.grant_sync_events_rule(
            names.arn("events", "rule/StepFunctionsGetEventsForECSTaskRule")
        ),
        "observability-policy": policies.grant_vended_log_delivery() + policies.grant_tracing(),
        "gate-policy": policies.grant_gate(names.state_machine_arn()),
    }, optional={
        "quality-policy": ("HasModelQualityGate", policies.grant_read_metrics()),
    }), condition="StepFunctionsEnabled")
    # With a key, the queues are encrypted with it: the schedule sends to its dead-letter queue, the pipe reads.
    scheduler = st.add(role(st, "SchedulerRole", "scheduler", SCHEDULER, {
        "start-pipeline-policy": policies.grant_start_execution(names.state_machine_arn())
        + policies.grant_send(names.dead_letter_queue_arn()),
    }, optional={
        "kms-policy": ("HasKmsKey", policies.grant_queue_key(key_arn, send=True)),
    }), condition="PipelineScheduled")
    pipe = st.add(role(st, "RetrainPipeRole", "retrain-pipe", PIPES, {
        "retrain-policy": policies.grant_drain_queue(names.retrain_queue_arn())
        + policies.grant_start_execution(names.state_machine_arn()),
    }, optional={
        "kms-policy": ("HasKmsKey", policies.grant_queue_key(key_arn, send=False)),
    }), condition="RetrainsOnNewData")

    infrastructure = st.add(iam.Role(
        "EcsInfrastructureRole",
        RoleName=names.role_name("ecs-infrastructure"),
        # The trust policy AWS documents for this role, without aws:SourceAccount: no AWS
        # document says ECS sends that key when it assumes the role, and if it does not, a
        # condition on it stops every blue/green deployment from starting.  Source:
        # docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
        # The role can do only what ECS's managed load balancer policy allows.
        AssumeRolePolicyDocument=policies.trust(ECS, source_account=False),
        PermissionsBoundary=st.boundary(),
        # AWS's managed policy for ECS blue/green, canary and linear deployments on ALB listeners.
        ManagedPolicyArns=[Sub("arn:${AWS::Partition}:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers")],
    ), condition="ShiftsTraffic")
    st.output("EcsInfrastructureRoleArn", If(st.condition("ShiftsTraffic"), GetAtt(infrastructure, "Arn"), NONE),
              "Role ECS shifts load balancer traffic with, or none")

    described = {execution: "ECS task execution role", **{tasks[s]: f"Task role of {s}" for s in SERVICES}}
    for resource, what in described.items():
        st.output(f"{resource.title}Arn", GetAtt(resource, "Arn"), f"{what} ARN")
        st.output(f"{resource.title}Name", Ref(resource), f"{what} name")
    st.output("StepFunctionsRoleArn", GetAtt(pipeline, "Arn"), "Step Functions role ARN",
              condition="StepFunctionsEnabled")
    st.output("SchedulerRoleArn", If(st.condition("PipelineScheduled"), GetAtt(scheduler, "Arn"), NONE),
              "Role EventBridge Scheduler starts the pipeline with, or none")
    st.output("RetrainPipeRoleArn", If(st.condition("RetrainsOnNewData"), GetAtt(pipe, "Arn"), NONE),
              "Role the new-data pipe starts the pipeline with, or none")
    return st


def role(st: StackTemplate, logical_id: str, purpose: str, service: str, grants: dict,
         optional: dict | None = None) -> iam.Role:
    """A role `service` may assume, with one inline policy per grant group;
    `optional` grants exist only under their condition.

    Policy names follow the seed's `<prefix>-<purpose>-<what>-policy` so its
    troubleshooting commands (aws iam get-role-policy ...) still apply.
    """
    def policy(suffix: str, grant: list) -> iam.Policy:
        return iam.Policy(PolicyName=Sub(f"{names.PREFIX}-{purpose}-{suffix}"), PolicyDocument=policies.document(grant))

    return iam.Role(
        logical_id,
        RoleName=names.role_name(purpose),
        AssumeRolePolicyDocument=policies.trust(service),
        PermissionsBoundary=st.boundary(),
        Policies=[policy(suffix, grant) for suffix, grant in grants.items()] + [
            If(st.condition(condition), policy(suffix, grant), NoValue)
            for suffix, (condition, grant) in (optional or {}).items()
        ],
    )


def task_role(st: StackTemplate, service: str, bucket_arn, key_arn) -> iam.Role:
    """What one task's code may do: its locations of the data bucket (model.TASK_ACCESS), the metrics
    namespace if it publishes metrics, and the key where the environment has one (its objects are
    encrypted with it)."""
    access = TASK_ACCESS[service]
    grants = {"s3-policy": task_data_access(bucket_arn, access)}
    if access.publishes_metrics:
        grants["metrics-policy"] = policies.grant_metrics(names.metric_namespace())
    return role(st, f"{title(service)}TaskRole", f"{service}-task", ECS_TASKS, grants, optional={
        "kms-policy": ("HasKmsKey", policies.grant_encrypt_decrypt(key_arn)),
    })


def task_data_access(bucket_arn, access: TaskAccess) -> list:
    """Read and write exactly the task's locations; delete nothing."""
    return ([s for location in access.reads for s in policies.grant_read(bucket_arn, location)]
            + [s for location in access.writes for s in policies.grant_write(bucket_arn, location)])
