"""`automl-cfn templates` versus a bare import of the same troposphere/awacs
modules (target ratio <= 1.5), and cfn-lint over all templates (target < 3 s)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile

from common import BIN, ROOT, report, sample_commands, time_command

LIST_MODULES = (
    "import sys, tempfile; from automl_cfn.cli import main;"
    "main(['templates', '--out', tempfile.mkdtemp()]);"
    "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('troposphere', 'awacs'))))"
)


def main() -> None:
    listed = subprocess.run([sys.executable, "-c", LIST_MODULES], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split("\n")[-2]
    modules = listed.split()
    with tempfile.TemporaryDirectory() as tmp:
        # As `make templates` runs: over an existing generated/ (drawings reused when unchanged).
        out = f"{tmp}/generated"
        shutil.copytree(ROOT / "generated", out)
        samples = sample_commands({
            "bare": [sys.executable, "-c", "import " + ", ".join(modules)],
            "templates": [str(BIN / "automl-cfn"), "templates", "--out", out],
        }, runs=15, cwd=ROOT)
    bare, generate = (statistics.median(samples[k]) for k in ("bare", "templates"))
    report(f"bare import of {len(modules)} troposphere/awacs modules", bare, "s")
    report("automl-cfn templates", generate, "s")
    ratio = generate / bare
    report("templates / bare import", ratio, "x", "<= 1.5", ratio <= 1.5)
    count = len(list((ROOT / "generated" / "templates").glob("*.json")))
    lint = time_command([str(BIN / "automl-cfn"), "lint"], runs=3, cwd=ROOT)
    report(f"cfn-lint, all {count} templates (automl-cfn lint)", lint, "s", "< 3", lint < 3)


if __name__ == "__main__":
    main()
