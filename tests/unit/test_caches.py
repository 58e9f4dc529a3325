"""The inner loop's caches (cache.py): a hit changes nothing, and each part of each key invalidates."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from automl_cfn import cache, lint
from automl_cfn.cli import main


@pytest.fixture
def project(project_root, tmp_path):
    """A copy of what `templates` reads and writes, so the tests may change it."""
    copy = tmp_path / "project"
    for part in ("config", "docs", "checks"):
        shutil.copytree(project_root / part, copy / part)
    shutil.copy(project_root / "README.md", copy / "README.md")
    shutil.copy(project_root / ".cfnlintrc", copy / ".cfnlintrc")
    return copy


def generate(project, capsys, *extra) -> str:
    assert main(["templates", "--project-dir", str(project), *extra]) == 0
    return capsys.readouterr().out


def test_generation_is_skipped_until_something_it_reads_changes(project, capsys, monkeypatch, tmp_path):
    from automl_cfn.diagram import has_dot

    written = f"wrote {18 if has_dot() else 16} files"   # the two SVG diagrams only with Graphviz installed
    assert generate(project, capsys).startswith(written)
    assert "is up to date" in generate(project, capsys)
    assert generate(project, capsys, "--force").startswith(written)

    def invalidates(change) -> bool:
        assert "is up to date" in generate(project, capsys)
        change()
        return generate(project, capsys).startswith("wrote")

    assert invalidates(lambda: (project / "config" / "dev.yaml").write_text(
        (project / "config" / "dev.yaml").read_text().replace("log_retention_days: 7", "log_retention_days: 14")))
    assert invalidates(lambda: (project / "generated" / "templates" / "iam.json").write_text("{}"))
    assert invalidates(lambda: (project / "README.md").write_text((project / "README.md").read_text() + "\n"))
    assert invalidates(lambda: (project / "checks" / "skips.yaml").write_text(
        (project / "checks" / "skips.yaml").read_text() + "\n"))
    assert invalidates(lambda: monkeypatch.setattr(cache, "version", lambda name: "9.9.9"))
    assert invalidates(lambda: monkeypatch.setattr(cache, "python_version", lambda: "3.99.0"))
    which = shutil.which     # Graphviz coming or going (whichever this machine has now) invalidates
    flipped = None if which("dot") else "/usr/bin/dot"
    assert invalidates(lambda: monkeypatch.setattr(cache.shutil, "which", lambda name: flipped if name == "dot"
                                                   else which(name)))
    package = tmp_path / "package"
    shutil.copytree(cache.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "PACKAGE", package)
    generate(project, capsys)
    assert invalidates(lambda: (package / "stacks" / "iam.py").write_text(
        (package / "stacks" / "iam.py").read_text() + "\n# changed\n"))
    # Deleting the cache forces a cold run.
    assert invalidates(lambda: shutil.rmtree(project / ".cache"))


@pytest.fixture
def counted(monkeypatch):
    """How many templates each cfn-lint process was given."""
    calls = []
    real = subprocess.run

    def run(command, *args, **kwargs):
        calls.append([c for c in command if c.endswith(".json")])
        return real(command, *args, **kwargs)

    monkeypatch.setattr(lint.subprocess, "run", run)
    return calls


def test_lint_runs_only_on_what_changed_and_keeps_findings(project, project_root, capsys, counted, monkeypatch):
    templates = project / "t"
    templates.mkdir()
    for name in ("iam", "storage", "network"):
        shutil.copy(project_root / "generated" / "templates" / f"{name}.json", templates / f"{name}.json")
    bad = templates / "bad.json"
    bad.write_text(json.dumps({"AWSTemplateFormatVersion": "2010-09-09",
                               "Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Foo": 1}}}}))
    paths = sorted(templates.glob("*.json"))

    def lint_all():
        counted.clear()
        code = lint.run(paths, cwd=project, jobs=1)
        out = capsys.readouterr().out
        return code, out, sum(len(c) for c in counted)

    code, out, linted = lint_all()
    assert (code, linted) == (2, 4) and "E3002" in out
    code, out, linted = lint_all()
    assert (code, linted) == (2, 0) and "E3002" in out          # cached findings are still reported

    def invalidates(change, expected: int) -> None:
        change()
        assert lint_all()[2] == expected

    invalidates(lambda: (templates / "iam.json").write_text((templates / "iam.json").read_text() + "\n"), 1)
    invalidates(lambda: (project / ".cfnlintrc").write_text((project / ".cfnlintrc").read_text() + "\n"), 4)
    invalidates(lambda: monkeypatch.setattr(lint, "ARGUMENTS", lint.ARGUMENTS + ["--non-zero-exit-code",
                                                                                 "error"]), 4)
    invalidates(lambda: monkeypatch.setattr(cache, "version", lambda name: "0.0.1"), 4)
    invalidates(lambda: monkeypatch.setattr(cache, "python_version", lambda: "3.99.0"), 4)
    invalidates(lambda: None, 0)


def test_processes_follow_the_free_cores(monkeypatch):
    monkeypatch.setattr(lint.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(lint, "runnable_now", lambda: None)              # no /proc: the load average alone
    monkeypatch.setattr(lint.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert lint.jobs_for(11) == 2 and lint.jobs_for(1) == 1
    monkeypatch.setattr(lint.os, "getloadavg", lambda: (3.5, 3.0, 2.0))   # busy: one process
    assert lint.jobs_for(11) == 1
    monkeypatch.setattr(lint, "runnable_now", lambda: 0)                 # other work just ended: both cores
    assert lint.jobs_for(11) == 2
    monkeypatch.setattr(lint, "runnable_now", lambda: 3)                 # and still running: one
    assert lint.jobs_for(11) == 1


def test_runnable_now_reads_the_instant_count_without_this_process(tmp_path):
    sample = tmp_path / "loadavg"
    sample.write_text("1.20 0.90 0.80 3/412 12345\n")
    assert lint.runnable_now(str(sample)) == 2
    sample.write_text("garbage\n")
    assert lint.runnable_now(str(sample)) is None and lint.runnable_now(str(tmp_path / "absent")) is None


def test_no_template_url_is_a_local_path(templates):
    """Why a template's lint findings depend on its bytes alone: E3043, cfn-lint's one cross-template
    rule, follows a nested stack's TemplateURL only when it is a local file."""
    urls = [body["Properties"]["TemplateURL"] for doc in templates.values()
            for body in doc.get("Resources", {}).values() if body["Type"] == "AWS::CloudFormation::Stack"]
    assert urls and all(isinstance(u, dict) and "https://" in json.dumps(u) for u in urls)


