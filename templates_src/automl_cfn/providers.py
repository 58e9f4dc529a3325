"""What CloudFormation's resource providers say about each resource type.

The facts come from data, not memory: the provider schemas that cfn-lint
ships (`cfnlint/data/schemas`, us-east-1) give the create-only properties,
the primary identifier and the read-only properties; the botocore service
models give name limits the schemas leave out (load balancer and target
group names: "a maximum of 32 characters").  `python -m automl_cfn.providers`
extracts them for every resource type the templates use into
`data/providers.json` (committed; a test fails when it is stale), so the
deploy verbs read them without cfn-lint installed.

Two derived notions, used by the planner, the review and the local endpoint:

- **custom name**: a create-only string property named `Name` or
  `<end of the type name>Name` (BucketName, RoleName, GroupName of a
  SecurityGroup, ServiceName, ...).  CloudFormation refuses to replace a
  resource whose custom name (or whose settable primary identifier) stays
  the same: the new resource would collide with the old one, which is only
  deleted afterwards ("CloudFormation cannot update a stack when a
  custom-named resource requires replacing").
- **importable by name**: the primary identifier is one settable property,
  which is what `ImportExistingResources` needs (a bucket, a repository, a
  log group; not a secret, whose identifier is its ARN).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

DATA = Path(__file__).parent / "data" / "providers.json"
SCHEMA_REGION = "us-east-1"
PROPERTIES = "/properties/"

# Name limits the schemas do not state, from the botocore operation that
# creates the resource (its documentation gives the limit in words).
BOTOCORE_NAME_LIMITS = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("elbv2", "CreateLoadBalancer", "Name"),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ("elbv2", "CreateTargetGroup", "Name"),
    "AWS::CloudWatch::Dashboard": ("cloudwatch", "PutDashboard", "DashboardName"),   # "The maximum length is 255"
    "AWS::IAM::ManagedPolicy": ("iam", "CreatePolicy", "PolicyName"),
}
# The handlers a deploy invokes: create, read (import, drift), update and delete; not list.
HANDLERS = ("create", "read", "update", "delete")
LIMIT_IN_WORDS = re.compile(r"(?:(?:maximum of|up to) (\d+) (?:characters|letters)|maximum length is (\d+))",
                            re.IGNORECASE)


@dataclass(frozen=True)
class Provider:
    """The facts about one resource type that decide how it can change."""

    type: str
    create_only: tuple[str, ...]          # property paths such as "EncryptionConfiguration/KmsKey"
    primary_identifier: tuple[str, ...]   # property names
    read_only: tuple[str, ...]
    name_property: str | None             # the custom-name property, if the type has one
    name_max_length: int | None
    handlers: tuple[tuple[str, tuple[str, ...]], ...] = ()   # (handler, IAM actions it needs), per HANDLERS

    @property
    def permissions(self) -> tuple[str, ...]:
        """What any of its handlers (create, read, update, delete) needs."""
        return tuple(sorted({action for _, listed in self.handlers for action in listed}))

    def handler_permissions(self, handler: str) -> tuple[str, ...]:
        return dict(self.handlers).get(handler, ())

    def replaces_on(self, path: str) -> bool:
        """Does changing the property at `path` ("A/B/C") force a replacement?"""
        return any(path == p or path.startswith(p + "/") or p.startswith(path + "/") for p in self.create_only)

    @property
    def settable_identifier(self) -> bool:
        """The primary identifier is made only of properties a template sets."""
        return bool(self.primary_identifier) and not set(self.primary_identifier) & set(self.read_only)

    @property
    def importable_by_name(self) -> bool:
        """What ImportExistingResources can adopt: one settable identifier property."""
        return self.settable_identifier and len(self.primary_identifier) == 1

    def identity(self, properties: dict[str, Any]) -> tuple | None:
        """The values that make two resources of this type the same physical thing, if the template sets them."""
        keys = list(self.primary_identifier) if self.settable_identifier else []
        if self.name_property and self.name_property not in keys:
            keys.append(self.name_property)
        values = tuple(properties.get(k) for k in keys)
        return values if keys and all(v is not None for v in values) else None


# -- what a resource's handlers call, given its properties ------------------------------------------------

# The IAM prefix of a type's own service, where it is not the type's namespace in lower case.
OWN_SERVICE = {"ElasticLoadBalancingV2": "elasticloadbalancing", "ApplicationAutoScaling": "application-autoscaling",
               "StepFunctions": "states"}
# Services that check the caller's own permissions on another service whatever the properties say.
# Application Auto Scaling validates that the caller may create and delete the CloudWatch alarms of a
# target tracking policy before it acts ("Permissions validation for Application Auto Scaling API calls
# on target resources", docs.aws.amazon.com/autoscaling/application/userguide/security_iam_permission_validation.html;
# docs.aws.amazon.com/AmazonECS/latest/developerguide/auto-scaling-IAM.html lists the calls).
VALIDATED_BY_THE_SERVICE = {
    "AWS::ApplicationAutoScaling::ScalableTarget": {"cloudwatch"},
    "AWS::ApplicationAutoScaling::ScalingPolicy": {"cloudwatch"},
}
CREATE_SERVICE_LINKED_ROLE = "iam:CreateServiceLinkedRole"
# Object-level actions a bucket's handler lists name (the Service Authorization Reference has them act on
# objects, `bucket/key`, not on the bucket).  No template property names an object, so a handler has none
# of ours to call them on; asking them would give CI the power to delete the environment's data.  Left
# out, said plainly: if the handler ever called them, a deploy would fail with AccessDenied, not lose data.
NO_OBJECT_OF_OURS = {"AWS::S3::Bucket": {"s3:DeleteObject", "s3:PutObjectAcl"}}


def own_service(resource_type: str) -> str:
    namespace = resource_type.split("::")[1]
    return OWN_SERVICE.get(namespace, namespace.lower())


def needed(resource_type: str, permissions: Iterable[str], referred: set[str],
           known: Callable[[str], bool]) -> set[str]:
    """The handler actions a resource needs: those of its own service, and those of another service only
    when its properties refer to that service (`referred`: an ARN of it, a role to pass, a KMS key, subnet
    or security group IDs for EC2...) or the service checks the caller's permissions there itself
    (VALIDATED_BY_THE_SERVICE).  The rest come from handler lists written for properties these templates
    never set (S3 Tables for a bucket, Lambda for a scalable target, Cognito for a listener).  Actions IAM
    does not know (`known` false: API names in the lists), iam:CreateServiceLinkedRole (granted by
    service name) and the object actions of NO_OBJECT_OF_OURS are left out.  One rule for the CI role that grants (deploy_role/needs.py) and the local
    endpoint that asks (local_aws/policy/handlers.py)."""
    wanted = {own_service(resource_type)} | referred | VALIDATED_BY_THE_SERVICE.get(resource_type, set())
    unused = NO_OBJECT_OF_OURS.get(resource_type, set())
    return {action for action in permissions if known(action) and action != CREATE_SERVICE_LINKED_ROLE
            and action not in unused and action.split(":", 1)[0] in wanted}


def to_dict(provider: Provider) -> dict:
    return {"createOnly": list(provider.create_only), "primaryIdentifier": list(provider.primary_identifier),
            "readOnly": list(provider.read_only), "nameProperty": provider.name_property,
            "nameMaxLength": provider.name_max_length,
            "handlers": {handler: list(listed) for handler, listed in provider.handlers}}


@lru_cache(maxsize=1)
def _committed() -> dict[str, dict]:
    return json.loads(DATA.read_text()) if DATA.exists() else {}


@lru_cache(maxsize=None)
def get(resource_type: str) -> Provider:
    """The facts for a type: the committed extract, else cfn-lint's schemas, else nothing known."""
    entry = _committed().get(resource_type)
    if entry is None:
        try:
            return extract(resource_type)
        except (ImportError, KeyError, FileNotFoundError):
            return Provider(resource_type, (), (), (), None, None)
    return Provider(resource_type, tuple(entry["createOnly"]), tuple(entry["primaryIdentifier"]),
                    tuple(entry["readOnly"]), entry["nameProperty"], entry["nameMaxLength"],
                    tuple((h, tuple(listed)) for h, listed in entry.get("handlers", {}).items()))


