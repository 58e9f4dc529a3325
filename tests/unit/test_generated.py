"""generated/ is deterministic, complete and up to date."""

from __future__ import annotations

import json

from automl_cfn import synth


def test_committed_generated_output_is_current(project_root):
    expected = synth.render_all(project_root)
    stale = []
    for rel, data in expected.items():
        path = project_root / "generated" / rel
        if not path.exists() or path.read_bytes() != data:
            stale.append(rel)
    from automl_cfn import diagram

    on_disk = {f"{p.parent.name}/{p.name}" for p in (project_root / "generated").glob("*/*")}
    if not diagram.has_dot():  # SVGs are checked where Graphviz is installed (CI installs it)
        on_disk = {p for p in on_disk if not p.endswith(".svg")}
    extra = sorted(on_disk - set(expected))
    documents = synth.documents_generated(project_root, expected)
    assert [path for path, (text, updated) in documents.items() if text != updated] == [], \
        "a generated block (README's dev diagram, lifecycle, egress or roles table, SECURITY.md's skips) is stale: run `make templates`"
    assert synth.README_LIFECYCLE[0] in documents["README.md"][0]
    assert synth.SECURITY_SKIPS[0] in documents["docs/SECURITY.md"][0]
    assert synth.README_ROLES[0] in documents["README.md"][0]
    assert (stale, extra) == ([], []), "generated/ is stale: run `make templates` and commit the result"


def test_rendering_is_byte_for_byte_repeatable(project_root):
    first, second = synth.render_all(project_root), synth.render_all(project_root)
    assert first == second
    assert all(data.endswith(b"\n") for data in first.values())


def test_root_eight_concerns_artifacts_and_a_parameter_file_per_environment(project_root):
    files = synth.render_all(project_root)
    assert sorted(f for f in files if f.startswith("templates/")) == sorted(
        f"templates/{n}.json" for n in
        ("root", "security", "network", "endpoint", "registry", "storage", "monitoring", "iam", "compute", "pipeline",
         "artifacts"))
    dev = json.loads(files["parameters/dev.json"])
    assert {"ParameterKey": "NatGateways", "ParameterValue": "none"} in dev
    assert not any(p["ParameterKey"].startswith("Templates") for p in dev)


def test_write_reports_changes_and_drops_stale_files(tmp_path, project_root):
    files = synth.render_all(project_root)
    assert len(synth.write(tmp_path, files)) == len(files)
    assert synth.write(tmp_path, files) == []
    (tmp_path / "templates" / "old.json").write_text("{}")
    assert synth.write(tmp_path, files) == ["templates/old.json"]
    assert not (tmp_path / "templates" / "old.json").exists()


def test_readme_documents_every_setting(project_root):
    from automl_cfn.settings import SETTING_FIELDS

    readme = (project_root / "README.md").read_text()
    assert [name for name in SETTING_FIELDS if f"| `{name}` |" not in readme] == []
