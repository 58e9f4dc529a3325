"""Hostile input: every case exits 2 with one line naming the problem, no
traceback, and sends no request to AWS (the endpoint counts them)."""

from __future__ import annotations

import pytest

from automl_cfn.cli import main

BOMB = b"project_name: [&a [lol,lol,lol,lol,lol,lol,lol,lol,lol], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], &d [*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], &f [*e,*e,*e,*e,*e,*e,*e,*e,*e], &g [*f,*f,*f,*f,*f,*f,*f,*f,*f], &h [*g,*g,*g,*g,*g,*g,*g,*g,*g], &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]]\n"

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
    (b"environment: dev\nadopted_names: {bucket: x}\n", [], "adopted_names: unknown key 'bucket'"),
    (b"environment: dev\nadopted_names: {data_bucket: Has_Upper}\n", [], "is not an S3 bucket name"),
    (b"environment: dev\nadopted_names: {repositories: automl-train}\n", [], "expected a mapping of optimize"),
    (b"environment: dev\nadopted_names: {repositories: {serve: automl-serve}}\n", [], "unknown key 'serve'"),
    (b"environment: dev\nadopted_names: {log_groups: {train: 'ecs logs'}}\n", [], "is not a log group name"),
    (b"environment: dev\nvpc_cidr: 10.0.0.0/27\n", [], "too small"),
    (b"environment: dev\nvpc_cidr: 10.0.0.0/12\n", [], "larger than a VPC can be; allowed: /16 to /25"),
    (b"environment: dev\nvpc_cidr: 10.0.0.0/8\n", [], "allowed: /16 to /25"),
    (b"environment: dev\nvpc_cidr: 10.0.0.0/26\n", [], "allowed: /16 to /25"),
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
    # -- round two: expansion, duplicates, newlines and control characters, huge values ----------
    (BOMB, [], "YAML anchors and aliases (&a / *a) are not allowed"),
    (b"environment: dev\nbase: &x 1\n", [], "anchors and aliases (&x / *x) are not allowed"),
    (b"environment: dev\naz_count: &n 2\n", [], "anchors and aliases (&n / *n)"),
    (b"environment: dev\nlog_retention_days: 7\nlog_retention_days: 14\n", [], "given twice (lines 2 and 3)"),
    (b"environment: dev\nenvironment: prod\n", [], "'environment' is given twice (lines 1 and 2)"),
    (b"environment: dev\nimages: {train: {context: a, context: b}}\n", [], "'context' is given twice"),
    (b"environment: dev\nproject_name: \"zz\\n\"\n", [], "contains the control character '\\n'"),
    (b"environment: dev\nimage_tag: \"v1\\n\"\n", [], "image_tag: 'v1\\n' contains the control character"),
    (b"environment: dev\nalarm_email: \"a@b.co\\r\"\n", [], "control character '\\r'"),
    (b"environment: dev\nhealth_check_path: \"/health\\t\"\n", [], "control character '\\t'"),
    (b"environment: dev\ncontainer_user: \"1000\\u0000\"\n", [], "control character '\\x00'"),
    (b"environment: dev\nproject_name: " + b"a" * 5000 + b"\n", [], "..."),
    (b"environment: dev\nproject_name: [" + b"x, " * 3000 + b"y]\n", [], "expected a string, got list"),
    (b"environment: dev\naz_count: {" + b"".join(b"k%d: v, " % i for i in range(2000)) + b"z: w}\n", [],
     "expected a whole number, got mapping"),
    (None, ["--var", "image_tag=v1\n"], "image_tag: 'v1\\n' contains the control character '\\n'"),
    (None, ["--var", "project_name=zz\n"], "contains the control character"),
    (None, ["--var", "certificate_arn=arn:aws:acm:us-east-1:123456789012:certificate/"
            "11111111-2222-3333-4444-555555555555\n"], "control character"),
    (None, ["--var", "use_fargate_spot=" + "x" * 500], "expected true or false"),
    (None, ["--var", "az_count=" + "9" * 500], "az_count: 9999999999999999"),
    (None, ["--var", "existing_vpc_id=vpc-12"], "existing_vpc_id: 'vpc-12' is not a VPC ID"),
    (None, ["--var", "existing_vpc_id=vpc-0123456789abcdef0", "--var", "existing_private_subnet_ids=subnet-1,x"],
     "is not a subnet ID"),
    # -- pipeline automation: schedule expressions as the Scheduler documents them ---------------
    (None, ["--var", "pipeline_schedule=rate(7 days)"], "set enable_stepfunctions: true"),
    (None, ["--var", "enable_stepfunctions=true", "--var", "pipeline_schedule=rate(5 minute)"],
     "write rate(5 minutes)"),
    (None, ["--var", "enable_stepfunctions=true", "--var", "pipeline_schedule=rate(0 days)"], "positive whole number"),
    (None, ["--var", "enable_stepfunctions=true", "--var", "pipeline_schedule=cron(0 3 * * * *)"],
     "exactly one of day-of-month and day-of-week must be '?'"),
    (None, ["--var", "enable_stepfunctions=true", "--var", "pipeline_schedule=cron(0 3 ? * MON)"],
     "cron has 5 fields, needs 6"),
    (None, ["--var", "enable_stepfunctions=true", "--var", "pipeline_schedule=cron(0 25 ? * MON *)"],
     "cron hours: '25'; allowed: 0-23"),
    (None, ["--var", "enable_stepfunctions=true", "--var", "pipeline_schedule=cron(0 3 ? * FRI-MON *)"],
     "a range runs from low to high"),
    (None, ["--var", "enable_stepfunctions=true", "--var", "pipeline_schedule=cron(0 3 ? * 2#1,3#1 *)"],
     "'#' takes one day"),
    (None, ["--var", "enable_stepfunctions=true", "--var", "pipeline_schedule=cron(0 3 ? * MON *) "],
     "not a schedule expression"),
    (None, ["--var", "enable_stepfunctions=true", "--var", "pipeline_schedule=@weekly"], "not a schedule expression"),
    (None, ["--var", "pipeline_schedule_timezone=Mars/Olympus"], "is not an IANA time zone"),
    (None, ["--var", "pipeline_schedule_timezone=../../etc/passwd"], "is not an IANA time zone"),
    (None, ["--var", "pipeline_schedule_timezone=Europe"], "is not an IANA time zone"),   # a directory in tzdata
    (None, ["--var", "model_quality_min=high"], "expected a number, e.g. 0.8"),
    (b"environment: dev\nmodel_quality_min: true\n", [], "model_quality_min: expected a number, got boolean True"),
    (b"environment: dev\nmodel_quality_min: .nan\n", [], "model_quality_min: expected a number"),
    (b"environment: dev\nmodel_quality_metric: 'accuracy of the model'\n", [], "is not a CloudWatch metric name"),
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
    assert len(lines[0]) < 400, "an echoed value is capped, whatever the input"
    assert "Traceback" not in err
    assert aws.requests() == 0


