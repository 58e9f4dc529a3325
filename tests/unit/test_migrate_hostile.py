"""Hostile strings from a Terraform state, through every place a state string reaches: the plan (table, TTY
table, JSON), `migrate check`, error lines, the removed blocks (HCL) and the state rm script (sh).

A for_each key may be any string, so it is quoted (as Terraform quotes it) and must arrive intact; a resource
type, name or module name is an identifier, so anything else is refused; a name that becomes a setting must
be a valid one.  Printed, every string is one printable line (no escape sequence reaches the terminal)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from automl_cfn import ui
from automl_cfn.cli import main
from automl_cfn.errors import UserError
from automl_cfn.migrate import address, cutover
from automl_cfn.migrate.plan import ADOPT, REPLACE, Row
from automl_cfn.migrate.tfstate import read_state

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tfstate"
STATE = FIXTURES / "seed-prod.tfstate"

HOSTILE = {
    "double quote": 'a"b',
    "single quote": "it's",
    "quote, newline and a resource block": 'x"]\nresource "terraform_data" "pwn" {\n  provisioner "local-exec" {\n'
                                           '    command = "touch /tmp/pwned"\n  }\n}\n# ["',
    "lifecycle destroy": '"]\n  lifecycle {\n    destroy = true\n  }\n#',
    "carriage return": "a\rb",
    "brackets and rich markup": "[/x][bold red]b[/bold red] [link=file:///etc]x[/link]",
    "escape sequences": "\x1b[31mred\x1b[0m\x1b]0;title\x07\x1b[2J",
    "command substitution": "$(touch pwned)",
    "backticks": "`touch pwned`",
    "shell quotes": "'; touch pwned; echo '",
    "HCL template": '${file("/etc/passwd")}',
    "HCL directive": "%{ for x in y }x%{ endfor }",
    "doubled dollar": "$${x} $$ %%{",
    "backslashes": "back\\slash\\\\\\",
    "tab and NUL": "a\tb\x00c",
    "right-to-left override": "\u202eevil\u2066",
    "non-ASCII": "ünïcødé ✓ 日本",
    "astral": "\U0001f600\U000e0001",
    "very long": "k" * 10_000,
    "empty": "",
}


def hostile_state(tmp_path, change) -> str:
    document = json.loads(STATE.read_text())
    change(document)
    path = tmp_path / "hostile.tfstate"
    path.write_text(json.dumps(document))
    return str(path)


def resource(document, type_, name):
    return next(r for r in document["resources"] if r["type"] == type_ and r["name"] == name)


def keyed(key):
    """The train repository's for_each key is `key`."""
    def change(document):
        instances = resource(document, "aws_ecr_repository", "repos")["instances"]
        next(i for i in instances if i["index_key"] == "train")["index_key"] = key
    return change


def in_module(key):
    """The registry module is called with for_each, `key` one of its keys."""
    def change(document):
        for r in document["resources"]:
            if r.get("module") == "module.registry":
                r["module"] = f"module.registry[{address.quoted(key)}]"
    return change


def assert_printable(text: str) -> None:
    for line in text.split("\n"):
        bad = [c for c in line if not c.isprintable() and c != "\t"]
        assert not bad, f"unprintable {bad[:3]!r} in {line[:120]!r}"


def plan_outputs(state: str, project_root, capsys, monkeypatch, check: bool = True) -> dict[str, str]:
    """stdout and stderr of `migrate plan` (table, TTY table, JSON) and `migrate check`."""
    base = ["--tfstate", state, "--env", "prod", "--project-dir", str(project_root)]
    outputs = {}
    verbs = {"table": ["plan"], "json": ["plan", "--format", "json"], **({"check": ["check"]} if check else {})}
    for label, argv in verbs.items():
        ui.reset_consoles()
        code = main(["migrate", *argv, *base])
        captured = capsys.readouterr()
        assert code == (1 if label == "check" else 0), captured.err
        outputs[label] = captured.out + captured.err
    with monkeypatch.context() as patched:
        patched.setattr(ui, "is_tty", lambda stream=None: True)
        ui.reset_consoles()
        assert main(["migrate", "plan", *base]) == 0
        outputs["tty"] = capsys.readouterr().out
    ui.reset_consoles()
    return outputs


# -- for_each keys: any string, quoted as Terraform quotes it, intact everywhere --------------------------------

