"""deploy and diff, top to bottom.

deploy: read the committed templates (bad input before any request), or the
release --release names (verified against its ID) -> the artifacts bucket
(shared with the organisation when organization_id says so) -> stop if the
stack already has these templates and values -> lock the environment -> recover a stack left
unusable -> refuse to undo silently what an earlier --var deployed -> check
preflight (offline checks, and the live ones the change touches) -> plan
(predict, preflight what the change adds, adopt what was retained, change set) ->
review -> refuse what would fail or lose data -> confirm -> apply -> record
which settings came from --var -> unlock.

release is a deploy of the deployed templates and values with only the
image tag changed (DeployOptions.release_tag).
"""

from __future__ import annotations

from dataclasses import replace

from .. import synth, ui
from ..errors import EXIT_OK, RefusedError
from ..parameters import parameter_values
from . import adopt, apply, artifacts, lock, plan, preflight, record, retained
from .recover import recover
from .states import BROKEN, CONTINUE_ROLLBACK, RECREATE, ROLL_BACK_FIRST, SUCCESS, in_progress
from .target import DeployOptions, Target


def deploy(target: Target, options: DeployOptions) -> int:
    target.generated  # missing templates are bad input: found before any AWS request
    attach_release(target)
    bucket = target.artifacts_bucket   # first: sharing it with the organisation is a change of its own
    if not options.force and options.release_tag is None and unchanged(target):
        return EXIT_OK
    s3 = target.aws.client("s3")
    operation = "release" if options.release_tag is not None else "deploy"
    with lock.held(s3, bucket, target.name, operation, target.resume_hint, options.force_unlock):
        stack = recover(target, options)
        recorded = record.read(s3, bucket, target.name) if stack else {}
        if options.release_tag is None and target.release is None and stack and not options.reset:
            record.check_no_silent_undo(recorded, plan.deployed_values(stack), target.settings,
                                        target.file_settings or target.settings, settings_source(target),
                                        target.var_names)
        with retained.lookups_shared():   # the preflight and the adoption ask about the same names
            checks = preflight_before(target, stack, options)
            change_set = plan.prepare(target, stack, options, bucket,
                                      check=lambda prediction: preflight.enforce(preflight.run(
                                          replace(checks, prediction=prediction), preflight.AFTER_PREDICTION)))
        if change_set is None:
            apply.sync_termination_protection(target, stack)   # a deploy setting: no template change
            record.write(s3, bucket, target.name, next_record(target, options, recorded))
            return EXIT_OK
        plan.show_review(change_set, options)
        plan.refuse_unsafe(target, change_set, options)
        if not options.execute:
            ui.info(f"Change set {change_set.name} left for review (not executed). Execute it with:\n"
                    f"  aws cloudformation execute-change-set --change-set-name {change_set.id}")
            return EXIT_OK
        try:
            confirmed = ui.confirm(f"Execute change set {change_set.name} on {target.name}?", options.yes,
                                   "pass --yes to deploy without a prompt")
        except RefusedError:
            plan.discard(target, change_set)
            raise
        if not confirmed:
            plan.discard(target, change_set)
            raise RefusedError("not executed; the change set was deleted")
        code = apply.execute(target, change_set, options)
        if code == EXIT_OK:
            record.write(s3, bucket, target.name, next_record(target, options, recorded))
        return code


def attach_release(target: Target) -> None:
    """deploy/diff --release ID: read and verify the published release (copying it into this account's
    artifacts bucket when it was published elsewhere) before anything else; it must be for this stack
    and region."""
    if target.release_id is None or target.release is not None:
        return
    from ..errors import RefusedError
    from . import releases

    bucket = target.artifacts_bucket
    release = releases.fetch(target.aws, bucket, target.settings.project_name, target.release_id,
                             target.release_bucket)
    published = release.environment(target.settings.environment)
    if published.get("stack") != target.name or published.get("region") != target.aws.region:
        raise RefusedError(f"release {release.id} deploys {target.settings.environment} as {published.get('stack')} "
                           f"in {published.get('region')}; this deploy targets {target.name} in {target.aws.region}")
    target.release = release
    when = release.published.get("at", "an unknown time")
    commit = release.published.get("commit") or "an unknown commit"
    ui.info(f"Release {release.id}: the templates, parameters and tags published at {when} from {commit} "
            f"(s3://{bucket}/{release.prefix}), not generated/")
    drift = sorted(k for k, v in parameter_values(target.settings).items() if published["parameters"].get(k) != v)
    if drift:
        ui.info(f"  config differs from the release in {', '.join(drift)}: the release's values are deployed")


