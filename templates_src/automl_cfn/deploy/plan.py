"""Plan a deploy: the change set and its review, checked before anything runs.

prepare: parameter values (with retained resources adopted by reference)
-> templates with retained names written out -> upload by content hash ->
predict the change offline from the provider schemas -> import what the
change would add but already exists -> create the change set -> review.

refuse_unsafe: stop before execution when the change would fail or lose
data: a replacement that keeps a custom name (CloudFormation refuses it half
way through an update), or a replacement or deletion of a stateful resource
(unless --allow-replace names it).  The line names the setting and says what
to do instead (transitions.py).
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .. import planner, synth, transitions, ui
from ..errors import AwsError, RefusedError, UserError
from ..intrinsics import TemplateError
from ..model import title
from ..parameters import as_cli_parameters
from . import adopt, artifacts, protection, retention, review as reviews, rollback
from .aws import DENIED, error_code
from .cfn import NoChanges, wait_for_change_set
from .retained import retained_in
from .target import DeployOptions, Target

CAPABILITIES = ["CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
TEMPLATE_PARAMETERS = ("TemplatesBucket", "TemplatesPrefix")


@dataclass
class ChangeSet:
    id: str
    name: str
    stack_id: str
    type: str
    review: reviews.StackReview
    risks: list[reviews.Risk] = field(default_factory=list)
    prediction: planner.StackPlan | None = None
    adoption: adopt.Adoption = field(default_factory=adopt.Adoption)
    values: dict[str, str] = field(default_factory=dict)
    deployed: dict[str, str] = field(default_factory=dict)


def deployed_values(stack: dict | None) -> dict[str, str]:
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in (stack or {}).get("Parameters", [])}


def account_of(target: Target, stack: dict | None) -> str:
    """The stack's ARN names the account; only a new stack costs a GetCallerIdentity."""
    if stack and stack.get("StackId", "").startswith("arn:"):
        return stack["StackId"].split(":")[4]
    return target.account


def prepare(target: Target, stack: dict | None, options: DeployOptions, bucket: str,
            check=lambda prediction: None) -> ChangeSet | None:
    """Upload, predict, `check` the prediction (preflight), create the change set, wait for it;
    None when there is nothing to change."""
    region = target.aws.region
    account = account_of(target, stack)
    deployed = deployed_values(stack)
    if options.release_tag is not None:
        return _release_change_set(target, stack, deployed, options.release_tag, account)
    values = dict(target.values)
    adoption = adopt.Adoption(references=adopt.references(target.aws, target.documents, values, deployed, region,
                                                          account))
    for parameter, found in adoption.references.items():
        values[parameter] = found.arn
    pinned = adopt.pin_names(target.documents, values, region, account)
    files = {name: synth.render(doc) for name, doc in pinned.items() if name != artifacts.ARTIFACTS_TEMPLATE}
    template_set = artifacts.upload(target.aws, bucket, target.settings.project_name, files)
    ui.info(f"Templates in s3://{bucket}/{template_set.prefix} "
            f"({template_set.uploaded} uploaded, {template_set.skipped} already there)")
    values.update(TemplatesBucket=bucket, TemplatesPrefix=template_set.prefix)
    prediction = predict(target, stack, deployed, values, pinned, template_set.prefix, bucket, account)
    check(prediction)
    added = {(path[-1], change.logical_id) for path, change in prediction.walk() if path and change.action == "Add"}
    adoption.imports = adopt.imports(target.aws, retained_in(pinned, values, region, account, effective_only=True),
                                     added)
    request = dict(
        StackName=target.name, ChangeSetType="CREATE" if stack is None else "UPDATE",
        TemplateURL=template_set.url("root", region), Parameters=as_cli_parameters(values),
        Capabilities=CAPABILITIES, Tags=target.tags(), IncludeNestedStacks=True,
        Description=f"automl-cfn deploy of {target.settings.environment}",
    )
    if adoption.imports:
        request["ImportExistingResources"] = True
    change_set = create(target, request, options, stack, deployed, values)
    if change_set is not None:
        change_set.prediction, change_set.adoption = prediction, adoption
        change_set.review.prediction = prediction_lines(prediction)
        change_set.review.adoption = adoption.lines()
    return change_set


def _release_change_set(target: Target, stack: dict | None, deployed: dict[str, str], tag: str,
                        account: str) -> ChangeSet | None:
    """release --tag: the deployed templates and values, with only ImageTag changed."""
    if stack is None:
        raise AwsError(f"{target.name} is not deployed; deploy it before releasing an image")
    retention.restore(target.aws, stack)      # CloudFormation reads the deployed nested templates again
    values = {**deployed, "ImageTag": tag}
    parameters = [{"ParameterKey": k, "UsePreviousValue": True} if k != "ImageTag"
                  else {"ParameterKey": k, "ParameterValue": tag} for k in deployed]
    request = dict(StackName=target.name, ChangeSetType="UPDATE", UsePreviousTemplate=True, Parameters=parameters,
                   Capabilities=CAPABILITIES, Tags=stack.get("Tags") or target.tags(), IncludeNestedStacks=True,
                   Description=f"automl-cfn release of {tag} to {target.settings.environment}")
    return create(target, request, DeployOptions(), stack, deployed, values)


