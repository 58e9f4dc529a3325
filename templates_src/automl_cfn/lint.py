"""Run cfn-lint over the generated templates: only those that changed, one process per free core.

cfn-lint is single-threaded and spends most of its time validating each
template against the resource schemas, so the templates are split into
size-balanced batches that lint side by side.  A template's findings are
cached under its content hash (cache.py), so an unchanged template is not
linted again.  Rules, regions and the informational level come from
.cfnlintrc.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .errors import UserError
from .ui import visible


def cfn_lint_command() -> list[str]:
    """cfn-lint's entry point in this interpreter, with the collector off (batch_gc.py); else its script."""
    from importlib.util import find_spec

    from .batch_gc import CFN_LINT_WITHOUT_GC

    if find_spec("cfnlint") is not None:
        return [sys.executable, "-c", CFN_LINT_WITHOUT_GC]
    beside = Path(sys.executable).with_name("cfn-lint")
    found = str(beside) if beside.exists() else shutil.which("cfn-lint")
    if not found:
        raise UserError("cfn-lint is not installed; run 'make install' (pip install -e '.[dev]')")
    return [found]


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


# Exit code bits cfn-lint uses, by the first letter of a rule.
LEVEL_BITS = {"E": 2, "W": 4, "I": 8}
ARGUMENTS = ["--format", "parseable"]
# Every rule reads one template at a time except E3043, which opens the child templates a nested
# stack's TemplateURL names when that URL is a local path.  These templates' TemplateURLs are S3 URLs
# built with Fn::Sub (tests/unit/test_lint_cache.py fails if that changes), so a template's findings
# depend on its own bytes alone and can be cached per template.
CROSS_TEMPLATE_RULE = "E3043"


def jobs_for(count: int) -> int:
    """One process per free core, at least one: on a busy machine, processes that fight for cores finish
    later than one alone.  Busy is the smaller of the one-minute load average and the tasks runnable right
    now (Linux): the average lags, and would keep lint on one process for a minute after other work ended."""
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    now = runnable_now()
    if now is not None:
        busy = min(busy, now)
    return max(1, min(count, cores, int(cores - busy + 0.5)))


def runnable_now(path: str = "/proc/loadavg") -> int | None:
    """Tasks runnable at this instant besides this process (the fourth field of /proc/loadavg, "r/t")."""
    try:
        with open(path) as handle:
            running = int(handle.read().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None
    return max(0, running - 1)


def run(paths: list[Path], jobs: int | None = None, cwd: Path = Path("."), use_cache: bool = True) -> int:
    """Lint what changed since its last lint; print every template's findings, cached or fresh."""
    from . import cache

    if not paths:
        raise UserError("no templates to lint; run 'automl-cfn templates' first")
    for path in paths:
        if not path.is_file():
            raise UserError(f"{path}: no such template file (run 'automl-cfn templates', or check the path)")
    project = cwd.resolve()
    stored = cache.lint_results(project) if use_cache else {}
    keys = {path: cache.lint_key(path, project, ARGUMENTS) for path in paths}
    fresh = [p for p in paths if stored.get(str(p), {}).get("key") != keys[p]]
    results = {str(p): stored[str(p)] for p in paths if p not in fresh}
    if fresh:
        command = cfn_lint_command()
        workers = jobs or jobs_for(len(fresh))

        def lint(group: list[Path]) -> subprocess.CompletedProcess:
            return subprocess.run([*command, *ARGUMENTS, "--", *map(str, group)], cwd=cwd, capture_output=True,
                                  text=True)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            runs = list(zip(batches(fresh, workers), pool.map(lint, batches(fresh, workers))))
        for group, result in runs:
            lines = result.stdout.splitlines()
            crashed = result.returncode != 0 and not lines
            for path in group:
                mine = [line for line in lines if line.startswith(f"{path}:")]
                results[str(path)] = {"key": keys[path], "findings": mine,
                                      "error": result.stderr.strip() if crashed else ""}
    if use_cache:   # what else was linted before stays: a run over some templates keeps the others' results
        cache.save_lint_results(project, {**stored, **{k: v for k, v in results.items() if not v.get("error")}})
    code = 0
    for path in paths:
        result = results[str(path)]
        if result.get("error"):
            sys.stderr.write(visible(result["error"]) + "\n")
            code |= 1
        for line in result["findings"]:
            print(visible(line))   # a template's path and cfn-lint's words, shown as text
            rule = line.split(":")[5] if line.count(":") >= 5 else "E"
            code |= LEVEL_BITS.get(rule[:1], 2)
    if code == 0:
        linted = f"{len(fresh)} linted, {len(paths) - len(fresh)} unchanged since their last lint"
        print(f"cfn-lint: {len(paths)} template{'s' if len(paths) != 1 else ''}, no findings ({linted})")
    return code
