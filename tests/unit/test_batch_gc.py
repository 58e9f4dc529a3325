"""Batch work runs without the cyclic collector, and leaves it as it found it (batch_gc.py)."""

from __future__ import annotations

import gc
import subprocess

from automl_cfn import lint
from automl_cfn.batch_gc import collector_paused
from automl_cfn.cli import main


def test_templates_generates_without_a_collection_and_restores_the_collector(tmp_path, capsys):
    collections = []

    def record(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(record)
    try:
        assert main(["templates", "--out", str(tmp_path / "generated")]) == 0
        during = list(collections)
        assert gc.isenabled()
        # What the run kept is treated as examined: the next allocations do not set off a full walk.
        assert gc.get_count()[0] < 700
    finally:
        gc.callbacks.remove(record)
    assert during == []
    assert (tmp_path / "generated" / "templates" / "root.json").exists()


def test_a_disabled_collector_stays_disabled():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_comes_back_when_the_block_fails():
    try:
        with collector_paused():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_cfn_lint_runs_with_the_collector_off_and_its_own_arguments(project_root):
    command = lint.cfn_lint_command()
    assert "gc.disable()" in command[-1]
    result = subprocess.run([*command, "--version"], capture_output=True, text=True, cwd=project_root)
    assert result.returncode == 0 and "cfn-lint" in (result.stdout + result.stderr)


def test_cfn_lint_keeps_its_findings_and_exit_code_and_skips_the_exit_collection(project_root, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}')
    command = lint.cfn_lint_command()
    # A hook registered before the program's own runs after it (atexit is last in, first out).
    watched = "import atexit, gc; atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0)); " \
              + command[-1]
    result = subprocess.run([*command[:-1], watched, "--format", "parseable", str(bad)], capture_output=True,
                            text=True, cwd=project_root)
    assert result.returncode == 2, result.stderr
    assert "E3002" in result.stdout and result.stdout.rstrip().endswith("frozen True")
