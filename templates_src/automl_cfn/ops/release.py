"""release: point the prediction service at a new image tag through the
change-set path, then follow the ECS service deployment (its strategy's
phases, bake time, rollback) until it settles.  Exit 0 on success, 1 when
ECS rolled the deployment back or it failed."""

from __future__ import annotations

import time
from dataclasses import replace

from .. import ui
from ..deploy.aws import error_code
from ..deploy.engine import deploy
from ..deploy.read import require_stack, stack_outputs
from ..deploy.target import DeployOptions, Target
from ..errors import EXIT_INTERRUPTED, EXIT_OK, AwsError, UserError

SETTLED_OK = {"SUCCESSFUL"}
SETTLED_BAD = {"ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED"}
NOT_AVAILABLE = {"InvalidAction", "UnknownOperationException", "NotImplemented"}


def release(target: Target, tag: str, options: DeployOptions, poll: float = 10.0) -> int:
    """Only the image tag changes: the deployed templates and every other deployed value stay."""
    settings = target.settings
    if not settings.enable_prediction_service:
        raise UserError(f"release moves the prediction service to a new image, and {settings.environment} has none "
                        "(enable_prediction_service: false); use 'automl-cfn deploy --var image_tag=...'")
    code = deploy(target, replace(options, release_tag=tag))
    if code != EXIT_OK:
        return code
    released = target
    outputs = stack_outputs(require_stack(released))
    cluster, service = outputs["ClusterName"], outputs.get("PredictionServiceName")
    if not service:
        raise AwsError(f"{released.name} has no prediction service output; redeploy it")
    ui.info(f"Following the deployment of {service} to {tag} ({settings.deployment_strategy})")
    cloudwatch = released.aws.client("cloudwatch")
    guarding = guards(cloudwatch, settings.prefix)
    ui.info(guard_line(guarding))
    try:
        return follow(released.aws.client("ecs"), cluster, service, poll)
    except AwsError as exc:
        firing = [a["AlarmName"] for a in guards(cloudwatch, settings.prefix) if a.get("StateValue") == "ALARM"]
        if firing:
            raise AwsError(f"{exc}; in ALARM: {', '.join(firing)}") from None
        raise
    except KeyboardInterrupt:
        ui.info(f"\nStopped following; the deployment goes on. Watch it with: aws ecs describe-services "
                f"--cluster {cluster} --services {service}")
        return EXIT_INTERRUPTED


def guards(cloudwatch, prefix: str) -> list[dict]:
    """The alarms a release of the service watches (the endpoint's and the model quality alarm), as they are."""
    from ..deploy.rollback import release_alarm_names

    return cloudwatch.describe_alarms(AlarmNames=release_alarm_names(prefix), AlarmTypes=["MetricAlarm"]).get(
        "MetricAlarms", [])


def guard_line(alarms: list[dict]) -> str:
    if not alarms:
        return "No alarm guards this release: only the deployment circuit breaker rolls it back"
    states = ", ".join(f"{a['AlarmName']} ({a.get('StateValue', '?')})" for a in alarms)
    return f"Guarded by {states}: one in ALARM rolls the release back"


def follow(ecs, cluster: str, service: str, poll: float) -> int:
    """Service deployments API where there is one; the service's rollout state otherwise."""
    try:
        arns = ecs.list_service_deployments(cluster=cluster, service=service).get("serviceDeployments", [])
    except Exception as exc:
        if error_code(exc) not in NOT_AVAILABLE:
            raise
        return follow_rollout(ecs, cluster, service, poll)
    if not arns:
        return follow_rollout(ecs, cluster, service, poll)
    newest = max(arns, key=lambda d: d.get("createdAt") or 0)["serviceDeploymentArn"]
    seen = None
    while True:
        deployment = ecs.describe_service_deployments(serviceDeploymentArns=[newest])["serviceDeployments"][0]
        state = (deployment.get("status"), deployment.get("lifecycleStage"))
        if state != seen:
            ui.info(f"{time.strftime('%H:%M:%S')}  {state[0]}" + (f"  {state[1]}" if state[1] else ""))
            seen = state
        if state[0] in SETTLED_OK:
            ui.out().print(f"{service}: deployment SUCCESSFUL")
            return EXIT_OK
        if state[0] in SETTLED_BAD:
            rollback = deployment.get("rollback") or {}
            reason = deployment.get("statusReason") or rollback.get("reason") or "no reason given"
            raise AwsError(f"{service}: deployment {state[0]}: {reason}")
        time.sleep(poll)


def follow_rollout(ecs, cluster: str, service: str, poll: float) -> int:
    seen = None
    while True:
        described = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
        primary = next((d for d in described.get("deployments", []) if d.get("status") == "PRIMARY"), {})
        state = primary.get("rolloutState") or "COMPLETED"
        if state != seen:
            ui.info(f"{time.strftime('%H:%M:%S')}  {state}  {primary.get('rolloutStateReason') or ''}".rstrip())
            seen = state
        if state == "COMPLETED":
            ui.out().print(f"{service}: deployment COMPLETED")
            return EXIT_OK
        if state == "FAILED":
            raise AwsError(f"{service}: deployment FAILED: {primary.get('rolloutStateReason') or 'no reason given'}")
        time.sleep(poll)
