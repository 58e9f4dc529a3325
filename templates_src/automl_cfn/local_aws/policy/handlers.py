"""What CloudFormation's resource handlers ask IAM for, as the caller of the stack operation.

Without a service role, CloudFormation calls each resource type's handlers
with the credentials of whoever called CreateStack, ExecuteChangeSet or
DeleteStack (using-iam-servicerole.html: "CloudFormation uses a temporary
session that it generates from your user credentials"), so that caller needs
what the handlers need.  The provider schemas list it per handler
(`handlers.create.permissions` ...; actions.py extracts them).

The schemas list what a handler may call for any property; which of it a
resource needs is providers.needed's rule, the one the CI role is granted by.
For one resource:

- an action of the type's own service is asked on the resource's own ARN,
  or on the ARN of the type it acts on filled from the own one (an object
  under the bucket), or on `*` if it acts on no resource type; with
  aws:RequestTag/* on create and aws:ResourceTag/* after it, from the tags;
- iam:PassRole is asked for each role ARN its properties name, with
  iam:PassedToService set to the service the type hands roles to;
- a KMS action on each key its properties name, the key policy included;
- another service's action on the resources of it the properties name.

Approximations, said plainly: an EC2 action on another EC2 resource than the
one created (AssociateRouteTable on the subnet) is asked on the created
resource's ARN, and a name CloudFormation generates is asked as `*` in its
ARN.  Stack-set instances run as their execution role in the target account,
which the endpoint does not model: they are not asked.

Tests: tests/integration/test_deploy_role_on_the_endpoint.py.
"""

from __future__ import annotations

import re
from typing import Any

from ... import providers
from . import actions, enforce, principals
from .requests import Ask, key_ask


# The service principal each type hands a role to (iam:PassedToService).
PASSED_TO = {
    "AWS::ECS::TaskDefinition": "ecs-tasks.amazonaws.com", "AWS::ECS::Service": "ecs.amazonaws.com",
    "AWS::StepFunctions::StateMachine": "states.amazonaws.com", "AWS::Scheduler::Schedule": "scheduler.amazonaws.com",
    "AWS::Pipes::Pipe": "pipes.amazonaws.com", "AWS::EC2::FlowLog": "vpc-flow-logs.amazonaws.com",
    "AWS::Events::Rule": "events.amazonaws.com", "AWS::Config::ConfigurationRecorder": "config.amazonaws.com",
    "AWS::ApplicationAutoScaling::ScalableTarget": "application-autoscaling.amazonaws.com",
    "AWS::CloudFormation::Stack": "cloudformation.amazonaws.com",
}
# The ARN of the resource itself: {name} is its name (or physical ID), other {X} its properties.
OWN_ARN = {
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::S3::BucketPolicy": "arn:aws:s3:::{Bucket}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::SNS::Subscription": "{TopicArn}",
    "AWS::IAM::Role": "arn:aws:iam::{account}:role{Path}{name}",
    "AWS::IAM::ManagedPolicy": "arn:aws:iam::{account}:policy{Path}{name}",
    "AWS::IAM::Policy": "arn:aws:iam::{account}:policy/{name}",
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/{id}",
    "AWS::KMS::Alias": "arn:aws:kms:{region}:{account}:{AliasName}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "AWS::ECR::Repository": "arn:aws:ecr:{region}:{account}:repository/{name}",
    "AWS::ECS::Cluster": "arn:aws:ecs:{region}:{account}:cluster/{name}",
    "AWS::ECS::ClusterCapacityProviderAssociations": "arn:aws:ecs:{region}:{account}:cluster/{Cluster}",
    "AWS::ECS::Service": "arn:aws:ecs:{region}:{account}:service/{ClusterName}/{name}",
    "AWS::ECS::TaskDefinition": "arn:aws:ecs:{region}:{account}:task-definition/{Family}:*",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "AWS::Events::Rule": "arn:aws:events:{region}:{account}:rule/{name}",
    "AWS::Scheduler::Schedule": "arn:aws:scheduler:{region}:{account}:schedule/{GroupName}/{name}",
    "AWS::Pipes::Pipe": "arn:aws:pipes:{region}:{account}:pipe/{name}",
    "AWS::SecretsManager::Secret": "arn:aws:secretsmanager:{region}:{account}:secret:{name}-*",
    "AWS::CloudWatch::Alarm": "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
    "AWS::CloudWatch::Dashboard": "arn:aws:cloudwatch::{account}:dashboard/{name}",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/"
                                                 "{name}/*",
    "AWS::ElasticLoadBalancingV2::TargetGroup": "arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/{name}/*",
    "AWS::ApplicationAutoScaling::ScalableTarget": "arn:aws:application-autoscaling:{region}:{account}:"
                                                   "scalable-target/*",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "arn:aws:application-autoscaling:{region}:{account}:"
                                                  "scalable-target/*",
    "AWS::Config::ConfigRule": "arn:aws:config:{region}:{account}:config-rule/*",
    "AWS::Config::ConfigurationRecorder": "arn:aws:config:{region}:{account}:configuration-recorder/{name}/*",
    "AWS::Config::ConformancePack": "arn:aws:config:{region}:{account}:conformance-pack/{name}/*",
    "AWS::Config::DeliveryChannel": "*",
    "AWS::CloudFormation::Stack": "{id}",
}
# EC2's resource types in ARNs (ec2:<type>/<id>), by CloudFormation type.
EC2_KIND = {"VPC": "vpc", "Subnet": "subnet", "SecurityGroup": "security-group", "SecurityGroupIngress":
            "security-group", "RouteTable": "route-table", "Route": "route-table", "InternetGateway":
            "internet-gateway", "VPCGatewayAttachment": "internet-gateway", "NatGateway": "natgateway",
            "EIP": "elastic-ip", "VPCEndpoint": "vpc-endpoint", "FlowLog": "vpc-flow-log",
            "SubnetRouteTableAssociation": "route-table"}
