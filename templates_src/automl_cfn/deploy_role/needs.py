"""What deploying the templates needs, read from every configuration they are deployed with.

The configurations are every config/*.yaml, the full-featured one (settings.FULL_FEATURED) and the
environment the roles are for, each renamed to that environment (its project name and environment name)
and evaluated as a deploy would: conditions chosen, every nested stack wired by the root
(evaluate.environment), a value only a deploy knows left as a Symbol naming its resource.  So what no
configuration deploys is not granted, and a feature switched on later with `--var` is still covered.

From each resource that exists:

- the handler actions it needs (the provider schema's create, read, update and delete permissions),
  kept by `needed` below;
- for a role: the services its trust policy names (iam:PassedToService), the managed policies it attaches
  (iam:PolicyARN) and the actions its own policies allow (the permissions boundary's basis);
- the service-linked roles its type makes AWS create on first use (iam:AWSServiceName).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from .. import providers
from ..intrinsics import Expression, Symbol
from ..settings import Settings, with_overrides
from . import reference

# The service-linked role a type makes AWS create on first use, which needs the caller's
# iam:CreateServiceLinkedRole for that service name.  None: the handler lists the action for a property
# the value decides (ScalableTarget: `<ServiceNamespace>.application-autoscaling.amazonaws.com`) or for a
# case the templates never configure (flow logs and pipes: log delivery to S3 or Firehose only).
#   ECS:  docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
#   ELB:  docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-service-linked-roles.html
#   Application Auto Scaling: docs.aws.amazon.com/autoscaling/application/userguide/
#                             application-auto-scaling-service-linked-roles.html
SERVICE_LINKED_ROLES: dict[str, str | None] = {
    "AWS::ECS::Cluster": "ecs.amazonaws.com",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "elasticloadbalancing.amazonaws.com",
    "AWS::ApplicationAutoScaling::ScalableTarget": None,
    "AWS::EC2::FlowLog": None,
    "AWS::Pipes::Pipe": None,
}
CREATE_SERVICE_LINKED_ROLE = providers.CREATE_SERVICE_LINKED_ROLE
IMAGE_TAG = "v1"   # any tag: what matters is that there is one
ARN_IN_TEXT = re.compile(r"arn:(?:aws[a-z-]*|\$\{AWS::Partition\}):([a-z0-9-]+):")
EC2_ID = re.compile(r"^(?:vpc|subnet|sg)-[0-9a-f]{8,17}$")

TypeOf = Callable[[str, str], str]   # (stack, logical ID) -> resource type


own_service = providers.own_service


def referred_services(value: Any, type_of: TypeOf) -> set[str]:
    """The services a property value points into: an ARN of theirs, a resource of theirs (a Ref or
    GetAtt, here or in another stack), or EC2 IDs (subnets, security groups, VPCs given by settings)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for child in value.values():
            found |= referred_services(child, type_of)
    elif isinstance(value, list):
        for child in value:
            found |= referred_services(child, type_of)
    elif isinstance(value, Symbol):
        found.add(own_service(type_of(value.where, value.logical_id)))
    elif isinstance(value, Expression):
        found |= set(ARN_IN_TEXT.findall(value.text))
        for key in value.symbols:
            where, _, rest = key.partition("/")
            found.add(own_service(type_of(where, rest.split(".", 1)[0])))
    elif isinstance(value, str):
        found |= set(ARN_IN_TEXT.findall(value))
        if EC2_ID.match(value):
            found.add("ec2")
    return found


def needed(resource_type: str, properties: Mapping[str, Any], type_of: TypeOf) -> set[str]:
    """The handler actions a resource needs (providers.needed), the services it refers to read from its
    template values."""
    return providers.needed(resource_type, providers.get(resource_type).permissions,
                            referred_services(dict(properties), type_of), reference.known)


