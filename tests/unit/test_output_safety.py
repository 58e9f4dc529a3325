"""What reaches the terminal is data: never rich markup, never a raw control character, never a credential;
and input a verb cannot use is one line, not a traceback.

Offline: the endpoint-backed sweep over every verb is tests/integration/test_hostile_flags.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from automl_cfn import ui
from automl_cfn.cli import main
from automl_cfn.errors import UserError

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture(autouse=True)
def fresh_consoles():
    ui.reset_consoles()
    yield
    ui.reset_consoles()


# -- credentials -----------------------------------------------------------------------

@pytest.mark.parametrize("text, shown, hidden", [
    ("cannot reach http://user:hunter22@127.0.0.1:4566/", "http://***@127.0.0.1:4566/", "hunter22"),
    ('Could not connect to the endpoint URL: "https://AKIDX:s3cr3t@s3.amazonaws.com/b/k"',
     '"https://***@s3.amazonaws.com/b/k"', "s3cr3t"),
    ("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKID%2F1&X-Amz-Signature=abc123&versionId=7",
     "X-Amz-Credential=***&X-Amz-Signature=***&versionId=7", "abc123"),
    ("http://h:1/?token=t0k3n#frag", "http://h:1/?token=***#frag", "t0k3n"),
    ("http://user:pa/ss@host:1", "http://***@host:1", "pa/ss"),          # an unencoded / in the password
    ("s3://bucket/user@example.com/data.csv", "s3://bucket/user@example.com/data.csv", None),   # no credentials
])
def test_urls_lose_their_credentials(text, shown, hidden):
    from automl_cfn.redact import redact

    assert shown in redact(text)
    assert hidden is None or hidden not in redact(text)


def test_the_secret_variables_are_masked_wherever_they_appear(monkeypatch):
    from automl_cfn.redact import redact

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLETOKEN")
    assert redact(f"signed with {SECRET} and IQoJb3JpZ2luX2VjEXAMPLETOKEN") == "signed with *** and ***"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")   # a word, not a key: left alone
    assert redact("testing") == "testing"


def test_an_unreachable_endpoint_is_named_without_its_credentials(project_root, monkeypatch, capsys):
    """botocore's EndpointConnectionError holds the URL as given; the error line shows it redacted."""
    from botocore.exceptions import EndpointConnectionError

    from automl_cfn.deploy import read

    def unreachable(target, follow=False):
        raise EndpointConnectionError(endpoint_url="http://deployer:hunter22@10.0.0.1:4566/")

    monkeypatch.setattr(read, "status", unreachable)
    for key, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET,
                       "AWS_ENDPOINT_URL": "http://deployer:hunter22@10.0.0.1:4566"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert main(["status", "--env", "dev", "--project-dir", str(project_root)]) == 1
    err = capsys.readouterr().err
    assert "cannot reach http://***@10.0.0.1:4566/" in err
    assert "hunter22" not in err and SECRET not in err and len(err.splitlines()) == 1


# -- control characters and markup -----------------------------------------------------

@pytest.mark.parametrize("text, one_line, kept_lines", [
    ("a\x1b[2Jb", "a\\x1b[2Jb", "a\\x1b[2Jb"),
    ("bell\x07 back\x08 cr\r", "bell\\x07 back\\x08 cr ", "bell\\x07 back\\x08 cr\\r"),
    ("line\nnext\tcol", "line next col", "line\nnext\tcol"),
    ("rtl \u202eevil", "rtl \\u202eevil", "rtl \\u202eevil"),         # a bidirectional override
    ("byte \udcff", "byte \\udcff", "byte \\udcff"),                   # a non-UTF-8 byte of an argument
    ("[/x] [bold]é 中\u00a0x", "[/x] [bold]é 中\u00a0x", "[/x] [bold]é 中\u00a0x"),   # data as it is
])
def test_control_characters_show_as_escapes(text, one_line, kept_lines):
    assert ui.printable(text) == one_line
    assert ui.visible(text) == kept_lines


def test_the_consoles_print_data_not_markup_and_no_raw_escape(capsys):
    ui.out().print("key models/[/x]/a[bold].bin \x1b[2J\x1b]0;title\x07")
    ui.info("reason: [red]x[/red] \x1b[31m")
    captured = capsys.readouterr()
    assert captured.out == "key models/[/x]/a[bold].bin \\x1b[2J\\x1b]0;title\\x07\n"
    assert captured.err == "reason: [red]x[/red] \\x1b[31m\n"


