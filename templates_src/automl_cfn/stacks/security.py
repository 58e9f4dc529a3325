"""Security: the optional customer-managed KMS key and the optional API key secret.

KmsKey: empty (AWS-managed keys everywhere), `create` (a key made here,
rotated yearly, retained), or an existing key's ARN.  ApiKeySecret: empty,
`create` (a generated secret, the Terraform README's `automl/api-key`), or
an existing secret's ARN; compute injects it into the predict container as
an ECS secret, never as a plain environment variable.  With it comes the
previous-key secret (API_KEY_PREVIOUS), which lets `rotate-api-key` change
the key without refusing clients that have not switched yet.  The outputs
are "none" when absent, so consumers can test for them.
"""

from __future__ import annotations

from awacs import kms as kms_actions
from awacs.aws import Allow, ArnLike, Condition, Principal, Statement
from troposphere import (
    And, Condition as ConditionRef, Equals, GetAtt, If, Not, NoValue, Ref, Sub, kms, secretsmanager,
)

from ..model import API_KEY_LENGTH
from . import names, policies
from .base import NONE, StackTemplate

KEY_ROTATION_DAYS = 365
KEY_DELETION_WINDOW_DAYS = 30


def build() -> StackTemplate:
    st = StackTemplate("security", "customer-managed KMS key and API key secret (both optional)")
    key = st.add(kms_key(st), stateful=True, condition="CreateKmsKey")
    # Retained with the key: after a destroy, the next deploy finds the key through its alias.
    st.add(kms.Alias("KmsKeyAlias", AliasName=Sub(f"alias/{names.PREFIX}"), TargetKeyId=Ref(key)),
           stateful=True, condition="CreateKmsKey")
    use_given_key = st.add_condition("UseGivenKmsKey", And(
        Not(Equals(st.ref("KmsKey"), "")), Not(ConditionRef(st.condition("CreateKmsKey")))))
    def key_arn(otherwise):
        return If("CreateKmsKey", GetAtt(key, "Arn"), If(use_given_key, st.ref("KmsKey"), otherwise))

    secret = st.add(api_key_secret(key_arn(NoValue)), stateful=True, condition="CreateApiKeySecret")
    use_given_secret = st.add_condition("UseGivenApiKeySecret", And(
        Not(Equals(st.ref("ApiKeySecret"), "")), Not(ConditionRef(st.condition("CreateApiKeySecret")))))
    st.output("KmsKeyArn", key_arn(NONE), "Customer-managed KMS key ARN, or none")
    st.output("ApiKeySecretArn", If("CreateApiKeySecret", Ref(secret), If(use_given_secret, st.ref("ApiKeySecret"),
                                                                              NONE)),
              "API key secret ARN, or none")
    st.output("ApiKeyPreviousSecretArn", previous_api_key(st, key_arn(NoValue)),
              "Secret predict also accepts during an API key rotation, or none")
    return st


def previous_api_key(st: StackTemplate, key_arn):
    """Whenever there is an API key secret (created or given), a second one predict also accepts: the key
    before a rotation while clients move to the new one (automl-cfn rotate-api-key), a random value
    nobody knows otherwise.  Retained like the API key; after a destroy the deploy uses it by ARN."""
    has_key = Not(Equals(st.ref("ApiKeySecret"), ""))
    create = st.add_condition("CreateApiKeyPreviousSecret", And(
        has_key, Equals(st.ref("ApiKeyPreviousSecret"), "create")))
    use_given = st.add_condition("UseGivenApiKeyPreviousSecret", And(
        has_key, Not(Equals(st.ref("ApiKeyPreviousSecret"), "")), Not(ConditionRef(create))))
    secret = st.add(secretsmanager.Secret(
        "GeneratedApiKeyPreviousSecret",
        Name=Sub("${ProjectName}/${Environment}/api-key-previous"),
        Description="The API key before a rotation, accepted until the rotation finishes (injected as the "
                    "API_KEY_PREVIOUS secret); a random value nobody knows otherwise",
        GenerateSecretString=secretsmanager.GenerateSecretString(PasswordLength=API_KEY_LENGTH,
                                                                 ExcludePunctuation=True),
        KmsKeyId=key_arn,
    ), stateful=True, condition=create)
    return If(create, Ref(secret), If(use_given, st.ref("ApiKeyPreviousSecret"), NONE))


