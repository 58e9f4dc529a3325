"""Storage: the data bucket for data/, models/ and predictions/.

Versioned, encrypted by default, every public-access block on, TLS-only, and
lifecycle rules: predictions/ archived after PredictionsArchiveDays (the
seed's "automatic archival of old predictions"), old versions expire after
NoncurrentVersionDays, incomplete multipart uploads are aborted, and data/
optionally moves to Intelligent-Tiering.  Retained on delete and replace.
"""

from __future__ import annotations

from awacs.aws import Allow, Bool, Condition, Deny, Principal, Statement, StringEquals
from awacs import s3 as s3_actions
from troposphere import GetAtt, If, NoValue, Ref, Sub, s3

from ..model import DATA_PREFIX, MODELS_PREFIX, PREDICTIONS_PREFIX
from . import names, policies
from .base import StackTemplate, scanner_skip

MULTIPART_ABORT_DAYS = 7
ACCESS_LOG_DAYS = 365


def build() -> StackTemplate:
    st = StackTemplate("storage", "data bucket for data, models and predictions")
    access_logs = st.add(access_logs_bucket(st), stateful=True, condition="AccessLoggingEnabled")
    st.add(access_logs_policy(access_logs), condition="AccessLoggingEnabled")
    bucket = st.add(data_bucket(st, access_logs), stateful=True)
    st.add(tls_only_policy(bucket))
    st.output("AccessLogsBucketName", Ref(access_logs), "Bucket receiving the data bucket's access logs",
              condition="AccessLoggingEnabled")
    st.output("DataBucketName", Ref(bucket), "Data bucket name")
    st.output("DataBucketArn", GetAtt(bucket, "Arn"), "Data bucket ARN")
    for key, prefix in (("Data", DATA_PREFIX), ("Models", MODELS_PREFIX), ("Predictions", PREDICTIONS_PREFIX)):
        st.output(f"{key}Prefix", prefix, f"Key prefix of {key.lower()} in the data bucket")
    return st


def data_bucket(st: StackTemplate, access_logs) -> s3.Bucket:
    return s3.Bucket(
        "DataBucket",
        BucketName=names.bucket_name("data"),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        BucketEncryption=st.kms_or(kms_encryption(st.kms_key_arn()), default_encryption()),
        LoggingConfiguration=If(st.condition("AccessLoggingEnabled"), s3.LoggingConfiguration(
            DestinationBucketName=Ref(access_logs), LogFilePrefix="data-bucket/"), NoValue),
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


def kms_encryption(key_arn) -> s3.BucketEncryption:
    """SSE-KMS with the environment's key; bucket keys keep the KMS request bill small."""
    return s3.BucketEncryption(ServerSideEncryptionConfiguration=[
        s3.ServerSideEncryptionRule(
            ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                SSEAlgorithm="aws:kms", KMSMasterKeyID=key_arn),
            BucketKeyEnabled=True,
        )
    ])


def access_logs_bucket(st: StackTemplate) -> s3.Bucket:
    """Where S3 writes the data bucket's server access logs (SSE-S3: the logging service cannot use KMS)."""
    return s3.Bucket(
        "AccessLogsBucket",
        BucketName=names.bucket_name("access-logs"),
        BucketEncryption=default_encryption(),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=block_all_public_access(),
        OwnershipControls=bucket_owner_enforced(),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-access-logs", Status="Enabled", ExpirationInDays=ACCESS_LOG_DAYS,
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=ACCESS_LOG_DAYS),
        )]),
        Metadata=scanner_skip("CKV_AWS_18", "This is the access-log bucket; logging its own access would loop."),
    )


def access_logs_policy(access_logs) -> s3.BucketPolicy:
    """TLS only, and the S3 logging service may write for this account's buckets only."""
    arn = GetAtt(access_logs, "Arn")
    return s3.BucketPolicy("AccessLogsBucketPolicy", Bucket=Ref(access_logs), PolicyDocument=policies.document([
        deny_insecure_transport(arn),
        Statement(
            Sid="S3ServerAccessLogs", Effect=Allow, Principal=Principal("Service", "logging.s3.amazonaws.com"),
            Action=[s3_actions.PutObject], Resource=[Sub("${Arn}/data-bucket/*", Arn=arn)],
            Condition=Condition(StringEquals("aws:SourceAccount", Sub("${AWS::AccountId}"))),
        ),
    ]))


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
    return s3.BucketPolicy(logical_id, Bucket=Ref(bucket),
                           PolicyDocument=policies.document([deny_insecure_transport(GetAtt(bucket, "Arn"))]))


def deny_insecure_transport(arn) -> Statement:
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[s3_actions.Action("*")],
        Resource=[arn, Sub("${Arn}/*", Arn=arn)],
        # The string form: IAM accepts both, and policy scanners match the string.
        Condition=Condition(Bool("aws:SecureTransport", "false")),
    )
