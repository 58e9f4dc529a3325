"""The resources that say who may do what: roles, key policies, queue and topic policies, encrypted queues
and topics.  Created, and above all updated in place, as the services do.

moto's CloudFormation ignores most updates to them: a role keeps the inline
policies, managed policies, boundary and trust policy it was created with; a
key keeps its first key policy; a queue keeps its first encryption; a topic
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


class RoleHandler(MotoHandler):
    """AWS::IAM::Role: trust policy, inline policies, managed policies, boundary, description and tags follow
    the template on update."""

    def find(self, where, identifier):
        return next((r for r in self.backend(where).roles.values() if r.name == identifier), None)

    def create(self, where, logical_id, resource_type, props):
        """moto keeps a template's inline policies as Python objects, and GetRolePolicy answered their repr;
        IAM keeps (and answers) JSON documents."""
        role = super().create(where, logical_id, resource_type, props)
        for name, document in list(role.policies.items()):
            role.policies[name] = _document(document)
        return role

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
        managed = set(new.get("ManagedPolicyArns") or [])
        for arn in set(instance.managed_policies) - managed:
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


class KeyHandler(MotoHandler):
    """AWS::KMS::Key: the key policy, description, rotation and state follow the template on update; the
    policy passes KMS's lockout safety check first (policy/keys.py)."""

    @staticmethod
    def check(where, props: dict, key: str = "*") -> None:
        from ..policy.keys import LockedOut, check_lockout

        try:
            check_lockout(props.get("KeyPolicy"), f"arn:aws:kms:{where.region}:{where.account}:key/{key}",
                          where.account, where.region,
                          bypass=props.get("BypassPolicyLockoutSafetyCheck") in (True, "true"))
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
        for topic in self.topics(where, props["Topics"]):
            topic.policy = _document(props["PolicyDocument"])
        return Placeholder(generated_name(resource_type, where.stack_name, logical_id), props)

    def update(self, where, instance, resource_type, old, new):
        self.delete(where, instance, resource_type, {"Topics": set(old.get("Topics") or []) -
                                                     set(new.get("Topics") or [])})
        for topic in self.topics(where, new["Topics"]):
            topic.policy = _document(new["PolicyDocument"])
        instance.properties = new
        return instance

    def delete(self, where, instance, resource_type, props):
        for topic in self.topics(where, props.get("Topics")):
            topic.policy = json.dumps(topic._create_default_topic_policy(where.region, where.account, topic.name))


HANDLERS: dict[str, Handler] = {
    "AWS::IAM::Role": RoleHandler(),
    "AWS::KMS::Key": KeyHandler(),
    "AWS::SQS::Queue": QueueHandler(),
    "AWS::SNS::Topic": TopicHandler(),
    "AWS::SQS::QueuePolicy": QueuePolicyHandler(),
    "AWS::SNS::TopicPolicy": TopicPolicyHandler(),
    "AWS::SNS::Subscription": SubscriptionHandler(),
}
