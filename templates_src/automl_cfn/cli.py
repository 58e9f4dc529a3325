"""`automl-cfn`: one console script, a subcommand per verb.

Start-up imports only argparse; each verb imports what it needs when it runs,
so `templates` never pays for boto3 and `params` never pays for troposphere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import EXIT_INTERRUPTED, EXIT_REFUSED, EXIT_USAGE, UserError

PROG = "automl-cfn"


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, told the width so that it does not import shutil (and with it zlib, bz2 and
    lzma, 1.5 ms) on every run: argparse builds a formatter for each option it adds."""

    def __init__(self, prog: str, **kwargs) -> None:
        super().__init__(prog, width=kwargs.pop("width", None) or _columns() - 2, **kwargs)


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size reads it: $COLUMNS, then the terminal, then 80."""
    import os

    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


LONGEST_USAGE_ERROR = 600


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (and exit code 2)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        if len(message) > LONGEST_USAGE_ERROR:   # argparse echoes a value whole: a 3000-character one is cut
            message = f"{message[:LONGEST_USAGE_ERROR - 200]} ... {message[-150:]}"
        raise UserError(f"{message} (see '{self.prog} --help')")


def add_settings_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings")
    group.add_argument("--env", help="environment: reads config/ENV.yaml")
    group.add_argument("--config", metavar="FILE", help="read this settings file instead of config/ENV.yaml")
    group.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                       help="override one setting, like terraform -var (repeatable)")


def add_aws_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS")
    group.add_argument("--endpoint-url", metavar="URL", help="AWS endpoint (default: $AWS_ENDPOINT_URL, else AWS)")
    group.add_argument("--profile", help="AWS profile (default: $AWS_PROFILE)")
    group.add_argument("--region", help="AWS region (default: $AWS_REGION, else the settings' aws_region)")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project-dir", default=".", metavar="DIR",
                        help="directory holding config/ and generated/ (default: current directory)")


def load(args):
    from .settings import load_settings

    return load_settings(env=args.env, config=args.config, overrides=args.var, root=args.project_dir)


def target(args):
    """Settings first (bad input never reaches AWS), then the AWS handle."""
    from .settings import load_settings, parse_overrides

    settings = load(args)
    file_settings = load_settings(env=args.env, config=args.config, overrides=(), root=args.project_dir) \
        if args.var else settings
    from .deploy.aws import Aws, AwsOptions
    from .deploy.target import Target

    aws = Aws(AwsOptions.from_flags(args.endpoint_url, args.profile, args.region), default_region=settings.aws_region)
    env_flag = f"--env {args.env}" if args.env else f"--config {args.config}"
    aws.check_region(f"config/{args.env}.yaml" if args.env else str(args.config))
    return Target(settings=settings, aws=aws, env_flag=env_flag, project_dir=Path(args.project_dir),
                  file_settings=file_settings, var_names=frozenset(parse_overrides(args.var)))


# -- verbs ------------------------------------------------------------------

def cmd_templates(args) -> int:
    from .batch_gc import collector_paused

    with collector_paused():   # a short batch that keeps what it allocates: see batch_gc.py
        return write_templates(args)


def write_templates(args) -> int:
    root = Path(args.project_dir)
    if not root.is_dir():   # a mistyped --project-dir would otherwise be created, generated/ and all
        raise UserError(f"--project-dir {root}: no such directory")
    out = Path(args.out) if args.out else root / "generated"
    if not args.out:
        from . import cache   # the cache is generated/'s; --out writes elsewhere, uncached
    if not args.out and not args.force and cache.generation_current(root, out):
        print(f"{out}/ is up to date: nothing it is made from changed since it was written (--force regenerates)")
        return 0
    from . import synth

    files = synth.render_all(root, previous=out)
    changed = synth.write(out, files)
    if not args.out:
        for relative, (text, updated) in synth.documents_generated(root, files).items():
            if updated != text:
                (root / relative).write_text(updated)
                changed.append(f"../{relative} (generated blocks)")
    print(f"wrote {len(files)} files to {out}/ ({len(changed)} changed)")
    for rel in changed:
        print(f"  {rel}")
    if not args.out:
        cache.generation_done(root, out)
        cache.compile_package()
    return 0


def cmd_params(args) -> int:
    import json

    from .parameters import as_cli_parameters, parameter_values

    settings = load(args)
    values = parameter_values(settings)
    document = as_cli_parameters(values) if args.format == "cli" else values
    print(json.dumps(document, indent=2))
    return 0


def cmd_settings(args) -> int:
    """The validated settings of an environment (JSON), or one of them as plain text (for scripts)."""
    import json

    from .settings import SETTING_FIELDS

    settings = load(args)
    if args.name is None:
        print(json.dumps(settings.as_dict(), indent=2, sort_keys=True))
        return 0
    if args.name not in SETTING_FIELDS:
        raise UserError(f"{args.name!r} is not a setting; see the settings table in README.md")
    value = getattr(settings, args.name)
    print(value if isinstance(value, str) else json.dumps(value))
    return 0


def cmd_lint(args) -> int:
    from . import lint

    root = Path(args.project_dir)
    paths = [Path(p) for p in args.templates] or sorted((root / "generated" / "templates").glob("*.json")) + sorted(
        (root / "generated" / "account").glob("*.json"))
    return lint.run(paths, jobs=args.jobs, cwd=root, use_cache=not args.force)


def deploy_options(args):
    from .deploy.target import DeployOptions

    return DeployOptions(
        yes=getattr(args, "yes", False), execute=not getattr(args, "no_execute", False),
        express=getattr(args, "express", None), output=args.output,
        allow_replace=tuple(getattr(args, "allow_replace", None) or ()), wait=getattr(args, "wait", False),
        skip_image_check=getattr(args, "skip_image_check", False), reset=getattr(args, "reset", False),
        force_unlock=getattr(args, "force_unlock", False), force=getattr(args, "force", False),
    )


def cmd_deploy(args) -> int:
    from .deploy import engine

    return engine.deploy(release_target(args), deploy_options(args))


def cmd_diff(args) -> int:
    from .deploy import engine

    return engine.diff(release_target(args), deploy_options(args))


def release_target(args):
    """The target, with --release ID (and --release-bucket) when given: checked before any request."""
    from .deploy.releases import check_bucket, check_id

    release = getattr(args, "release", None)
    if release is None:
        if getattr(args, "release_bucket", None):
            raise UserError("--release-bucket only goes with --release ID")
        return target(args)
    check_id(release)
    if args.var:
        raise UserError("--var does not go with --release: a release deploys the parameters it was published "
                        "with (change config/, publish, and deploy the new release)")
    bucket = check_bucket(args.release_bucket) if args.release_bucket is not None else None
    chosen = target(args)
    chosen.release_id, chosen.release_bucket = release, bucket
    return chosen


def cmd_stackset(args) -> int:
    from .deploy import stackset
    from .deploy.targets import load_targets

    options = stackset.Options(yes=args.yes, output=args.format)
    if args.action in ("deploy", "diff"):
        if not args.targets:
            raise UserError(f"stackset {args.action} needs --targets FILE (accounts or organizational_units, and regions)")
        chosen = release_target(args)
        targets = load_targets(Path(args.targets), chosen.settings)
        from .deploy.engine import attach_release

        attach_release(chosen)
        return (stackset.deploy if args.action == "deploy" else stackset.diff)(chosen, targets, options)
    if args.targets or args.release:
        raise UserError(f"stackset {args.action} takes no --targets or --release (it reads the stack set itself)")
    chosen = target(args)
    if args.action == "status":
        return stackset.status(chosen, options, watch=args.watch)
    if args.action == "drift":
        return stackset.drift(chosen, options)
    return stackset.destroy(chosen, options)


def cmd_baseline(args) -> int:
    from .deploy import baseline

    options = baseline.Options(yes=args.yes, rules_as=args.rules_as, output=args.format)
    chosen = target(args)
    if args.targets:
        if args.action != "deploy":
            raise UserError("--targets goes with 'baseline deploy' (organisation-wide, through StackSets)")
        from .deploy.targets import load_targets

        return baseline.roll_out(chosen, load_targets(Path(args.targets), chosen.settings, baseline.EXTRA_OVERRIDES),
                                 options)
    return baseline.deploy(chosen, options) if args.action == "deploy" else baseline.status(chosen, options)


def cmd_publish(args) -> int:
    from .deploy.publish import publish

    if args.var:
        raise UserError("--var does not go with publish: a release holds what config/*.yaml says")
    return publish(target(args), args.format)


def cmd_preflight(args) -> int:
    from .deploy import preflight

    t = target(args)
    stack = None if args.offline else t.describe()
    report = preflight.report(preflight.Context(t, stack, offline=args.offline))
    report.show(args.format)
    return EXIT_REFUSED if report.failed else 0


def bounded(kind: type, low, high):
    """An argparse type: a number of `kind` from low to high (one line naming the range otherwise)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; allowed: {low} to {high}")
        return value
    return parse