@dataclass
class Needs:
    """What the configurations deploy, as the CI roles and the boundary need it."""

    actions: set[str] = field(default_factory=set)           # handler actions, after `needed`
    types: set[str] = field(default_factory=set)
    passed_to: set[str] = field(default_factory=set)         # services the templates' roles trust
    managed_policies: set[str] = field(default_factory=set)  # ARNs the roles attach, partition as ${AWS::Partition}
    service_linked: set[str] = field(default_factory=set)    # iam:AWSServiceName values
    role_actions: set[str] = field(default_factory=set)      # what the roles' own policies allow
    role_arns: dict[str, set[str]] = field(default_factory=dict)  # action -> literal ARNs the roles name
    names: dict[str, set[str]] = field(default_factory=dict)  # resource type -> physical names it is given

    def add(self, resource_type: str, properties: Mapping[str, Any], type_of: TypeOf) -> None:
        self.types.add(resource_type)
        self.actions |= needed(resource_type, properties, type_of)
        if CREATE_SERVICE_LINKED_ROLE in providers.get(resource_type).permissions or \
                resource_type in SERVICE_LINKED_ROLES:
            self.service_linked |= service_linked_role(resource_type, properties)
        name = providers.get(resource_type).name_property
        if name and isinstance(properties.get(name), str):
            self.names.setdefault(resource_type, set()).add(properties[name])
        if resource_type == "AWS::IAM::Role":
            self.add_role(properties)

    def add_role(self, properties: Mapping[str, Any]) -> None:
        for statement in properties.get("AssumeRolePolicyDocument", {}).get("Statement", []):
            services = statement.get("Principal", {}).get("Service", [])
            self.passed_to |= set([services] if isinstance(services, str) else services)
        for arn in properties.get("ManagedPolicyArns", []):
            self.managed_policies.add(str(arn).replace("arn:aws:", "arn:${AWS::Partition}:", 1))
        for policy in properties.get("Policies", []):
            for statement in policy.get("PolicyDocument", {}).get("Statement", []):
                listed = statement.get("Action", [])
                listed = [listed] if isinstance(listed, str) else listed
                self.role_actions |= set(listed)
                resources = statement.get("Resource", [])
                for arn in [resources] if isinstance(resources, str) else resources:
                    if isinstance(arn, str) and arn.startswith("arn:"):
                        for action in listed:
                            self.role_arns.setdefault(action, set()).add(arn)


def service_linked_role(resource_type: str, properties: Mapping[str, Any]) -> set[str]:
    if resource_type not in SERVICE_LINKED_ROLES:
        raise KeyError(f"{resource_type} lists {CREATE_SERVICE_LINKED_ROLE}: say in SERVICE_LINKED_ROLES which "
                       "service-linked role it makes AWS create, if any")
    if resource_type == "AWS::ApplicationAutoScaling::ScalableTarget":
        return {f"{properties['ServiceNamespace']}.application-autoscaling.amazonaws.com"}
    named = SERVICE_LINKED_ROLES[resource_type]
    return {named} if named else set()


def configurations(project: Path, settings: Settings) -> dict[str, Settings]:
    """Every config/*.yaml, the full-featured configuration and `settings` itself, renamed to `settings`'s
    project and environment; each also with an image tag, as every deploy after the first `build --push`
    has one (the prediction service scales only then)."""
    from ..scan import environments

    found = {**environments(project), settings.environment: settings}
    chosen = {}
    for name, each in found.items():
        renamed = with_overrides(each, project_name=settings.project_name, environment=settings.environment,
                                 adopted_names=settings.adopted_names)
        chosen[name] = renamed
        if not renamed.image_tag:
            chosen[f"{name}+image"] = with_overrides(renamed, image_tag=IMAGE_TAG)
    return chosen


def collect(documents: Mapping[str, dict], chosen: Iterable[Settings]) -> Needs:
    """What the configurations deploy, with the root stack and the artifacts stack (which every deploy
    creates or updates) included."""
    from ..evaluate import environment
    from ..parameters import parameter_values

    needs = Needs()
    for settings in chosen:
        values = {**parameter_values(settings), "TemplatesBucket": "templates-bucket", "TemplatesPrefix": "p/"}
        children = environment(documents, values, settings.aws_region)

        def type_of(where: str, logical_id: str) -> str:
            return documents[where]["Resources"][logical_id]["Type"]

        for name, evaluator in children.items():
            for logical_id, body in evaluator.resources().items():
                properties = evaluator.resolved(body.get("Properties", {})) or {}
                needs.add(body["Type"], properties, type_of)
        for name in ("root", "artifacts"):
            for body in documents[name]["Resources"].values():
                needs.add(body["Type"], {}, type_of)
    return needs