@pytest.mark.parametrize("where", [keyed, in_module], ids=["resource key", "module key"])
@pytest.mark.parametrize("key", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_for_each_key_reaches_every_output_intact_and_harmless(project_root, tmp_path, capsys,
                                                                          monkeypatch, where, key):
    state = hostile_state(tmp_path, where(key))
    instances = read_state(Path(state)).instances
    ours = [i for i in instances if key in (i.index, *(k for _, k in address.parse(i.address).module))]
    assert ours, "the hostile key is in the addresses"
    for instance in ours:
        parsed = address.parse(instance.address)
        assert key in (parsed.key, *(k for _, k in parsed.module))
        assert str(parsed) == instance.address and "\n" not in instance.address

    outputs = plan_outputs(state, project_root, capsys, monkeypatch)
    for label, text in outputs.items():
        assert_printable(text)
    rows = json.loads(outputs["json"])["rows"]
    assert {r["address"] for r in rows} == {i.address for i in instances}

    adopted = [Row(i.address, "registry", "X", ADOPT, resource=i.resource_address) for i in ours]
    written = terraform_side(tmp_path, adopted + [Row("aws_sqs_queue.side_project", "", "", REPLACE,
                                                      resource=ours[0].resource_address)])   # partly adopted
    assert received(written, tmp_path) == [["state", "rm", i.address] for i in ours]


def terraform_side(tmp_path, rows) -> Path:
    """The removed blocks and the state rm script for these rows, checked line by line; returns the script."""
    removed = cutover.removed_blocks(rows)
    assert_removed_blocks_are_only_removed_blocks(removed)
    script = tmp_path / cutover.STATE_RM_FILE
    script.write_text(cutover.state_rm_script(rows))
    for shell in ("sh", "bash"):
        if shutil.which(shell):
            checked = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
            assert checked.returncode == 0, checked.stderr
    return script


ALLOWED = [r"removed \{", r"  from = (module\.[A-Za-z_][\w-]*\.)*[A-Za-z_][\w-]*\.[A-Za-z_][\w-]*", r"  lifecycle \{",
           r"    destroy = false", r"  \}", r"\}", r"", r"#[^\n]*"]


def assert_removed_blocks_are_only_removed_blocks(text: str) -> None:
    """Every line is one of the few a removed block has, or a comment: nothing else can reach Terraform."""
    for line in text.split("\n"):
        assert any(re.fullmatch(shape, line) for shape in ALLOWED), repr(line)
        assert "destroy = true" not in line and "provisioner" not in line or line.startswith("#")
        assert_printable(line)


def received(script: Path, tmp_path) -> list[list[str]]:
    """What a stub `terraform` on PATH receives when the script runs under sh and under bash (the same)."""
    stub_dir = tmp_path / "stub-bin"
    stub_dir.mkdir(exist_ok=True)
    stub = stub_dir / "terraform"
    # Each argument NUL-terminated, a call ended by one more NUL (an address is never empty).
    stub.write_text('#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done >> "$RECORD"\n'
                    'printf \'\\0\' >> "$RECORD"\n')
    stub.chmod(0o755)
    runs = []
    for shell in ("sh", "bash"):
        record = tmp_path / f"record-{shell}"
        record.write_bytes(b"")
        done = subprocess.run([shell, str(script)], cwd=tmp_path, capture_output=True, stdin=subprocess.DEVNULL,
                              env={**os.environ, "PATH": f"{stub_dir}{os.pathsep}{os.environ['PATH']}",
                                   "RECORD": str(record)})
        assert done.returncode == 0, done.stderr
        assert not (tmp_path / "pwned").exists() and not Path("/tmp/pwned").exists()
        calls = record.read_bytes().decode("utf-8").split("\0\0")
        assert calls[-1] == ""
        runs.append([call.split("\0") for call in calls[:-1]])
    assert runs[0] == runs[1]
    return runs[0]


# -- names: identifiers only, else refused in one line ------------------------------------------------------------

REFUSED_NAMES = {**{k: v for k, v in HOSTILE.items() if k not in ("very long",)},
                 "starts with a digit": "1bucket", "dot": "a.b", "space": "a b", "non-ASCII letter": "dåta",
                 "very long with a newline": "a" * 5000 + "\nresource"}
NAME_PLACES = {
    "resource name": lambda v: lambda d: resource(d, "aws_s3_bucket", "data").update(name=v),
    "resource type": lambda v: lambda d: resource(d, "aws_s3_bucket", "data").update(type=v),
    "module name": lambda v: lambda d: resource(d, "aws_ecr_repository", "repos").update(module=f"module.{v}"),
    "module path": lambda v: lambda d: resource(d, "aws_ecr_repository", "repos").update(module=v),
}


NAME_CASES = [(place, label, value) for label, value in REFUSED_NAMES.items() for place in NAME_PLACES
              if not (place == "module path" and value == "")]   # an empty module path is the root module


@pytest.mark.parametrize("place, label, value", NAME_CASES, ids=[f"{label}-{place}" for place, label, _ in NAME_CASES])
def test_a_name_that_is_not_an_identifier_is_refused_in_one_printable_line(project_root, tmp_path, capsys,
                                                                           place, label, value):
    state = hostile_state(tmp_path, NAME_PLACES[place](value))
    for verb in ("plan", "check"):
        assert main(["migrate", verb, "--tfstate", state, "--env", "prod", "--project-dir", str(project_root)]) == 2
        captured = capsys.readouterr()
        err = captured.err.rstrip("\n")
        assert captured.out == "" and "\n" not in err and len(err) < 600, err
        assert_printable(err)
        assert "is the state edited or corrupted?" in err or "has no type or name" in err, err


def test_a_lone_surrogate_key_is_refused_and_raw_non_utf8_is_not_json(project_root, tmp_path, capsys):
    state = hostile_state(tmp_path, keyed("\udcff"))
    assert main(["migrate", "plan", "--tfstate", state, "--env", "prod", "--project-dir", str(project_root)]) == 2
    err = capsys.readouterr().err
    assert "is not valid Unicode" in err and err.count("\n") == 1
    raw = Path(state)
    raw.write_bytes(STATE.read_bytes().replace(b'"automl-train"', b'"automl-\xff\xfe"', 1))
    assert main(["migrate", "plan", "--tfstate", str(raw), "--env", "prod", "--project-dir", str(project_root)]) == 2
    assert "not JSON (not UTF-8 text at byte" in capsys.readouterr().err


# -- attribute values: printed safely; a name that becomes a setting must be a valid one -------------------------

VALUE_PLACES = {
    "bucket name": lambda v: lambda d: resource(d, "aws_s3_bucket", "data")["instances"][0]["attributes"].update(
        bucket=v),
    "repository name": lambda v: lambda d: resource(d, "aws_ecr_repository", "repos")["instances"][1][
        "attributes"].update(name=f"automl-{v}-train"),
    "log group name": lambda v: lambda d: resource(d, "aws_cloudwatch_log_group", "ecs")["instances"][0][
        "attributes"].update(name=f"/ecs/{v}-optimize"),
    "secret ARN": lambda v: lambda d: resource(d, "aws_secretsmanager_secret", "api_key")["instances"][0][
        "attributes"].update(arn=f"arn:aws:secretsmanager:us-west-2:123456789012:secret:{v}"),
    "recorded retention": lambda v: lambda d: resource(d, "aws_cloudwatch_log_group", "ecs")["instances"][0][
        "attributes"].update(retention_in_days=v),
    "recorded tag mutability": lambda v: lambda d: resource(d, "aws_ecr_repository", "repos")["instances"][0][
        "attributes"].update(image_tag_mutability=v),
    "terraform version": lambda v: lambda d: d.update(terraform_version=v),
}
VALUES = {k: v for k, v in HOSTILE.items() if k != "empty"}
VALUES["lone surrogate"] = "\udcff"
NAMES = ("bucket name", "repository name", "log group name", "secret ARN")   # these become settings


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_a_hostile_value_is_printed_as_one_printable_line_and_never_becomes_a_setting(
        project_root, tmp_path, capsys, monkeypatch, prod, value):
    def everywhere(document):
        for place in VALUE_PLACES.values():
            place(value)(document)

    state = hostile_state(tmp_path, everywhere)
    outputs = plan_outputs(state, project_root, capsys, monkeypatch, check=False)
    for text in outputs.values():
        assert_printable(text)
    document = json.loads(outputs["json"])      # the JSON holds the value itself, escaped as JSON escapes it
    assert document["terraform_version"] == value
    for row in document["rows"]:                # what apply prints as warnings: the drifts among these
        for line in row["differences"]:
            assert_printable(line)
            assert len(line) < 400
    lines = outputs["table"].splitlines()
    for row in document["rows"]:                # each row on one line of its own
        assert sum(line.startswith(row["address"] + "\t") for line in lines) == 1, row["address"]

    from automl_cfn.migrate.apply import _settings_text
    from automl_cfn.migrate.plan import plan
    from automl_cfn.parameters import parameter_values
    from automl_cfn.synth import read_generated_documents

    documents = read_generated_documents(project_root / "generated")
    target = type("Target", (), {"settings": prod})()
    before = (project_root / "config" / "prod.yaml").read_bytes()
    for place in NAMES:
        if place == "secret ARN" and value == VALUES["very long"]:
            continue   # api_key_secret has no length limit in settings.py (left to its owners): only its characters
        state = hostile_state(tmp_path, VALUE_PLACES[place](value))
        rows = plan(read_state(Path(state)), documents, parameter_values(prod), prod.aws_region)
        with pytest.raises(UserError) as refused:
            _settings_text(target, rows, before, "config/prod.yaml")
        message = str(refused.value)
        assert message.startswith("what the Terraform state names cannot be adopted: ") and len(message) < 400
        assert_printable(message)
