"""The deploy verbs: deploy, diff, status, outputs, drift, destroy.

deploy: recover a stack left in a failed state -> bootstrap the artifacts
bucket -> upload templates by content hash -> create a change set (nested
stacks included) -> review -> guard stateful resources -> confirm ->
execute with a client request token -> stream events -> verify the final
status with describe_stacks -> print the outputs.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .. import synth, ui
from ..errors import EXIT_INTERRUPTED, EXIT_OK, AwsError, RefusedError, UserError
from ..model import MANAGED_BY
from ..parameters import as_cli_parameters, parameter_values
from ..settings import Settings
from . import artifacts, review as reviews
from .aws import Aws, error_code, error_message
from .cfn import describe, outputs_of, wait
from .states import (
    BROKEN, CONTINUE_ROLLBACK, DELETED, RECREATE, RESOURCE_FAILED, SUCCESS, in_progress,
)
from .watch import first_failure, watch

CAPABILITIES = ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "No changes")


@dataclass
class DeployOptions:
    yes: bool = False
    execute: bool = True
    express: bool | None = None          # None: the settings decide
    output: str = "text"                 # text | json | markdown
    allow_replace: tuple[str, ...] = ()
    wait: bool = False                   # wait for an operation already in progress
    skip_image_check: bool = False
    poll: float = 2.0


@dataclass
class Target:
    """The stack a verb acts on."""

    settings: Settings
    aws: Aws
    env_flag: str = ""
    project_dir: Path = Path(".")

    @property
    def name(self) -> str:
        return self.settings.stack_name

    @property
    def cfn(self):
        return self.aws.client("cloudformation")

    @property
    def resume_hint(self) -> str:
        return f"automl-cfn status {self.env_flag} --watch".replace("  ", " ")

    def describe(self) -> dict | None:
        return describe(self.cfn, self.name)

    @cached_property
    def files(self) -> dict[str, bytes]:
        """The committed templates (generated/templates), read once per verb."""
        return synth.read_generated(self.project_dir / "generated")

    @cached_property
    def documents(self) -> dict[str, dict]:
        return synth.parse_documents(self.files)

    def tags(self) -> list[dict[str, str]]:
        return [{"Key": "Project", "Value": self.settings.project_name},
                {"Key": "Environment", "Value": self.settings.environment},
                {"Key": "ManagedBy", "Value": MANAGED_BY}]


class NoChanges(Exception):
    pass


# ---------------------------------------------------------------------------
# deploy and diff
# ---------------------------------------------------------------------------

@dataclass
class ChangeSet:
    id: str
    name: str
    stack_id: str
    type: str
    review: reviews.StackReview
    risks: list[reviews.Risk] = field(default_factory=list)


def deploy(target: Target, options: DeployOptions) -> int:
    target.files  # missing templates are bad input: found before any AWS request
    check_images(target, options)
    stack = recover(target, options)
    change_set = prepare_change_set(target, stack, options)
    if change_set is None:
        return EXIT_OK
    show_review(change_set, options)
    guard(target, change_set, options)
    if not options.execute:
        ui.info(f"Change set {change_set.name} left for review (not executed). Execute it with:\n"
                f"  aws cloudformation execute-change-set --change-set-name {change_set.id}")
        return EXIT_OK
    try:
        confirmed = ui.confirm(f"Execute change set {change_set.name} on {target.name}?", options.yes,
                               "pass --yes to deploy without a prompt")
    except RefusedError:
        discard(target, change_set)
        raise
    if not confirmed:
        discard(target, change_set)
        raise RefusedError("not executed; the change set was deleted")
    return execute(target, change_set, options)


def diff(target: Target, options: DeployOptions) -> int:
    """The review without executing; the change set is deleted afterwards."""
    target.files  # missing templates are bad input: found before any AWS request
    stack = target.describe()
    if stack and (in_progress(stack["StackStatus"]) or stack["StackStatus"] in RECREATE | CONTINUE_ROLLBACK | BROKEN):
        if stack["StackStatus"] != "REVIEW_IN_PROGRESS":
            raise AwsError(f"{target.name} is {stack['StackStatus']}; a diff needs a stable stack "
                           f"(see 'automl-cfn status' and 'automl-cfn deploy')")
        stack = None
    change_set = prepare_change_set(target, stack, options)
    if change_set is None:
        return EXIT_OK
    try:
        show_review(change_set, options)
    finally:
        discard(target, change_set)
    return EXIT_OK


def check_images(target: Target, options: DeployOptions) -> None:
    """Refuse to point the task definitions at a tag that was never pushed."""
    tag = target.settings.image_tag
    if not tag or options.skip_image_check:
        return
    from ..model import SERVICES
    from ..ops.images import missing_images

    missing = missing_images(target, tag, SERVICES)
    if missing:
        raise RefusedError(f"image tag {tag!r} is not in ECR repository {missing[0]}"
                           f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; push it with "
                           f"'automl-cfn build {target.env_flag} --tag {tag} --push', or pass --skip-image-check")


def prepare_change_set(target: Target, stack: dict | None, options: DeployOptions) -> ChangeSet | None:
    """Upload, create the change set, wait for it; None when there is nothing to change."""
    cfn = target.cfn
    files = {name: body for name, body in target.files.items() if name != artifacts.ARTIFACTS_TEMPLATE}
    bucket = artifacts.bootstrap(target.aws, target.files[artifacts.ARTIFACTS_TEMPLATE])
    template_set = artifacts.upload(target.aws, bucket, target.settings.project_name, files)
    ui.info(f"Templates in s3://{bucket}/{template_set.prefix} "
            f"({template_set.uploaded} uploaded, {template_set.skipped} already there)")
    values = {**parameter_values(target.settings), "TemplatesBucket": bucket, "TemplatesPrefix": template_set.prefix}
    kind = "CREATE" if stack is None else "UPDATE"
    name = f"automl-cfn-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    request = dict(
        StackName=target.name, ChangeSetName=name, ChangeSetType=kind,
        TemplateURL=template_set.url("root", target.aws.region),
        Parameters=as_cli_parameters(values), Capabilities=CAPABILITIES, Tags=target.tags(),
        IncludeNestedStacks=True, Description=f"automl-cfn deploy of {target.settings.environment}",
    )
    express = target.settings.express_deploys if options.express is None else options.express
    if express:
        request["DeploymentConfig"] = {"Mode": "EXPRESS"}
    created = cfn.create_change_set(**request)
    change_set_id, stack_id = created["Id"], created["StackId"]
    try:
        wait_for_change_set(cfn, change_set_id, options.poll)
    except NoChanges:
        cfn.delete_change_set(ChangeSetName=change_set_id)
        ui.out().print(f"No changes: {target.name} is up to date.")
        return None
    except AwsError:
        cfn.delete_change_set(ChangeSetName=change_set_id)
        raise
    review = reviews.from_change_set(cfn, change_set_id, target.name, change_set_type=kind)
    old_values = {p["ParameterKey"]: p.get("ParameterValue") for p in (stack or {}).get("Parameters", [])}
    if stack:  # on a first deploy every parameter is new: the review lists resources only
        review.parameters = reviews.parameter_changes(old_values, parameter_values(target.settings))
    review.cost = cost_change(target, old_values if stack else None, values)
    return ChangeSet(id=change_set_id, name=name, stack_id=stack_id, type=kind, review=review)


def cost_change(target: Target, old_values: dict | None, new_values: dict) -> dict | None:
    """Monthly estimate before and after the change; None if it cannot be computed (it never blocks a deploy)."""
    from .. import cost

    try:
        after = cost.estimate(target.documents, new_values, target.settings, target.aws.region).total
        before = cost.estimate(target.documents, old_values, target.settings, target.aws.region).total \
            if old_values else 0.0
    except (KeyError, ValueError, TypeError):
        return None
    return {"before": before, "after": after}


def wait_for_change_set(cfn, change_set_id: str, poll: float) -> dict:
    delay = min(poll, 1.0)
    while True:
        description = cfn.describe_change_set(ChangeSetName=change_set_id)
        status = description.get("Status")
        if status == "CREATE_COMPLETE":
            return description
        if status == "FAILED":
            reason = description.get("StatusReason", "")
            if any(marker in reason for marker in NO_CHANGES):
                raise NoChanges()
            raise AwsError(f"the change set failed: {reason}")
        if status == "DELETE_COMPLETE":
            raise AwsError("the change set was deleted while it was being created")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def show_review(change_set: ChangeSet, options: DeployOptions) -> None:
    review = change_set.review
    if options.output == "json":
        print(reviews.to_json(review))
    elif options.output == "markdown":
        print(reviews.to_markdown(review, change_set.risks or None))
    else:
        colour = ui.is_tty(sys.stdout)
        text = reviews.render_text(review, colour)
        if colour:
            ui.out().print(text)
        else:
            print(text)


def stateful_logical_ids(documents: dict[str, dict]) -> set[str]:
    """Logical IDs of the resources our templates mark as holding data."""
    return {logical_id for ids in stateful_by_child(documents).values() for logical_id in ids}


def guard(target: Target, change_set: ChangeSet, options: DeployOptions) -> None:
    """Refuse to replace or remove a stateful resource unless --allow-replace names it."""
    risks = reviews.risky_changes(change_set.review, stateful_logical_ids(target.documents))
    allowed = set(options.allow_replace)
    blocked = [r for r in risks if r.logical_id not in allowed]
    change_set.risks = blocked
    if blocked:
        discard(target, change_set)
        first = blocked[0]
        more = f" (and {len(blocked) - 1} more)" if len(blocked) > 1 else ""
        raise RefusedError(
            f"{first.path}/{first.logical_id} ({first.resource_type}) {first.reason}{more}; data would be lost. "
            f"Pass --allow-replace {first.logical_id} to allow it; the change set was deleted"
        )


def discard(target: Target, change_set: ChangeSet) -> None:
    """Delete a change set we will not execute; a never-created stack goes with it."""
    cfn = target.cfn
    try:
        cfn.delete_change_set(ChangeSetName=change_set.id)
    except Exception as exc:  # already gone
        if error_code(exc) not in ("ChangeSetNotFound", "ValidationError"):
            raise
    if change_set.type == "CREATE":
        stack = target.describe()
        if stack and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
            cfn.delete_stack(StackName=change_set.stack_id)


def execute(target: Target, change_set: ChangeSet, options: DeployOptions) -> int:
    cfn = target.cfn
    since = latest_event_time(cfn, change_set.stack_id)
    token = f"automl-cfn-{uuid.uuid4()}"
    if change_set.type == "UPDATE":  # a stack being created has nothing to protect yet
        protect(target, change_set.stack_id, allow=set(options.allow_replace))
    try:
        cfn.execute_change_set(ChangeSetName=change_set.id, ClientRequestToken=token)
    except Exception as exc:
        if not error_code(exc):
            raise
        failure = first_failure(cfn, change_set.stack_id, since)
        where = f"; first failure: {failure[0]} ({failure[1]}): {failure[2]}" if failure else ""
        raise AwsError(f"deploying {target.name} failed: {error_message(exc)}{where}") from None
    try:
        status = watch(cfn, change_set.stack_id, target.name, since, poll=options.poll)
    except KeyboardInterrupt:
        ui.info(f"\nStopped watching. The deployment goes on in CloudFormation (nothing was cancelled).\n"
                f"Resume watching with: {target.resume_hint}")
        return EXIT_INTERRUPTED
    final = cfn.describe_stacks(StackName=change_set.stack_id)["Stacks"][0]
    status = final["StackStatus"]
    if status not in SUCCESS:
        failure = first_failure(cfn, change_set.stack_id, since)
        where = f"; first failure: {failure[0]} ({failure[1]}): {failure[2]}" if failure else ""
        reason = final.get("StackStatusReason")
        raise AwsError(f"deploying {target.name} failed: the stack is {status}{where or (f'; {reason}' if reason else '')}")
    protect(target, change_set.stack_id, allow=set())
    if bool(final.get("EnableTerminationProtection")) != target.settings.termination_protection:
        set_termination_protection(target)
    ui.info(f"{target.name}: {status}")
    print_outputs(final, "table", target.env_flag)
    return EXIT_OK


def latest_event_time(cfn, stack_id: str) -> datetime:
    """Server time of the newest event so far (so clock skew cannot hide or repeat events)."""
    try:
        events = cfn.describe_stack_events(StackName=stack_id).get("StackEvents", [])
    except Exception:
        events = []
    if not events:
        return datetime.now(timezone.utc) - timedelta(minutes=5)
    newest = max(e["Timestamp"] for e in events)
    newest = newest if newest.tzinfo else newest.replace(tzinfo=timezone.utc)
    return newest + timedelta(microseconds=1)


# ---------------------------------------------------------------------------
# recovering from a failed or busy stack
# ---------------------------------------------------------------------------

def recover(target: Target, options: DeployOptions) -> dict | None:
    """The deployed stack, made updatable; None when it has to be created."""
    cfn = target.cfn
    stack = target.describe()
    if stack is None:
        return None
    status = stack["StackStatus"]
    if in_progress(status):
        if not options.wait:
            raise AwsError(f"{target.name} is {status}: another operation is running. Wait for it with "
                           f"'{target.resume_hint}', or pass --wait to wait here")
        ui.info(f"{target.name} is {status}; waiting for it to finish")
        watch(cfn, stack["StackId"], target.name, datetime.now(timezone.utc), poll=options.poll)
        stack = target.describe()
        if stack is None:
            return None
        status = stack["StackStatus"]
    if status in RECREATE:
        what = ("holds no resources yet (a change set was never executed)" if status == "REVIEW_IN_PROGRESS"
                else "never finished creating; its data resources, if any, are retained")
        ui.info(f"{target.name} is {status}: it {what}.")
        if not ui.confirm(f"Delete {target.name} and create it again?", options.yes,
                          "pass --yes to delete and recreate it"):
            raise RefusedError(f"{target.name} is {status} and was left as it is")
        cfn.delete_stack(StackName=stack["StackId"])
        wait(cfn, stack["StackId"], options.poll)
        return None
    if status in CONTINUE_ROLLBACK:
        continue_rollback(target, stack, options)
        return target.describe()
    if status in BROKEN:
        raise AwsError(f"{target.name} is {status}; fix what blocked it (see 'automl-cfn status') and run "
                       "'automl-cfn destroy' again")
    if status in DELETED:
        return None
    return stack


def failed_resources(cfn, stack_id: str) -> list[str]:
    """Logical IDs (nested ones as Stack.Resource) still in a failed state."""
    failed = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceStatus"] in RESOURCE_FAILED | {"UPDATE_FAILED"}:
                failed.append(resource["LogicalResourceId"])
    return failed


def continue_rollback(target: Target, stack: dict, options: DeployOptions) -> None:
    """UPDATE_ROLLBACK_FAILED: continue the rollback, skipping the resources that cannot roll back."""
    cfn = target.cfn
    skip = failed_resources(cfn, stack["StackId"])
    named = ", ".join(skip) if skip else "none"
    ui.info(f"{target.name} is UPDATE_ROLLBACK_FAILED. Continuing the rollback, skipping: {named}")
    if not ui.confirm("Continue the rollback?", options.yes, "pass --yes to continue the rollback"):
        raise RefusedError(f"{target.name} is UPDATE_ROLLBACK_FAILED and was left as it is")
    since = latest_event_time(cfn, stack["StackId"])
    cfn.continue_update_rollback(StackName=stack["StackId"], ResourcesToSkip=skip)
    status = watch(cfn, stack["StackId"], target.name, since, poll=options.poll)
    if status != "UPDATE_ROLLBACK_COMPLETE":
        raise AwsError(f"continuing the rollback of {target.name} ended in {status}")


# ---------------------------------------------------------------------------
# protection
# ---------------------------------------------------------------------------

def stateful_by_child(documents: dict[str, dict]) -> dict[str, list[str]]:
    """Child stack logical ID -> its stateful resources' logical IDs."""
    from ..model import title

    result = {}
    for name, doc in documents.items():
        ids = sorted(k for k, v in doc.get("Resources", {}).items() if v["Type"] in reviews.STATEFUL_TYPES)
        if ids and name not in ("root", "artifacts"):
            result[f"{title(name)}Stack"] = ids
    return result


