"""Actions -> statements scoped to one environment's resources, by ARN where AWS names a resource after
what the templates call it, by the project's tags where AWS names it only once it exists.

For each action and each resource type it acts on (reference.resource_types):

- a type the project names (NAMED below: stacks, roles, buckets, queues, log groups...): the
  environment's ARN patterns, `<project>-<environment>-...`;
- a type whose ARN carries an ID (EC2's, a KMS key, a scalable target) or a name CloudFormation
  generates (load balancers, their target groups, listeners and rules): every ARN of that type in the
  account, held to the environment by its tags (every resource carries Project and Environment,
  stacks.base.tags()).  `aws:RequestTag` where the action tags a resource it creates, `aws:ResourceTag`
  where it acts on one that exists, both where it may do either (CreateTags, RegisterScalableTarget);
  a condition is written only on an action the reference says takes that key;
- the other types a creating action names are where the new, tagged resource goes: a parent every call
  names (the subnet of a NAT gateway, the VPC of a subnet) is the project's and held to its tags; one
  the request may name (the VPC of a security group, the route tables of an endpoint) may be a VPC the
  settings name (existing_vpc_id), which the project does not tag: every ARN of that type, no condition;
- an action that takes no resource ARN (Describe and List calls, kms:CreateKey): "*", with the
  request's tags as the condition where it creates something and takes the key.

The boundary mode scopes the same way by name and leaves everything else on "*": a role's permissions
boundary is a ceiling for the roles' own policies, which hold the exact ARNs, and a tag condition there
would break the customer keys and secrets the settings may name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import reference
from .reference import REQUEST_TAG, RESOURCE_TAG

ARTIFACTS_STACK = "automl-cfn-artifacts"   # deploy/artifacts.py STACK_NAME: one per account and region
CHANGE_SET_PREFIX = "automl-cfn-"          # every change set the tool creates (plan.py, artifacts.py)
STEP_FUNCTIONS_ECS_RULE = "StepFunctionsGetEventsForECSTaskRule"   # the rule a .sync ECS integration manages
# Types whose ARN the project cannot name in advance, which its resources carry the tags of.
TAGGED = {
    "ec2": {"vpc", "subnet", "route-table", "internet-gateway", "natgateway", "elastic-ip", "security-group",
            "security-group-rule", "vpc-endpoint", "vpc-flow-log"},
    "kms": {"key"},
    "application-autoscaling": {"ScalableTarget"},
    "elasticloadbalancing": {"loadbalancer/app/", "targetgroup", "listener/app", "listener-rule/app"},
}
RESOURCE, REQUEST, NONE = "resource", "request", "none"


@dataclass(frozen=True)
class Scope:
    """One environment's names, in one partition and account ("*" for any)."""

    project: str
    environment: str
    partition: str = "aws"
    account: str = "*"
    log_groups: tuple[str, ...] = ()                   # exact names (they do not start with the prefix)
    adopted: dict = field(default_factory=dict, hash=False)   # settings.adopted_names
    given: tuple[tuple[str, str], ...] = ()            # (service:type, ARN) the settings name from outside
    network: str = ""                                  # existing_vpc_id: a VPC preflight reads, not the project's

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.environment}"

    def arn(self, service: str, rest: str, region: str = "*", account: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account if account else ''}:{rest}"

    @property
    def boundary_arn(self) -> str:
        return self.arn("iam", f"policy/{self.prefix}-boundary", region="")

    @property
    def artifacts_bucket(self) -> str:
        return f"arn:{self.partition}:s3:::{ARTIFACTS_STACK}-{self.account}-*"

    def tags(self, kind: str) -> dict:
        key = "aws:RequestTag" if kind == REQUEST else "aws:ResourceTag"
        return {"StringEquals": {f"{key}/Project": self.project, f"{key}/Environment": self.environment}}