def test_a_painter_escapes_data_and_the_console_still_shows_its_control_characters(capsys):
    from rich.markup import escape

    data = "[/x] \x1b[2J"
    ui.out().print(f"[bold]{escape(data)}[/]", markup=True)
    assert capsys.readouterr().out == "[/x] \\x1b[2J\n"


def test_a_table_on_a_terminal_shows_cells_as_data(monkeypatch, capsys):
    monkeypatch.setattr(ui, "is_tty", lambda stream=None: True)
    ui.table(["Key"], [["a[/x]b"], ["c\x1b[2Jd"]], title="t[/x]")
    out = capsys.readouterr().out
    assert "a[/x]b" in out and "c\\x1b[2Jd" in out and "t[/x]" in out and "\x1b[2J" not in out


def test_a_progress_bar_description_is_not_markup(monkeypatch):
    import io

    from rich.console import Console

    from automl_cfn.ops import data

    terminal = io.StringIO()
    monkeypatch.setattr(ui, "is_tty", lambda stream=None: True)
    monkeypatch.setattr(ui, "err", lambda: Console(file=terminal, force_terminal=True, width=120))
    progress = data.Progress(10, "upload to s3://bucket/[/x]\x1b[2J")
    progress.close()
    shown = terminal.getvalue()
    assert "s3://bucket/[/x]\\x1b[2J" in shown and "\x1b[2J" not in shown


def test_an_error_line_is_one_line_of_data(monkeypatch, capsys):
    def hostile(args):
        raise UserError("AWS said: [/x]\x1b[2J\nsecond line\r")

    monkeypatch.setattr("automl_cfn.cli.cmd_params", hostile)
    assert main(["params", "--env", "dev"]) == 2
    assert capsys.readouterr().err == "automl-cfn: error: AWS said: [/x]\\x1b[2J second line \n"


# -- bounds: logs --since, pipeline --input, targets -----------------------------------

def test_since_is_bounded_by_the_longest_retention_and_1970():
    from datetime import datetime, timezone

    from automl_cfn.ops import logs
    from automl_cfn.settings import LOG_RETENTION_DAYS

    now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    longest = max(LOG_RETENTION_DAYS)
    assert logs.parse_since(f"{longest}d", now) == datetime(2016, 11, 25, 12, 0, tzinfo=timezone.utc)
    for text in (f"{longest + 1}d", "99999999999d", "9" * 5000 + "s", f"{longest * 24 * 60 + 1}m", "100000w"):
        with pytest.raises(UserError, match=rf"too far back; allowed: up to {longest}d"):
            logs.parse_since(text, now)
    with pytest.raises(UserError, match="before 1970-01-01"):
        logs.parse_since("1969-12-31T23:59:59", now)
    assert logs.parse_since("1970-01-01T00:00:00", now).timestamp() == 0


def test_pipeline_input_is_bounded_as_step_functions_bounds_it():
    from automl_cfn.ops.pipeline import MAX_INPUT_BYTES, MAX_INPUT_DEPTH, parse_input

    wrapper = len(json.dumps({"trigger": "manual", "x": ""}))
    fits = json.dumps({"x": "a" * (MAX_INPUT_BYTES - wrapper)})
    assert len(parse_input(fits).encode()) == MAX_INPUT_BYTES
    with pytest.raises(UserError, match="over 262,144 bytes"):
        parse_input(json.dumps({"x": "a" * (MAX_INPUT_BYTES - wrapper + 1)}))
    with pytest.raises(UserError, match="allowed: at most 262,144"):
        parse_input(json.dumps({"x": "é" * MAX_INPUT_BYTES}))
    nested = '{"a": ' * (MAX_INPUT_DEPTH - 1) + "[1]" + "}" * (MAX_INPUT_DEPTH - 1)
    assert parse_input(nested)
    for deep in ("[" * 200_000, '{"a": ' * 5000 + "1" + "}" * 5000, nested.replace("[1]", "[[1]]")):
        with pytest.raises(UserError, match=f"more than {MAX_INPUT_DEPTH} deep"):
            parse_input(deep)
    assert json.loads(parse_input('{"brackets": "[[[[{{{{", "quote": "\\"["}'))["brackets"] == "[[[[{{{{"
    with pytest.raises(UserError, match="NaN is not a JSON value"):
        parse_input('{"x": NaN}')
    with pytest.raises(UserError, match="not UTF-8"):
        parse_input('{"x": "\udcff"}')


