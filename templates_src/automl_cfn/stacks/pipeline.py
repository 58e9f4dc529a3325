"""Pipeline: a Step Functions state machine that runs optimize -> train ->
predict as ECS tasks (`ecs:runTask.sync`), with retries on ECS API errors
and Spot interruptions, a catch that fails the execution with the task's
cause, full logging and X-Ray tracing.  The root creates this stack only
when EnableStepFunctions is true.

Who starts it: a person (`automl-cfn pipeline start`), the schedule
(EventBridge Scheduler, with a dead-letter queue for invocations that
failed), or new data: objects created under data/ reach an EventBridge rule,
which queues them; an EventBridge Pipe reads the queue in batches that
collect for retrain_quiet_minutes, so a burst of uploads starts one run.  A pipe hands a
state machine its batch as a JSON array, one templated record per message
(eb-pipes-batching-concurrency.html); the first states take the batch as one
start.  Whoever starts it, the next state makes sure only one execution runs:
a start while another execution runs ends at once as skipped.  With a model
quality gate, a check between train and predict reads the metric train
published during this execution and stops the pipeline below the minimum.
"""

from __future__ import annotations

import json

import orjson

from troposphere import GetAtt, If, Join, NoValue, Ref, Sub, events, pipes, scheduler, sqs, stepfunctions as sfn

from ..model import DATA_PREFIX, ONE_OFF_COMMAND, SERVICES, title
from . import names, policies
from .base import StackTemplate

FAILED_STATE = "PipelineFailed"
TASK_TIMEOUT_SECONDS = 24 * 3600
BATCH_CHOICE = "StartedByABatch"
BATCH_STATE = "OneRunPerBatch"
GATE_STATE = "OnlyOneRunAtATime"
SKIPPED_STATE = "SkippedWhileAnotherRuns"
QUALITY_STATE = "ReadModelQuality"
QUALITY_CHOICE = "ModelGoodEnough"
QUALITY_FAILED = "ModelQualityTooLow"
# Placeholders the JSON text carries until Fn::Sub puts numbers in (ASL wants a number, not a string).
QUALITY_MIN_PLACEHOLDER = 987654321.5
SCHEDULE_WINDOW_MINUTES = 15
# The most an SQS source batch may hold with a batching window: a burst becomes one batch, one run.
MAX_SQS_BATCH = 10000
# What the pipe makes of each message.  The batch of them is the execution's input, which StartExecution
# caps at 262,144 bytes (API_StartExecution.html): a full batch of this record fits; a record carrying the
# object key (up to 1,024 bytes) would not, and the start would fail.  The bucket lists what arrived.
NEW_DATA_RECORD = {"trigger": "data"}
MAX_EXECUTION_INPUT_BYTES = 262144


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
    add_schedule(st, machine)
    add_new_data_trigger(st, machine)
    st.output("StateMachineArn", Ref(machine), "Pipeline state machine ARN")
    st.output("StateMachineName", GetAtt(machine, "Name"), "Pipeline state machine name")
    return st


def add_schedule(st: StackTemplate, machine) -> None:
    """EventBridge Scheduler starts the pipeline; an invocation that fails after its retries is kept in a
    dead-letter queue (14 days) instead of being lost."""
    dead_letters = st.add(sqs.Queue(
        "ScheduleDeadLetterQueue", QueueName=names.dead_letter_queue_name(), MessageRetentionPeriod=14 * 24 * 3600,
        KmsMasterKeyId=st.kms_or(st.kms_key_arn()), SqsManagedSseEnabled=st.kms_or(NoValue, True),
        # It holds records of schedule invocations that failed, not data: it goes with the stack, so a
        # later deploy never collides with a retained queue of the same name.
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
    ), condition="HasPipelineSchedule")
    # TLS only.  The schedule sends with its role (SchedulerRole), which the account's IAM admits: the queue
    # needs no grant of its own (scheduler/latest/UserGuide/configuring-schedule-dlq.html).
    st.add(sqs.QueuePolicy(
        "ScheduleDeadLetterQueuePolicy", Queues=[Ref(dead_letters)],
        PolicyDocument=policies.document(policies.queue_policy_statements(GetAtt(dead_letters, "Arn"))),
    ), condition="HasPipelineSchedule")
    st.add(scheduler.Schedule(
        "PipelineStartSchedule",
        Name=names.name("pipeline"),
        Description="Starts the AutoML pipeline (automl-cfn pipeline_schedule)",
        ScheduleExpression=st.ref("PipelineSchedule"),
        ScheduleExpressionTimezone=st.ref("PipelineScheduleTimezone"),
        FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="FLEXIBLE",
                                                         MaximumWindowInMinutes=SCHEDULE_WINDOW_MINUTES),
        State="ENABLED",
        Target=scheduler.Target(
            Arn=Ref(machine), RoleArn=Ref(st.input("SchedulerRoleArn", "Role the schedule starts the pipeline with")),
            Input=json.dumps({"trigger": "schedule"}),
            RetryPolicy=scheduler.RetryPolicy(MaximumEventAgeInSeconds=3600, MaximumRetryAttempts=5),
            DeadLetterConfig=scheduler.DeadLetterConfig(Arn=GetAtt(dead_letters, "Arn")),
        ),
    ), condition="HasPipelineSchedule")


