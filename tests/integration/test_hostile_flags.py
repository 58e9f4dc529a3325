"""Every verb against hostile flags, environment variables and AWS data: one clear line and a non-zero exit
(2 for bad input, with no request sent), or success where the input is valid; never a traceback, never a raw
control character, never a credential.

The table names the cases one by one; the sweep runs every option of every verb (from the parser itself)
with the values that broke verbs before: bytes that are not UTF-8, an escape sequence and rich markup,
nothing, a huge or negative number, a device, a directory, a missing path, 3000 characters.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import pytest

from automl_cfn import cli as automl_cli
from automl_cfn import ui
from automl_cfn.cli import main

from .conftest import outputs

SECRET = "hunter22"
DEEP = '{"a": ' * 5000 + "1" + "}" * 5000
INT_KEYS = 'accounts: ["111111111111"]\nregions: [us-east-1]\noverrides: {111111111111: {1: x}}\n'

# (environment, arguments, exit code, fragment of the one line)
CASES = [
    # -- the endpoint, validated once where the AWS options are built --------------------------------
    ({"AWS_ENDPOINT_URL": "localhost:4566"}, ["status"], 2,
     "AWS_ENDPOINT_URL 'localhost:4566' is not an endpoint URL (no scheme: it needs http:// or https://); "
     "allowed: http:// or https://"),
    ({"AWS_ENDPOINT_URL": "http://localhost:99999"}, ["status"], 2,
     "(its port is not a number from 1 to 65535); allowed:"),
    ({"AWS_ENDPOINT_URL": f"http://deployer:{SECRET}@localhost:99999"}, ["status"], 2,
     "AWS_ENDPOINT_URL 'http://***@localhost:99999' is not an endpoint URL"),
    ({"AWS_ENDPOINT_URL": "garbage"}, ["logs", "train"], 2, "AWS_ENDPOINT_URL 'garbage' is not an endpoint URL"),
    ({"AWS_ENDPOINT_URL": "http://:4566"}, ["status"], 2, "(no valid host name)"),
    ({"AWS_ENDPOINT_URL": "http://[::1"}, ["status"], 2, "'http://[::1' is not an endpoint URL (invalid ipv6 url)"),
    ({"AWS_ENDPOINT_URL_S3": "s3.local:9000"}, ["download", "models"], 2, "AWS_ENDPOINT_URL_S3 's3.local:9000'"),
    ({}, ["status", "--endpoint-url", ""], 2, "--endpoint-url '' is not an endpoint URL (it is empty)"),
    ({}, ["status", "--endpoint-url", "ftp://files"], 2, "(the scheme is 'ftp')"),
    ({}, ["status", "--endpoint-url", "http://h:0"], 2, "(its port is not a number from 1 to 65535)"),
    ({}, ["status", "--endpoint-url", "http://h\x1b[2J:1"], 2, "'http://h\\x1b[2J:1' is not an endpoint URL"),
    # -- the rest of the AWS environment -------------------------------------------------------------
    ({"AWS_MAX_ATTEMPTS": "abc"}, ["status"], 2, "AWS_MAX_ATTEMPTS='abc' is not allowed; allowed: a whole number"),
    ({"AWS_MAX_ATTEMPTS": "-1"}, ["status"], 2, "AWS_MAX_ATTEMPTS='-1' is not allowed"),
    ({"AWS_METADATA_SERVICE_TIMEOUT": "1.5"}, ["status"], 2, "AWS_METADATA_SERVICE_TIMEOUT='1.5' is not allowed"),
    ({"AWS_RETRY_MODE": "fast"}, ["status"], 2, "allowed: legacy, standard, adaptive"),
    ({"AWS_USE_FIPS_ENDPOINT": "maybe"}, ["status"], 2, "AWS_USE_FIPS_ENDPOINT='maybe' is not allowed; allowed: "
                                                        "true or false"),
    ({"AWS_DEFAULTS_MODE": "turbo"}, ["status"], 2, "the AWS configuration is refused: Client configured with "
                                                    "invalid defaults mode: turbo"),
    ({"AWS_REGION": "garbage"}, ["status"], 2, "AWS_REGION is garbage but config/dev.yaml says aws_region: us-east-1"),
    ({"AWS_REGION": None, "AWS_DEFAULT_REGION": "garbage"}, ["status"], 2,
     "AWS_DEFAULT_REGION is garbage but config/dev.yaml says aws_region: us-east-1; pass --region us-east-1"),
    ({"AWS_PROFILE": "missing"}, ["status"], 2, "AWS_PROFILE=missing: no such profile"),
    ({"AWS_PROFILE": ""}, ["status"], 2, "AWS_PROFILE='': no such profile"),
    ({}, ["status", "--profile", ""], 2, "--profile is empty"),
    ({"AWS_SESSION_TOKEN": "tok\udcffen"}, ["status"], 2, "AWS_SESSION_TOKEN holds characters AWS credentials "
                                                          "never have"),
    ({"AWS_SECRET_ACCESS_KEY": f"{SECRET} {SECRET}"}, ["status"], 2, "AWS_SECRET_ACCESS_KEY holds characters"),
    # -- logs --since, pipeline --input ---------------------------------------------------------------
    ({}, ["logs", "train", "--since", "99999999999d"], 2, "--since '99999999999d' is too far back; allowed: up to "
                                                          "3653d, the longest CloudWatch Logs retention"),
    ({}, ["logs", "train", "--since", "9" * 400 + "s"], 2, "is too far back; allowed: up to 3653d"),
    ({}, ["logs", "train", "--since", "1900-01-01"], 2, "is before 1970-01-01"),
    ({}, ["logs", "train", "--since=-5m"], 2, "--since '-5m': use a duration like 10m"),
    ({}, ["pipeline", "start", "--input", DEEP], 2, "--input nests objects and arrays more than 100 deep"),
    ({}, ["pipeline", "start", "--input", "[" * 100_000], 2, "more than 100 deep"),
    ({}, ["pipeline", "start", "--input", json.dumps({"x": "a" * 300_000})], 2,
     "--input is 300,009 bytes; allowed: at most 262,144 (256 KiB, Step Functions' input limit)"),
    ({}, ["pipeline", "start", "--input", '{"x": NaN}'], 2, "--input is not JSON: NaN is not a JSON value"),
    ({}, ["pipeline", "start", "--input", '{"x": "\udcff"}'], 2, "--input is not UTF-8 text"),
    ({}, ["pipeline", "start", "--input", ""], 2, "--input is not JSON: Expecting value (character 0)"),
    ({}, ["pipeline", "start", "--input", "[1, 2]"], 2, "--input must be a JSON object"),
    # -- files and paths ------------------------------------------------------------------------------
    ({}, ["stackset", "deploy", "--targets", "INT_KEYS"], 2,
     "overrides: 111111111111 is not a string; a key is a listed account ID or region: quote account IDs"),
    ({}, ["baseline", "deploy", "--targets", "INT_KEYS"], 2, "overrides: 111111111111 is not a string"),
    ({}, ["stackset", "deploy", "--targets", "/dev/zero"], 2, "is not a regular file"),
    ({}, ["upload", "--source", "/dev/null"], 2, "--source /dev/null: is not a directory"),
    ({}, ["upload", "--source", "MISSING"], 2, "no such directory"),
    ({}, ["download", "models", "--dest", "/dev/null"], 2, "--dest /dev/null: is a file"),
    ({}, ["destroy", "--backup", "/dev/null"], 2, "--backup /dev/null: is a file"),
    ({}, ["diagram", "--out", "DIR"], 2, "cannot write it (Is a directory)"),
    ({}, ["lint", "MISSING"], 2, "no such template file"),
    # -- echoed arguments are data ------------------------------------------------------------------
    ({}, ["status", "--env", "\x1b[2J[/x]"], 2, "--env '\\x1b[2J[/x]': not an environment name"),
    ({}, ["status", "--config", "\udcff\x1b]0;x\x07"], 2, "\\udcff\\x1b]0;x\\x07: settings file not found"),
    ({}, ["run", "[bold]\x1b[31m"], 2, "unknown service '[bold]\\x1b[31m'"),
    ({}, ["pipeline", "history", "--limit", "99999999999999999999"], 2, "allowed: 1 to 1000"),
    ({}, ["release", "--tag", ""], 2, "--tag '' is not a valid image tag"),
    ({}, ["build", "--tag", "../x;rm -rf"], 2, "--tag '../x;rm -rf' is not a valid image tag; allowed: letters"),
    # -- valid input against an empty account: AWS's answer, one line -------------------------------
    ({"AWS_ENDPOINT_URL": "ENDPOINT_WITH_USERINFO"}, ["status"], 1, "automl-dev is not deployed in us-east-1"),
    ({}, ["logs", "train", "--since", "3653d"], 1, "automl-dev is not deployed"),
    ({}, ["pipeline", "start", "--input", '{"run": "[/x]\\u001b[2J"}'], 1, "automl-dev is not deployed"),
]


def expand(value: str, tmp_path, aws) -> str:
    (tmp_path / "int-keys.yaml").write_text(INT_KEYS)
    return {"INT_KEYS": str(tmp_path / "int-keys.yaml"), "MISSING": str(tmp_path / "missing"), "DIR": str(tmp_path),
            "ENDPOINT_WITH_USERINFO": aws.url.replace("http://", f"http://deployer:{SECRET}@")}.get(value, value)


def one_line(code: int, err: str) -> str:
    assert "Traceback" not in err and "\x1b" not in err, err[-500:]
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("automl-cfn: error: "), err[-500:]
    return lines[0]


@pytest.mark.parametrize("environment, args, code, fragment", CASES,
                         ids=[f"{i:02d}-{c[1][0]}" for i, c in enumerate(CASES)])
def test_hostile_flags_and_environment_are_one_line(aws, cli, monkeypatch, tmp_path, environment, args, code,
                                                    fragment):
    for key, value in environment.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, expand(value, tmp_path, aws))
    args = [expand(a, tmp_path, aws) for a in args]
    has_env = args[0] not in ("lint",) and "--env" not in args and "--config" not in args
    got, out, err = cli(*args, *(["--env", "dev"] if has_env else []))
    line = one_line(got, err)
    assert got == code and fragment in line, line
    assert SECRET not in err + out
    if code == 2:
        assert aws.requests() == 0, "bad input is refused before any request"


def test_at_least_fifty_hostile_cases():
    assert len(CASES) >= 50


# -- the sweep: every option of every verb --------------------------------------------------------

HOSTILE = ["\udcff\udcfe", "\x1b[2J[/x][bold]", "", "-1", "99999999999999999999", "/dev/null", "DIR", "MISSING",
           "a" * 3000]
# What a verb needs to reach its options (a positional, a release so deploy fails before its long planning).
BASE = {"stackset": ["status"], "baseline": ["status"], "download": ["models"], "run": ["train"],
        "pipeline": ["status"], "logs": ["train"], "release": ["--tag", "v1"],
        "deploy": ["--release", "0123456789abcdef"], "diff": ["--release", "0123456789abcdef"],
        "migrate": ["plan", "--tfstate", "TFSTATE"], "upload": ["--source", "SOURCE"]}
NOT_SWEPT = {"local-aws"}             # serves until stopped: its --port is in test_hostile_input
WRITES = {("templates", "--out")}     # writes a tree of files wherever it is pointed: not with these values
EVERYWHERE = {"env", "config", "var", "endpoint_url", "profile", "region", "project_dir", "help"}


def verbs() -> dict[str, argparse.ArgumentParser]:
    parser = automl_cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: p for name, p in action.choices.items() if name not in NOT_SWEPT}


def sweep_runs(name: str, parser: argparse.ArgumentParser, place) -> list[list[str]]:
    """Each option that takes a value, and each positional, given each hostile value."""
    stack_verb = any(a.dest == "endpoint_url" for a in parser._actions)
    settings = ["--env", "dev"] if any(a.dest == "env" for a in parser._actions) else []
    base = [place(a) for a in BASE.get(name, [])]
    positionals = [a for a in parser._actions if not a.option_strings and a.dest != "help"]
    runs = []
    for action in parser._actions:
        if action.nargs == 0 or (action.dest in EVERYWHERE and not (name == "status" and stack_verb)):
            continue
        for value in map(place, HOSTILE):
            if action.option_strings:
                if (name, action.option_strings[0]) in WRITES:
                    continue
                flags = [a for a in settings if action.dest not in ("env", "config")]
                runs.append([name, *base, *flags, action.option_strings[0], value])
            else:
                given = list(base)
                index = positionals.index(action)
                given[index:index + (index < len(given))] = [value]
                runs.append([name, *given, *settings])
    return runs


SWEPT = sorted(name for name, parser in verbs().items() if sweep_runs(name, parser, str))


def test_the_sweep_reaches_every_verb_with_options():
    assert set(verbs()) - set(SWEPT) == {"drift", "templates"}   # only the common options, or only --out


@pytest.mark.parametrize("name", SWEPT)
def test_every_option_of_every_verb_survives_hostile_values(aws, cli, project_root, tmp_path, name):
    """No exception escapes, no traceback, no raw escape; a failure ends with its one error line (after the
    progress a verb wrote, if it got that far)."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "f.csv").write_text("a\n")
    places = {"DIR": str(tmp_path), "MISSING": str(tmp_path / "missing"), "SOURCE": str(source),
              "TFSTATE": str(project_root / "tests" / "fixtures" / "tfstate" / "seed-prod.tfstate")}
    runs = sweep_runs(name, verbs()[name], lambda value: places.get(value, value))
    wrong = []
    cwd = os.getcwd()
    os.chdir(tmp_path)   # a verb told to write "-1" or "" writes it here
    try:
        for args in runs:
            try:
                code, out, err = cli(*args)
            except BaseException as exc:   # noqa: BLE001 - what escapes main is the failure being looked for
                wrong.append(f"{args!r:.160}: {type(exc).__name__}: {exc!s:.200}")
                continue
            errors = [line for line in err.splitlines() if line.startswith("automl-cfn: error: ")]
            if "Traceback" in err or "\x1b" in out + err or \
                    (code != 0 and (len(errors) != 1 or not err.endswith(errors[0] + "\n"))):
                wrong.append(f"{args!r:.160} -> {code}: {err[-300:]!r}")
    finally:
        os.chdir(cwd)
    assert wrong == []