def create(target: Target, request: dict, options: DeployOptions, stack: dict | None, deployed: dict[str, str],
           values: dict[str, str]) -> ChangeSet | None:
    cfn = target.cfn
    kind = request["ChangeSetType"]
    name = f"automl-cfn-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    request["ChangeSetName"] = name
    express = target.settings.express_deploys if options.express is None else options.express
    if express:
        # EXPRESS with rollback left on: with rollback off, CloudFormation refuses every
        # replacement ("Replacement type updates not supported on stack with disable-rollback"),
        # and each new image tag replaces the task definitions.
        request["DeploymentConfig"] = {"Mode": "EXPRESS", "DisableRollback": False}
    triggers = rollback.configuration(target)
    request["RollbackConfiguration"] = triggers
    created = cfn.create_change_set(**request)
    change_set_id, stack_id = created["Id"], created["StackId"]
    try:
        wait_for_change_set(cfn, change_set_id, options.poll)
    except NoChanges:
        cfn.delete_change_set(ChangeSetName=change_set_id)
        ui.out().print(f"No changes: {target.name} is up to date.")
        return None
    except AwsError as exc:
        found = validation_findings(cfn, change_set_id)
        cfn.delete_change_set(ChangeSetName=change_set_id)
        if found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise AwsError(f"CloudFormation's pre-deployment validation failed: {found[0].strip()}{more}") from None
        raise exc
    review = reviews.from_change_set(cfn, change_set_id, target.name, change_set_type=kind)
    review.validation = validation_findings(cfn, change_set_id)
    review.account, review.region = account_of(target, stack or {"StackId": stack_id}), target.aws.region
    if stack:  # on a first deploy every parameter is new: the review lists resources only
        review.parameters = reviews.parameter_changes(deployed, values)
    review.cost = cost_change(target, deployed if stack else None, values)
    review.rollback = rollback.lines(triggers)
    return ChangeSet(id=change_set_id, name=name, stack_id=stack_id, type=kind, review=review, values=values,
                     deployed=deployed)


def validation_findings(cfn, change_set_id: str) -> list[str]:
    """CloudFormation's own pre-deployment validation of the change set (property syntax, name
    conflicts, bucket emptiness, quotas ...): its VALIDATION_ERROR events, one line each."""
    try:
        pages = cfn.get_paginator("describe_events").paginate(ChangeSetName=change_set_id,
                                                               Filters={"FailedEvents": True})
        events = [e for page in pages for e in page.get("OperationEvents", [])]
    except Exception as exc:
        if error_code(exc) in ("InvalidAction", "AccessDenied", "AccessDeniedException", "ValidationError"):
            return []   # an endpoint or a role without DescribeEvents: the change set itself still failed or not
        raise
    lines = []
    for event in events:
        if event.get("EventType") != "VALIDATION_ERROR":
            continue
        where = event.get("LogicalResourceId") or event.get("ValidationPath") or "template"
        mode = " (warning)" if event.get("ValidationFailureMode") == "WARN" else ""
        reason = event.get("ValidationStatusReason") or event.get("ResourceStatusReason") or ""
        path = f" at {event['ValidationPath']}" if event.get("ValidationPath") and event.get("LogicalResourceId") else ""
        lines.append(f"  {event.get('ValidationName', 'validation')}{mode}: {where}{path}: {reason}")
    return lines


def predict(target: Target, stack: dict | None, deployed: dict[str, str], values: dict[str, str],
            pinned: dict[str, dict], prefix: str, bucket: str, account: str) -> planner.StackPlan:
    """What CloudFormation will do, from the templates and the provider schemas alone."""
    old_prefix = deployed.get("TemplatesPrefix")
    s3 = target.aws.client("s3")
    cache: dict[str, dict] = {}

    def load(url: str) -> dict:
        name = url.rsplit("/", 1)[-1].removesuffix(".json")
        if old_prefix and old_prefix != prefix and f"/{old_prefix}" in url and url not in cache:
            try:
                body = s3.get_object(Bucket=deployed.get("TemplatesBucket", bucket),
                                     Key=f"{old_prefix}{name}.json")["Body"].read()
                cache[url] = synth.parse_documents({name: body})[name]
            except Exception as exc:  # expired or unreadable: the current template is the best guess
                if not error_code(exc):
                    raise
        return cache.get(url) or pinned.get(name) or target.documents[name]

    context = planner.Context(region=target.aws.region, account=account, loader=load)
    new = planner.StackInput(pinned["root"], dict(values))
    old = planner.StackInput(load(f"/{old_prefix}root.json") if old_prefix else pinned["root"], deployed) \
        if stack else None
    try:
        return planner.plan(old, new, context, stack_name=target.name)
    except TemplateError as exc:
        raise UserError(f"the templates would fail: {exc}; fix the stacks and run 'make templates' "
                        "(nothing was deployed)") from None


