"""Terraform addresses: written as Terraform writes them, read back to the same address; and, where this
machine has Terraform, Terraform itself agrees (its `state list` prints our addresses, its `state rm` takes the
script's, its plan of the removed blocks only forgets)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from automl_cfn.errors import UserError
from automl_cfn.migrate import address, cutover
from automl_cfn.migrate.plan import ADOPT, Row
from automl_cfn.migrate.tfstate import read_state

from .test_migrate_hostile import HOSTILE

# Terraform's own spelling (internal/addrs/instance_key.go, toHCLQuotedString).
SPELLED = [
    ("train", '"train"'), ('a"b', r'"a\"b"'), ("x\ny", r'"x\ny"'), ("a\rb\tc", r'"a\rb\tc"'),
    ("back\\slash", r'"back\\slash"'), ("${foo}", '"$${foo}"'), ("%{ if }", '"%%{ if }"'), ("$$ %% $x", '"$$ %% $x"'),
    ("e\x1bc", r'"e\u001bc"'), ("\x00", r'"\u0000"'), ("\u202e", r'"\u202e"'), ("\U000e0001", r'"\U000e0001"'),
    ("ünï ✓", '"ünï ✓"'), ("", '""'), ("\x7f", r'"\u007f"'), ("\u00a0", r'"\u00a0"'),
]


@pytest.mark.parametrize("key, spelled", SPELLED, ids=[repr(k) for k, _ in SPELLED])
def test_keys_are_quoted_as_terraform_quotes_them(key, spelled):
    assert address.quoted(key) == spelled
    assert address.parse(f"aws_x.y[{spelled}]").key == key


def test_any_key_reads_back_as_itself():
    pool = ['"', "\\", "$", "%", "{", "}", "[", "]", "\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\u2028", "\u202e",
            "\U0001f600", "\U000e0001", "a", "ü", " ", ".", "'"]
    chooser = random.Random(27)
    for _ in range(2000):
        key = "".join(chooser.choice(pool) for _ in range(chooser.randrange(0, 12)))
        module_key = "".join(chooser.choice(pool) for _ in range(chooser.randrange(0, 6)))
        written = address.Address((("m", module_key), ("n", 3)), "aws_x", "y_1-z", key)
        text = str(written)
        assert text.isprintable() and address.parse(text) == written, repr(text)
        assert written.resource == "module.m.module.n.aws_x.y_1-z"


NOT_ADDRESSES = [
    'aws_x.y\nresource "terraform_data" "pwn" {}', 'aws_x.y["a"]\n', "aws_x.y[\"${path.cwd}\"]", "aws_x.y[\"%{if}\"]",
    'aws_x.y["unterminated]', "aws_x.y[-1]", "aws_x.y[01]", "aws_x.y[1.5]", "aws_x.y[true]", "1aws.y", "aws_x",
    "aws_x.y.z", "module.m", "module..aws_x.y", "module.1m.aws_x.y", 'aws_x.y["\x1b"]', 'aws_x.y["\\q"]',
    'aws_x.y["\\ud800"]', 'aws_x.y["\\u12"]', "aws_x.y[\"a\"][\"b\"]", "aws_x. y", "aws_x.y ", "dåta.y",
    'module.m["a"]x.aws_x.y', 'aws_x.y["a"', "",
]


@pytest.mark.parametrize("text", NOT_ADDRESSES, ids=[repr(t)[:40] for t in NOT_ADDRESSES])
def test_what_is_not_an_address_does_not_parse(text):
    with pytest.raises(address.AddressError) as refused:
        address.parse(text)
    assert "\n" not in str(refused.value) and str(refused.value).isprintable()


@pytest.mark.parametrize("row", [
    Row('aws_s3_bucket.data\nresource "terraform_data" "pwn" {\n  provisioner "local-exec" {\n    command = "id"\n'
        '  }\n}', "storage", "DataBucket", ADOPT, resource="aws_s3_bucket.data"),
    Row("aws_s3_bucket.data", "storage", "DataBucket", ADOPT,
        resource="aws_s3_bucket.data\n\n  lifecycle {\n    destroy = true\n  }\n"),
    Row('aws_s3_bucket.data["a"]', "storage", "DataBucket", ADOPT, resource='aws_s3_bucket.data["a"]'),
    Row('aws_s3_bucket.data["\x1b[2Jx"]', "storage", "DataBucket", ADOPT, resource="aws_s3_bucket.data"),
    Row("aws_s3_bucket.data['x']", "storage", "DataBucket", ADOPT, resource="aws_s3_bucket.data"),
], ids=["a resource block in the address", "a lifecycle in the resource", "keys in a removed block's from",
        "a raw escape character in a key", "single-quoted key"])
def test_the_terraform_side_is_not_written_from_an_address_that_does_not_parse(row):
    with pytest.raises(UserError, match="not writing the Terraform side"):
        cutover.removed_blocks([row]) + cutover.state_rm_script([row])


# -- Terraform itself, where this machine has it ------------------------------------------------------------------

TERRAFORM = shutil.which("terraform")
needs_terraform = pytest.mark.skipif(TERRAFORM is None, reason="no terraform on this machine")


def run_terraform(directory: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull,
           "TF_INPUT": "0"}
    done = subprocess.run([TERRAFORM, *args], cwd=directory, capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done


def terraform_data_state(tmp_path: Path) -> Path:
    """A state of terraform_data resources (Terraform's built-in provider: no download), keyed by every hostile
    string, at the root and in a module called with a hostile key."""
    keys = [k for k in HOSTILE.values()]

    def instance(key):
        return {"index_key": key, "schema_version": 0, "sensitive_attributes": [],
                "attributes": {"id": "x", "input": None, "output": None, "triggers_replace": None}}

    def resource(module):
        body = {"mode": "managed", "type": "terraform_data", "name": "data",
                "provider": 'provider["terraform.io/builtin/terraform"]', "instances": [instance(k) for k in keys]}
        return {**body, "module": module} if module else body

    document = {"version": 4, "terraform_version": "1.7.5", "serial": 1, "outputs": {},
                "lineage": "6f1c1f6e-2b8d-4c7e-9a3e-000000000027",
                "resources": [resource(None), resource(f"module.m[{address.quoted(HOSTILE['lifecycle destroy'])}]")]}
    directory = tmp_path / "terraform"
    directory.mkdir()
    (directory / "terraform.tfstate").write_text(json.dumps(document))
    return directory


@needs_terraform
def test_terraform_lists_the_addresses_we_read(tmp_path):
    directory = terraform_data_state(tmp_path)
    listed = run_terraform(directory, "state", "list").stdout.splitlines()
    assert sorted(listed) == sorted(i.address for i in read_state(directory / "terraform.tfstate").instances)


@needs_terraform
def test_terraform_plans_the_removed_blocks_as_forgetting_only(tmp_path):
    directory = terraform_data_state(tmp_path)
    rows = [Row(i.address, "x", "X", ADOPT, resource=i.resource_address)
            for i in read_state(directory / "terraform.tfstate").instances]
    (directory / cutover.REMOVED_FILE).write_text(cutover.removed_blocks(rows))
    run_terraform(directory, "init", "-input=false", "-backend=false")
    run_terraform(directory, "plan", "-input=false", "-out=plan.bin")
    changes = json.loads(run_terraform(directory, "show", "-json", "plan.bin").stdout)["resource_changes"]
    assert sorted(c["address"] for c in changes) == sorted(r.address for r in rows)
    assert {tuple(c["change"]["actions"]) for c in changes} == {("forget",)}
    assert not (tmp_path / "pwned").exists()


@needs_terraform
def test_terraform_state_rm_takes_every_address_the_script_passes(tmp_path):
    directory = terraform_data_state(tmp_path)
    rows = [Row(i.address, "x", "X", ADOPT, resource=i.resource_address)
            for i in read_state(directory / "terraform.tfstate").instances]
    script = directory / cutover.STATE_RM_FILE
    script.write_text(cutover.state_rm_script(rows))
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    done = subprocess.run(["sh", str(script)], cwd=directory, capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert run_terraform(directory, "state", "list").stdout == ""