# -- AWS's data: S3 keys, log lines, execution input -------------------------------------------

def test_keys_log_lines_and_inputs_with_markup_and_escapes_are_shown_as_data(aws, cli, clients, tmp_path):
    """A key or a log line holding `[/x]` (closing markup nothing opened) or an escape sequence: the verbs
    that show them print them as text, the escape made visible; upload skips a file name that is not UTF-8."""
    code, out, err = cli("deploy", "--env", "prod", "--yes", "--region", "us-east-1")
    assert code == 0, err
    prod = outputs(clients("cloudformation"), "automl-prod")

    source = tmp_path / "data"
    source.mkdir()
    (source / "a[bold]b[").mkdir()
    (source / "a[bold]b[" / "x].csv").write_text("a\n")   # the key data/a[bold]b[/x].csv
    (source / "run\x1b[2J.csv").write_text("b\n")
    (source / os.fsdecode(b"latin\xe9.csv")).write_text("c\n")
    code, out, err = cli("upload", "--env", "prod", "--region", "us-east-1", "--source", str(source))
    assert code == 0 and out.startswith("uploaded 2 files"), err
    assert "skipped " in err and "latin\\udce9.csv: its name is not UTF-8, which an S3 key is" in err
    s3 = clients("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=prod["DataBucketName"], Prefix="data/")["Contents"]}
    assert keys == {"data/a[bold]b[/x].csv", "data/run\x1b[2J.csv"}

    s3.put_object(Bucket=prod["DataBucketName"], Key="models/[/x]/weights[bold].bin", Body=b"w")
    code, out, err = cli("download", "models", "--env", "prod", "--region", "us-east-1",
                         "--dest", str(tmp_path / "models"))
    assert code == 0 and out.startswith("downloaded 1 file"), err
    assert (tmp_path / "models" / "[" / "x]" / "weights[bold].bin").read_bytes() == b"w"
    code, out, err = cli("download", "data", "--env", "prod", "--region", "us-east-1", "--dest", str(tmp_path / "d"))
    assert code == 1 and (tmp_path / "d" / "a[bold]b[" / "x].csv").read_text() == "a\n"
    assert "'run\\x1b[2J.csv': holds a control character" in err and "\x1b" not in out + err

    logs = clients("logs")
    group = prod["TrainLogGroupName"]
    logs.create_log_stream(logGroupName=group, logStreamName="train/[/x]")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="train/[/x]", logEvents=[
        {"timestamp": now - 2000, "message": "closing [/x] and [bold]opening"},
        {"timestamp": now - 1000, "message": "\x1b[2J\x1b]0;pwned\x07cleared"}])
    code, out, err = cli("logs", "train", "--env", "prod", "--region", "us-east-1", "--since", "5m")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith("train/[/x] closing [/x] and [bold]opening")
    assert lines[1].endswith("train/[/x] \\x1b[2J\\x1b]0;pwned\\x07cleared") and "\x1b" not in out

    code, out, err = cli("pipeline", "start", "--env", "prod", "--region", "us-east-1",
                         "--input", json.dumps({"trigger": "[/x]\x1b[2J"}))
    assert code == 0, err
    code, out, err = cli("pipeline", "history", "--env", "prod", "--region", "us-east-1")
    assert code == 0 and "[/x]\\x1b[2J" in out and "\x1b" not in out, out
    ui.reset_consoles()
