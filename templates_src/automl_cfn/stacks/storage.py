"""Storage: the data bucket for data/, models/ and predictions/.

Versioned, encrypted by default, every public-access block on, TLS-only, and
lifecycle rules: predictions/ archived after PredictionsArchiveDays (the
seed's "automatic archival of old predictions"), old versions expire after
NoncurrentVersionDays, incomplete multipart uploads are aborted, and data/
optionally moves to Intelligent-Tiering.  Retained on delete and replace.
"""

from __future__ import annotations

from awacs.aws import Bool, Condition, Deny, Principal, Statement
from awacs import s3 as s3_actions
from troposphere import GetAtt, If, Ref, Sub, s3

from ..model import DATA_PREFIX, MODELS_PREFIX, PREDICTIONS_PREFIX
from . import names, policies
from .base import StackTemplate

MULTIPART_ABORT_DAYS = 7


def build() -> StackTemplate:
    st = StackTemplate("storage", "data bucket for data, models and predictions")
    bucket = st.add(data_bucket(st), stateful=True)
    st.add(tls_only_policy(bucket))
    st.output("DataBucketName", Ref(bucket), "Data bucket name")
    st.output("DataBucketArn", GetAtt(bucket, "Arn"), "Data bucket ARN")
    for key, prefix in (("Data", DATA_PREFIX), ("Models", MODELS_PREFIX), ("Predictions", PREDICTIONS_PREFIX)):
        st.output(f"{key}Prefix", prefix, f"Key prefix of {key.lower()} in the data bucket")
    return st


def data_bucket(st: StackTemplate) -> s3.Bucket:
    return s3.Bucket(
        "DataBucket",
        BucketName=names.bucket_name("data"),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        BucketEncryption=default_encryption(),
        PublicAccessBlockConfiguration=block_all_public_access(),
        OwnershipControls=bucket_owner_enforced(),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=lifecycle_rules(st)),
    )


def default_encryption() -> s3.BucketEncryption:
    return s3.BucketEncryption(ServerSideEncryptionConfiguration=[
        s3.ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"),
            BucketKeyEnabled=True,
        )
    ])


def block_all_public_access() -> s3.PublicAccessBlockConfiguration:
    return s3.PublicAccessBlockConfiguration(
        BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True,
    )


def bucket_owner_enforced() -> s3.OwnershipControls:
    """ACLs off: the bucket policy alone decides access."""
    return s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")])


def lifecycle_rules(st: StackTemplate) -> list:
    return [
        s3.LifecycleRule(
            Id="archive-old-predictions", Status="Enabled", Prefix=PREDICTIONS_PREFIX,
            Transitions=[s3.LifecycleRuleTransition(
                StorageClass="GLACIER", TransitionInDays=st.ref("PredictionsArchiveDays"),
            )],
        ),
        s3.LifecycleRule(
            Id="expire-noncurrent-versions", Status="Enabled",
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(
                NoncurrentDays=st.ref("NoncurrentVersionDays"),
            ),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                DaysAfterInitiation=MULTIPART_ABORT_DAYS,
            ),
            ExpiredObjectDeleteMarker=True,
        ),
        s3.LifecycleRule(
            Id="data-intelligent-tiering", Prefix=DATA_PREFIX,
            Status=If(st.condition("IntelligentTieringEnabled"), "Enabled", "Disabled"),
            Transitions=[s3.LifecycleRuleTransition(StorageClass="INTELLIGENT_TIERING", TransitionInDays=0)],
        ),
    ]


def tls_only_policy(bucket: s3.Bucket, logical_id: str = "DataBucketPolicy") -> s3.BucketPolicy:
    """Deny every request to the bucket or its objects that is not over TLS."""
    arn = GetAtt(bucket, "Arn")
    return s3.BucketPolicy(
        logical_id,
        Bucket=Ref(bucket),
        PolicyDocument=policies.document([Statement(
            Sid="DenyInsecureTransport",
            Effect=Deny,
            Principal=Principal("*"),
            Action=[s3_actions.Action("*")],
            Resource=[arn, Sub("${Arn}/*", Arn=arn)],
            # The string form: IAM accepts both, and policy scanners match the string.
            Condition=Condition(Bool("aws:SecureTransport", "false")),
        )]),
    )
