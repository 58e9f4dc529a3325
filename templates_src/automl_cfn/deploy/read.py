"""The read verbs: status, outputs, drift; and the outputs table every verb prints."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from .. import ui
from ..errors import EXIT_INTERRUPTED, EXIT_OK, AwsError
from .aws import error_code, error_message
from .cfn import outputs_of
from .states import SUCCESS, in_progress
from .target import Target
from .watch import first_failure, watch

NOT_AVAILABLE = {"InvalidAction", "NotImplemented", "UnsupportedOperation"}
COMMAND_OUTPUTS = ("QuickStartCommands", "RunTaskCommand")


def require_stack(target: Target) -> dict:
    stack = target.describe()
    if stack is None:
        raise AwsError(f"{target.name} is not deployed in {target.aws.region}; deploy it with "
                       f"'automl-cfn deploy {target.env_flag}'".replace("  ", " "))
    return stack


def stack_outputs(stack: dict) -> dict[str, str]:
    return outputs_of(stack)


def status(target: Target, follow: bool, poll: float = 2.0) -> int:
    from .apply import latest_event_time

    stack = require_stack(target)
    cfn = target.cfn
    if follow and in_progress(stack["StackStatus"]):
        try:
            watch(cfn, stack["StackId"], target.name, latest_event_time(cfn, stack["StackId"]) - timedelta(minutes=1),
                  poll=poll)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        stack = require_stack(target)
    rows = [[target.name, stack["StackStatus"], str(stack.get("LastUpdatedTime") or stack.get("CreationTime", "")),
             stack.get("StackStatusReason") or ""]]
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack["StackId"]):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::CloudFormation::Stack":
                rows.append([f"  {resource['LogicalResourceId']}", resource["ResourceStatus"],
                             str(resource.get("LastUpdatedTimestamp", "")), resource.get("ResourceStatusReason") or ""])
    ui.table(["Stack", "Status", "Updated", "Reason"], rows)
    if stack["StackStatus"] not in SUCCESS:
        failure = first_failure(cfn, stack["StackId"])
        if failure:
            ui.info(f"first failure: {failure[0]} ({failure[1]}): {failure[2]}")
        return 1 if not in_progress(stack["StackStatus"]) else EXIT_OK
    return EXIT_OK


def env_name(key: str) -> str:
    """ClusterName -> CLUSTER_NAME."""
    import re

    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).upper()


def print_outputs(stack: dict, fmt: str, env_flag: str = "") -> None:
    outputs = dict(sorted(stack_outputs(stack).items()))
    if fmt == "json":
        print(json.dumps(outputs, indent=2))
    elif fmt == "env":
        import shlex

        for key, value in outputs.items():
            print(f"export {env_name(key)}={shlex.quote(value)}")
    else:
        values = {k: v for k, v in outputs.items() if not k.endswith(COMMAND_OUTPUTS)}
        ui.table(["Output", "Value"], [[k, v] for k, v in values.items()], title=f"{stack['StackName']} outputs")
        print_quick_start(outputs, env_flag)


def print_quick_start(outputs: dict[str, str], env_flag: str) -> None:
    """The seed's quick_start_commands, and the automl-cfn verbs that replace them."""
    from ..model import SERVICES, title

    env = env_flag or "--env ENV"
    lines = ["", "Quick start:",
             f"  automl-cfn upload {env} --source data --exclude '*.pkl'",
             f"  automl-cfn run optimize {env} --wait",
             f"  automl-cfn logs optimize {env} --follow",
             f"  automl-cfn download models {env}"]
    if "StateMachineArn" in outputs:
        lines.append(f"  automl-cfn pipeline start {env} --wait")
    lines += ["", "The same with the AWS CLI:"]
    lines += [f"  {outputs[f'{title(s)}RunTaskCommand']}" for s in SERVICES if f"{title(s)}RunTaskCommand" in outputs]
    lines += [f"  {line}" for line in outputs.get("QuickStartCommands", "").splitlines()]
    for line in lines:
        ui.out().print(line)


def outputs(target: Target, fmt: str) -> int:
    print_outputs(require_stack(target), fmt, target.env_flag)
    return EXIT_OK


def drift(target: Target, poll: float = 2.0) -> int:
    """Detect drift on the root and every nested stack; show drifted resources."""
    stack = require_stack(target)
    cfn = target.cfn
    stacks = [stack["StackId"]] + [
        r["PhysicalResourceId"] for page in cfn.get_paginator("list_stack_resources").paginate(
            StackName=stack["StackId"]) for r in page["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::CloudFormation::Stack" and r.get("PhysicalResourceId")]
    rows, drifted = [], 0
    for stack_id in stacks:
        try:
            detection = cfn.detect_stack_drift(StackName=stack_id)["StackDriftDetectionId"]
        except Exception as exc:
            if error_code(exc) in NOT_AVAILABLE:
                raise AwsError(f"drift detection is not available at this endpoint ({error_message(exc)[:100]}); "
                               "it needs real CloudFormation") from None
            raise
        while True:
            result = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
            if result["DetectionStatus"] != "DETECTION_IN_PROGRESS":
                break
            time.sleep(poll)
        for page in cfn.get_paginator("describe_stack_resource_drifts").paginate(
                StackName=stack_id, StackResourceDriftStatusFilters=["MODIFIED", "DELETED"]):
            for d in page["StackResourceDrifts"]:
                drifted += 1
                props = ", ".join(p["PropertyPath"] for p in d.get("PropertyDifferences", []))
                rows.append([d["LogicalResourceId"], d["ResourceType"], d["StackResourceDriftStatus"], props])
    if rows:
        ui.table(["Resource", "Type", "Drift", "Properties"], rows, title=f"{target.name}: drift")
        return 1
    ui.out().print(f"{target.name}: no drift ({len(stacks)} stacks checked)")
    return EXIT_OK
