"""Which IAM actions act on which resource types, from the Service Authorization Reference.

An action that acts on no resource type (ec2:DescribeVpcs, sqs:ListQueues,
cloudformation:ValidateTemplate) is evaluated against `*`: a statement that
grants it on a specific ARN does not apply, as in AWS
(reference_policies_actions-resources-contextkeys.html: "if the Resource types
column is empty, you must specify all resources (*)").

The facts come from cfn-lint's copy of the reference
(cfnlint/data/AdditionalSpecs/Policies.json), extracted for the services the
project and its tests call into `actions.json` beside this module, so the
endpoint reads them without cfn-lint installed.  Beside them: what each
resource type's CloudFormation handlers call (create, update, delete), from
the provider schemas cfn-lint ships, for every type the project's templates
use (automl_cfn/data/providers.json lists them).  `python -m
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


HANDLERS = ("create", "update", "delete")


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads(DATA.read_text())


def _table() -> dict[str, dict[str, list[str]]]:
    return _data()["actions"]


def handler_permissions(resource_type: str, handler: str) -> list[str]:
    """What CloudFormation's `handler` (create, update, delete) of the type calls, as IAM actions."""
    return _data()["handlers"].get(resource_type, {}).get(handler, [])


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
    """From cfn-lint's copy of the reference and its provider schemas (needs cfn-lint)."""
    import cfnlint

    from ... import providers

    source = Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json"
    reference = json.loads(source.read_text())
    table = {service: {action: sorted(body.get("Resources", []))
                       for action, body in sorted(reference[service]["Actions"].items())}
             for service in SERVICES if service in reference}
    handlers = {}
    for resource_type in sorted(json.loads(providers.DATA.read_text())):
        declared = providers.schema(resource_type).get("handlers", {})
        handlers[resource_type] = {h: sorted(set(declared.get(h, {}).get("permissions", []))) for h in HANDLERS}
    return {"actions": table, "handlers": handlers}


def main() -> None:
    DATA.write_text(json.dumps(extract(), indent=0, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {DATA}")


if __name__ == "__main__":
    main()