def unchanged(target: Target) -> bool:
    """Nothing to do, known from one DescribeStacks and local work: the stack is stable, and its
    templates (the content hash in TemplatesPrefix, names pinned as a deploy would pin them), parameters,
    tags and termination protection are what this deploy would give it.  No lock, no change set."""
    stack = target.describe()
    if stack is None or stack["StackStatus"] not in SUCCESS:
        return False
    deployed = plan.deployed_values(stack)
    values = dict(target.values)
    if any(values.get(p) == "create" and deployed.get(p) != "create" for p in adopt.REFERENCES):
        return False   # a retained key or secret may be adopted by ARN: the full path decides
    account = stack["StackId"].split(":")[4]
    pinned = adopt.pin_names(target.documents, values, target.aws.region, account)
    files = {name: synth.render(doc) for name, doc in pinned.items() if name != artifacts.ARTIFACTS_TEMPLATE}
    expected = {**values, "TemplatesBucket": deployed.get("TemplatesBucket", ""),
                "TemplatesPrefix": artifacts.content_prefix(target.settings.project_name, files)}
    tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
    if expected != deployed or tags != {t["Key"]: t["Value"] for t in target.tags()} or \
            bool(stack.get("EnableTerminationProtection")) != target.settings.termination_protection:
        return False
    ui.out().print(f"No changes: {target.name} is up to date (templates, parameters and tags match; no change "
                   "set was created; --force deploys through one anyway).")
    return True


def preflight_before(target: Target, stack: dict | None, options: DeployOptions) -> preflight.Context:
    """The offline checks, and the live ones the change touches; stops on a failure."""
    release = options.release_tag is not None
    values = target.parameters() if not release else {"ImageTag": options.release_tag}
    ctx = preflight.Context(target, stack, changed=preflight.changed_parameters(stack, values),
                            image_tag=options.release_tag)
    checks = () if release else preflight.OFFLINE
    live = tuple(c for c in preflight.LIVE if not (options.skip_image_check and c is preflight.images_check))
    preflight.enforce(preflight.run(ctx, checks + live))
    return ctx


def next_record(target: Target, options: DeployOptions, recorded: dict[str, str]) -> dict[str, str]:
    """What --var set in the stack now deployed (a release adds the image tag to what was there)."""
    if options.release_tag is not None:
        file_tag = (target.file_settings or target.settings).image_tag
        values = dict(recorded)
        if options.release_tag != file_tag:
            values["ImageTag"] = options.release_tag
        else:
            values.pop("ImageTag", None)
        return values
    return record.set_by_var(target.settings, target.file_settings or target.settings)


def settings_source(target: Target) -> str:
    flag = target.env_flag
    if flag.startswith("--env "):
        return f"config/{flag.split(' ', 1)[1]}.yaml"
    return flag.split(" ", 1)[1] if " " in flag else "the settings file"


def diff(target: Target, options: DeployOptions) -> int:
    """The review without executing; the change set is deleted afterwards."""
    from ..errors import AwsError

    target.generated  # missing templates are bad input: found before any AWS request
    attach_release(target)
    stack = target.describe()
    if stack and (in_progress(stack["StackStatus"]) or stack["StackStatus"] in
                  RECREATE | CONTINUE_ROLLBACK | ROLL_BACK_FIRST | BROKEN):
        if stack["StackStatus"] != "REVIEW_IN_PROGRESS":
            raise AwsError(f"{target.name} is {stack['StackStatus']}; a diff needs a stable stack "
                           f"(see 'automl-cfn status' and 'automl-cfn deploy')")
        stack = None
    bucket = target.artifacts_bucket
    change_set = plan.prepare(target, stack, options, bucket)
    if change_set is None:
        return EXIT_OK
    try:
        plan.show_review(change_set, options)
        refused = None
        try:
            plan.refuse_unsafe(target, change_set, options)
        except RefusedError as exc:
            refused = exc
        if refused:
            ui.info(f"deploy would refuse this: {refused}")
    finally:
        plan.discard(target, change_set)
    return EXIT_OK