def add_new_data_trigger(st: StackTemplate, machine) -> None:
    """Object Created under data/ -> rule -> queue -> pipe (batching window) -> one execution per batch."""
    condition = "RetrainsOnNewData"
    requests = st.add(sqs.Queue(
        "RetrainRequestQueue", QueueName=names.retrain_queue_name(), MessageRetentionPeriod=4 * 24 * 3600,
        KmsMasterKeyId=st.kms_or(st.kms_key_arn()), SqsManagedSseEnabled=st.kms_or(NoValue, True),
        # Notes that data arrived, nothing more: the data itself is in the bucket.
        DeletionPolicy="Delete", UpdateReplacePolicy="Delete",
    ), condition=condition)
    rule = st.add(events.Rule(
        # No RoleArn on the target: EventBridge sends to a queue under the queue's policy, and a role there
        # breaks delivery to an encrypted queue (eventbridge/latest/userguide/eb-use-resource-based.html).
        "NewDataRule", Name=names.new_data_name(), State="ENABLED",
        Description="Objects created under data/ in the data bucket: queued for the next pipeline run",
        EventPattern={"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {
            "bucket": {"name": [Ref(st.input("DataBucketName", "Data bucket name"))]},
            "object": {"key": [{"prefix": DATA_PREFIX}]}}},
        Targets=[events.Target(Id="retrain-requests", Arn=GetAtt(requests, "Arn"))],
    ), condition=condition)
    st.add(sqs.QueuePolicy(
        "RetrainRequestQueuePolicy", Queues=[Ref(requests)],
        PolicyDocument=policies.document(policies.queue_policy_statements(
            GetAtt(requests, "Arn"), policies.grant_events_send(GetAtt(requests, "Arn"), GetAtt(rule, "Arn")))),
    ), condition=condition)
    st.add(pipes.Pipe(
        "NewDataPipe", Name=names.new_data_name(), DesiredState="RUNNING",
        Description="Starts the pipeline once per batch of new-data notices",
        RoleArn=Ref(st.input("RetrainPipeRoleArn", "Role the new-data pipe starts the pipeline with")),
        Source=GetAtt(requests, "Arn"),
        SourceParameters=pipes.PipeSourceParameters(SqsQueueParameters=pipes.PipeSourceSqsQueueParameters(
            BatchSize=MAX_SQS_BATCH, MaximumBatchingWindowInSeconds=st.ref("RetrainQuietSeconds"))),
        Target=Ref(machine),
        TargetParameters=pipes.PipeTargetParameters(
            InputTemplate=json.dumps(NEW_DATA_RECORD),
            StepFunctionStateMachineParameters=pipes.PipeTargetStateMachineParameters(
                InvocationType="FIRE_AND_FORGET")),
    ), condition=condition)


