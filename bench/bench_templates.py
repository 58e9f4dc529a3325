"""The inner loop, each figure next to its anchor, runs interleaved:

- `automl-cfn templates`, cold (every file written), versus a bare import of the
  troposphere/awacs modules it uses (target <= 1.3x);
- `make templates` when nothing changed, make included (target <= 0.3 s);
- `automl-cfn lint` of all templates, cold (target < 2.5 s, and never slower than
  one process), and after one template changed (target <= 1.2 s);
- against `cdk synth` of the same infrastructure (../shared/anchors/cdk, dev and
  prod; the aws-cdk CLI running the reference app, and the app alone): at least
  50x faster at no more than 5% of its memory; skipped where Node.js or the
  CDK's Python packages cannot be had."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BIN, ROOT, report, sample_commands

LIST_MODULES = (
    "import sys, tempfile; from automl_cfn.cli import main;"
    "main(['templates', '--out', tempfile.mkdtemp()]);"
    "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('troposphere', 'awacs'))))"
)


def peak_rss_mib(argv: list[str], **kwargs) -> float:
    """Peak resident memory of a child process (its own and its children's), MiB."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True,
                            **kwargs)
    return int(result.stdout.strip()) / 1024


def main() -> None:
    listed = subprocess.run([sys.executable, "-c", LIST_MODULES], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split("\n")[-2]
    modules = listed.split()
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/generated"     # --out: never cached, every file rendered and written (cold)
        shutil.copytree(ROOT / "generated", out)
        make = shutil.which("make") or "make"
        subprocess.run([make, "-s", "templates"], cwd=ROOT, check=True, capture_output=True)
        samples = sample_commands({
            "bare": [sys.executable, "-c", "import " + ", ".join(modules)],
            "templates": [str(BIN / "automl-cfn"), "templates", "--out", out],
            "make": [make, "-s", "templates"],
        }, runs=30, cwd=ROOT)   # 30: the ratio sits near its target, and 15 runs scatter it by +-0.05
    bare, generate, unchanged = (statistics.median(samples[k]) for k in ("bare", "templates", "make"))
    report(f"bare import of {len(modules)} troposphere/awacs modules", bare, "s")
    report("automl-cfn templates, cold", generate, "s")
    report("templates / bare import", generate / bare, "x", "<= 1.3", generate / bare <= 1.3)
    report("make templates, nothing changed", unchanged, "s", "<= 0.3", unchanged <= 0.3)
    lint_figures()
    cdk_figures(generate)


def lint_figures() -> None:
    count = len(list((ROOT / "generated" / "templates").glob("*.json"))) + len(
        list((ROOT / "generated" / "account").glob("*.json")))   # what `automl-cfn lint` lints by default
    lint = [str(BIN / "automl-cfn"), "lint", "--force"]
    samples = sample_commands({"parallel": lint, "one": lint + ["--jobs", "1"]}, runs=3, cwd=ROOT)
    parallel, one = statistics.median(samples["parallel"]), statistics.median(samples["one"])
    report(f"automl-cfn lint, all {count} templates, cold", parallel, "s", "< 2.5", parallel < 2.5)
    report("  the same in one process", one, "s", ">= the above", parallel <= one * 1.05)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        shutil.copytree(ROOT / "generated" / "templates", project / "templates")
        shutil.copy(ROOT / ".cfnlintrc", project / ".cfnlintrc")
        paths = [str(p) for p in sorted((project / "templates").glob("*.json"))]
        command = [str(BIN / "automl-cfn"), "lint", "--project-dir", tmp, *paths]
        subprocess.run(command, check=True, capture_output=True)
        times = []
        for run in range(3):
            changed = project / "templates" / "iam.json"
            changed.write_text(changed.read_text() + "\n" * (run + 1))
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    relint = statistics.median(times)
    report("automl-cfn lint after one template changed", relint, "s", "<= 1.2", relint <= 1.2)


CDK = ROOT.parent / "shared" / "anchors" / "cdk"
CDK_VENV = Path(tempfile.gettempdir()) / "cdk-bench"


def cdk_figures(ours_cold: float) -> None:
    if not shutil.which("node"):
        print("cdk comparison skipped: Node.js is not installed (the CDK runs its library through it)")
        return
    if not (CDK / "app.py").exists():
        print(f"cdk comparison skipped: no reference app at {CDK}")
        return
    python = CDK_VENV / "bin" / "python"
    if not python.exists():
        print(f"setting up {CDK_VENV} for the CDK reference app (once) ...", flush=True)
        created = subprocess.run([sys.executable, "-m", "venv", str(CDK_VENV)], capture_output=True)
        installed = created.returncode == 0 and subprocess.run(
            [str(CDK_VENV / "bin" / "pip"), "install", "-q", "-r", str(CDK / "requirements.txt")],
            capture_output=True).returncode == 0
        if not installed:
            shutil.rmtree(CDK_VENV, ignore_errors=True)
            print("cdk comparison skipped: the CDK's Python packages could not be installed")
            return
    env = {**os.environ, "CDK_DEFAULT_ACCOUNT": "123456789012", "CDK_DEFAULT_REGION": "us-east-1"}
    with tempfile.TemporaryDirectory() as tmp:
        app = [str(python), "app.py"]
        ours = [str(BIN / "automl-cfn"), "templates", "--out", f"{tmp}/generated", "--project-dir", str(ROOT)]
        commands = {"app": app, "ours": ours}
        cli = cdk_cli()
        if cli:   # what a CDK user runs: the CLI starts the app, then reads the cloud assembly back
            commands["cdk"] = [cli, "synth", "--quiet", "--no-notices", "--no-version-reporting",
                               "--app", f"{python} app.py", "--output", f"{tmp}/cdk-cli.out"]
        env["CDK_OUTDIR"] = f"{tmp}/cdk.out"
        samples = sample_commands(commands, runs=3, cwd=CDK, env=env)
        median = {name: statistics.median(times) for name, times in samples.items()}
        cdk_memory = peak_rss_mib(commands.get("cdk", app), cwd=CDK, env=env)
        ours_memory = peak_rss_mib(ours, cwd=CDK, env=env)
    ours_time = median["ours"]
    report("cdk app synthesis alone (python app.py)", median["app"], "s")
    report("  faster than the app alone", median["app"] / ours_time, "x")
    if cli:
        report("cdk synth, dev and prod (CLI and reference app)", median["cdk"], "s")
    else:
        print("cdk synth CLI unavailable (npm could not install aws-cdk): compared with the app alone")
    cdk_time = median.get("cdk", median["app"])
    report("automl-cfn templates, dev and prod", ours_time, "s")
    report("  faster than cdk synth", cdk_time / ours_time, "x", ">= 50", cdk_time / ours_time >= 50)
    report("  peak memory, cdk synth", cdk_memory, "MiB")
    report("  peak memory, automl-cfn", ours_memory, "MiB")
    report("  memory / cdk's", 100 * ours_memory / cdk_memory, "%", "<= 5", ours_memory / cdk_memory <= 0.05)


def cdk_cli() -> str | None:
    """The aws-cdk CLI (npm), installed once next to the reference app's venv; None where npm cannot."""
    cli = CDK_VENV / "cli" / "node_modules" / ".bin" / "cdk"
    if not cli.exists() and shutil.which("npm"):
        subprocess.run(["npm", "install", "--prefix", str(CDK_VENV / "cli"), "--no-audit", "--no-fund", "aws-cdk@2"],
                       capture_output=True)
    return str(cli) if cli.exists() else None


if __name__ == "__main__":
    main()