def kms_key(st: StackTemplate) -> kms.Key:
    """The account administers the key (and so IAM policies grant its use to the roles); three services may
    use it for this environment's resources only: CloudWatch Logs for its log groups, CloudWatch for its
    alarms publishing to the encrypted alarm topic, and EventBridge for the new-data rule sending to the
    encrypted retrain queue."""
    account_root = Principal("AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root"))
    use = [kms_actions.Encrypt, kms_actions.Decrypt, kms_actions.ReEncryptFrom, kms_actions.ReEncryptTo,
           kms_actions.GenerateDataKey, kms_actions.GenerateDataKeyWithoutPlaintext, kms_actions.DescribeKey]
    # What a publisher to an encrypted topic, or a producer to an encrypted queue, needs of the key:
    # sns/latest/dg/sns-key-management.html and AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html,
    # "... compatibility between event sources from AWS services and encrypted topics / queues".
    produce = [kms_actions.GenerateDataKey, kms_actions.Decrypt]
    return kms.Key(
        "CustomerKey",
        Description=Sub(f"{names.PREFIX}: data bucket, repositories, log groups, alarm topic, queues, secret"),
        EnableKeyRotation=True,
        RotationPeriodInDays=KEY_ROTATION_DAYS,
        PendingWindowInDays=KEY_DELETION_WINDOW_DAYS,
        KeyPolicy=policies.document([
            Statement(Sid="AccountAdministers", Effect=Allow, Principal=account_root,
                      Action=[kms_actions.Action("*")], Resource=["*"]),
            Statement(
                # No aws:SourceArn here: CloudWatch Logs documents the encryption context as what names the
                # log group (AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html), and it names this account.
                Sid="LogsEncryptOurLogGroups", Effect=Allow,
                Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
                Action=use, Resource=["*"],
                Condition=Condition(ArnLike("kms:EncryptionContext:aws:logs:arn", Sub(
                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"))),
            ),
            Statement(
                # AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html: the alarm is the source.
                Sid="AlarmsPublishToEncryptedTopic", Effect=Allow,
                Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                Action=produce, Resource=["*"], Condition=policies.from_source(names.alarm_arn_pattern()),
            ),
            Statement(
                # eventbridge/latest/userguide/eb-encryption-key-policy.html recommends aws:SourceArn and
                # aws:SourceAccount on EventBridge's use of a customer managed key; the rule is the source of
                # a target delivery (eb-use-resource-based.html, the queue policy's aws:SourceArn).  Present
                # whether or not retrain_on_new_data is on: the key outlives the stack (retained, used by ARN
                # after a destroy, when this policy no longer changes with the settings), and it admits one
                # rule only this account can create.
                Sid="NewDataRuleSendsToEncryptedQueue", Effect=Allow,
                Principal=Principal("Service", "events.amazonaws.com"),
                Action=produce, Resource=["*"], Condition=policies.from_source(names.new_data_rule_arn()),
            ),
        ]),
    )


def api_key_secret(key_arn) -> secretsmanager.Secret:
    return secretsmanager.Secret(
        "GeneratedApiKeySecret",
        Name=Sub("${ProjectName}/${Environment}/api-key"),
        Description="API key of the prediction service (injected as the API_KEY secret)",
        GenerateSecretString=secretsmanager.GenerateSecretString(PasswordLength=API_KEY_LENGTH,
                                                                 ExcludePunctuation=True),
        KmsKeyId=key_arn,
    )