@pytest.mark.parametrize("overrides, fragment", [
    ("{111111111111: {az_count: 3}}", "overrides: 111111111111 is not a string; a key is a listed account ID or "
                                      "region: quote account IDs"),
    ("{null: {az_count: 3}}", "overrides: None is not a string"),
    ('{"111111111111": {1: x}}', "overrides: 111111111111: 1 is not a setting name"),
    ('{"111111111111": {az_count: 3, null: x}}', "overrides: 111111111111: None is not a setting name"),
    ("{us-east-1: {2001-01-01: x}}", "overrides: us-east-1: 2001-01-01 is not a setting name"),
    ("{us-east-1: [az_count]}", "expected a mapping of settings"),
])
def test_override_keys_that_are_not_strings_are_one_line(tmp_path, project_root, overrides, fragment):
    from automl_cfn.deploy.baseline import EXTRA_OVERRIDES
    from automl_cfn.deploy.targets import load_targets
    from automl_cfn.settings import load_settings

    path = tmp_path / "targets.yaml"
    path.write_text(f'accounts: ["111111111111"]\nregions: [us-east-1]\noverrides: {overrides}\n')
    dev = load_settings(env="dev", root=project_root)
    for extra in (None, EXTRA_OVERRIDES):   # stackset's and baseline's targets
        with pytest.raises(UserError) as raised:
            load_targets(path, dev, extra)
        assert fragment in str(raised.value) and "\n" not in str(raised.value)


# -- paths and arguments a process really gets ----------------------------------------

def run(args: list, cwd, **env) -> subprocess.CompletedProcess:
    """The console script with arguments as bytes (what a shell passes), its real stdout and stderr."""
    environment = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "", **env}
    return subprocess.run([sys.executable, "-m", "automl_cfn.cli", *args], cwd=cwd, capture_output=True,
                          env=environment, timeout=300)


def test_non_utf8_and_escape_bytes_in_arguments_come_back_as_escapes(project_root, tmp_path):
    written = run(["diagram", "--env", "dev", "--project-dir", str(project_root), "--out",
                   os.fsencode(tmp_path) + b"/d\xff\x1b[2J.mmd"], project_root)
    assert written.returncode == 0 and b"Traceback" not in written.stderr, written.stderr[-300:]
    assert written.stdout.endswith(b"/d\\udcff\\x1b[2J.mmd\n")
    assert (tmp_path / os.fsdecode(b"d\xff\x1b[2J.mmd")).read_text().startswith("flowchart")
    refused = run(["params", "--config", b"\xfe\x1b[2J.yaml", "--project-dir", str(project_root)], project_root)
    assert refused.returncode == 2
    assert refused.stderr == b"automl-cfn: error: \\udcfe\\x1b[2J.yaml: settings file not found\n"


@pytest.mark.parametrize("out, fragment", [
    ("DIR", "cannot write it (Is a directory)"),
    ("DIR/missing/x.mmd", "cannot write it (No such file or directory)"),
    ("DIR/" + "n" * 300, "cannot write it (File name too long)"),
])
def test_an_output_path_that_cannot_be_written_is_one_line(project_root, tmp_path, capsys, out, fragment):
    out = out.replace("DIR", str(tmp_path))
    assert main(["diagram", "--env", "dev", "--project-dir", str(project_root), "--out", out]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err


def test_templates_never_creates_a_mistyped_project_directory(tmp_path, capsys):
    assert main(["templates", "--project-dir", str(tmp_path / "typo")]) == 2
    assert "--project-dir" in capsys.readouterr().err and not (tmp_path / "typo").exists()


def test_a_local_path_error_no_check_names_is_still_one_line(project_root, tmp_path, capsys):
    long_name = str(tmp_path / ("t" * 300))
    assert main(["lint", long_name, "--project-dir", str(project_root)]) == 2
    err = capsys.readouterr().err
    assert "File name too long" in err and err.count("\n") == 1


def test_an_echoed_argument_of_any_length_leaves_a_readable_line(capsys):
    assert main(["pipeline", "a" * 5000]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 700 and " ... " in err and err.endswith("--help')\n")
    assert main(["run", "b" * 5000, "--env", "dev"]) == 2
    assert len(capsys.readouterr().err) < 200
