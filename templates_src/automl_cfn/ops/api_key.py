"""rotate-api-key: a new API key for the prediction service, without refusing a client on the way.

ECS reads a task's secrets only when the task starts, so a new key reaches the service through a new
deployment, and a client cannot switch at the same instant.  Hence two steps, with a grace period between:

1. `rotate-api-key`: the current key goes into the previous-key secret (API_KEY_PREVIOUS), a new random
   key into the API key secret (API_KEY), and the service is redeployed.  Every task it then runs accepts
   both keys: clients switch to the new key whenever they like.
2. `rotate-api-key --finish`: the previous-key secret gets a random value nobody knows, and the service
   is redeployed: the old key stops working.

Each step waits until the service runs only tasks of its own deployment (the tasks started before hold
the old secrets).  A step run again is safe: the first step finds a rotation in progress (the previous-key
secret holds the API key secret's AWSPREVIOUS version) and only redeploys, instead of pushing out the key
clients may not have switched to yet; `--finish` always sets a fresh unknown value and redeploys.

Secrets Manager encrypts with whichever key the secret names, so a customer-managed key needs nothing here.
Secret values stay in memory: none is ever printed; the output says how to read the key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .. import ui
from ..deploy.aws import error_code
from ..errors import EXIT_INTERRUPTED, EXIT_OK, AwsError, RefusedError, UserError
from ..model import API_KEY_LENGTH, NONE
from .context import Deployed

SECRET = "ApiKeySecretArn"
PREVIOUS = "ApiKeyPreviousSecretArn"
START, FINISH = "start", "finish"


@dataclass(frozen=True)
class Options:
    finish: bool = False
    yes: bool = False
    output: str = "text"
    poll: float = 10.0
    force_unlock: bool = False


@dataclass(frozen=True)
class Where:
    """What a rotation touches, from the stack's outputs."""

    secret: str
    previous: str
    cluster: str
    service: str

    @classmethod
    def of(cls, deployed: Deployed) -> "Where":
        """Refuse (exit 2) an environment deployed without an API key secret or a prediction service."""
        outputs, name = deployed.outputs, deployed.target.name
        deploy = f"'automl-cfn deploy {deployed.target.env_flag}'".replace("  ", " ")
        if outputs.get(SECRET, NONE) == NONE:
            raise UserError(f"{name} was deployed without an API key secret: there is no API key to rotate "
                            f"until {deploy} creates it")
        if not outputs.get("PredictionServiceName"):
            raise UserError(f"{name} was deployed without a prediction service: there is no service whose API "
                            f"key to rotate until {deploy} creates it")
        if outputs.get(PREVIOUS, NONE) == NONE:
            raise UserError(f"{name} has no previous-key secret, which a rotation needs (it was deployed before "
                            f"automl-cfn made one); {deploy} creates it")
        return cls(outputs[SECRET], outputs[PREVIOUS], deployed.get("ClusterName"), outputs["PredictionServiceName"])


def rotate(deployed: Deployed, options: Options) -> int:
    where = Where.of(deployed)
    target = deployed.target
    from ..deploy import lock
    from ..deploy.destroy import artifacts_bucket

    bucket = artifacts_bucket(target)
    if bucket is None:   # deployed by other means (taskcat): there is no lock to take
        return _rotate(deployed, where, options)
    with lock.held(target.aws.client("s3"), bucket, target.name, "rotate-api-key", target.resume_hint,
                   options.force_unlock):
        return _rotate(deployed, where, options)


def _rotate(deployed: Deployed, where: Where, options: Options) -> int:
    secrets, target = deployed.client("secretsmanager"), deployed.target
    current = secret_value(secrets, where.secret)
    in_progress = secret_value(secrets, where.secret, "AWSPREVIOUS") == secret_value(secrets, where.previous)
    step = FINISH if options.finish else START
    resumed = step == START and in_progress
    for line in plan_lines(step, in_progress, where):
        say(line)
    if not ui.confirm(QUESTIONS[step].format(name=target.name), options.yes,
                      "pass --yes to go ahead without a prompt"):
        raise RefusedError(f"the API key of {target.name} was not rotated; nothing changed")
    done = []
    if step == START and not resumed:
        # The current key first: a task that starts between the two writes accepts the current key either way.
        secrets.put_secret_value(SecretId=where.previous, SecretString=current)
        done.append("copied the API key into the previous-key secret")
        secrets.put_secret_value(SecretId=where.secret, SecretString=random_key(secrets))
        done.append("put a new random key into the API key secret")
    elif step == FINISH:
        secrets.put_secret_value(SecretId=where.previous, SecretString=random_key(secrets))
        done.append("put a random value nobody knows into the previous-key secret")
    ecs = deployed.client("ecs")
    deployment = new_deployment(ecs, where)
    done.append(f"started deployment {deployment} of {where.service}")
    say(f"Redeploying {where.service} so that its tasks read the secrets again (deployment {deployment}); "
        "the tasks it runs now keep serving until the new ones are ready")
    try:
        final = wait_stable(ecs, where, deployment, options.poll)
    except AwsError as exc:
        raise AwsError(f"{exc} (the secrets are changed already; once the service is healthy, the same command "
                       "again redeploys it and follows that deployment)") from None
    except KeyboardInterrupt:
        say(f"\nStopped following; the deployment goes on. Watch it with: aws ecs describe-services --cluster "
            f"{where.cluster} --services {where.service}")
        return EXIT_INTERRUPTED
    done.append(f"deployment {deployment} {final}: every task runs with the new secrets")
    report(target, step, resumed, where, deployment, done, options.output)
    return EXIT_OK


