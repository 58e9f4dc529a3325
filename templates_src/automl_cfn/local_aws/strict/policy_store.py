"""Every service refuses a malformed or oversized policy when it is written (policy/validate.py has the
grammar and the quotas); moto stored anything, and a request judged later by such a policy failed with HTTP
500 (for the root user too, who could then not even remove it).  One patch per service, at the backend, so
the API and CloudFormation's handlers both refuse, with the service's own error:

- IAM: role inline policies (10,240 characters together), managed policies and their versions (6,144), trust
  policies (2,048): MalformedPolicyDocument or LimitExceeded (reference_iam-quotas.html);
- STS: a session policy given to AssumeRole (2,048): MalformedPolicyDocument;
- S3: PutBucketPolicy (20 KB): MalformedPolicy;
- KMS: CreateKey and PutKeyPolicy (32 KB): MalformedPolicyDocumentException;
- SQS: a queue's Policy attribute (20 KB): InvalidAttributeValue;
- SNS: a topic's Policy attribute (30 KB): InvalidParameter.

Test: test_malformed_policies_are_refused_where_they_are_stored.
"""

from __future__ import annotations

import json

from ..policy.validate import InvalidPolicy, check, size_of


def iam() -> None:
    from moto.iam import models
    from moto.iam.exceptions import LimitExceededException, MalformedPolicyDocument

    def guard(document, kind: str, size: str | None) -> None:
        try:
            check(document, kind, size)
        except InvalidPolicy as problem:
            if "characters; at most" in str(problem):
                raise LimitExceededException(f"Cannot exceed quota: {problem}") from None
            raise MalformedPolicyDocument(f"Syntax errors in policy: {problem}") from None

    backend = models.IAMBackend
    original_put, original_create = backend.put_role_policy, backend.create_policy
    original_version, original_role = backend.create_policy_version, backend.create_role
    original_trust = backend.update_assume_role_policy

    def put_role_policy(self, role_name, policy_name, policy_json):
        guard(policy_json, "identity", None)
        role = self.get_role(role_name)
        others = [json.loads(d) if isinstance(d, str) else d for n, d in role.policies.items() if n != policy_name]
        total = sum(size_of(d) for d in others) + size_of(json.loads(policy_json) if isinstance(policy_json, str)
                                                           else policy_json)
        if total > 10_240:
            raise LimitExceededException(f"Maximum policy size of 10240 bytes exceeded for role {role_name}")
        return original_put(self, role_name, policy_name, policy_json)

    def create_policy(self, description, path, policy_document, policy_name, tags):
        guard(policy_document, "identity", "managed")
        return original_create(self, description, path, policy_document, policy_name, tags)

    def create_policy_version(self, policy_arn, policy_document, set_as_default):
        guard(policy_document, "identity", "managed")
        return original_version(self, policy_arn, policy_document, set_as_default)

    def create_role(self, role_name, assume_role_policy_document, *args, **kwargs):
        guard(assume_role_policy_document, "trust", "trust")
        return original_role(self, role_name, assume_role_policy_document, *args, **kwargs)

    def update_assume_role_policy(self, role_name, policy_document):
        guard(policy_document, "trust", "trust")
        return original_trust(self, role_name, policy_document)

    backend.put_role_policy, backend.create_policy = put_role_policy, create_policy
    backend.create_policy_version, backend.create_role = create_policy_version, create_role
    backend.update_assume_role_policy = update_assume_role_policy


def sts() -> None:
    from moto.iam.exceptions import MalformedPolicyDocument
    from moto.sts import models

    original = models.STSBackend.assume_role

    def assume_role(self, region_name, role_session_name, role_arn, policy, duration, external_id):
        if policy:
            try:
                check(policy, "identity", "session")
            except InvalidPolicy as problem:
                raise MalformedPolicyDocument(f"The session policy is not valid: {problem}") from None
        return original(self, region_name, role_session_name, role_arn, policy, duration, external_id)

    models.STSBackend.assume_role = assume_role


def s3() -> None:
    from moto.s3 import models
    from moto.s3.exceptions import S3ClientError

    original = models.S3Backend.put_bucket_policy

    def put_bucket_policy(self, bucket_name, policy):
        try:
            check(policy.decode() if isinstance(policy, bytes) else policy, "resource", "bucket")
        except (InvalidPolicy, UnicodeDecodeError) as problem:
            raise S3ClientError("MalformedPolicy", f"Policy has an error: {problem}") from None
        return original(self, bucket_name, policy)

    models.S3Backend.put_bucket_policy = put_bucket_policy


def kms() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.kms import models

    def guard(policy) -> None:
        if policy:
            try:
                check(policy, "resource", "key")
            except InvalidPolicy as problem:
                raise JsonRESTError("MalformedPolicyDocumentException", str(problem)) from None

    original_create, original_put = models.KmsBackend.create_key, models.KmsBackend.put_key_policy

    def create_key(self, policy, *args, **kwargs):
        guard(policy)
        return original_create(self, policy, *args, **kwargs)

    def put_key_policy(self, key_id, policy):
        guard(policy)
        return original_put(self, key_id, policy)

    models.KmsBackend.create_key, models.KmsBackend.put_key_policy = create_key, put_key_policy


def sqs() -> None:
    from moto.sqs import models
    from moto.sqs.exceptions import InvalidAttributeValue

    def guard(attributes) -> None:
        policy = (attributes or {}).get("Policy")
        if policy:
            try:
                check(policy, "resource", "queue")
            except InvalidPolicy:
                raise InvalidAttributeValue("Policy") from None

    original_create, original_set = models.SQSBackend.create_queue, models.SQSBackend.set_queue_attributes

    def create_queue(self, name, tags=None, **kwargs):
        guard(kwargs)
        return original_create(self, name, tags, **kwargs)

    def set_queue_attributes(self, queue_name, attributes):
        guard(attributes)
        return original_set(self, queue_name, attributes)

    models.SQSBackend.create_queue, models.SQSBackend.set_queue_attributes = create_queue, set_queue_attributes


def sns() -> None:
    from moto.sns import models
    from moto.sns.exceptions import SNSInvalidParameter

    def guard(policy) -> None:
        if policy:
            try:
                check(policy, "resource", "topic")
            except InvalidPolicy as problem:
                raise SNSInvalidParameter(f"Invalid parameter: Policy Error: {problem}") from None

    original_create, original_set = models.SNSBackend.create_topic, models.SNSBackend.set_topic_attribute

    def create_topic(self, name, attributes=None, tags=None):
        guard((attributes or {}).get("Policy"))
        return original_create(self, name, attributes, tags)

    def set_topic_attribute(self, topic_arn, attribute_name, attribute_value):
        if attribute_name in ("Policy", "policy"):
            guard(attribute_value)
        return original_set(self, topic_arn, attribute_name, attribute_value)

    models.SNSBackend.create_topic, models.SNSBackend.set_topic_attribute = create_topic, set_topic_attribute


def install() -> None:
    for service in (iam, sts, s3, kms, sqs, sns):
        service()
