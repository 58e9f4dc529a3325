"""Pipeline: a Step Functions state machine that runs optimize -> train ->
predict as ECS tasks (`ecs:runTask.sync`), with retries on ECS API errors
and Spot interruptions, a catch that fails the execution with the task's
cause, full logging and X-Ray tracing.  The root creates this stack only
when EnableStepFunctions is true.
"""

from __future__ import annotations

import json

from troposphere import GetAtt, If, Join, Ref, Sub, stepfunctions as sfn

from ..model import ONE_OFF_COMMAND, SERVICES, title
from . import names
from .base import StackTemplate

FAILED_STATE = "PipelineFailed"
TASK_TIMEOUT_SECONDS = 24 * 3600


def build() -> StackTemplate:
    st = StackTemplate("pipeline", "Step Functions pipeline optimize -> train -> predict")
    machine = st.add(sfn.StateMachine(
        "PipelineStateMachine",
        StateMachineName=names.state_machine_name(),
        StateMachineType="STANDARD",
        RoleArn=Ref(st.input("StepFunctionsRoleArn", "Step Functions role ARN")),
        DefinitionString=definition_string(st),
        LoggingConfiguration=sfn.LoggingConfiguration(
            Level="ALL", IncludeExecutionData=True,
            Destinations=[sfn.LogDestination(CloudWatchLogsLogGroup=sfn.CloudWatchLogsLogGroup(
                LogGroupArn=Ref(st.input("PipelineLogGroupArn", "Log group ARN of the pipeline")),
            ))],
        ),
        TracingConfiguration=sfn.TracingConfiguration(Enabled=True),
    ))
    st.output("StateMachineArn", Ref(machine), "Pipeline state machine ARN")
    st.output("StateMachineName", GetAtt(machine, "Name"), "Pipeline state machine name")
    return st


def definition() -> dict:
    """The Amazon States Language document; ${...} are filled by Fn::Sub."""
    states = {}
    for index, service in enumerate(SERVICES):
        following = SERVICES[index + 1] if index + 1 < len(SERVICES) else None
        states[title(service)] = run_task_state(service, title(following) if following else None)
    states[FAILED_STATE] = {
        "Type": "Fail", "ErrorPath": "$.failed.Error", "CausePath": "$.failed.Cause",
    }
    return {
        "Comment": "AutoML pipeline: " + " -> ".join(SERVICES),
        "StartAt": title(SERVICES[0]),
        "States": states,
    }


def run_task_state(service: str, next_state: str | None) -> dict:
    state = {
        "Type": "Task",
        "Resource": "arn:${AWS::Partition}:states:::ecs:runTask.sync",
        "TimeoutSeconds": TASK_TIMEOUT_SECONDS,
        "Parameters": {
            "Cluster": "${ClusterArn}",
            "TaskDefinition": f"${{{title(service)}TaskDefinitionArn}}",
            "CapacityProviderStrategy": [{"CapacityProvider": "${CapacityProvider}", "Weight": 1}],
            "NetworkConfiguration": {"AwsvpcConfiguration": {
                "Subnets": ["${SubnetList}"],
                "SecurityGroups": ["${TaskSecurityGroupId}"],
                "AssignPublicIp": "${AssignPublicIp}",
            }},
            "PropagateTags": "TASK_DEFINITION",
            **({"Overrides": {"ContainerOverrides": [{"Name": service, "Command": ONE_OFF_COMMAND[service]}]}}
               if service in ONE_OFF_COMMAND else {}),
        },
        "ResultSelector": {"TaskArn.$": "$.TaskArn", "StoppedReason.$": "$.StoppedReason"},
        "ResultPath": f"$.{service}",
        "Retry": [
            # Throttling or capacity errors from the ECS API: back off and try again.
            {"ErrorEquals": ["ECS.AmazonECSException", "ECS.ServerException"],
             "IntervalSeconds": 30, "MaxAttempts": 3, "BackoffRate": 2.0},
            # A task that stopped (a Spot interruption included) gets one more run.
            {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 60, "MaxAttempts": 1, "BackoffRate": 1.0},
        ],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failed", "Next": FAILED_STATE}],
    }
    if next_state:
        state["Next"] = next_state
    else:
        state["End"] = True
    return state


def definition_string(st: StackTemplate) -> Sub:
    """Subnets are a list: joined with '","' they fill the JSON array in place."""
    text = json.dumps(definition(), sort_keys=True, indent=1)
    values = {
        "ClusterArn": Ref(st.input("ClusterArn", "ECS cluster ARN")),
        "SubnetList": Join('","', Ref(st.input("TaskSubnets", "Subnets tasks run in", type="CommaDelimitedList"))),
        "TaskSecurityGroupId": Ref(st.input("TaskSecurityGroupId", "Security group of the tasks")),
        "AssignPublicIp": Ref(st.input("AssignPublicIp", "ENABLED when tasks run in public subnets")),
        "CapacityProvider": If(st.condition("SpotByDefault"), "FARGATE_SPOT", "FARGATE"),
    }
    for service in SERVICES:
        key = f"{title(service)}TaskDefinitionArn"
        values[key] = Ref(st.input(key, f"Task definition ARN of {service}"))
    return Sub(text, **values)