def stack_policy(protected: list[str]) -> str:
    statements = [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
    if protected:
        statements.insert(0, {
            "Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*",
            "Resource": [f"LogicalResourceId/{logical_id}" for logical_id in protected],
        })
    return json.dumps({"Statement": statements}, sort_keys=True)


def protect(target: Target, stack_id: str, allow: set[str]) -> None:
    """Stack policies that deny replacing or deleting stateful resources, except those allowed.

    The root protects the nested stacks that hold data; each of those
    protects its own data resources.
    """
    cfn = target.cfn
    children = stateful_by_child(target.documents)
    try:
        cfn.set_stack_policy(StackName=stack_id, StackPolicyBody=stack_policy(
            [c for c in children if c not in allow]))
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
            for resource in page["StackResourceSummaries"]:
                protected = children.get(resource["LogicalResourceId"])
                if protected and resource.get("PhysicalResourceId"):
                    cfn.set_stack_policy(StackName=resource["PhysicalResourceId"], StackPolicyBody=stack_policy(
                        [p for p in protected if p not in allow]))
    except Exception as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
            return  # a stack being created has no resources to protect yet
        raise


NOT_AVAILABLE = {"InvalidAction", "NotImplemented", "UnsupportedOperation"}


def set_termination_protection(target: Target) -> None:
    wanted = target.settings.termination_protection
    try:
        target.cfn.update_termination_protection(StackName=target.name, EnableTerminationProtection=wanted)
    except Exception as exc:
        if error_code(exc) not in NOT_AVAILABLE:
            raise
        if wanted:
            ui.info(f"note: termination protection is not available at this endpoint; it stays off here")


# ---------------------------------------------------------------------------
# status, outputs, drift
# ---------------------------------------------------------------------------

def require_stack(target: Target) -> dict:
    stack = target.describe()
    if stack is None:
        raise AwsError(f"{target.name} is not deployed in {target.aws.region}; deploy it with "
                       f"'automl-cfn deploy {target.env_flag}'".replace("  ", " "))
    return stack


def status(target: Target, follow: bool, poll: float = 2.0) -> int:
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


def stack_outputs(stack: dict) -> dict[str, str]:
    return outputs_of(stack)


def env_name(key: str) -> str:
    """ClusterName -> CLUSTER_NAME."""
    import re

    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).upper()


COMMAND_OUTPUTS = ("QuickStartCommands", "RunTaskCommand")


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
        ui.out().print(line, markup=False)


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
