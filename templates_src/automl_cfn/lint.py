"""Run cfn-lint over the generated templates, one process per core.

cfn-lint is single-threaded and spends most of its time validating each
template against the resource schemas, so the templates are split into
size-balanced batches that lint side by side.  Rules, regions and the
informational level come from .cfnlintrc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .errors import UserError


def cfn_lint_command() -> str:
    beside = Path(sys.executable).with_name("cfn-lint")
    found = str(beside) if beside.exists() else shutil.which("cfn-lint")
    if not found:
        raise UserError("cfn-lint is not installed; run 'make install' (pip install -e '.[dev]')")
    return found


def batches(paths: list[Path], count: int) -> list[list[Path]]:
    """Greedy split by file size: biggest first into the lightest batch."""
    count = max(1, min(count, len(paths)))
    groups: list[list[Path]] = [[] for _ in range(count)]
    weights = [0] * count
    for path in sorted(paths, key=lambda p: (-p.stat().st_size, p.name)):
        lightest = weights.index(min(weights))
        groups[lightest].append(path)
        weights[lightest] += path.stat().st_size
    return [sorted(g) for g in groups if g]


def run(paths: list[Path], jobs: int | None = None, cwd: Path = Path(".")) -> int:
    if not paths:
        raise UserError("no templates to lint; run 'automl-cfn templates' first")
    command = cfn_lint_command()
    jobs = jobs or os.cpu_count() or 1

    def lint(group: list[Path]) -> subprocess.CompletedProcess:
        return subprocess.run([command, "--", *map(str, group)], cwd=cwd, capture_output=True, text=True)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lint, batches(paths, jobs)))
    worst = 0
    for result in results:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        worst = max(worst, result.returncode)
    if worst == 0:
        print(f"cfn-lint: {len(paths)} template{'s' if len(paths) != 1 else ''}, no findings")
    return worst
