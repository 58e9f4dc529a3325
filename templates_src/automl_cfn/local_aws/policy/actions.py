"""Which IAM actions act on which resource types, from the Service Authorization Reference.

An action that acts on no resource type (ec2:DescribeVpcs, sqs:ListQueues,
cloudformation:ValidateTemplate) is evaluated against `*`: a statement that
grants it on a specific ARN does not apply, as in AWS
(reference_policies_actions-resources-contextkeys.html: "if the Resource types
column is empty, you must specify all resources (*)").

The facts come from cfn-lint's copy of the reference
(cfnlint/data/AdditionalSpecs/Policies.json), extracted for the services the
project and its tests call into `actions.json` beside this module, so the
endpoint reads them without cfn-lint installed.  Beside them, each resource
type's ARN format with its variables named (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`),
from parliament's copy, which names them (cfn-lint's gives patterns only).  `python -m
automl_cfn.local_aws.policy.actions` rewrites it;
test_the_committed_action_data_is_current fails when it is stale.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "actions.json"
SERVICES = ("acm", "application-autoscaling", "cloudformation", "cloudwatch", "config", "ec2", "ecr", "ecs",
            "elasticloadbalancing", "events", "iam", "kms", "logs", "organizations", "pipes", "s3", "scheduler",
            "secretsmanager", "servicequotas", "sns", "sqs", "states", "sts", "xray")


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads(DATA.read_text())


def _table() -> dict[str, dict[str, list[str]]]:
    return _data()["actions"]


def arn_formats(service: str) -> dict[str, list[str]]:
    """Resource type (lower case) -> its ARN formats, for one service."""
    return _data()["arns"].get(service, {})


def resource_types(action: str) -> list[str] | None:
    """The resource types `service:Action` acts on ([] for none), or None when the reference lacks it."""
    service, _, name = action.partition(":")
    actions = _table().get(service)
    if actions is None:
        return None
    return actions.get(name.lower())


def takes_no_resource(action: str) -> bool:
    return resource_types(action) == []


def extract() -> dict:
    """From cfn-lint's copy of the reference and parliament's (needs both)."""
    import cfnlint
    import parliament

    source = Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json"
    reference = json.loads(source.read_text())
    table = {service: {action: sorted(body.get("Resources", []))
                       for action, body in sorted(reference[service]["Actions"].items())}
             for service in SERVICES if service in reference}
    definitions = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
    arns: dict[str, dict[str, list[str]]] = {}
    for entry in definitions:
        if entry["prefix"] in SERVICES:
            for resource in entry["resources"]:
                listed = arns.setdefault(entry["prefix"], {}).setdefault(resource["resource"].lower(), [])
                if resource["arn"] not in listed:
                    listed.append(resource["arn"])
    return {"actions": table, "arns": {service: dict(sorted(types.items())) for service, types in sorted(arns.items())}}


def main() -> None:
    DATA.write_text(json.dumps(extract(), indent=0, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {DATA}")


if __name__ == "__main__":
    main()
