"""`automl-cfn`: one console script, a subcommand per verb.

Start-up imports only argparse; each verb imports what it needs when it runs,
so `templates` never pays for boto3 and `params` never pays for troposphere.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import EXIT_INTERRUPTED, UserError

PROG = "automl-cfn"


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (and exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message} (see '{self.prog} --help')")


def add_settings_options(parser: argparse.ArgumentParser, env_required: bool = False) -> None:
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
    settings = load(args)
    from .deploy.aws import Aws, AwsOptions
    from .deploy.engine import Target

    aws = Aws(AwsOptions(args.endpoint_url, args.profile, args.region), default_region=settings.aws_region)
    env_flag = f"--env {args.env}" if args.env else f"--config {args.config}"
    return Target(settings=settings, aws=aws, env_flag=env_flag, project_dir=Path(args.project_dir))


# -- verbs ------------------------------------------------------------------

def cmd_templates(args) -> int:
    from . import synth

    root = Path(args.project_dir)
    out = Path(args.out) if args.out else root / "generated"
    files = synth.render_all(root)
    changed = synth.write(out, files)
    print(f"wrote {len(files)} files to {out}/ ({len(changed)} changed)")
    for rel in changed:
        print(f"  {rel}")
    return 0


def cmd_params(args) -> int:
    import json

    from .parameters import as_cli_parameters, parameter_values

    settings = load(args)
    values = parameter_values(settings)
    document = as_cli_parameters(values) if args.format == "cli" else values
    print(json.dumps(document, indent=2))
    return 0


def cmd_lint(args) -> int:
    from . import lint

    root = Path(args.project_dir)
    paths = [Path(p) for p in args.templates] or sorted((root / "generated" / "templates").glob("*.json"))
    return lint.run(paths, jobs=args.jobs, cwd=root)


def deploy_options(args):
    from .deploy.engine import DeployOptions

    return DeployOptions(
        yes=getattr(args, "yes", False), execute=not getattr(args, "no_execute", False),
        express=getattr(args, "express", None), output=args.output,
        allow_replace=tuple(getattr(args, "allow_replace", None) or ()), wait=getattr(args, "wait", False),
    )


def cmd_deploy(args) -> int:
    from .deploy import engine

    return engine.deploy(target(args), deploy_options(args))


def cmd_diff(args) -> int:
    from .deploy import engine

    return engine.diff(target(args), deploy_options(args))


def cmd_status(args) -> int:
    from .deploy import engine

    return engine.status(target(args), follow=args.watch)


def cmd_outputs(args) -> int:
    from .deploy import engine

    return engine.outputs(target(args), args.format)


def cmd_drift(args) -> int:
    from .deploy import engine

    return engine.drift(target(args))


def cmd_destroy(args) -> int:
    from .deploy.destroy import DestroyOptions, destroy

    if args.purge_confirm and not args.purge_data:
        raise UserError("--purge-confirm only goes with --purge-data")
    return destroy(target(args), DestroyOptions(
        yes=args.yes, purge_data=args.purge_data, purge_confirm=args.purge_confirm,
        backup=Path(args.backup) if args.backup else None,
    ))


def cmd_local_aws(args) -> int:
    from . import local_aws

    local_aws.run(args.port, quiet=args.quiet)
    return 0


def stack_verb(verbs, name: str, help: str, handler):
    p = verbs.add_parser(name, help=help)
    add_common_options(p)
    add_settings_options(p)
    add_aws_options(p)
    p.set_defaults(handler=handler)
    return p


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="Generate, check and deploy the AutoML pipeline's AWS infrastructure.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=Parser)
    verbs.required = True

    p = verbs.add_parser("templates", help="write generated/ (templates and parameters per environment)")
    add_common_options(p)
    p.add_argument("--out", metavar="DIR", help="output directory (default: generated/)")
    p.set_defaults(handler=cmd_templates)

    p = verbs.add_parser("lint", help="cfn-lint every generated template (parallel, settings from .cfnlintrc)")
    add_common_options(p)
    p.add_argument("--jobs", type=int, metavar="N", help="parallel cfn-lint processes (default: one per core)")
    p.add_argument("templates", nargs="*", help="templates to lint (default: generated/templates/*.json)")
    p.set_defaults(handler=cmd_lint)

    p = verbs.add_parser("params", help="print the resolved CloudFormation parameters as JSON")
    add_common_options(p)
    add_settings_options(p)
    p.add_argument("--format", choices=("cli", "map"), default="cli",
                   help="cli: [{ParameterKey, ParameterValue}] (default); map: {name: value}")
    p.set_defaults(handler=cmd_params)

    p = stack_verb(verbs, "deploy", "deploy through a reviewed change set", cmd_deploy)
    p.add_argument("--yes", action="store_true", help="execute without asking (and confirm recreating a failed stack)")
    p.add_argument("--no-execute", action="store_true", help="create and show the change set, leave it unexecuted")
    p.add_argument("--express", action="store_true", default=None,
                   help="CloudFormation EXPRESS deployment mode (default: the express_deploys setting)")
    p.add_argument("--no-express", dest="express", action="store_false", help="standard deployment mode")
    p.add_argument("--allow-replace", action="append", metavar="LOGICAL_ID",
                   help="allow replacing or removing this stateful resource (repeatable)")
    p.add_argument("--wait", action="store_true", help="wait for an operation already in progress")
    p.add_argument("--output", choices=("text", "json", "markdown"), default="text", help="review format")

    p = stack_verb(verbs, "diff", "show what a deploy would change (nothing is executed)", cmd_diff)
    p.add_argument("--output", choices=("text", "json", "markdown"), default="text", help="review format")

    p = stack_verb(verbs, "status", "the stack's status and its nested stacks", cmd_status)
    p.add_argument("--watch", action="store_true", help="follow an operation in progress until it ends")

    p = stack_verb(verbs, "outputs", "the stack's outputs", cmd_outputs)
    p.add_argument("--format", choices=("table", "json", "env"), default="table")

    stack_verb(verbs, "drift", "detect and show drift on every stack", cmd_drift)

    p = stack_verb(verbs, "destroy", "delete the stacks (data is retained)", cmd_destroy)
    p.add_argument("--yes", action="store_true", help="delete without asking")
    p.add_argument("--backup", metavar="DIR", help="download the data bucket to DIR first")
    p.add_argument("--purge-data", action="store_true",
                   help="also delete every object version, the repositories and the log groups (asks again)")
    p.add_argument("--purge-confirm", metavar="STACK_NAME",
                   help="the second confirmation of --purge-data where there is no terminal")

    p = verbs.add_parser("local-aws", help="run the local AWS endpoint (moto, patched) in the foreground")
    p.add_argument("--port", type=int, default=4566)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=cmd_local_aws)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.handler(args)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # an AWS failure not handled closer to it: one line, exit 1
        if not type(exc).__module__.startswith(("botocore", "boto3", "s3transfer")):
            raise
        from .deploy.aws import explain

        error = explain(exc)
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
