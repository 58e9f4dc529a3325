"""The transition matrix on the strict endpoint: from each base environment, every row of the table
(transitions.py) is deployed there and back.  Each step succeeds, or is refused before any change set
runs with the row's note as its one line.  One base deploy per group; the endpoint is reset between groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from automl_cfn import transitions

from .conftest import import_certificate, pending_change_sets, push_images
from .test_networks import existing_vpc

ROOT = Path(__file__).resolve().parents[2]
GROUPS = sorted({t.base for t in transitions.TABLE})


def text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def variables(settings: dict, real: dict) -> list[str]:
    """--var for each setting; a mapping (which --var cannot carry) through a settings file: dev's, plus it.
    None is a mapping setting's default: nothing to pass."""
    mappings = {name: value for name, value in settings.items() if isinstance(value, dict)}
    where = ["--env", "dev"]
    if mappings:
        import tempfile

        import yaml

        path = Path(tempfile.mkdtemp()) / "dev.yaml"
        path.write_text((ROOT / "config" / "dev.yaml").read_text() + "\n" + yaml.safe_dump(mappings))
        where = ["--config", str(path)]
    return where + [arg for name, value in settings.items() if name not in mappings and value is not None
                    for arg in ("--var", f"{name}={real.get(text(value), text(value))}")]


def existing_resources(clients) -> dict[str, str]:
    """What the table names must exist, as on AWS (preflight checks): the table's certificate and key ARNs ->
    the endpoint's; the boundary."""
    clients("iam").create_policy(PolicyName="automl-boundary", PolicyDocument='{"Version": "2012-10-17", '
                                 '"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}')
    key = clients("kms").create_key(Description="an existing key the table names")["KeyMetadata"]["Arn"]
    vpc = existing_vpc(clients)
    return {transitions.CERTIFICATE: import_certificate(clients), transitions.KEY_ARN: key,
            transitions.VPC_ID: vpc["vpc"], transitions.SUBNET_IDS: ",".join(vpc["private"])}


def root_status(clients) -> str:
    return clients("cloudformation").describe_stacks(StackName="automl-dev")["Stacks"][0]["StackStatus"]


@pytest.mark.parametrize("group", GROUPS)
def test_every_transition_there_and_back(aws, cli, clients, group):
    base = transitions.BASES[group]
    real = existing_resources(clients)
    code, out, err = cli("deploy", "--yes", *variables(base, real))
    assert code == 0, err[-3000:]
    push_images(clients, "dev", "v1")
    for row in (t for t in transitions.TABLE if t.base == group):
        start = {**base, **row.before}
        code, out, err = cli("deploy", "--yes", *variables(start, real))
        assert code == 0, (row, err)
        before = root_status(clients)
        code, out, err = cli("deploy", "--yes", *variables({**start, **row.after}, real))
        if row.outcome == transitions.REFUSED:
            assert code == 3, (row, err)
            assert err.strip().splitlines()[-1] == f"automl-cfn: error: {row.note}", row
            assert root_status(clients) == before and pending_change_sets(clients("cloudformation"), "automl-dev") == []
        else:
            assert code == 0, (row, err[-3000:])
            assert root_status(clients) in ("UPDATE_COMPLETE", "CREATE_COMPLETE"), row
            replaced = "[REPLACE]" in out
            assert replaced is (row.outcome == transitions.REPLACES), (row, out[-3000:])
        code, out, err = cli("deploy", "--yes", *variables(start, real))
        assert code == 0, (row, "back", err[-3000:])
        if row.setting == "termination_protection":
            protected = clients("cloudformation").describe_stacks(StackName="automl-dev")["Stacks"][0]
            assert protected["EnableTerminationProtection"] is False
