"""Hostile input: every case exits 2 with one line naming the problem, no
traceback, and sends no request to AWS (the endpoint counts them)."""

from __future__ import annotations

import pytest

from automl_cfn.cli import main

# (settings file content, or None for config/dev.yaml; extra arguments; fragment of the message)
CASES = [
    (b"environment: [dev\n", [], "YAML syntax error"),
    (b"- a\n- b\n", [], "top level is a list"),
    (b"42\n", [], "top level is a number"),
    (b"", [], "is empty"),
    (b"\x00\x01binary\xff", [], "binary file"),
    (b"environment: d\xe9v\n", [], "not UTF-8"),
    (b"environment: dev\noptimise_cpu: 2048\n", [], "did you mean 'optimize_cpu'"),
    (b"environment: dev\nfoo: bar\n", [], "unknown setting 'foo'"),
    (b"environment: dev\naz_count: '2'\n", [], "az_count: expected a whole number"),
    (b"environment: dev\nuse_fargate_spot: 'yes'\n", [], "use_fargate_spot: expected true or false"),
    (b"environment: dev\nenable_stepfunctions: 'true'\n", [], "write it unquoted"),
    (b"environment: dev\nvpc_cidr: 10.0.0.0/33\n", [], "not an IPv4 CIDR"),
    (b"environment: dev\nvpc_cidr: 10.0.0.0/27\n", [], "too small"),
    (b"environment: dev\nvpc_cidr: 10.0.0.0/12\n", [], "outside what a VPC allows"),
    (b"environment: dev\nvpc_cidr: 52.0.0.0/16\n", [], "publicly routable"),
    (b"environment: dev\nprediction_max_capacity: 99999999999\n", [], "out of range"),
    (b"environment: dev\nprediction_min_capacity: 3\nprediction_max_capacity: 2\n", [], "above"),
    (b"environment: dev\nproject_name: 'a;rm -rf /'\n", [], "invalid AWS resource names"),
    (b"environment: dev\nproject_name: '../../etc'\n", [], "invalid AWS resource names"),
    (b"environment: dev\nproject_name: 'caf\xc3\xa9'\n", [], "invalid AWS resource names"),
    (b"environment: dev\nproject_name: ''\n", [], "must not be empty"),
    (b"environment: dev\nproject_name: abcdefghijklmnopq\n", [], "at most 16"),
    (b"environment: ''\n", [], "environment: must not be empty"),
    (b"environment: Prod-1\n", [], "invalid AWS resource names"),
    (b"environment: dev\nalarm_email: '@@'\n", [], "not an email"),
    (b"environment: dev\nimage_tag: '../x'\n", [], "not a valid image tag"),
    (b"environment: dev\ntrain_cpu: 256\ntrain_memory: 8192\n", [], "not offered by Fargate"),
    (b"environment: dev\nlog_retention_days: 0\n", [], "log_retention_days: 0 is not allowed"),
    (b"environment: dev\nimages: {trian: {}}\n", [], "unknown image 'trian'"),
    (None, ["--var", "optimize_cpu"], "expected name=value"),
    (None, ["--var", "nope=1"], "unknown setting 'nope'"),
    (None, ["--var", "images=x"], "cannot be set with --var"),
    (None, ["--var", "environment=prod"], "conflicts with --env 'dev'"),
    (None, ["--allow-replace"], "expected one argument"),
    (None, ["--output", "yaml"], "invalid choice"),
    (None, ["--express", "--frobnicate"], "unrecognized arguments"),
]


@pytest.mark.parametrize("content, extra, fragment", CASES, ids=[f"case{i:02d}" for i in range(len(CASES))])
def test_hostile_input_is_refused_before_any_request(aws, project_root, tmp_path, capsys, content, extra, fragment):
    args = ["deploy", "--yes", "--project-dir", str(project_root)]
    if content is None:
        args += ["--env", "dev"]
    else:
        path = tmp_path / "settings.yaml"
        path.write_bytes(content)
        args += ["--config", str(path)]
    code = main(args + extra)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("automl-cfn: error: ") and fragment in lines[0], err
    assert "Traceback" not in err
    assert aws.requests() == 0


def test_missing_and_unreadable_settings_files(aws, project_root, tmp_path, capsys):
    for args, fragment in ((["--config", str(tmp_path / "absent.yaml")], "settings file not found"),
                           (["--config", str(tmp_path)], "is a directory"),
                           (["--env", "staging"], "config/staging.yaml: settings file not found")):
        assert main(["deploy", "--project-dir", str(project_root), *args]) == 2
        assert fragment in capsys.readouterr().err
    assert aws.requests() == 0


def test_at_least_thirty_hostile_cases():
    assert len(CASES) >= 30
