"""run: start one pipeline task on ECS with everything taken from the outputs
(cluster, task family, subnets, security group, public IP), optionally wait
for it to stop and report its exit code."""

from __future__ import annotations

import time
from dataclasses import dataclass

from .. import ui
from ..errors import EXIT_INTERRUPTED, EXIT_OK, AwsError, UserError
from ..model import ONE_OFF_COMMAND, title
from ..settings import FARGATE_MEMORY_BY_CPU
from .context import Deployed, check_service


@dataclass
class RunOptions:
    service: str
    wait: bool = False
    spot: bool = False
    cpu: int | None = None
    memory: int | None = None
    poll: float = 6.0


def check_size(cpu: int | None, memory: int | None) -> None:
    """--cpu/--memory must be a pair Fargate offers (checked before any request)."""
    if cpu is None and memory is None:
        return
    if cpu is None or memory is None:
        raise UserError("--cpu and --memory go together (a Fargate task size is a pair)")
    if cpu not in FARGATE_MEMORY_BY_CPU:
        raise UserError(f"--cpu {cpu}: Fargate offers {', '.join(map(str, FARGATE_MEMORY_BY_CPU))}")
    if memory not in FARGATE_MEMORY_BY_CPU[cpu]:
        allowed = FARGATE_MEMORY_BY_CPU[cpu]
        raise UserError(f"--memory {memory}: with --cpu {cpu} Fargate offers {allowed[0]} to {allowed[-1]} "
                        f"({', '.join(map(str, allowed[:4]))}, ...)")


def request(deployed: Deployed, options: RunOptions) -> dict:
    service = options.service
    kwargs = {
        "cluster": deployed.get("ClusterName"),
        "taskDefinition": deployed.get(f"{title(service)}TaskFamily"),
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": deployed.get("TaskSubnets").split(","),
            "securityGroups": [deployed.get("TaskSecurityGroupId")],
            "assignPublicIp": deployed.get("AssignPublicIp"),
        }},
        "propagateTags": "TASK_DEFINITION",
        "startedBy": "automl-cfn",
    }
    # Explicit, and the same as the cluster's default unless --spot asks for Spot.
    spot = options.spot or deployed.target.settings.use_fargate_spot
    kwargs["capacityProviderStrategy"] = [{"capacityProvider": "FARGATE_SPOT" if spot else "FARGATE", "weight": 1}]
    container = {"name": service}
    if service in ONE_OFF_COMMAND:
        container["command"] = ONE_OFF_COMMAND[service]
    if options.cpu:
        container["memory"] = options.memory
        kwargs["overrides"] = {"cpu": str(options.cpu), "memory": str(options.memory)}
    if len(container) > 1:
        kwargs.setdefault("overrides", {})["containerOverrides"] = [container]
    return kwargs


def run(deployed: Deployed, options: RunOptions) -> int:
    check_service(options.service)
    ecs = deployed.client("ecs")
    tag = deployed.stack_parameter("ImageTag")
    if not tag:
        ui.info(f"warning: no image_tag is deployed, so {options.service} runs the ':latest' image (whatever was "
                f"pushed last, if anything); push a tag and deploy it: automl-cfn build {deployed.target.env_flag} "
                "--push, then automl-cfn deploy --var image_tag=TAG")
    response = ecs.run_task(**request(deployed, options))
    if response.get("failures"):
        failure = response["failures"][0]
        raise AwsError(f"ECS could not start {options.service}: {failure.get('reason')} "
                       f"{failure.get('detail') or ''}".strip())
    task = response["tasks"][0]
    arn = task["taskArn"]
    cluster = deployed.get("ClusterName")
    ui.out().print(f"started {options.service}: {arn}")
    ui.info(f"follow its logs: automl-cfn logs {options.service} {deployed.target.env_flag} --follow")
    if not options.wait:
        return EXIT_OK
    try:
        task = wait_for_stop(ecs, cluster, arn, options.poll)
    except KeyboardInterrupt:
        ui.info(f"\nStopped waiting; the task keeps running. Check it with: "
                f"aws ecs describe-tasks --cluster {cluster} --tasks {arn}")
        return EXIT_INTERRUPTED
    return report(options.service, task)


def wait_for_stop(ecs, cluster: str, arn: str, poll: float) -> dict:
    last = None
    while True:
        task = ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]
        status = task.get("lastStatus")
        if status != last:
            ui.info(f"{time.strftime('%H:%M:%S')}  {status}")
            last = status
        if status == "STOPPED":
            return task
        time.sleep(poll)


def report(service: str, task: dict) -> int:
    """Exit 0 only when every essential container exited 0."""
    containers = task.get("containers", [])
    codes = {c.get("name"): c.get("exitCode") for c in containers}
    reason = task.get("stoppedReason") or "no reason given"
    code = codes.get(service)
    if code == 0 and all(v in (0, None) for v in codes.values()):
        ui.out().print(f"{service} finished: exit code 0 ({reason})")
        return EXIT_OK
    detail = next((c.get("reason") for c in containers if c.get("reason")), "")
    shown = "unknown" if code is None else str(code)
    raise AwsError(f"{service} failed: exit code {shown}; stopped: {reason}" + (f"; {detail}" if detail else ""))