def test_linting_some_templates_keeps_the_others_results(project, project_root, capsys, counted):
    templates = project / "t"
    templates.mkdir()
    for name in ("iam", "storage"):
        shutil.copy(project_root / "generated" / "templates" / f"{name}.json", templates / f"{name}.json")
    both = sorted(templates.glob("*.json"))
    lint.run(both, cwd=project, jobs=1)
    lint.run(both[:1], cwd=project, jobs=1)
    counted.clear()
    lint.run(both, cwd=project, jobs=1)
    assert counted == []


def test_an_unchanged_settings_file_is_not_parsed_again(project):
    """config/<env>.yaml's parse is kept by content: the second load imports no YAML parser."""
    import subprocess
    import sys

    code = ("import sys; from automl_cfn.settings import load_settings; "
            f"s = load_settings(env='dev', root={str(project)!r}); print(s.environment, 'yaml' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert first == ["dev", "True"] and second == ["dev", "False"]
    dev = project / "config" / "dev.yaml"
    dev.write_text(dev.read_text().replace("log_retention_days: 7", "log_retention_days: 14"))
    changed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert changed == ["dev", "True"]
    dev.write_text(dev.read_text() + "log_retention_days: 30\n")   # a duplicate key: never kept, always refused
    for _ in range(2):
        refused = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert refused.returncode != 0 and "given twice" in refused.stderr
