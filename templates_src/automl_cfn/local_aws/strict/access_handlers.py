"""The resources that say who may do what: roles, key policies, queue and topic policies, encrypted queues
and topics.  Created, and above all updated in place, as the services do.

moto's CloudFormation ignores most updates to them: a role keeps the inline
policies, managed policies, boundary and trust policy it was created with; a
managed policy its first document (and a document given as a JSON string is
refused); a key keeps its first key policy; a queue keeps its first encryption; a topic
is deleted and made again (losing its subscriptions and access policy); and
AWS::SQS::QueuePolicy, AWS::SNS::TopicPolicy and AWS::SNS::Subscription do not
reach the queue or the topic at all.  With the endpoint enforcing policies (../policy/), each of
these would let a test pass on rules a real account no longer has, or fail
on rules it never had.  Each handler below follows the resource type's
documented update behaviour (its provider schema: these properties are not
create-only, so CloudFormation changes them in place).

Test: tests/integration/test_permission_paths.py::test_policy_updates_reach_the_resources_in_place.
"""

from __future__ import annotations

import json

from .resources import PARTITION, Handler, HandlerError, MotoHandler, Placeholder, generated_name


def _document(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def checked(document, kind: str, size: str | None) -> str:
    """The document as text, if its service would store it (policy/validate.py); the refusal otherwise."""
    from ..policy.validate import InvalidPolicy, check

    try:
        check(document, kind, size)
    except InvalidPolicy as problem:
        raise HandlerError(f"Invalid policy document: {problem}") from None
    return _document(document)


def size_of(document) -> int:
    from ..policy.validate import parse, size_of as measured

    try:
        return measured(parse(document))
    except ValueError:
        return 0


class RoleHandler(MotoHandler):
    """AWS::IAM::Role: trust policy, inline policies, managed policies, boundary, description and tags follow
    the template on update."""

    def find(self, where, identifier):
        return next((r for r in self.backend(where).roles.values() if r.name == identifier), None)

    def create(self, where, logical_id, resource_type, props):
        """moto keeps a template's inline policies as Python objects, and GetRolePolicy answered their repr;
        IAM keeps (and answers) JSON documents."""
        for policy in props.get("Policies") or []:    # moto puts a template's inline policies unchecked
            checked(policy.get("PolicyDocument"), "identity", None)
        if sum(size_of(policy.get("PolicyDocument")) for policy in props.get("Policies") or []) > 10_240:
            raise HandlerError(f"Maximum policy size of 10240 bytes exceeded for role {props.get('RoleName')}")
        role = super().create(where, logical_id, resource_type, props)
        for name, document in list(role.policies.items()):
            role.policies[name] = _document(document)
        for arn in props.get("ManagedPolicyArns") or []:   # moto's Role dropped them
            try:
                self.backend(where).attach_role_policy(arn, role.name)
            except Exception as exc:   # a policy that does not exist: the service's refusal
                raise HandlerError(str(exc)) from None
        return role

    def delete(self, where, instance, resource_type, props):
        """CloudFormation detaches the role's managed policies first: IAM deletes no role that has any
        (DeleteConflict)."""
        for arn in list(instance.managed_policies):
            self.backend(where).detach_role_policy(arn, instance.name)
        super().delete(where, instance, resource_type, props)

    @staticmethod
    def backend(where):
        from moto.iam.models import iam_backends

        return iam_backends[where.account][PARTITION]

    def update(self, where, instance, resource_type, old, new):
        iam, name = self.backend(where), instance.name
        iam.update_assume_role_policy(name, _document(new["AssumeRolePolicyDocument"]))
        wanted = {p["PolicyName"]: _document(p["PolicyDocument"]) for p in new.get("Policies") or []}
        for policy in set(instance.policies) - set(wanted):
            iam.delete_role_policy(name, policy)
        for policy, document in wanted.items():
            iam.put_role_policy(name, policy, document)
        # Only what the template's ManagedPolicyArns attached: a managed policy attaches itself too (its Roles).
        managed, before = set(new.get("ManagedPolicyArns") or []), set(old.get("ManagedPolicyArns") or [])
        for arn in (before - managed) & set(instance.managed_policies):
            iam.detach_role_policy(arn, name)
        for arn in managed - set(instance.managed_policies):
            try:
                iam.attach_role_policy(arn, name)
            except Exception as exc:   # a policy that does not exist: the service's refusal
                raise HandlerError(str(exc)) from None
        boundary = new.get("PermissionsBoundary")
        if boundary:
            iam.put_role_permissions_boundary(name, boundary)
        elif instance.permissions_boundary_arn:
            iam.delete_role_permissions_boundary(name)
        instance.description = new.get("Description", "")
        if new.get("MaxSessionDuration"):
            instance.max_session_duration = new["MaxSessionDuration"]
        return instance


class ManagedPolicyHandler(Handler):
    """AWS::IAM::ManagedPolicy: its document may be an object or a JSON string (the property's type is Json;
    moto encoded a string a second time and refused it), an update makes a new default version (the oldest
    non-default goes past IAM's five), and the roles it is attached to follow the template."""

    @staticmethod
    def backend(where):
        from moto.iam.models import iam_backends

        return iam_backends[where.account][PARTITION]

    def physical_id(self, instance):
        return instance.arn

    def attribute(self, instance, name):
        if name == "PolicyArn":
            return instance.arn
        raise HandlerError(f"Template error: resource does not support attribute type {name} in Fn::GetAtt")

    def create(self, where, logical_id, resource_type, props):
        iam = self.backend(where)
        name = props.get("ManagedPolicyName") or generated_name(resource_type, where.stack_name, logical_id)
        try:
            policy = iam.create_policy(description=props.get("Description") or "", path=props.get("Path") or "/",
                                       policy_document=_document(props["PolicyDocument"]), policy_name=name,
                                       tags=[])
        except Exception as exc:   # IAM's own refusal (a malformed document, a name taken)
            raise HandlerError(str(exc)) from None
        self.attach(where, policy, [], props.get("Roles") or [])
        return policy

    def update(self, where, instance, resource_type, old, new):
        iam = self.backend(where)
        if _document(new["PolicyDocument"]) != _document(old["PolicyDocument"]):
            if len(instance.versions) >= 5:
                oldest = next(v for v in instance.versions if not v.is_default)
                iam.delete_policy_version(instance.arn, oldest.version_id)
            iam.create_policy_version(instance.arn, _document(new["PolicyDocument"]), set_as_default=True)
        self.attach(where, instance, old.get("Roles") or [], new.get("Roles") or [])
        return instance

    def delete(self, where, instance, resource_type, props):
        iam = self.backend(where)
        self.attach(where, instance, props.get("Roles") or [], [])
        for version in [v for v in instance.versions if not v.is_default]:
            iam.delete_policy_version(instance.arn, version.version_id)
        iam.delete_policy(instance.arn)

    def attach(self, where, policy, before: list, after: list) -> None:
        iam = self.backend(where)
        for role in set(before) - set(after):
            try:
                iam.detach_role_policy(policy.arn, role)
            except Exception:
                pass   # the role went first
        for role in set(after) - set(before):
            iam.attach_role_policy(policy.arn, role)


class KeyHandler(MotoHandler):
    """AWS::KMS::Key: the key policy, description, rotation and state follow the template on update; the
    policy passes KMS's lockout safety check first (policy/keys.py)."""

    @staticmethod
    def check(where, props: dict, key: str = "*") -> None:
        from ..policy.keys import LockedOut, check_lockout

        tags = {**where.tags, **{t["Key"]: t["Value"] for t in props.get("Tags") or [] if "Key" in t}}
        try:
            check_lockout(props.get("KeyPolicy"), f"arn:aws:kms:{where.region}:{where.account}:key/{key}",
                          where.account, where.region,
                          bypass=props.get("BypassPolicyLockoutSafetyCheck") in (True, "true"), tags=tags)
        except LockedOut as refused:
            raise HandlerError(f"{refused} (Service: Kms, Status Code: 400, MalformedPolicyDocumentException)") \
                from None

    def create(self, where, logical_id, resource_type, props):
        self.check(where, props)
        return super().create(where, logical_id, resource_type, props)

    def update(self, where, instance, resource_type, old, new):
        from moto.kms.models import kms_backends

        self.check(where, new, instance.id)
        kms = kms_backends[where.account][where.region]
        kms.put_key_policy(instance.id, _document(new["KeyPolicy"]))
        instance.description = new.get("Description", "")
        instance.key_rotation_status = new.get("EnableKeyRotation") in (True, "true")
        instance.enabled = new.get("Enabled", True) not in (False, "false")
        return instance


# Queue properties that are attributes of the same name (AWS::SQS::Queue, all updatable in place).
QUEUE_ATTRIBUTES = ("DelaySeconds", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "MaximumMessageSize",
                    "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled",
                    "VisibilityTimeout")


class QueueHandler(MotoHandler):
    """AWS::SQS::Queue: its attributes (encryption included) follow the template on update."""

    def update(self, where, instance, resource_type, old, new):
        from moto.sqs.models import sqs_backends

        attributes = {name: _text(new.get(name, "")) for name in QUEUE_ATTRIBUTES if name in new or name in old}
        if "RedrivePolicy" in new or "RedrivePolicy" in old:
            attributes["RedrivePolicy"] = _document(new["RedrivePolicy"]) if new.get("RedrivePolicy") else ""
        sqs_backends[where.account][where.region].set_queue_attributes(instance.name, attributes)
        return instance


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class TopicHandler(MotoHandler):
    """AWS::SNS::Topic: its attributes change in place (moto deleted and recreated it, dropping its subscriptions
    and access policy)."""

    def update(self, where, instance, resource_type, old, new):
        instance.kms_master_key_id = new.get("KmsMasterKeyId") or ""
        instance.display_name = new.get("DisplayName") or ""
        return instance


class SubscriptionHandler(Handler):
    """AWS::SNS::Subscription in moto's SNS backend (moto's CloudFormation does not model it): the alarm email,
    or a queue, is subscribed; its physical ID is the subscription's ARN."""

    @staticmethod
    def backend(where):
        from moto.sns.models import sns_backends

        return sns_backends[where.account][where.region]

    def create(self, where, logical_id, resource_type, props):
        subscription = self.backend(where).subscribe(props["TopicArn"], props["Endpoint"], props["Protocol"])
        return Placeholder(subscription.arn, props)

    def delete(self, where, instance, resource_type, props):
        try:
            self.backend(where).unsubscribe(instance.physical_resource_id)
        except Exception:
            pass   # the topic went first, and its subscriptions with it


class QueuePolicyHandler(Handler):
    """AWS::SQS::QueuePolicy: sets the Policy attribute of each queue it names (URLs); deleting it clears them."""

    @staticmethod
    def apply(where, queues, document: str) -> None:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[where.account][where.region]
        for url in queues or []:
            backend.set_queue_attributes(str(url).rstrip("/").split("/")[-1], {"Policy": document})

    def create(self, where, logical_id, resource_type, props):
        self.apply(where, props["Queues"], _document(props["PolicyDocument"]))
        return Placeholder(generated_name(resource_type, where.stack_name, logical_id), props)

    def update(self, where, instance, resource_type, old, new):
        self.apply(where, set(old.get("Queues") or []) - set(new.get("Queues") or []), "")
        self.apply(where, new["Queues"], _document(new["PolicyDocument"]))
        instance.properties = new
        return instance

    def delete(self, where, instance, resource_type, props):
        try:
            self.apply(where, props.get("Queues"), "")
        except Exception:
            pass   # the queue went first


class TopicPolicyHandler(Handler):
    """AWS::SNS::TopicPolicy: replaces each topic's access policy; deleting it restores SNS's default policy
    (sns-access-policy-use-cases.html)."""

    @staticmethod
    def topics(where, arns):
        from moto.sns.models import sns_backends

        backend = sns_backends[where.account][where.region]
        return [backend.topics[arn] for arn in arns or [] if arn in backend.topics]

    def create(self, where, logical_id, resource_type, props):
        document = checked(props["PolicyDocument"], "resource", "topic")
        for topic in self.topics(where, props["Topics"]):
            topic.policy = document
        return Placeholder(generated_name(resource_type, where.stack_name, logical_id), props)

    def update(self, where, instance, resource_type, old, new):
        self.delete(where, instance, resource_type, {"Topics": set(old.get("Topics") or []) -
                                                     set(new.get("Topics") or [])})
        document = checked(new["PolicyDocument"], "resource", "topic")
        for topic in self.topics(where, new["Topics"]):
            topic.policy = document
        instance.properties = new
        return instance

    def delete(self, where, instance, resource_type, props):
        for topic in self.topics(where, props.get("Topics")):
            topic.policy = json.dumps(topic._create_default_topic_policy(where.region, where.account, topic.name))


HANDLERS: dict[str, Handler] = {
    "AWS::IAM::Role": RoleHandler(),
    "AWS::IAM::ManagedPolicy": ManagedPolicyHandler(),
    "AWS::KMS::Key": KeyHandler(),
    "AWS::SQS::Queue": QueueHandler(),
    "AWS::SNS::Topic": TopicHandler(),
    "AWS::SQS::QueuePolicy": QueuePolicyHandler(),
    "AWS::SNS::TopicPolicy": TopicPolicyHandler(),
    "AWS::SNS::Subscription": SubscriptionHandler(),
}
