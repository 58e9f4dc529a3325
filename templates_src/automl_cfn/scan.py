"""checkov over the generated templates, offline, with the project's custom checks.

checkov pins packaging<24 (pytest needs newer), so it lives in its own
virtual environment, .venv-checkov.  BC_SKIP_MAPPING=TRUE keeps it from
fetching its guideline mapping from the internet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

CHECKOV_VENV = ".venv-checkov"
CUSTOM_CHECKS = "checks/checkov"


@dataclass
class Finding:
    check_id: str
    resource: str
    file: str


@dataclass
class ScanResult:
    passed: int
    failed: list[Finding]
    skipped: list[Finding]
    custom_passed: set[str]


def checkov(project: Path) -> Path:
    binary = project / CHECKOV_VENV / "bin" / "checkov"
    if not binary.exists():
        raise UserError(f"checkov's virtual environment {CHECKOV_VENV}/ is missing: run 'make checkov-venv'")
    return binary


def run(project: Path, directory: Path) -> ScanResult:
    command = [str(checkov(project)), "-d", str(directory), "--framework", "cloudformation",
               "--external-checks-dir", str(project / CUSTOM_CHECKS), "-o", "json"]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise UserError(f"checkov did not run (exit {result.returncode}): {result.stderr.strip()[-300:]}")
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    passed, failed, skipped, custom = 0, [], [], set()
    for report in reports:
        results = report.get("results", {})
        passed += len(results.get("passed_checks", []))
        for check in results.get("passed_checks", []):
            if "AUTOML" in check["check_id"]:
                custom.add(check["check_id"])
        failed += [Finding(c["check_id"], c["resource"], c["file_path"]) for c in results.get("failed_checks", [])]
        skipped += [Finding(c["check_id"], c["resource"], c["file_path"]) for c in results.get("skipped_checks", [])]
    return ScanResult(passed, failed, skipped, custom)


def main(argv: list[str] | None = None) -> int:
    project = Path.cwd()
    try:
        result = run(project, project / "generated" / "templates")
    except UserError as exc:
        print(f"scan: error: {exc}", file=sys.stderr)
        return exc.exit_code
    for finding in result.failed:
        print(f"FAILED  {finding.check_id}  {finding.resource}  ({finding.file})")
    for finding in result.skipped:
        print(f"skipped {finding.check_id}  {finding.resource}  (reason in the resource's Metadata)")
    print(f"checkov: {result.passed} checks passed, {len(result.failed)} failed, {len(result.skipped)} skipped")
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