def prediction_lines(prediction: planner.StackPlan) -> list[str]:
    lines = []
    for path, change in prediction.walk():
        if change.replaces:
            where = "/".join(path + (change.logical_id,))
            why = ", ".join(d.name.replace("/", ".") for d in change.details if d.recreation == "Always")
            refused = f"; keeps its name {change.kept_name}: CloudFormation refuses this" if change.kept_name else ""
            lines.append(f"  {where} ({change.resource_type}) is replaced: {why} cannot change in place{refused}")
    return lines


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


def show_review(change_set: ChangeSet, options: DeployOptions) -> None:
    review = change_set.review
    if options.output == "json":
        print(reviews.to_json(review))
    elif options.output == "markdown":
        print(ui.visible(reviews.to_markdown(review, change_set.risks or None)))
    else:
        colour = ui.is_tty(sys.stdout)
        text = reviews.render_text(review, colour)
        if colour:
            ui.out().print(text, markup=True)
        else:
            print(ui.visible(text))   # AWS's words in it (a reason, a value) show their control characters


# ---------------------------------------------------------------------------
# what is refused before execution
# ---------------------------------------------------------------------------

def refuse_unsafe(target: Target, change_set: ChangeSet, options: DeployOptions) -> None:
    """Settings fixed for an environment's life, custom-named replacements (CloudFormation would fail half
    way), then the stateful guard."""
    if change_set.deployed:
        fixed = transitions.fixed_refusal({k: (change_set.deployed.get(k, ""), v) for k, v in change_set.values.items()})
        if fixed:
            discard(target, change_set)
            raise RefusedError(fixed)
    kept = change_set.prediction.refused_replacements() if change_set.prediction else []
    if kept:
        discard(target, change_set)
        path, change = kept[0]
        changed = {k: (change_set.deployed.get(k), v) for k, v in change_set.values.items()
                   if k not in TEMPLATE_PARAMETERS and change_set.deployed.get(k) != v}
        explanation = transitions.refusal_for(changed)
        where = "/".join((target.name,) + path + (change.logical_id,))
        more = f" (and {len(kept) - 1} more)" if len(kept) > 1 else ""
        raise RefusedError(explanation or (
            f"{where} ({change.resource_type}) would be replaced but keeps its name {change.kept_name}{more}, which "
            "CloudFormation refuses half way through the update; change it back, or create a new environment"))
    refuse_deleting_protected(target, change_set)
    guard(target, change_set, options)


# Resources the deployed stack protects from deletion while termination_protection is on.
DELETION_PROTECTED = frozenset(protection.KINDS)


def refuse_deleting_protected(target: Target, change_set: ChangeSet) -> None:
    """A replacement or removal of a deletion-protected resource: CloudFormation creates the new one,
    then fails to delete the old one in cleanup and leaves it running (and billed)."""
    if change_set.deployed.get("TerminationProtection") != "true" or not change_set.prediction:
        return
    for path, change in change_set.prediction.walk():
        if change.resource_type in DELETION_PROTECTED and (change.replaces or change.action == "Remove"):
            discard(target, change_set)
            what = "replace" if change.replaces else "remove"
            raise RefusedError(
                f"{'/'.join((target.name,) + path + (change.logical_id,))} has deletion protection "
                f"(termination_protection: true); CloudFormation would {what} it but could not delete the old one. "
                "Deploy with termination_protection: false first, then this change, then turn it back on")


def stateful_by_child(documents: dict[str, dict]) -> dict[str, list[str]]:
    """Child stack logical ID -> its stateful resources' logical IDs."""
    result = {}
    for name, doc in documents.items():
        ids = sorted(k for k, v in doc.get("Resources", {}).items() if v["Type"] in reviews.STATEFUL_TYPES)
        if ids and name not in ("root", "artifacts"):
            result[f"{title(name)}Stack"] = ids
    return result


def retained_ids(documents: dict[str, dict]) -> set[str]:
    """Logical IDs whose DeletionPolicy keeps them: removing them from a stack loses nothing."""
    return {k for doc in documents.values() for k, v in doc.get("Resources", {}).items()
            if v.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate")}


def stateful_logical_ids(documents: dict[str, dict]) -> set[str]:
    return {logical_id for ids in stateful_by_child(documents).values() for logical_id in ids}


def guard(target: Target, change_set: ChangeSet, options: DeployOptions) -> None:
    """Refuse to replace or remove a stateful resource unless --allow-replace names it."""
    retained = retained_ids(target.documents)
    holding = {child for child, ids in stateful_by_child(target.documents).items() if set(ids) - retained}
    risks = reviews.risky_changes(change_set.review, stateful_logical_ids(target.documents), retained, holding)
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
            try:
                cfn.delete_stack(StackName=change_set.stack_id)
            except Exception as exc:   # the CI diff role may not delete stacks: the first deploy recreates it
                if error_code(exc) not in DENIED:
                    raise
                ui.info(f"{target.name} stays in REVIEW_IN_PROGRESS, empty: these credentials may not delete "
                        "stacks (the first deploy creates it afresh)")
