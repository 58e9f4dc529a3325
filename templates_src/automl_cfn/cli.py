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


def add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project-dir", default=".", metavar="DIR",
                        help="directory holding config/ and generated/ (default: current directory)")


def load(args):
    from .settings import load_settings

    return load_settings(env=args.env, config=args.config, overrides=args.var, root=args.project_dir)


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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.handler(args)
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
