"""Root: the nested stacks and nothing else.

Parameters come in and pass straight down by name; a child's other
parameters are filled from an earlier child's output of the same name
(Outputs.X across).  This is the only place stacks meet.  TemplateURLs come
from TemplatesBucket/TemplatesPrefix (the Quick Start convention), so the
deploy verb and taskcat can each host the children where they like.
"""

from __future__ import annotations

from troposphere import Equals, GetAtt, If, Join, Not, Ref, Sub, cloudformation

from ..model import LOG_SOURCES, REPOSITORIES, SERVICES, title
from ..parameters import PARAMETERS
from . import CHILD_CONDITIONS, CHILD_FALLBACKS
from .base import StackTemplate

# Child outputs the root re-exports: what operators and the verbs read.
EXPORTED = {
    "security": ["ApiKeySecretArn", "ApiKeyPreviousSecretArn"],
    "network": ["VpcId", "PublicSubnets", "PrivateSubnets", "TaskSubnets", "AssignPublicIp"],
    "endpoint": ["EndpointUrl"],
    "registry": [f"{title(r)}RepositoryUri" for r in REPOSITORIES],
    "storage": ["DataBucketName", "DataPrefix", "ModelsPrefix", "PredictionsPrefix"],
    "monitoring": [f"{title(s)}LogGroupName" for s in LOG_SOURCES] + ["AlarmTopicArn", "DashboardUrl"],
    "iam": ["ExecutionRoleArn"] + [f"{title(s)}TaskRoleArn" for s in SERVICES],
    "compute": ["ClusterName", "ClusterArn", "TaskSecurityGroupId", "PredictionServiceName"]
    + [f"{title(s)}TaskFamily" for s in SERVICES],
    "pipeline": ["StateMachineArn"],
}


class WiringError(RuntimeError):
    """A child parameter nothing provides: a bug in the stacks, caught at build time."""


def build(children: dict) -> StackTemplate:
    st = StackTemplate("root", "AutoML ML pipeline on ECS Fargate (nested stacks)")
    for name in PARAMETERS:
        st.parameter(name)
    stacks, produced = {}, {}
    for name, child in children.items():
        stacks[name] = st.add(nested_stack(st, name, child, produced), condition=CHILD_CONDITIONS.get(name))
        for output in child.template.outputs:
            if output in produced:
                raise WiringError(f"output {output} of {name} is also an output of {produced[output][0]}")
            produced[output] = (name, stacks[name])
    add_outputs(st, children, stacks)
    return st


def wired(st: StackTemplate, producer: str, stack, output: str):
    """An earlier child's output; where that child is conditional, its fallback when it does not exist."""
    value = GetAtt(stack, f"Outputs.{output}")
    if producer not in CHILD_CONDITIONS:
        return value
    fallbacks = CHILD_FALLBACKS.get(producer, {})
    if output not in fallbacks:
        raise WiringError(f"output {output} of the conditional stack {producer} has no fallback (CHILD_FALLBACKS)")
    kind, what = fallbacks[output]
    return If(st.condition(CHILD_CONDITIONS[producer]), value, Ref(st.parameter(what)) if kind == "parameter"
              else what)


def nested_stack(st: StackTemplate, name: str, child: StackTemplate, produced: dict) -> cloudformation.Stack:
    values = {}
    for param in child.template.parameters:
        if param in PARAMETERS:
            values[param] = Ref(st.parameter(param))
        elif param in produced:
            values[param] = wired(st, produced[param][0], produced[param][1], param)
        else:
            raise WiringError(f"parameter {param} of {name} is neither a root parameter nor an earlier output")
    return cloudformation.Stack(
        f"{title(name)}Stack",
        # The children's own policies retain what holds data; the stacks go.
        DeletionPolicy="Delete",
        UpdateReplacePolicy="Delete",
        TemplateURL=Sub(f"https://${{TemplatesBucket}}.s3.${{BucketRegion}}.${{AWS::URLSuffix}}/${{TemplatesPrefix}}{name}.json",
                        BucketRegion=If(st.add_condition("TemplatesInAnotherRegion",
                                                         Not(Equals(Ref(st.parameter("TemplatesRegion")), ""))),
                                        Ref("TemplatesRegion"), Ref("AWS::Region"))),
        Parameters=values,
    )


def add_outputs(st: StackTemplate, children: dict, stacks: dict) -> None:
    for name, outputs in EXPORTED.items():
        child_outputs = children[name].template.outputs
        for output in outputs:
            source = child_outputs[output]
            if name in CHILD_FALLBACKS:   # present either way: the child's value, or the fallback
                st.output(output, wired(st, name, stacks[name], output), source.Description)
                continue
            condition = getattr(source, "Condition", None) or CHILD_CONDITIONS.get(name)
            if condition:
                st.condition(condition)
            st.output(output, GetAtt(stacks[name], f"Outputs.{output}"), source.Description, condition=condition)
    for service in SERVICES:
        st.output(f"{title(service)}RunTaskCommand", run_task_command(st, stacks, service),
                  f"Run the {service} task by hand (AWS CLI)")
    st.output("QuickStartCommands", quick_start_commands(stacks), "Commands to upload data and follow the logs")


def child_output(stacks: dict, child: str, output: str) -> GetAtt:
    return GetAtt(stacks[child], f"Outputs.{output}")


def run_task_command(st: StackTemplate, stacks: dict, service: str) -> Sub:
    """The seed's `aws ecs run-task`, with subnets and security group filled in.
    No --launch-type: the cluster's default capacity provider (Spot or not) applies."""
    return Sub(
        "aws ecs run-task --cluster ${Cluster} --task-definition ${Family} "
        '--network-configuration "awsvpcConfiguration={subnets=[${Subnets}],securityGroups=[${Group}],'
        'assignPublicIp=${PublicIp}}"',
        Cluster=child_output(stacks, "compute", "ClusterName"),
        Family=child_output(stacks, "compute", f"{title(service)}TaskFamily"),
        Subnets=wired(st, "network", stacks["network"], "TaskSubnets"),
        Group=child_output(stacks, "compute", "TaskSecurityGroupId"),
        PublicIp=wired(st, "network", stacks["network"], "AssignPublicIp"),
    )


def quick_start_commands(stacks: dict) -> Join:
    bucket = child_output(stacks, "storage", "DataBucketName")
    lines = [
        Sub('aws s3 sync ../data/ s3://${Bucket}/data/ --exclude "*.pkl"', Bucket=bucket),
        Sub("aws s3 sync s3://${Bucket}/models/ ../data/models/", Bucket=bucket),
        Sub("aws ecs list-tasks --cluster ${Cluster}", Cluster=child_output(stacks, "compute", "ClusterName")),
    ] + [
        Sub("aws logs tail ${Group} --follow", Group=child_output(stacks, "monitoring", f"{title(s)}LogGroupName"))
        for s in SERVICES
    ]
    return Join("\n", lines)
