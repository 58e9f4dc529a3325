"""What IAM says about each action the CI roles name: its resource types, the condition keys it takes, its
access level, and the ARN format of each resource type.

Two copies of the Service Authorization Reference are read, each for what it does best.  cfn-lint's is
the newer: the resource types each action acts on and each type's ARN format.  parliament's keeps the
condition keys per action and resource type (the "Condition keys" column of the reference's action
tables) and the access level; a key listed for a resource type in the reference's resource-type table
applies to every action on that type (aws:ResourceTag on a KMS key, for example).
`python -m automl_cfn.deploy_role.reference` writes the extract (data/iam_reference.json, committed; a
unit test fails when it is stale), so the verb needs neither package installed.

An action parliament does not know (newer than its database) takes no condition key here: a condition
is only ever written on an action documented to take it.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

DATA = Path(__file__).parent.parent / "data" / "iam_reference.json"
RESOURCE_TAG = "aws:ResourceTag/${TagKey}"
REQUEST_TAG = "aws:RequestTag/${TagKey}"


def service(action: str) -> str:
    return action.split(":", 1)[0]


def resource_types(action: str) -> list[str] | None:
    """The resource types the action acts on ([]: it takes no resource ARN, only "*"); None when IAM has
    no such action (an API name in a handler list)."""
    entry = _committed()["actions"].get(action)
    return None if entry is None else entry["resources"]


def known(action: str) -> bool:
    return resource_types(action) is not None


@lru_cache(maxsize=1)
def _committed() -> dict:
    return json.loads(DATA.read_text())


def required_types(action: str) -> list[str]:
    """The types every call of the action is authorized against (the reference marks them with *); the
    others only when the request names one (tags for a rule, the route tables of an endpoint)."""
    entry = _committed()["actions"].get(action)
    return entry.get("required", []) if entry else []


def access_level(action: str) -> str | None:
    """Read, List, Write, Tagging or Permissions management (None: parliament does not know it)."""
    entry = _committed()["actions"].get(action)
    return entry.get("access") if entry else None


def condition_keys(action: str, resource_type: str | None = None) -> set[str]:
    """The keys a statement may test for this action: the action's own keys, and (for one resource type)
    that type's."""
    entry = _committed()["actions"].get(action)
    if entry is None or "keys" not in entry:
        return set()
    keys = set(entry["keys"].get("", []))
    for name, listed in entry["keys"].items():
        if name and (resource_type is None or name == resource_type):
            keys |= set(listed)
    return keys


def actions_of(prefix: str) -> list[str]:
    return [a for a in _committed()["actions"] if service(a) == prefix]


def managed_actions(name: str) -> list[str]:
    """What an AWS managed policy the templates attach allows."""
    return _committed()["managed"][name]


def arn_pattern(action: str, resource_type: str, partition: str, account: str) -> str | None:
    """Every ARN of this type in the account (any region): the reference's format, variables as wildcards."""
    formats = _committed()["arns"].get(f"{service(action)}:{resource_type}")
    if not formats:
        return None
    text = formats[0].replace("${Partition}", partition).replace("${Account}", account)
    return re.sub(r"\$\{[A-Za-z]+\}|\.\*", "*", text)


# ---------------------------------------------------------------------------
# extraction (needs cfn-lint and parliament: a developer's environment)
# ---------------------------------------------------------------------------

def extract(actions: Iterable[str]) -> dict:
    """The committed shape: per action its resource types (cfn-lint), access level and condition keys by
    resource type ("" for the action's own; parliament), per service:type the ARN formats (cfn-lint).  An
    action cfn-lint does not know is left out."""
    import cfnlint
    import parliament

    definitions = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
    policies = json.loads((Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text())
    privileges: dict[str, dict] = {}
    type_keys: dict[tuple[str, str], set[str]] = {}
    arns: dict[str, list[str]] = {}
    for entry in definitions:   # a prefix may appear more than once (Elastic Load Balancing and its V2)
        for resource in entry["resources"]:
            type_keys.setdefault((entry["prefix"], resource["resource"]), set()).update(resource["condition_keys"])
            arns.setdefault(f"{entry['prefix']}:{resource['resource']}", []).append(resource["arn"])
    for entry in definitions:
        for privilege in entry["privileges"]:
            merged = privileges.setdefault(f"{entry['prefix']}:{privilege['privilege']}".lower(),
                                           {"access": privilege["access_level"], "keys": {}, "types": set(),
                                            "required": set()})
            for row in privilege["resource_types"]:
                name = row["resource_type"].rstrip("*")
                merged["keys"].setdefault(name, set()).update(row["condition_keys"])
                if name:
                    merged["types"].add(name)
                if row["resource_type"].endswith("*"):
                    merged["required"].add(name)
    for action, merged in privileges.items():
        # A row that lists no key of its own takes its resource type's (KMS keys, scalable targets, load
        # balancers list aws:ResourceTag there); a row that lists some is the action's word (EC2's list the
        # request's tags only where the action creates the resource).
        prefix = action.split(":", 1)[0]
        for name, keys in merged["keys"].items():
            if name and not keys:
                keys |= {k for (p, t), listed in type_keys.items() if p == prefix and t.lower() == name.lower()
                         for k in listed}
    result: dict = {"actions": {}, "arns": {}}
    for action in sorted(set(actions)):
        prefix, _, name = action.partition(":")
        listed = policies.get(prefix, {}).get("Actions", {}).get(name.lower())
        found = privileges.get(action.lower())
        if listed is None and found is None:
            continue
        # Either copy may know a resource type the other lacks (cfn-lint's is newer; parliament's keeps a
        # few that cfn-lint's leaves empty, such as cloudformation:CreateStackSet's stack set).
        types = set((listed or {}).get("Resources", [])) | (found["types"] if found else set())
        entry = result["actions"][action] = {"resources": sorted(types)}
        if found:
            entry.update(access=found["access"], keys={k: sorted(v) for k, v in sorted(found["keys"].items())},
                         required=sorted(found["required"]))
        for resource_type in types:
            key = f"{prefix}:{resource_type}"
            formats = arns.get(key) or policies.get(prefix, {}).get("Resources", {}).get(resource_type, {}).get(
                "ARNFormats")
            if formats:
                result["arns"][key] = sorted(set(formats))
    return result


def iam_actions_of_parliament() -> list[str]:
    """Every IAM action (the boundary's deny list is built from their access levels)."""
    import parliament

    definitions = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
    return [f"iam:{p['privilege']}" for entry in definitions if entry["prefix"] == "iam" for p in entry["privileges"]]


def main(argv: list[str] | None = None) -> int:
    """Write data/iam_reference.json for every action the CI roles and the boundary may name (run from the
    project directory)."""
    import sys

    from .. import synth
    from . import wanted_in_reference
    from .boundary import managed_policy_actions

    project = Path(argv[0] if argv else ".")
    extracted = extract(wanted_in_reference(project))
    extracted["managed"] = managed_policy_actions(synth.read_generated_documents(project / "generated"))
    DATA.write_text(json.dumps(extracted, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA} ({len(extracted['actions'])} actions)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