QUESTIONS = {
    START: "Rotate the API key of {name} (both keys work until the rotation is finished)?",
    FINISH: "Finish the API key rotation of {name} (the previous key stops working)?",
}


def plan_lines(step: str, in_progress: bool, where: Where) -> list[str]:
    if step == START and in_progress:
        return ["A rotation is in progress (the previous-key secret holds the key before the current one): the "
                "keys stay as they are, and the service is redeployed so that every task accepts both.",
                "To rotate again, finish this rotation first (--finish)."]
    if step == START:
        return [f"The API key in {where.secret} moves to {where.previous}, and a new random key replaces it.",
                f"{where.service} is then redeployed: its tasks accept the new key and the current one."]
    lines = [f"{where.previous} gets a random value nobody knows, and {where.service} is redeployed: the key "
             "before the rotation stops working."]
    if not in_progress:
        lines.append("No rotation seems to be in progress (the previous-key secret does not hold the key before "
                     "the current one); finishing replaces its value anyway.")
    return lines


def secret_value(secrets, arn: str, stage: str = "AWSCURRENT") -> str | None:
    """The secret's text in that stage; None when no version has the stage (a secret never changed has no
    AWSPREVIOUS)."""
    try:
        value = secrets.get_secret_value(SecretId=arn, VersionStage=stage)
    except Exception as exc:
        if stage != "AWSCURRENT" and error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    if "SecretString" not in value:
        raise AwsError(f"{arn} holds a binary value; ECS injects only text secrets into a container")
    return value["SecretString"]


def random_key(secrets) -> str:
    """As the template's GenerateSecretString makes the first: letters and digits (it travels in a header)."""
    return secrets.get_random_password(PasswordLength=API_KEY_LENGTH, ExcludePunctuation=True,
                                       IncludeSpace=False)["RandomPassword"]


def new_deployment(ecs, where: Where) -> str:
    """Force a new deployment of the service (same task definition): its tasks read the secrets at start."""
    service = ecs.update_service(cluster=where.cluster, service=where.service, forceNewDeployment=True)["service"]
    primary = [d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"]
    if not primary:
        raise AwsError(f"{where.service}: ECS started no deployment; see aws ecs describe-services --cluster "
                       f"{where.cluster} --services {where.service}")
    return primary[0]["id"]


def wait_stable(ecs, where: Where, deployment: str, poll: float) -> str:
    """Until `deployment` is the service's only one and has finished: then no task from before it runs.
    Its rolloutState where ECS reports one (rolling updates with the circuit breaker), running = desired
    otherwise; a failed or replaced deployment is an AWS failure (exit 1)."""
    seen = None
    while True:
        services = ecs.describe_services(cluster=where.cluster, services=[where.service]).get("services") or []
        if not services:
            raise AwsError(f"{where.service} is no longer in {where.cluster}")
        deployments = services[0].get("deployments", [])
        ours = next((d for d in deployments if d.get("id") == deployment), None)
        if ours is None:
            newer = ", ".join(ui.printable(d.get("id", "?")) for d in deployments)
            raise AwsError(f"{where.service}: deployment {deployment} was replaced by {newer} before it finished; "
                           f"see aws ecs describe-services --cluster {where.cluster} --services {where.service}")
        state = ours.get("rolloutState")
        running, desired = ours.get("runningCount", 0), ours.get("desiredCount", 0)
        older = len(deployments) - 1
        progress = (state, running, desired, older)
        if progress != seen:
            say(f"{time.strftime('%H:%M:%S')}  {state or ours.get('status', '')}  {running}/{desired} tasks"
                + (f", {older} older deployment(s) draining" if older else "")
                + (f"  {ui.printable(ours['rolloutStateReason'])}" if ours.get("rolloutStateReason") else ""))
            seen = progress
        if state == "FAILED":
            raise AwsError(f"{where.service}: deployment {deployment} FAILED: "
                           f"{ui.printable(ours.get('rolloutStateReason') or 'no reason given')}")
        if not older and (state == "COMPLETED" or (state is None and running == desired)):
            return state or "STABLE"
        time.sleep(poll)


def report(target, step: str, resumed: bool, where: Where, deployment: str, done: list[str], output: str) -> None:
    read_key = f"aws secretsmanager get-secret-value --secret-id {where.secret} --query SecretString --output text"
    finish = f"automl-cfn rotate-api-key {target.env_flag} --finish".replace("  ", " ")
    if output == "json":
        import json

        print(json.dumps({
            "stack": target.name, "step": step, "resumed": resumed, "done": done,
            "secret_arn": where.secret, "previous_secret_arn": where.previous,
            "cluster": where.cluster, "service": where.service, "deployment_id": deployment,
            "read_key": read_key, "next": finish if step == START else None,
        }, indent=2))
        return
    out = ui.out()
    if step == START:
        out.print(f"{target.name}: the service accepts the new API key and the previous one.")
        out.print(f"Read the new key with: {read_key}")
        out.print(f"Clients may switch to it now. Once they all have, run: {finish}")
    else:
        out.print(f"{target.name}: rotation finished; only the current API key works.")
        out.print(f"Read it with: {read_key}")


def say(line: str) -> None:
    """Progress on stderr, as written (an ARN or an AWS reason is not markup)."""
    ui.err().print(line)