def definition(quality_gate: bool = False) -> dict:
    """The Amazon States Language document; ${...} are filled by Fn::Sub."""
    states = {**batch_states(next_state=GATE_STATE), GATE_STATE: gate_state(), "AnotherRunIsActive": {
        "Type": "Choice",
        "Choices": [{"Variable": "$.gate.running", "NumericGreaterThan": 1, "Next": SKIPPED_STATE}],
        "Default": title(SERVICES[0]),
    }, SKIPPED_STATE: {"Type": "Succeed", "Comment": "Another execution runs: this start is skipped"}}
    for index, service in enumerate(SERVICES):
        following = title(SERVICES[index + 1]) if index + 1 < len(SERVICES) else None
        if quality_gate and service == "train":
            following = QUALITY_STATE
        states[title(service)] = run_task_state(service, following)
    if quality_gate:
        states.update(quality_states(next_state=title(SERVICES[SERVICES.index("train") + 1])))
    states[FAILED_STATE] = {
        "Type": "Fail", "ErrorPath": "$.failed.Error", "CausePath": "$.failed.Cause",
    }
    return {
        "Comment": "AutoML pipeline: " + " -> ".join(SERVICES) + (" (model quality checked before predict)"
                                                                 if quality_gate else ""),
        "StartAt": BATCH_CHOICE,
        "States": states,
    }


def batch_states(next_state: str) -> dict:
    """A pipe's batch arrives as an array of records (even a batch of one); a person or the schedule starts
    with an object.  The states below read `$.trigger` and add their results to an object, so a batch
    becomes the object of its first record, with the batch's size: ResultPath on an array fails the
    execution with States.ResultPathMatchFailure (concepts-error-handling.html)."""
    return {
        BATCH_CHOICE: {
            "Type": "Choice",
            "Choices": [{"Variable": "$[0]", "IsPresent": True, "Next": BATCH_STATE}],
            "Default": next_state,
        },
        BATCH_STATE: {
            "Type": "Pass",
            "Parameters": {"trigger.$": "$[0].trigger", "batch.$": "States.ArrayLength($)"},
            "Next": next_state,
        },
    }


def gate_state() -> dict:
    """How many executions of this state machine run now (this one included)."""
    return {
        "Type": "Task",
        "Resource": "arn:${AWS::Partition}:states:::aws-sdk:sfn:listExecutions",
        "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id", "StatusFilter": "RUNNING", "MaxResults": 2},
        "ResultSelector": {"running.$": "States.ArrayLength($.Executions)"},
        "ResultPath": "$.gate",
        "Next": "AnotherRunIsActive",
    }


def quality_states(next_state: str) -> dict:
    """Read the newest value of the quality metric published since this execution started; below the
    minimum, or missing, the pipeline stops before predict."""
    return {
        QUALITY_STATE: {
            "Type": "Task",
            "Resource": "arn:${AWS::Partition}:states:::aws-sdk:cloudwatch:getMetricData",
            "Parameters": {
                "MetricDataQueries": [{"Id": "quality", "ReturnData": True, "MetricStat": {
                    "Metric": {"Namespace": "${MetricNamespace}", "MetricName": "${ModelQualityMetric}"},
                    "Period": 60, "Stat": "Maximum"}}],
                "StartTime.$": "$$.Execution.StartTime",
                "EndTime.$": "$$.State.EnteredTime",
                "ScanBy": "TimestampDescending",
            },
            "ResultSelector": {"values.$": "$.MetricDataResults[0].Values"},
            "ResultPath": "$.quality",
            "Next": QUALITY_CHOICE,
        },
        QUALITY_CHOICE: {
            "Type": "Choice",
            "Choices": [{"And": [
                {"Variable": "$.quality.values[0]", "IsPresent": True},
                {"Variable": "$.quality.values[0]", "NumericGreaterThanEquals": QUALITY_MIN_PLACEHOLDER},
            ], "Next": next_state}],
            "Default": QUALITY_FAILED,
        },
        QUALITY_FAILED: {
            "Type": "Fail", "Error": "ModelQualityTooLow",
            "Cause": "${ModelQualityMetric} is below ${ModelQualityMin}, or train published none: predict did not run",
        },
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


def definition_string(st: StackTemplate):
    """Subnets are a list: joined with '","' they fill the JSON array in place.  With a quality gate the
    definition has the quality check between train and predict."""
    plain, gated = (orjson.dumps(definition(quality), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode()
                    for quality in (False, True))   # orjson: the json module indents in pure Python
    gated = gated.replace(repr(QUALITY_MIN_PLACEHOLDER), "${ModelQualityMin}")
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
    quality = {"MetricNamespace": names.metric_namespace(), "ModelQualityMetric": st.ref("ModelQualityMetric"),
               "ModelQualityMin": st.ref("ModelQualityMin")}
    return If(st.condition("HasModelQualityGate"), Sub(gated, **values, **quality), Sub(plain, **values))