def test_missing_and_unreadable_settings_files(aws, project_root, tmp_path, capsys):
    for args, fragment in ((["--config", str(tmp_path / "absent.yaml")], "settings file not found"),
                           (["--config", str(tmp_path)], "is a directory"),
                           (["--env", "staging"], "config/staging.yaml: settings file not found")):
        assert main(["deploy", "--project-dir", str(project_root), *args]) == 2
        assert fragment in capsys.readouterr().err
    assert aws.requests() == 0


def test_special_files_are_refused_without_waiting(aws, project_root, tmp_path, capsys):
    """A FIFO would block open() until a writer came; /dev/zero never ends; a huge file is not settings."""
    import os

    fifo = tmp_path / "settings.fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"environment: dev\n" + b"# padding\n" * 200_000)
    for path, fragment in ((fifo, "is not a regular file"), ("/dev/zero", "is not a regular file"),
                           (big, "is larger than 1024 KiB")):
        assert main(["deploy", "--project-dir", str(project_root), "--config", str(path)]) == 2
        err = capsys.readouterr().err
        assert fragment in err and len(err.strip().splitlines()) == 1
    assert aws.requests() == 0


def test_a_bomb_is_refused_quickly_and_small(project_root, tmp_path):
    """The 321-byte file that took minutes and 9 GB: one line, in a subprocess with a memory cap."""
    import resource
    import subprocess
    import sys

    path = tmp_path / "bomb.yaml"
    path.write_bytes(BOMB)

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    result = subprocess.run([sys.executable, "-m", "automl_cfn.cli", "params", "--config", str(path)],
                            capture_output=True, text=True, timeout=120, preexec_fn=cap, cwd=project_root)
    assert result.returncode == 2 and len(result.stderr) < 300, result.stderr[:500]


def test_at_least_fifty_five_hostile_cases():
    assert len(CASES) >= 55


# (environment variables, arguments, fragment): flags and the environment, refused before any request.
AMBIENT_CASES = [
    ({"AWS_PROFILE": "nope"}, ["status", "--env", "dev"], "AWS_PROFILE=nope: no such profile"),
    ({}, ["status", "--env", "dev", "--profile", "nope"], "--profile nope: no such profile"),
    ({}, ["status", "--env", "dev", "--region", "us-east-9"], "--region 'us-east-9' is not an AWS region; did you mean"),
    ({"AWS_REGION": "eu-west-1"}, ["status", "--env", "dev"],
     "AWS_REGION is eu-west-1 but config/dev.yaml says aws_region: us-east-1"),
    ({}, ["local-aws", "--port", "70000"], "--port 70000: not a TCP port"),
    ({}, ["local-aws", "--port", "-1"], "--port -1: not a TCP port"),
    ({}, ["upload", "--env", "dev", "--delete-skipped"], "--delete-skipped only goes with --delete"),
    ({}, ["deploy-role", "--env", "dev", "--account", "12"], "not a 12-digit AWS account ID"),
]


@pytest.mark.parametrize("environment, args, fragment", AMBIENT_CASES, ids=[a[1][0] + str(i) for i, a in
                                                                            enumerate(AMBIENT_CASES)])
def test_flags_and_environment_are_refused_before_any_request(aws, project_root, capsys, monkeypatch, environment,
                                                              args, fragment):
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    code = main(args + (["--project-dir", str(project_root)] if args[0] != "local-aws" else []))
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and fragment in err, err
    assert aws.requests() == 0


def test_a_taken_port_is_one_line_before_any_banner(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["local-aws", "--port", str(port)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and f"--port {port}: already in use" in captured.err


def test_every_case_counts():
    assert len(CASES) + len(AMBIENT_CASES) >= 36 + 25
