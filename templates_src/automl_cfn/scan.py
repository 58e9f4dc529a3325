"""checkov over what each environment deploys, offline, with the project's custom checks.

The generic templates hold conditions and Fn::If, which checkov reads with
parameter defaults: optional resources go unscanned and an environment's
findings stay invisible.  So each environment (every config/*.yaml, plus
the full-featured configuration, settings.FULL_FEATURED) is resolved first:
conditions chosen, Fn::If resolved, resources that do not exist dropped
(evaluate.environment, with the root's real wiring).  checkov scans those.

A finding is accepted only by checks/skips.yaml, which names the check, the
resource, the environments and the reason.  A skip that matches nothing in
an environment it names is stale and fails the scan too, so every reason
stays true.  docs/SECURITY.md lists the skips (written by `make templates`).

checkov pins packaging<24 (pytest needs newer), so it lives in its own
virtual environment, .venv-checkov.  BC_SKIP_MAPPING=TRUE keeps it from
fetching its guideline mapping from the internet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import UserError
from .evaluate import Evaluation, as_text, environment
from .parameters import parameter_values
from .settings import FULL_FEATURED, Settings, SettingsError, load_settings, with_overrides
from .skips import ALL, SKIPS_FILE, Skip, load_skips

CHECKOV_VENV = ".venv-checkov"
CUSTOM_CHECKS = "checks/checkov"
FULL = "full"                     # the full-featured configuration's name in reports


@dataclass
class Finding:
    check_id: str
    resource: str     # LogicalId
    file: str         # <environment>/<stack>.json
    environment: str = ""

    @property
    def stack(self) -> str:
        return Path(self.file).stem


@dataclass
class ScanResult:
    passed: int
    failed: list[Finding]
    skipped: list[tuple[Finding, Skip]] = field(default_factory=list)
    stale: list[tuple[str, str, Skip]] = field(default_factory=list)      # (environment, resource, skip)
    custom_passed: set[str] = field(default_factory=set)
    environments: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stale


# ---------------------------------------------------------------------------
# what each environment deploys
# ---------------------------------------------------------------------------

def environments(project: Path) -> dict[str, Settings]:
    """config/*.yaml by name, and the full-featured configuration over the first of them."""
    found = {}
    for path in sorted((project / "config").glob("*.yaml")):
        try:
            found[path.stem] = load_settings(config=path, root=project)
        except SettingsError as exc:
            raise UserError(f"config/{path.name}: {exc}") from None
    if not found:
        raise UserError("no config/*.yaml to scan")
    base = found.get("dev") or next(iter(found.values()))
    found[FULL] = with_overrides(base, **FULL_FEATURED)
    return found


def resolved(documents: Mapping[str, dict], settings: Settings) -> dict[str, dict]:
    """Each template as this environment deploys it: conditions chosen, Fn::If resolved,
    AWS::NoValue dropped, absent resources gone, parameters filled in."""
    values = {**parameter_values(settings), "TemplatesBucket": "templates-bucket", "TemplatesPrefix": "p/"}
    region = settings.aws_region
    wired = {name: {k: as_text(v) for k, v in child.parameters.items()}
             for name, child in environment(documents, values, region).items()}
    wired["root"] = values
    wired["artifacts"] = {}
    return {name: _resolve(Evaluation(documents[name], given, region=region))
            for name, given in wired.items() if name in documents}


def _resolve(evaluation: Evaluation) -> dict:
    template = evaluation.template
    resources = {}
    for logical_id, body in evaluation.resources().items():
        body = {k: v for k, v in body.items() if k not in ("Condition", "Metadata")}   # skips: checks/skips.yaml
        depends = body.pop("DependsOn", [])
        kept = [d for d in ([depends] if isinstance(depends, str) else depends)
                if evaluation.exists(template["Resources"][d])]
        if kept:
            body["DependsOn"] = kept
        resources[logical_id] = body
    return {"AWSTemplateFormatVersion": "2010-09-09", "Parameters": template.get("Parameters", {}),
            **({"Mappings": template["Mappings"]} if "Mappings" in template else {}), "Resources": resources}


# ---------------------------------------------------------------------------
# checkov
# ---------------------------------------------------------------------------

def checkov(project: Path) -> Path:
    binary = project / CHECKOV_VENV / "bin" / "checkov"
    if not binary.exists():
        raise UserError(f"checkov's virtual environment {CHECKOV_VENV}/ is missing: run 'make checkov-venv'")
    return binary


def run_checkov(project: Path, directory: Path) -> tuple[int, list[Finding], set[str]]:
    """checkov over a directory: (passed count, failed findings, custom checks that passed)."""
    command = [str(checkov(project)), "-d", str(directory), "--framework", "cloudformation",
               "--external-checks-dir", str(project / CUSTOM_CHECKS), "-o", "json"]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise UserError(f"checkov did not run (exit {result.returncode}): {result.stderr.strip()[-300:]}")
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    passed, failed, custom = 0, [], set()
    for report in reports:
        results = report.get("results", {})
        passed += len(results.get("passed_checks", []))
        custom |= {c["check_id"] for c in results.get("passed_checks", []) if "AUTOML" in c["check_id"]}
        for check in results.get("failed_checks", []):
            relative = Path(check["file_path"].lstrip("/"))
            failed.append(Finding(check["check_id"], check["resource"].split(".", 1)[-1], str(relative),
                                  relative.parts[0] if len(relative.parts) > 1 else ""))
    return passed, failed, custom


def committed(project: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """The committed application templates and account templates (generated/templates, generated/account)."""
    from . import synth

    generated = project / "generated"
    return synth.read_generated_documents(generated), synth.read_account_documents(generated)


ACCOUNT = "account"   # the account baseline, scanned as it deploys by default (a recorder created, rules one by one)


def scan(project: Path, documents: Mapping[str, dict], account: Mapping[str, dict] | None = None) -> ScanResult:
    """Every environment resolved and scanned in one checkov run, with the account templates (`account`:
    name -> document); findings judged against the skips."""
    skips = load_skips(project)
    chosen = environments(project)
    with tempfile.TemporaryDirectory(prefix="automl-scan-") as tmp:
        for name, settings in chosen.items():
            folder = Path(tmp) / name
            folder.mkdir()
            for stack, template in resolved(documents, settings).items():
                (folder / f"{stack}.json").write_text(json.dumps(template, indent=1, sort_keys=True))
        if account:
            folder = Path(tmp) / ACCOUNT
            folder.mkdir()
            for stack, template in account.items():
                (folder / f"{stack}.json").write_text(json.dumps(_resolve(Evaluation(template, {})), indent=1,
                                                                 sort_keys=True))
        passed, findings, custom = run_checkov(project, Path(tmp))
    result = ScanResult(passed, [], custom_passed=custom, environments=list(chosen) + ([ACCOUNT] if account else []))
    used = set()
    for finding in findings:
        skip = next((s for s in skips if s.covers(finding.check_id, finding.resource, finding.environment)), None)
        if skip is None:
            result.failed.append(finding)
        else:
            result.skipped.append((finding, skip))
            used.add((finding.environment, finding.resource, skip))
    for skip in skips:
        for resource in skip.resources:
            if ALL in skip.environments:
                if not any((environment, resource, skip) in used for environment in chosen):
                    result.stale.append((ALL, resource, skip))
                continue
            result.stale += [(environment, resource, skip) for environment in skip.environments
                             if (environment, resource, skip) not in used]
    return result


def main(argv: list[str] | None = None) -> int:
    project = Path.cwd()
    try:
        result = scan(project, *committed(project))
    except UserError as exc:
        print(f"scan: error: {exc}", file=sys.stderr)
        return exc.exit_code
    for finding in result.failed:
        print(f"FAILED  {finding.check_id}  {finding.stack}/{finding.resource}  in {finding.environment}")
    for env, resource, skip in result.stale:
        print(f"STALE   {skip.check}  {resource}  in {env}: the skip matches no finding there; "
              f"remove it from {SKIPS_FILE} or narrow its environments")
    for finding, skip in result.skipped:
        print(f"skipped {finding.check_id}  {finding.stack}/{finding.resource}  in {finding.environment}: "
              f"{skip.reason}")
    print(f"checkov over {', '.join(result.environments)}: {result.passed} checks passed, {len(result.failed)} "
          f"failed, {len(result.skipped)} skipped, {len(result.stale)} stale skips")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