# ---------------------------------------------------------------------------
# extraction (needs cfn-lint and botocore)
# ---------------------------------------------------------------------------

def schema_directory() -> Path:
    import cfnlint

    return Path(cfnlint.__file__).parent / "data" / "schemas"


@lru_cache(maxsize=1)
def _registry() -> dict[str, str]:
    return json.loads((schema_directory() / "providers" / f"{SCHEMA_REGION}.json").read_text())


def schema(resource_type: str) -> dict:
    digest = _registry()[resource_type]
    return json.loads((schema_directory() / "resources" / f"{digest}.json").read_text())


def _paths(pointers: Iterable[str]) -> tuple[str, ...]:
    return tuple(p[len(PROPERTIES):] for p in pointers if p.startswith(PROPERTIES))


def extract(resource_type: str) -> Provider:
    document = schema(resource_type)
    create_only = _paths(document.get("createOnlyProperties", []))
    read_only = _paths(document.get("readOnlyProperties", []))
    identifier = _paths(document.get("primaryIdentifier", []))
    name = custom_name_property(resource_type, document, create_only, read_only)
    limit = None
    if name:
        limit = document["properties"].get(name, {}).get("maxLength") or botocore_name_limit(resource_type)
    handlers = document.get("handlers", {})
    listed = tuple((h, tuple(sorted(set(handlers.get(h, {}).get("permissions", []))))) for h in HANDLERS)
    return Provider(resource_type, create_only, identifier, read_only, name, limit, listed)


