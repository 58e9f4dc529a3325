"""The Terraform side of the cut-over, written for the user to run.

Terraform must forget what CloudFormation now owns without destroying it:
`removed` blocks with `destroy = false` (Terraform 1.7 and later), or the
equivalent `terraform state rm` commands for older versions.  A `removed`
block takes a resource address without instance keys, so it covers every
instance; where only some instances of a resource were adopted, only the
state rm commands can say so, and the block file says why it leaves it out.

Every address written here is checked to be Terraform's own spelling of an
address (address.py) before it is written: a crafted state cannot add a
line, a block or a shell command of its own.  The shell script quotes each
address for sh (shlex), so what `terraform` receives is the address itself.
"""

from __future__ import annotations

import shlex

from ..errors import UserError
from . import address as addresses
from .plan import ADOPT, Row
from .tfstate import shown

REMOVED_FILE = "automl-cfn-removed.tf"
STATE_RM_FILE = "automl-cfn-state-rm.sh"


def removed_blocks(rows: list[Row]) -> str:
    """HCL: one `removed` block per adopted resource (all of whose instances were adopted)."""
    adopted, partial = _by_resource(rows)
    lines = ["# Written by 'automl-cfn migrate apply': CloudFormation now owns these; Terraform forgets them",
             "# without destroying anything (Terraform 1.7 or later; older: automl-cfn-state-rm.sh).", ""]
    for address in adopted:
        lines += ["removed {", f"  from = {_checked(address, keys=False)}", "", "  lifecycle {", "    destroy = false",
                  "  }", "}", ""]
    for address in partial:
        lines += [f"# {_checked(address, keys=False)}: only some of its instances were adopted, and a removed block "
                  "would cover them", "# all; run the matching 'terraform state rm' lines in automl-cfn-state-rm.sh "
                  "instead.", ""]
    return "\n".join(lines)


def state_rm_script(rows: list[Row]) -> str:
    """sh: `terraform state rm` for every adopted instance (quoted: for_each keys hold quotes and brackets)."""
    lines = ["#!/bin/sh", "# Written by 'automl-cfn migrate apply': for Terraform older than 1.7 (no removed blocks).",
             "# Terraform forgets these instances; nothing is destroyed.", "set -eu"]
    lines += [f"terraform state rm {shlex.quote(_checked(row.address))}" for row in rows if row.action == ADOPT]
    return "\n".join(lines) + "\n"


def _checked(text: str, keys: bool = True) -> str:
    """`text` when it is an address as Terraform writes it (without instance keys where `keys` is False)."""
    try:
        parsed = addresses.parse(text)
    except addresses.AddressError as exc:
        raise UserError(f"not writing the Terraform side: {exc}") from None
    if str(parsed) != text or (not keys and text != parsed.resource):
        raise UserError(f"not writing the Terraform side: {shown(text)} is not an address as Terraform writes it"
                        + ("" if keys else " without instance keys"))
    return text


def _by_resource(rows: list[Row]) -> tuple[list[str], list[str]]:
    actions: dict[str, set[str]] = {}
    for row in rows:
        actions.setdefault(row.resource, set()).add(row.action)
    adopted = [address for address, seen in actions.items() if seen == {ADOPT}]
    partial = [address for address, seen in actions.items() if ADOPT in seen and seen != {ADOPT}]
    return adopted, partial


def next_steps(env_flag: str, removed: str, state_rm: str) -> str:
    return "\n".join([
        "Next, in this order:",
        f"  1. Switch traffic and jobs to the new stacks ('automl-cfn outputs {env_flag}' has the service,",
        "     the cluster and the task definitions); the adopted bucket, repositories and logs are the same ones.",
        f"  2. Copy {removed} into the Terraform configuration's directory and run 'terraform apply':",
        "     it only forgets the adopted resources (older Terraform: run " + state_rm + ").",
        "  3. Check nothing adopted is still Terraform's: 'terraform show -json > after.json', then",
        f"     'automl-cfn migrate check --tfstate after.json {env_flag}' (exit 0: none is).",
        "  4. 'terraform destroy' removes what is left: the old VPC, roles, cluster, task definitions, alarms.",
    ])
