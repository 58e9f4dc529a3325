"""ECS task definitions in strict mode, registered whole.

moto's CloudFormation registered a task definition from its family, containers, volumes and memory only:
no task role, no execution role, no CPU, network mode, compatibilities or tags.  So every task the pipeline
ran had no role, ecs:RunTask passed no role to check (iam:PassRole), and `describe_task_definition`
disagreed with the template.  Here every property the API takes reaches RegisterTaskDefinition.

Test: test_the_pipeline_role_runs_only_the_pipelines_tasks_on_its_cluster (it passes the task roles).
"""

from __future__ import annotations

from typing import Any

from .resources import Handler, HandlerError


def camel(value: Any) -> Any:
    """CloudFormation's PascalCase keys to the ECS API's camelCase, all the way down (values untouched)."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel(item) for item in value]
    return value


# Template property -> RegisterTaskDefinition argument (moto's backend names).
ARGUMENTS = {"NetworkMode": "network_mode", "RequiresCompatibilities": "requires_compatibilities", "Cpu": "cpu",
             "Memory": "memory", "TaskRoleArn": "task_role_arn", "ExecutionRoleArn": "execution_role_arn",
             "PlacementConstraints": "placement_constraints", "RuntimePlatform": "runtime_platform",
             "IpcMode": "ipc_mode", "PidMode": "pid_mode", "EphemeralStorage": "ephemeral_storage",
             "ProxyConfiguration": "proxy_configuration"}


class TaskDefinitionHandler(Handler):
    @staticmethod
    def backend(where):
        from moto.ecs.models import ecs_backends

        return ecs_backends[where.account][where.region]

    def physical_id(self, instance):
        return instance.arn

    def attribute(self, instance, name):
        if name == "TaskDefinitionArn":
            return instance.arn
        raise HandlerError(f"Template error: resource does not support attribute type {name} in Fn::GetAtt")

    def create(self, where, logical_id, resource_type, props):
        arguments = {argument: camel(props[name]) if isinstance(props[name], (dict, list)) else str(props[name])
                     for name, argument in ARGUMENTS.items() if props.get(name) not in (None, "")}
        tags = [{"key": t["Key"], "value": t["Value"]} for t in props.get("Tags") or [] if "Key" in t]
        try:
            return self.backend(where).register_task_definition(
                family=props.get("Family") or f"{where.stack_name}-{logical_id}",
                container_definitions=camel(props.get("ContainerDefinitions") or []),
                volumes=camel(props.get("Volumes") or []), tags=tags, **arguments)
        except Exception as exc:   # ECS's own refusal (a Fargate size it does not offer, say)
            raise HandlerError(str(exc)) from None

    def update(self, where, instance, resource_type, old, new):
        """Only tags change in place (everything else of a task definition is create-only: a new revision)."""
        instance.tags = [{"key": t["Key"], "value": t["Value"]} for t in new.get("Tags") or [] if "Key" in t]
        return instance

    def delete(self, where, instance, resource_type, props):
        self.backend(where).deregister_task_definition(instance.arn)


HANDLERS: dict[str, Handler] = {"AWS::ECS::TaskDefinition": TaskDefinitionHandler()}