def named(scope: Scope) -> dict[str, list[str]]:
    """service:type -> the environment's ARN patterns for the types the project names."""
    p, arn = scope.prefix, scope.arn
    adopted_repositories = list((scope.adopted.get("repositories") or {}).values())
    adopted_buckets = [scope.adopted["data_bucket"]] if scope.adopted.get("data_bucket") else []
    buckets = [f"arn:{scope.partition}:s3:::{name}" for name in [f"{p}-*", *adopted_buckets]]
    log_groups = sorted(set(scope.log_groups) | set((scope.adopted.get("log_groups") or {}).values()))
    patterns = {
        "cloudformation:stack": [arn("cloudformation", f"stack/{p}/*"), arn("cloudformation", f"stack/{p}-*Stack-*/*"),
                                 arn("cloudformation", f"stack/{ARTIFACTS_STACK}/*")],
        "cloudformation:changeset": [arn("cloudformation", f"changeSet/{CHANGE_SET_PREFIX}*/*")],
        "cloudformation:stackset": [arn("cloudformation", f"stackset/{p}:*")],
        "cloudformation:stackset-target": [arn("cloudformation", f"stackset-target/{p}:*")],
        "cloudformation:type": [arn("cloudformation", "type/resource/*", account=False)],
        "iam:role": [arn("iam", f"role/{p}-*", region="")],
        "iam:policy": [scope.boundary_arn],
        "ecr:repository": [arn("ecr", f"repository/{name}") for name in [f"{p}-*", *adopted_repositories]],
        # The artifacts bucket's own stack is the tool's to create and update; its objects are the
        # tool's to write key by key (deploy_role.artifacts_statements), not the handlers'.
        "s3:bucket": buckets + [scope.artifacts_bucket],
        "s3:object": [f"{bucket}/*" for bucket in buckets],
        "logs:log-group": [arn("logs", f"log-group:{name}{suffix}") for name in log_groups for suffix in ("", ":*")],
        "logs:log-stream": [arn("logs", f"log-group:{name}:log-stream:*") for name in log_groups],
        "sns:topic": [arn("sns", f"{p}-*")],
        "sqs:queue": [arn("sqs", f"{p}-*")],
        "states:statemachine": [arn("states", f"stateMachine:{p}-*")],
        "states:execution": [arn("states", f"execution:{p}-*:*")],
        # Target tracking alarms are named by Application Auto Scaling after the scaled ECS service.
        "cloudwatch:alarm": [arn("cloudwatch", f"alarm:{p}-*"),
                             arn("cloudwatch", f"alarm:TargetTracking-service/{p}-*")],
        "cloudwatch:dashboard": [arn("cloudwatch", f"dashboard/{p}-*", region="")],
        "secretsmanager:Secret": [arn("secretsmanager", f"secret:{scope.project}/{scope.environment}/*")],
        "events:rule-on-default-event-bus": [arn("events", f"rule/{p}-*")],
        "scheduler:schedule": [arn("scheduler", f"schedule/default/{p}-*")],
        "pipes:pipe": [arn("pipes", f"pipe/{p}-*")],
        "ecs:cluster": [arn("ecs", f"cluster/{p}-*")],
        "ecs:service": [arn("ecs", f"service/{p}-*/{p}-*")],
        "ecs:task-definition": [arn("ecs", f"task-definition/{p}-*:*")],
        "ecs:task": [arn("ecs", f"task/{p}-*/*")],
        "ecs:service-deployment": [arn("ecs", f"service-deployment/{p}-*/*")],
        "kms:alias": [arn("kms", f"alias/{p}")],
    }
    for key, given in scope.given:
        patterns.setdefault(key, []).append(given)
    return patterns


def created_types(action: str, types: list[str]) -> set[str]:
    """The types the action creates: those every call is authorized against (required) for which it
    takes the request's tags and no existing resource's."""
    return {t for t in types if t in reference.required_types(action)
            and REQUEST_TAG in (keys := reference.condition_keys(action, t)) and RESOURCE_TAG not in keys
            and t in TAGGED.get(reference.service(action), set())}