def account_id(value: str) -> str:
    import re

    if value != "*" and not re.fullmatch(r"\d{12}", value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a 12-digit AWS account ID (or *)")
    return value


def cmd_deploy_role(args) -> int:
    import json

    from . import deploy_role
    from .deploy_role.template import PLACEHOLDER_ACCOUNT, template

    if args.format == "template" and args.policy:
        raise UserError("--policy chooses one policy's documents (--format json); --format template writes all "
                        "three: leave out one of them")
    settings = load(args)
    documents = generated_documents(args.project_dir)
    account = PLACEHOLDER_ACCOUNT if args.format == "template" else args.account
    chosen = deploy_role.policies(Path(args.project_dir), settings, documents, account=account)
    if args.format == "template":
        print(json.dumps(template(chosen), indent=2))
    elif args.policy == "boundary":
        print(json.dumps([chosen.boundary], indent=2))
    else:
        print(json.dumps(deploy_role.documents_of(getattr(chosen, args.policy or "deploy")), indent=2))
    return 0


def cmd_status(args) -> int:
    from .deploy import read

    return read.status(target(args), follow=args.watch)


def cmd_outputs(args) -> int:
    from .deploy import read

    return read.outputs(target(args), args.format)


def cmd_drift(args) -> int:
    from .deploy import read

    return read.drift(target(args))


def cmd_destroy(args) -> int:
    from .deploy.destroy import DestroyOptions, destroy

    if args.purge_confirm and not args.purge_data:
        raise UserError("--purge-confirm only goes with --purge-data")
    if args.backup:
        from .ops.data import check_destination

        check_destination(Path(args.backup), "--backup")
    return destroy(target(args), DestroyOptions(
        yes=args.yes, purge_data=args.purge_data, purge_confirm=args.purge_confirm,
        backup=Path(args.backup) if args.backup else None, force_unlock=args.force_unlock, unprotect=args.unprotect,
    ))


def deployed(args):
    from .ops.context import Deployed

    return Deployed.load(target(args))


def cmd_build(args) -> int:
    from .ops.images import BuildOptions, build

    check_image_tag(args.tag)
    build(deployed(args), BuildOptions(services=tuple(args.service or ()), tag=args.tag, push=args.push))
    return 0


def cmd_upload(args) -> int:
    from .ops.data import check_prefix, scan_source, upload

    check_prefix(args.prefix)  # bad input before any request
    if args.delete_skipped and not args.delete:
        raise UserError("--delete-skipped only goes with --delete")
    local = scan_source(Path(args.source), args.exclude, args.delete, args.delete_skipped)
    upload(deployed(args), Path(args.source), args.prefix, args.exclude, args.delete, args.yes, local=local)
    return 0


def cmd_download(args) -> int:
    from .ops.data import PREFIXES, check_destination, download

    if args.what not in PREFIXES:
        raise UserError(f"download {args.what!r}: choose one of {', '.join(PREFIXES)}")
    dest = check_destination(Path(args.dest or f"data/{args.what}"), "--dest")   # bad input before any request
    download(deployed(args), args.what, dest, args.exclude)
    return 0


def cmd_run(args) -> int:
    from .model import SERVICES
    from .ops.context import check_service
    from .ops.tasks import RunOptions, check_size, run

    check_service(args.service, SERVICES)
    check_size(args.cpu, args.memory)
    return run(deployed(args), RunOptions(service=args.service, wait=args.wait, spot=args.spot,
                                          cpu=args.cpu, memory=args.memory, poll=args.poll))


def cmd_pipeline(args) -> int:
    from .ops import pipeline

    if args.action == "start":
        pipeline.parse_input(args.input)  # bad JSON before any request
        return pipeline.start(deployed(args), args.input, args.wait, poll=args.poll)
    if args.action == "history":
        return pipeline.show_history(deployed(args), args.limit, args.format)
    if args.action == "schedule":
        return pipeline.show_schedule(deployed(args), args.count)
    return pipeline.status(deployed(args), args.execution)


def cmd_logs(args) -> int:
    from .model import LOG_SOURCES
    from .ops.context import check_service
    from .ops.logs import parse_since, tail

    check_service(args.source, LOG_SOURCES, "log source")
    parse_since(args.since)
    return tail(deployed(args), args.source, args.since, args.follow)


def generated_documents(project_dir: str) -> dict:
    from . import synth

    return synth.read_generated_documents(Path(project_dir) / "generated")


def cmd_cost(args) -> int:
    from . import cost
    from .parameters import parameter_values

    settings = load(args)
    estimate = cost.estimate(generated_documents(args.project_dir), parameter_values(settings), settings,
                             args.region)
    if args.format == "json":
        print(cost.to_json(estimate))
    else:
        cost.render(estimate)
    return 0


def cmd_migrate(args) -> int:
    """plan (offline), apply (the move), check (nothing adopted is still Terraform's)."""
    if args.step == "apply":
        from .deploy import engine
        from .migrate.apply import Request, run

        settings_path = Path(args.config) if args.config else Path(args.project_dir) / "config" / f"{args.env}.yaml"
        out = Path(args.out) if args.out else Path(args.tfstate).resolve().parent
        return run(Request(Path(args.tfstate), settings_path, out, args.data_bucket), lambda: target(args),
                   lambda t: engine.deploy(t, deploy_options(args)))
    import json

    from . import ui
    from .migrate.plan import ADOPT, plan, settings_for
    from .migrate.tfstate import read_state
    from .parameters import parameter_values

    settings = load(args)
    state = read_state(Path(args.tfstate))
    rows = plan(state, generated_documents(args.project_dir), parameter_values(settings), settings.aws_region,
                data_bucket=args.data_bucket)
    if args.step == "check":
        still = [row.address for row in rows if row.action == ADOPT]
        for address in still:
            print(f"still managed by Terraform: {ui.printable(address)}")
        print(f"{len(still)} adopted resource(s) still in {ui.printable(args.tfstate)}" if still else
              f"none of the adopted resources is in {ui.printable(args.tfstate)}: 'terraform destroy' may remove "
              "the rest")
        return 1 if still else 0
    if args.format == "json":
        print(json.dumps({"terraform_version": state.terraform_version, "source": state.source,
                          "accounts": sorted(state.accounts),
                          "rows": [{"address": r.address, "stack": r.stack, "logical_id": r.logical_id,
                                    "action": r.action, "differences": r.differences} for r in rows],
                          "settings": settings_for(rows)}, indent=2))
        return 0
    ui.table(["Terraform address", "Stack", "Logical ID", "Action", "Differs (Terraform -> automl-cfn)"],
             [[r.address, r.stack, r.logical_id, r.action, "; ".join(r.differences)] for r in rows],
             title=f"migrate plan: {args.tfstate} ({state.source}, Terraform {state.terraform_version}, account "
                   f"{', '.join(sorted(state.accounts)) or 'unknown'}) -> {settings.stack_name} in "
                   f"{settings.aws_region}")
    counts = {action: sum(r.action == action for r in rows) for action in ("adopt", "replace", "unknown")}
    print(", ".join(f"{n} {action}" for action, n in counts.items()))
    wanted = settings_for(rows)
    if wanted:
        print("settings 'migrate apply' writes into the settings file:")
        print(json.dumps(wanted, indent=2))
    return 0


def cmd_diagram(args) -> int:
    from . import diagram
    from .parameters import parameter_values

    settings = load(args)
    text = diagram.render(generated_documents(args.project_dir), parameter_values(settings), settings, args.format)
    if args.out:
        try:
            Path(args.out).write_bytes(text if isinstance(text, bytes) else text.encode())
        except OSError as exc:
            raise UserError(f"--out {args.out}: cannot write it ({exc.strerror or exc}); allowed: a file path in an "
                            "existing directory") from None
        print(f"wrote {one_line(args.out)}")
    else:
        sys.stdout.write(text.decode() if isinstance(text, bytes) else text)
    return 0


def check_image_tag(tag: str | None) -> None:
    """--tag of build and release: a tag ECR and docker take, checked before any request or docker run."""
    from .settings import IMAGE_TAG_RE

    if tag is not None and not IMAGE_TAG_RE.fullmatch(tag):
        raise UserError(f"--tag {tag[:140]!r} is not a valid image tag; allowed: letters, digits, '_', '.', '-' "
                        "(not first), up to 128 characters")


def cmd_release(args) -> int:
    from .ops.release import release

    check_image_tag(args.tag)
    return release(target(args), args.tag, deploy_options(args), poll=args.poll)


def cmd_rotate_api_key(args) -> int:
    from .ops.api_key import Options, rotate
    from .ops.context import Deployed

    # The deployed stack says whether there is a key to rotate, however the environment was deployed
    # (config or --var): Where.of refuses one without.
    return rotate(Deployed.load(target(args)), Options(finish=args.finish, yes=args.yes, output=args.format,
                                                 poll=args.poll, force_unlock=args.force_unlock))


def cmd_local_aws(args) -> int:
    from . import local_aws

    local_aws.run(args.port, quiet=args.quiet, strict=not args.lenient)
    return 0


def add_lock_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force-unlock", action="store_true",
                        help="break another operation's lock on this environment (only if that run is gone: "
                             "if it is still running, both change the stack at once)")