EC2_ID = re.compile(r"^(vpc|subnet|sg|rtb|igw|nat|eipalloc|vpce|fl)-[0-9a-f]+$")
KEY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ARN = re.compile(r"^arn:aws[a-z-]*:([a-z0-9-]+):")


def own_arns(resource_type: str, props: dict, name: str, physical_id: str, region: str, account: str) -> list[str]:
    """The ARNs the resource's own actions act on: its own, or, for a policy resource, those of the queues or
    topics it is attached to."""
    if resource_type == "AWS::SQS::QueuePolicy":
        return [f"arn:aws:sqs:{region}:{account}:{str(url).rstrip('/').split('/')[-1]}"
                for url in props.get("Queues") or []]
    if resource_type == "AWS::SNS::TopicPolicy":
        return [str(topic) for topic in props.get("Topics") or []]
    if physical_id.startswith("arn:"):
        return [physical_id]      # the ARN the service gave it (a topic, a listener, a task definition ...)
    if resource_type == "AWS::ElasticLoadBalancingV2::Listener":
        return [str(props.get("LoadBalancerArn", "*")).replace(":loadbalancer/", ":listener/") + "/*"]
    if resource_type == "AWS::ElasticLoadBalancingV2::ListenerRule":
        return [str(props.get("ListenerArn", "*")).replace(":listener/", ":listener-rule/") + "/*"]
    if resource_type.startswith("AWS::EC2::"):
        kind = EC2_KIND.get(resource_type.split("::")[2], "*")
        identifier = physical_id if physical_id and EC2_ID.match(physical_id) else "*"
        return [f"arn:aws:ec2:{region}:{account}:{kind}/{identifier}"]
    template = OWN_ARN.get(resource_type, "*")
    if template == "{TopicArn}":
        return [str(props.get("TopicArn", "*"))]
    values = {"region": region, "account": account, "name": name or "*", "id": physical_id or "*",
              "Path": props.get("Path") or "/", "GroupName": props.get("GroupName") or "default",
              "ClusterName": str(props.get("Cluster") or "default").split("/")[-1]}
    return [re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), props.get(m.group(1), "*"))), template)]