def grants(action: str, scope: Scope, boundary: bool = False) -> list[tuple[str, tuple[str, ...]]]:
    """(condition kind, resources) pairs that together let `action` act on the environment's resources."""
    service = reference.service(action)
    types = reference.resource_types(action) or []
    patterns = named(scope)
    tagged = TAGGED.get(service, set())
    relevant = [t for t in types if f"{service}:{t}" in patterns or t in tagged]
    if not relevant and not (reference.access_level(action) and not reference.required_types(action)):
        relevant = types   # none of the project's types: every ARN of its own (ecs:DescribeCapacityProviders)
    if not relevant:   # no ARN at all, or only a type a call may name (a CloudWatch dataset): the call is on "*"
        return [(NONE, ("*",))]
    created = created_types(action, relevant)
    result: list[tuple[str, tuple[str, ...]]] = []
    for resource_type in relevant:
        own = patterns.get(f"{service}:{resource_type}")
        if own:
            result.append((NONE, tuple(own)))
        if boundary:
            if not own:
                return [(NONE, ("*",))]
            continue
        if own and resource_type not in tagged:
            continue
        everywhere = reference.arn_pattern(action, resource_type, scope.partition, scope.account) or "*"
        keys = reference.condition_keys(action, resource_type)
        if resource_type not in tagged:
            result.append((NONE, (everywhere,)))   # not a type the project creates (an AWS-owned one)
            continue
        if created and resource_type not in created:
            # Where the new resource goes: a parent every call names (the subnet of a NAT gateway) is the
            # project's; one the request may name (the VPC of a security group) may be the settings'.
            parent = resource_type in reference.required_types(action) and RESOURCE_TAG in keys
            result.append((RESOURCE if parent else NONE, (everywhere,)))
            continue
        kinds = [kind for kind, key in ((REQUEST, REQUEST_TAG), (RESOURCE, RESOURCE_TAG)) if key in keys
                 and not (kind == RESOURCE and resource_type in created)]
        result += [(kind, (everywhere,)) for kind in kinds] or [(NONE, (everywhere,))]
    return result


def star_condition(action: str) -> str:
    """An action on "*" that creates something and takes the request's tags is held to them."""
    name = action.split(":", 1)[1]
    creates = name.startswith(("Create", "Allocate", "Register"))
    return REQUEST if creates and REQUEST_TAG in reference.condition_keys(action) else NONE


def statements(actions: set[str], scope: Scope, sid_prefix: str = "", boundary: bool = False) -> list[dict]:
    """The actions as statements: by service, resources and condition.  An action's grants without a
    condition share one statement with the actions of its service on the same ARNs; its tag-conditioned
    grants share one statement per service and condition (the tags scope them, whatever the type)."""
    plain: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    tagged: dict[tuple[str, str, bool], tuple[set[str], set[str]]] = {}
    for action in sorted(actions):
        if reference.resource_types(action) is None:
            continue   # not an IAM action (an API name some handler list carries)
        service = reference.service(action)
        untagged: set[str] = set()
        for kind, resources in grants(action, scope, boundary):
            if kind == NONE:
                untagged |= set(resources)
            else:
                listed, arns = tagged.setdefault((service, kind, False), (set(), set()))
                listed.add(action)
                arns |= set(resources)
        if "*" in untagged and not boundary and star_condition(action) == REQUEST:
            listed, arns = tagged.setdefault((service, REQUEST, True), (set(), set()))
            listed.add(action)
            arns.add("*")
        elif untagged:
            plain.setdefault((service, ("*",) if "*" in untagged else tuple(sorted(untagged))), set()).add(action)
    rows = [(service, NONE, resources, listed) for (service, resources), listed in plain.items()]
    rows += [(service, kind, tuple(sorted(arns)), listed) for (service, kind, _), (listed, arns) in tagged.items()]
    result = []
    counters: dict[str, int] = {}
    for service, kind, resources, listed in sorted(rows, key=lambda row: row[:3]):
        base = sid_prefix + "".join(part.capitalize() for part in service.split("-")) + {
            NONE: "AnyResource" if resources == ("*",) else "ByArn",
            REQUEST: "NewWithTheProjectsTags", RESOURCE: "WithTheProjectsTags"}[kind]
        counters[base] = counters.get(base, 0) + 1
        statement = {"Sid": base + (str(counters[base]) if counters[base] > 1 else ""), "Effect": "Allow",
                     "Action": sorted(listed), "Resource": "*" if resources == ("*",) else list(resources)}
        if kind != NONE:
            statement["Condition"] = scope.tags(kind)
        result.append(statement)
    return result