def add_release_options(parser, what: str) -> None:
    parser.add_argument("--release", metavar="ID", help=f"{what} this published release (automl-cfn publish), "
                                                        "not generated/")
    parser.add_argument("--release-bucket", metavar="BUCKET",
                        help="the artifacts bucket the release was published to, when it is another account's")


def stack_verb(verbs, name: str, help: str, handler):
    p = verbs.add_parser(name, help=help)
    add_common_options(p)
    add_settings_options(p)
    add_aws_options(p)
    p.set_defaults(handler=handler)
    return p


class _Unbuilt:
    """Stands for the parser of a verb that this run does not use: its options are not built."""

    def add_argument(self, *args, **kwargs) -> None:
        return None

    def add_argument_group(self, *args, **kwargs) -> "_Unbuilt":
        return self

    def set_defaults(self, **kwargs) -> None:
        return None


class _Verbs:
    """The subparsers action, building only the verb in use (`only`), or every verb."""

    def __init__(self, action, only: str | None):
        self.action, self.only, self.names = action, only, []

    def add_parser(self, name: str, **kwargs):
        self.names.append(name)
        if self.only is not None and name != self.only:
            return _Unbuilt()
        return self.action.add_parser(name, **kwargs)


def build_parser(only: str | None = None) -> Parser:
    """Every verb's parser, or only `only`'s: a run builds the one it uses (the rest cost start-up time)."""
    parser = Parser(prog=PROG, description="Generate, check and deploy the AutoML pipeline's AWS infrastructure.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    action = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=Parser)
    action.required = True
    verbs = _Verbs(action, only)

    p = verbs.add_parser("templates", help="write generated/ (templates and parameters per environment)")
    add_common_options(p)
    p.add_argument("--out", metavar="DIR", help="output directory (default: generated/)")
    p.add_argument("--force", action="store_true", help="regenerate even when nothing changed")
    p.set_defaults(handler=cmd_templates)

    p = verbs.add_parser("lint", help="cfn-lint every generated template (parallel, settings from .cfnlintrc)")
    add_common_options(p)
    p.add_argument("--jobs", type=bounded(int, 1, 64), metavar="N",
                   help="parallel cfn-lint processes (default: one per free core)")
    p.add_argument("--force", action="store_true", help="lint every template, ignoring cached results")
    p.add_argument("templates", nargs="*", help="templates to lint (default: generated/templates/*.json)")
    p.set_defaults(handler=cmd_lint)

    p = verbs.add_parser("params", help="print the resolved CloudFormation parameters as JSON")
    add_common_options(p)
    add_settings_options(p)
    p.add_argument("--format", choices=("cli", "map"), default="cli",
                   help="cli: [{ParameterKey, ParameterValue}] (default); map: {name: value}")
    p.set_defaults(handler=cmd_params)

    p = verbs.add_parser("settings", help="print an environment's validated settings (JSON), or one setting's value")
    add_common_options(p)
    add_settings_options(p)
    p.add_argument("name", nargs="?", help="one setting (e.g. aws_region): its value alone")
    p.set_defaults(handler=cmd_settings)

    p = stack_verb(verbs, "deploy", "deploy through a reviewed change set", cmd_deploy)
    p.add_argument("--yes", action="store_true", help="execute without asking (and confirm recreating a failed stack)")
    p.add_argument("--no-execute", action="store_true", help="create and show the change set, leave it unexecuted")
    p.add_argument("--express", action="store_true", default=None,
                   help="CloudFormation EXPRESS deployment mode (default: the express_deploys setting)")
    p.add_argument("--no-express", dest="express", action="store_false", help="standard deployment mode")
    p.add_argument("--allow-replace", action="append", metavar="LOGICAL_ID",
                   help="allow replacing or removing this stateful resource (repeatable)")
    p.add_argument("--wait", action="store_true", help="wait for an operation already in progress")
    p.add_argument("--skip-image-check", action="store_true",
                   help="deploy an image_tag without checking that ECR has it")
    p.add_argument("--reset", action="store_true",
                   help="return settings an earlier --var or release deployed to the settings file's values")
    p.add_argument("--force", action="store_true",
                   help="create a change set even when the stack already has these templates and values")
    add_lock_option(p)
    p.add_argument("--output", choices=("text", "json", "markdown"), default="text", help="review format")
    add_release_options(p, "deploy")

    p = stack_verb(verbs, "stackset", "one environment in many accounts and regions through CloudFormation StackSets",
                   cmd_stackset)
    p.add_argument("action", choices=("deploy", "diff", "status", "drift", "destroy"),
                   help="deploy or diff (with --targets), status, drift, destroy (data is retained)")
    p.add_argument("--targets", metavar="FILE", help="YAML: accounts or organizational_units, regions, overrides, "
                                                    "preferences (see README: Many accounts and regions)")
    add_release_options(p, "roll out")
    p.add_argument("--yes", action="store_true", help="roll out or destroy without asking")
    p.add_argument("--watch", action="store_true", help="status: follow an operation in progress until it ends")
    p.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or JSON")

    p = stack_verb(verbs, "baseline", "the account baseline (AWS Config recorder and rules), and its verdicts",
                   cmd_baseline)
    p.add_argument("action", choices=("deploy", "status"),
                   help="deploy it in this account and region, or show the rules' verdicts on the environment")
    p.add_argument("--targets", metavar="FILE",
                   help="deploy organisation-wide through StackSets (the stackset targets file; per account or "
                        "region, create_recorder: false where a recorder exists)")
    p.add_argument("--rules-as", choices=("rules", "conformance-pack"), default="rules",
                   help="the managed rules one by one (default) or as one conformance pack")
    p.add_argument("--yes", action="store_true", help="deploy without asking")
    p.add_argument("--format", choices=("text", "json"), default="text", help="status: text (default) or JSON")

    p = stack_verb(verbs, "publish", "publish generated/ and every environment's parameters as one release",
                   cmd_publish)
    p.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or JSON")

    p = stack_verb(verbs, "preflight", "check what would fail on this account and region, before any change set",
                   cmd_preflight)
    p.add_argument("--format", choices=("text", "json"), default="text", help="table (default) or JSON")
    p.add_argument("--offline", action="store_true", help="only the checks that need no credentials")

    p = verbs.add_parser("deploy-role", help="print the environment's CI roles (deploy, pull-request diff) and "
                                             "the permissions boundary of its roles")
    add_common_options(p)
    add_settings_options(p)
    p.add_argument("--format", choices=("json", "template"), default="json",
                   help="json: one policy's documents (each fits a managed policy); template: a CloudFormation "
                        "template of the boundary and the two GitHub OIDC roles")
    p.add_argument("--policy", choices=("deploy", "diff", "boundary"), default=None,
                   help="with --format json: the deploy role's (default), the diff role's, or the boundary")
    p.add_argument("--account", default="*", type=account_id, help="12-digit account ID for the ARNs (default: *)")
    p.set_defaults(handler=cmd_deploy_role)

    p = stack_verb(verbs, "diff", "show what a deploy would change (nothing is executed)", cmd_diff)
    p.add_argument("--output", choices=("text", "json", "markdown"), default="text", help="review format")
    add_release_options(p, "compare with")

    p = stack_verb(verbs, "status", "the stack's status and its nested stacks", cmd_status)
    p.add_argument("--watch", action="store_true", help="follow an operation in progress until it ends")

    p = stack_verb(verbs, "outputs", "the stack's outputs", cmd_outputs)
    p.add_argument("--format", choices=("table", "json", "env"), default="table",
                   help="table (default), json, or env (NAME=value lines to source in a shell)")

    stack_verb(verbs, "drift", "detect and show drift on every stack", cmd_drift)

    p = stack_verb(verbs, "destroy", "delete the stacks (data is retained)", cmd_destroy)
    p.add_argument("--yes", action="store_true", help="delete without asking")
    p.add_argument("--backup", metavar="DIR", help="download the data bucket to DIR first")
    p.add_argument("--purge-data", action="store_true",
                   help="also delete every object version, the repositories and the log groups (asks again)")
    p.add_argument("--purge-confirm", metavar="STACK_NAME",
                   help="the second confirmation of --purge-data where there is no terminal")
    p.add_argument("--unprotect", action="store_true",
                   help="first turn off the stack's termination protection and the load balancer's deletion "
                        "protection (termination_protection: true sets both)")
    add_lock_option(p)

    p = stack_verb(verbs, "build", "docker build the images (and push them to ECR)", cmd_build)
    p.add_argument("--service", action="append", metavar="IMAGE",
                   help="optimize, train, predict or pipeline (repeatable; default: all four)")
    p.add_argument("--tag", help="image tag (default: the git short SHA)")
    p.add_argument("--push", action="store_true", help="log in to ECR and push")

    p = stack_verb(verbs, "upload", "sync a directory to the data bucket", cmd_upload)
    p.add_argument("--source", default="data", metavar="DIR", help="directory to upload (default: data)")
    p.add_argument("--prefix", default="data/", help="bucket prefix: data/, models/ or predictions/")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip matching files (repeatable)")
    p.add_argument("--delete", action="store_true", help="delete objects under the prefix not in the directory")
    p.add_argument("--delete-skipped", action="store_true",
                   help="with --delete: go ahead although some local paths could not be read (their remote "
                        "copies are kept)")
    p.add_argument("--yes", action="store_true", help="confirm --delete without a prompt")

    p = stack_verb(verbs, "download", "sync models/ or predictions/ from the bucket", cmd_download)
    p.add_argument("what", help="models, predictions or data")
    p.add_argument("--dest", metavar="DIR", help="local directory (default: data/WHAT)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip matching files (repeatable)")

    p = stack_verb(verbs, "run", "run one pipeline task on ECS", cmd_run)
    p.add_argument("service", help="optimize, train or predict")
    p.add_argument("--wait", action="store_true", help="wait until it stops; exit non-zero if it failed")
    p.add_argument("--spot", action="store_true", help="run on FARGATE_SPOT")
    p.add_argument("--cpu", type=int, help="CPU units override (with --memory)")
    p.add_argument("--memory", type=int, help="memory MiB override (with --cpu)")
    p.add_argument("--poll", type=bounded(float, 0, 3600), default=6.0, metavar="SECONDS", help="how often --wait asks ECS")

    p = stack_verb(verbs, "pipeline", "start or inspect the Step Functions pipeline", cmd_pipeline)
    p.add_argument("action", choices=("start", "status", "history", "schedule"),
                   help="start an execution; status of the recent ones (or one: name or ARN); history: trigger, "
                        "status, duration and failed step of the last runs; schedule: the next run times")
    p.add_argument("execution", nargs="?", help="status of this execution (name or ARN)")
    p.add_argument("--wait", action="store_true", help="follow the execution to its end")
    p.add_argument("--input", metavar="JSON", help="execution input (a JSON object)")
    p.add_argument("--poll", type=bounded(float, 0, 3600), default=5.0, metavar="SECONDS", help="how often --wait asks Step Functions")
    p.add_argument("--limit", type=bounded(int, 1, 1000), default=20, metavar="N", help="history: how many executions (default 20)")
    p.add_argument("--count", type=bounded(int, 1, 100), default=5, metavar="N", help="schedule: how many run times (default 5)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="history: table (default) or json")

    p = stack_verb(verbs, "logs", "tail a service's logs", cmd_logs)
    p.add_argument("source", help="optimize, train, predict or pipeline")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    p.add_argument("--since", default="10m", help="how far back: 10m, 2h, 1d or an ISO time (default: 10m)")

    p = stack_verb(verbs, "release", "move the prediction service to an image tag and follow the rollout",
                   cmd_release)
    p.add_argument("--tag", required=True, help="image tag to release (must be in ECR)")
    p.add_argument("--yes", action="store_true", help="execute without asking")
    p.add_argument("--skip-image-check", action="store_true", help="do not check that ECR has the tag")
    add_lock_option(p)
    p.add_argument("--output", choices=("text", "json", "markdown"), default="text", help="review format")
    p.add_argument("--poll", type=bounded(float, 0, 3600), default=10.0, metavar="SECONDS", help="how often to ask ECS")

    p = stack_verb(verbs, "rotate-api-key", "give the prediction service a new API key, the old one working until "
                   "--finish", cmd_rotate_api_key)
    p.add_argument("--finish", action="store_true",
                   help="end the rotation once clients use the new key: the previous key stops working")
    p.add_argument("--yes", action="store_true", help="go ahead without asking")
    p.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or JSON")
    p.add_argument("--poll", type=bounded(float, 0, 3600), default=10.0, metavar="SECONDS",
                   help="how often to ask ECS while the service redeploys")
    add_lock_option(p)

    p = stack_verb(verbs, "migrate", "move a running Terraform deployment of the seed into automl-cfn, data in place",
                   cmd_migrate)
    p.add_argument("step", choices=("plan", "apply", "check"),
                   help="plan: each Terraform resource and what happens to it (offline); apply: adopt the stateful "
                        "ones in place and write the Terraform side; check: is anything adopted still in this "
                        "state (offline)")
    p.add_argument("--tfstate", required=True, metavar="FILE",
                   help="terraform.tfstate (format version 4) or 'terraform show -json' output")
    p.add_argument("--data-bucket", metavar="ADDRESS", help="the aws_s3_bucket to adopt when several look like it")
    p.add_argument("--format", choices=("table", "json"), default="table", help="plan: table (default) or json")
    p.add_argument("--yes", action="store_true", help="apply: deploy without asking")
    p.add_argument("--out", metavar="DIR",
                   help="apply: where the removed blocks and state rm script go (default: the state file's folder)")
    p.set_defaults(output="text")

    p = verbs.add_parser("cost", help="monthly cost estimate from the templates and settings (offline)")
    add_common_options(p)
    add_settings_options(p)
    p.add_argument("--region", help="price region (default: the settings' aws_region)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="table (default) or json")
    p.set_defaults(handler=cmd_cost)

    p = verbs.add_parser("diagram", help="architecture diagram drawn from the templates (offline)")
    add_common_options(p)
    add_settings_options(p)
    p.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid",
                   help="mermaid (default), dot, or svg (needs Graphviz)")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    p.set_defaults(handler=cmd_diagram)

    p = verbs.add_parser("local-aws", help="run the local AWS endpoint (moto with strict CloudFormation rules)")
    p.add_argument("--port", type=int, default=4566, help="TCP port to listen on (default: 4566)")
    p.add_argument("--quiet", action="store_true", help="log errors only")
    p.add_argument("--lenient", action="store_true",
                   help="plain moto (its defects patched) instead of strict CloudFormation rules")
    p.set_defaults(handler=cmd_local_aws)
    # Each verb's --help page opens with the line the verb list shows.
    for choice in action._choices_actions:
        action.choices[choice.dest].description = choice.help[0].upper() + choice.help[1:] + "."
    if only is not None and only not in verbs.names:
        return build_parser()   # not a verb: the full parser says so, with the list
    return parser


def run() -> None:
    """The console script: main(), then the exit.

    Everything the verb kept lives until the process ends, yet the interpreter's final cycle collection
    would walk all of it (17 ms after `templates`, a sixth of its run): frozen, it is left out.  Only
    finalizers of cyclic garbage are skipped, which CPython does not promise at exit anyway; atexit hooks,
    weakref finalizers (temporary directories) and the flush of stdout still run.
    """
    code = main()
    import gc

    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(words[0] if words and not words[0].startswith("-") else None)
    args = None
    try:
        args = parse(parser, argv)
        return args.handler(args)
    except UserError as exc:
        return fail(str(exc), exc.exit_code)
    except BrokenPipeError:
        return quiet_broken_pipe()   # `automl-cfn status | head -1`: the reader has what it wanted
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted{one_line(resume_hint(args))}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if type(exc).__module__.startswith(("botocore", "boto3", "s3transfer", "urllib3")):
            from .deploy.aws import explain   # an AWS failure not handled closer to it: one line, exit 1

            error = explain(exc)
            return fail(str(error), error.exit_code)
        if isinstance(exc, OSError) and exc.filename is not None:
            # a local path no check named (a directory, a name too long): still one line
            return fail(f"{exc.filename}: {exc.strerror or exc}", EXIT_USAGE)
        raise


def fail(message: str, code: int) -> int:
    """The one line of a failure: what the user, a file or AWS gave is in it, shown as data (control
    characters as escapes, non-UTF-8 bytes too, credentials masked: ui.printable)."""
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr)
    return code


def one_line(text: str) -> str:
    from .ui import printable

    return printable(text)


def parse(parser: Parser, argv: list[str] | None):
    """parse_args, but an optional positional may follow the options too (`pipeline status --env prod
    EXECUTION`, the command printed after Ctrl-C): argparse fills it with None before it sees the options."""
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "verb", None) == "pipeline" and args.execution is None and len(extra) == 1 \
            and not extra[0].startswith("-"):
        args.execution = extra[0]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def quiet_broken_pipe() -> int:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail a second time."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):   # stdout is not a real file (tests replace it)
        pass
    return 0


def resume_hint(args) -> str:
    """After Ctrl-C in a stack verb: the operation may go on in CloudFormation; say how to follow it."""
    verb = getattr(args, "verb", None)
    if verb in ("deploy", "release", "destroy", "diff") and (getattr(args, "env", None) or getattr(args, "config", None)):
        where = f"--env {args.env}" if getattr(args, "env", None) else f"--config {args.config}"
        return f"; what CloudFormation started goes on: follow it with 'automl-cfn status {where} --watch'"
    return ""


if __name__ == "__main__":
    run()