def custom_name_property(resource_type: str, document: dict, create_only, read_only) -> str | None:
    """`Name`, or `<X>Name` where the type's name ends in X (RoleName of a Role, GroupName of a
    SecurityGroup, but not GroupName of a SecurityGroupIngress), create-only and a string."""
    short = resource_type.rsplit("::", 1)[-1]
    for prop in create_only:
        spec = document["properties"].get(prop, {})
        if "/" in prop or prop in read_only or spec.get("type") != "string" or not prop.endswith("Name"):
            continue
        if short.endswith(prop[:-len("Name")]):
            return prop
    return None


def botocore_name_limit(resource_type: str) -> int | None:
    if resource_type not in BOTOCORE_NAME_LIMITS:
        return None
    import botocore.session

    service, operation, member = BOTOCORE_NAME_LIMITS[resource_type]
    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).input_shape.members[member]
    if shape.metadata.get("max"):
        return int(shape.metadata["max"])
    found = LIMIT_IN_WORDS.search(re.sub(r"<[^>]+>", "", shape.documentation or ""))
    return int(found.group(1) or found.group(2)) if found else None


def template_types(documents: Iterable[dict]) -> set[str]:
    return {body["Type"] for doc in documents for body in doc.get("Resources", {}).values()}


def extract_all(types: Iterable[str]) -> dict[str, dict]:
    return {t: to_dict(extract(t)) for t in sorted(types)}


def main(argv: list[str] | None = None) -> int:
    """Write data/providers.json for every type in generated/templates and generated/account (run from the
    project directory)."""
    import sys

    from .synth import read_account_documents, read_generated_documents

    project = Path(argv[0] if argv else ".")
    documents = [*read_generated_documents(project / "generated").values(),
                 *read_account_documents(project / "generated").values()]
    extracted = extract_all(template_types(documents))
    DATA.write_text(json.dumps(extracted, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA} ({len(extracted)} resource types)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