def referenced(props: Any) -> dict[str, set[str]]:
    """ARNs (by service) and EC2 IDs that the properties name; "role" for IAM role ARNs."""
    found: dict[str, set[str]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            match = ARN.match(value)
            if match:
                service = match.group(1)
                if service == "iam" and ":role/" in value:
                    found.setdefault("role", set()).add(value)
                found.setdefault(service, set()).add(value)
            elif EC2_ID.match(value):
                found.setdefault("ec2", set()).add(value)
            elif value.startswith("alias/") or KEY_ID.match(value):
                found.setdefault("kms", set()).add(value)

    walk(props)
    return found


def asks(resource_type: str, handler: str, props: dict, name: str, physical_id: str, region: str, account: str,
         tags: dict[str, str], old: dict | None = None) -> list[Ask]:
    """What the `handler` of one resource asks IAM for (providers.needed decides which actions; an update of a
    type in UPDATE_CALLS asks only what its changed properties call)."""
    own = providers.own_service(resource_type)
    own_resources = own_arns(resource_type, props, name, physical_id, region, account)
    # A nested stack's parameters are values its template reads, not resources its handler acts on.
    named = referenced({k: v for k, v in props.items() if not (resource_type == "AWS::CloudFormation::Stack"
                                                                 and k == "Parameters")})
    # The resource carries its tags from its first call on (CloudFormation tags on create); the create
    # call itself sends them (aws:RequestTag), its later calls find them (aws:ResourceTag).
    tag_context = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    if handler == "create" and tags:
        tag_context.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
        tag_context["aws:TagKeys"] = sorted(tags)
    wanted = providers.needed(resource_type, providers.get(resource_type).handler_permissions(handler),
                              set(named) - {"role"}, lambda action: actions.resource_types(action) is not None)
    if handler == "update" and resource_type in UPDATE_CALLS and old is not None:
        called, props = UPDATE_CALLS[resource_type](old, props)
        wanted = {a for a in wanted if a.split(":")[0] != providers.own_service(resource_type) or a in called}
    found: list[Ask] = []
    for action in sorted(wanted):
        service = action.split(":")[0]
        if action == "iam:PassRole":
            passed = PASSED_TO.get(resource_type, f"{own}.amazonaws.com")
            found += [Ask(action, role, {"iam:PassedToService": passed}) for role in sorted(named.get("role", ()))]
        elif service == own:
            for own_resource in own_resources:
                found += own_asks(resource_type, action, resource_of(action, own_resource), props, tag_context)
        elif service == "kms":
            found += [key_ask(action, key, region, account) for key in sorted(named["kms"])]
        else:
            targets = sorted(named[service]) if actions.resource_types(action) else ["*"]
            found += [Ask(action, target, {}) for target in targets]
    return found


def resource_of(action: str, own_resource: str) -> str:
    """The ARN `action` is asked on: `*` if it takes none; the resource's own ARN if it acts on the
    resource's type; else the ARN of the type it acts on, filled with what the own ARN says (a bucket's
    name in an object's ARN) and `*` for the rest."""
    types = [t.lower() for t in actions.resource_types(action) or []]
    if not types:
        return "*"
    formats = actions.arn_formats(action.split(":")[0])
    own_type, values = matched_type(formats, own_resource)
    if own_type is None or own_type in types:
        return own_resource
    for kind in types:
        for fmt in formats.get(kind, []):
            return VARIABLE.sub(lambda m: values.get(m.group(1), "*"), fmt)
    return own_resource


VARIABLE = re.compile(r"\$\{(\w+)\}")


def matched_type(formats: dict[str, list[str]], arn: str) -> tuple[str | None, dict[str, str]]:
    """The resource type whose ARN format `arn` fits, and the values of the format's variables."""
    for kind, listed in formats.items():
        for fmt in listed:
            names = VARIABLE.findall(fmt)
            pattern = re.escape(fmt)
            for index, variable in enumerate(names):
                group = ".+" if index == len(names) - 1 else "[^/:]+"
                pattern = pattern.replace(re.escape(f"${{{variable}}}"), f"(?P<{variable}>{group})", 1)
            match = re.fullmatch(pattern, arn)
            if match:
                return kind, {k: v for k, v in match.groupdict().items()
                              if k not in ("Partition", "Region", "Account")} | {
                    "Partition": "aws", "Region": arn.split(":")[3], "Account": arn.split(":")[4]}
    return None, {}


def role_update_calls(old: dict, new: dict) -> tuple[set[str], dict]:
    """The IAM calls an update of a role makes, by what changed (the IAM API reference: each property has its
    own call), and the properties the calls are about (the managed policies attached or detached)."""
    called: set[str] = set()
    if old.get("AssumeRolePolicyDocument") != new.get("AssumeRolePolicyDocument"):
        called.add("iam:UpdateAssumeRolePolicy")
    before = {p.get("PolicyName"): p.get("PolicyDocument") for p in old.get("Policies") or []}
    after = {p.get("PolicyName"): p.get("PolicyDocument") for p in new.get("Policies") or []}
    if any(before.get(name) != document for name, document in after.items()):
        called.add("iam:PutRolePolicy")
    if set(before) - set(after):
        called.add("iam:DeleteRolePolicy")
    attached, detached = (set(new.get("ManagedPolicyArns") or []) - set(old.get("ManagedPolicyArns") or []),
                          set(old.get("ManagedPolicyArns") or []) - set(new.get("ManagedPolicyArns") or []))
    called |= {"iam:AttachRolePolicy"} if attached else set()
    called |= {"iam:DetachRolePolicy"} if detached else set()
    if old.get("PermissionsBoundary") != new.get("PermissionsBoundary"):
        called.add("iam:PutRolePermissionsBoundary" if new.get("PermissionsBoundary") else
                   "iam:DeleteRolePermissionsBoundary")
    if old.get("Description") != new.get("Description") or old.get("MaxSessionDuration") != new.get(
            "MaxSessionDuration"):
        called |= {"iam:UpdateRole", "iam:UpdateRoleDescription"}
    if old.get("Tags") != new.get("Tags"):
        called |= {"iam:TagRole", "iam:UntagRole"}
    about = dict(new, ManagedPolicyArns=sorted(attached | detached))
    return called, about


UPDATE_CALLS = {"AWS::IAM::Role": role_update_calls}


def own_asks(resource_type: str, action: str, resource: str, props: dict, context: dict) -> list[Ask]:
    """An action on the resource itself, with the condition keys its service adds: a role's boundary
    (iam:PermissionsBoundary) on every role action, and each managed policy it attaches (iam:PolicyARN):
    reference_policies_iam-condition-keys.html."""
    context = dict(context)
    if resource_type == "AWS::IAM::Role":
        if props.get("PermissionsBoundary"):
            context["iam:PermissionsBoundary"] = props["PermissionsBoundary"]
        if action in ("iam:AttachRolePolicy", "iam:DetachRolePolicy"):
            return [Ask(action, resource, {**context, "iam:PolicyARN": arn})
                    for arn in props.get("ManagedPolicyArns") or []]
    return [Ask(action, resource, context)]


def authorize(resource_type: str, handler: str, props: dict, name: str, physical_id: str, region: str,
              account: str, tags: dict[str, str], old: dict | None = None) -> None:
    """Raise AccessDenied unless the caller of the running stack operation may have the handler run."""
    running = enforce.STACK_CALLER.get()
    if running is None:
        return
    who, subject, context = running
    for ask in asks(resource_type, handler, props, name, physical_id, region, account, tags, old):
        enforce.check(who, subject, ask, region, context, channel="cloudformation")


def running_as(response):
    """Set the caller of a CloudFormation API action for the handlers it runs (a context manager)."""
    from contextlib import contextmanager

    @contextmanager
    def scope():
        who = principals.who(response.current_account, response.headers)
        if who.caller.kind not in ("role-session", "user"):
            yield
            return
        context = enforce.global_context(who.caller, response.region, True, who.tags)
        context.update({"aws:CalledVia": ["cloudformation.amazonaws.com"], "aws:ViaAWSService": "true",
                        "aws:CalledViaFirst": "cloudformation.amazonaws.com"})
        token = enforce.STACK_CALLER.set((who.caller, who.subject, context))
        try:
            yield
        finally:
            enforce.STACK_CALLER.reset(token)

    return scope()
