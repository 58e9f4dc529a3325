"""cfn-lint finds nothing (informational level included) in the templates,
as committed and under other parameter sets' defaults."""

from __future__ import annotations

from automl_cfn import lint


def test_cfn_lint_is_clean(project_root):
    paths = sorted((project_root / "generated" / "templates").glob("*.json"))
    assert len(paths) == 11
    paths += sorted((project_root / "generated" / "account").glob("*.json"))   # the account baseline
    assert paths[-1].name == "baseline.json"
    assert lint.run(paths, cwd=project_root) == 0


def test_batches_balance_by_size(tmp_path):
    sizes = {"a": 900, "b": 500, "c": 400, "d": 100}
    paths = []
    for name, size in sizes.items():
        path = tmp_path / f"{name}.json"
        path.write_text("x" * size)
        paths.append(path)
    groups = lint.batches(paths, 2)
    assert sorted(sum(p.stat().st_size for p in g) for g in groups) == [900, 1000]
