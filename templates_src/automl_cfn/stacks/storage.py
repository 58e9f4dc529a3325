"""Storage: the data bucket for data/, models/ and predictions/.

Versioned, encrypted by default, every public-access block on, TLS-only, and
lifecycle rules: predictions/ archived after PredictionsArchiveDays (the
seed's "automatic archival of old predictions"), old versions expire after
NoncurrentVersionDays, incomplete multipart uploads are aborted, and data/
optionally moves to Intelligent-Tiering.  Retained on delete and replace.
"""

from __future__ import annotations

from awacs.aws import Allow, Principal, Statement
from awacs import s3 as s3_actions
from troposphere import And, Condition as ConditionRef, Equals, FindInMap, GetAtt, If, Not, NoValue, Or, Ref, Sub, s3

from ..model import DATA_PREFIX, MODELS_PREFIX, PREDICTIONS_PREFIX
from ..parameters import adopted_parameter
from . import names, policies
from .base import NONE, StackTemplate

MULTIPART_ABORT_DAYS = 7
ACCESS_LOG_DAYS = 365


def build() -> StackTemplate:
    st = StackTemplate("storage", "data bucket for data, models and predictions")
    access_logs = st.add(access_logs_bucket(st), stateful=True, condition="AccessLoggingEnabled")
    bucket = st.add(data_bucket(st, access_logs), stateful=True)
    st.add(access_logs_policy(access_logs, bucket), condition="AccessLoggingEnabled")
    st.add(tls_only_policy(bucket))
    st.output("AccessLogsBucketName", Ref(access_logs), "Bucket receiving the data bucket's access logs",
              condition="AccessLoggingEnabled")
    lb_logs = st.add(lb_logs_bucket(st), stateful=True, condition="LbAccessLogsWanted")
    for policy, condition in lb_logs_policies(st, lb_logs):
        st.add(policy, condition=condition)
    st.output("LbLogsBucketName", If(st.condition("LbAccessLogsWanted"), Ref(lb_logs), NONE),
              "Bucket receiving the load balancer's access logs, or none")
    st.output("DataBucketName", Ref(bucket), "Data bucket name")
    st.output("DataBucketArn", GetAtt(bucket, "Arn"), "Data bucket ARN")
    for key, prefix in (("Data", DATA_PREFIX), ("Models", MODELS_PREFIX), ("Predictions", PREDICTIONS_PREFIX)):
        st.output(f"{key}Prefix", prefix, f"Key prefix of {key.lower()} in the data bucket")
    return st


def data_bucket(st: StackTemplate, access_logs) -> s3.Bucket:
    return s3.Bucket(
        "DataBucket",
        BucketName=st.adopted_or(adopted_parameter("data_bucket"), names.bucket_name("data")),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        BucketEncryption=st.kms_or(kms_encryption(st.kms_key_arn()), default_encryption()),
        LoggingConfiguration=If(st.condition("AccessLoggingEnabled"), s3.LoggingConfiguration(
            DestinationBucketName=Ref(access_logs), LogFilePrefix="data-bucket/"), NoValue),
        PublicAccessBlockConfiguration=block_all_public_access(),
        OwnershipControls=bucket_owner_enforced(),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=lifecycle_rules(st)),
        # The bucket's events always go to EventBridge (free on the default bus; dropped there unless a rule
        # matches): retrain_on_new_data only adds the pipeline stack's rule.  A setting here would live on the
        # retained bucket, and a later deploy that adopts the bucket by import would not apply it.
        NotificationConfiguration=s3.NotificationConfiguration(
            EventBridgeConfiguration=s3.EventBridgeConfiguration(EventBridgeEnabled=True)),
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
    """Where S3 writes the data bucket's server access logs."""
    return log_bucket("AccessLogsBucket", "access-logs", ACCESS_LOG_DAYS)


def log_bucket(logical_id: str, purpose: str, days: int) -> s3.Bucket:
    """A bucket that receives logs: SSE-S3 (the log delivery services cannot use KMS keys),
    private, versioned, and emptied of logs older than `days`."""
    return s3.Bucket(
        logical_id,
        BucketName=names.bucket_name(purpose),
        BucketEncryption=default_encryption(),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        PublicAccessBlockConfiguration=block_all_public_access(),
        OwnershipControls=bucket_owner_enforced(),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id=f"expire-{purpose}", Status="Enabled", ExpirationInDays=days,
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=days),
        )]),
    )


def access_logs_policy(access_logs, source) -> s3.BucketPolicy:
    """TLS only, and the S3 logging service may write the logs of `source`, this account's data bucket, only
    (AmazonS3/latest/userguide/enable-server-access-logging.html: aws:SourceArn is the source bucket,
    aws:SourceAccount its account)."""
    arn = GetAtt(access_logs, "Arn")
    return s3.BucketPolicy("AccessLogsBucketPolicy", Bucket=Ref(access_logs), PolicyDocument=policies.document([
        deny_insecure_transport(arn),
        Statement(
            Sid="S3ServerAccessLogs", Effect=Allow, Principal=Principal("Service", "logging.s3.amazonaws.com"),
            Action=[s3_actions.PutObject], Resource=[Sub("${Arn}/data-bucket/*", Arn=arn)],
            Condition=policies.from_source(GetAtt(source, "Arn")),
        ),
    ]))


# Regions older than August 2022 deliver ALB logs from a regional Elastic
# Load Balancing account; newer ones from the log-delivery service principal.
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887", "ap-northeast-3": "383597477331",
    "ap-south-1": "718504428378", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-north-1": "897822967062",
    "eu-south-1": "635631232127", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
    "eu-west-3": "009996457667", "me-south-1": "076674570225", "sa-east-1": "507241528517",
}
LB_LOG_PREFIX = "alb"
LB_LOG_DAYS = 90


def lb_logs_bucket(st: StackTemplate) -> s3.Bucket:
    """Load balancer access logs."""
    return log_bucket("LbLogsBucket", "alb-logs", LB_LOG_DAYS)


def lb_logs_policies(st: StackTemplate, bucket) -> list[s3.BucketPolicy]:
    """TLS only; Elastic Load Balancing may write this account's logs under alb/.

    Two policies under complementary conditions, not one Fn::If: CloudFormation
    resolves Fn::FindInMap in both branches of an Fn::If, so a region missing
    from ElbLogAccounts (the newer ones, which the service principal is for)
    would fail even where the branch is not taken.  A resource whose condition
    is false is not evaluated at all.
    """
    arn = GetAtt(bucket, "Arn")
    st.template.add_mapping("ElbLogAccounts", {region: {"Account": account}
                                               for region, account in sorted(ELB_LOG_ACCOUNTS.items())})
    regions = sorted(ELB_LOG_ACCOUNTS)
    chunks = [regions[i:i + 10] for i in range(0, len(regions), 10)]
    old_region = st.add_condition("RegionHasElbLogAccount", Or(*[
        Or(*[Equals(Ref("AWS::Region"), r) for r in chunk]) if len(chunk) > 1 else Equals(Ref("AWS::Region"), chunk[0])
        for chunk in chunks]))
    wanted = st.condition("LbAccessLogsWanted")
    by_account = st.add_condition("LbLogsFromElbAccount", And(ConditionRef(wanted), ConditionRef(old_region)))
    by_service = st.add_condition("LbLogsFromLogDelivery", And(ConditionRef(wanted), Not(ConditionRef(old_region))))
    # No source condition on either writer: the Elastic Load Balancing guide documents none for access log
    # delivery (elasticloadbalancing/latest/application/enable-access-logging.html, "Attach a policy to your
    # S3 bucket"), and a key the service does not send would drop every log.  The object path names this
    # account (AWSLogs/<account>/), which is where ELB writes a load balancer's logs: another account's load
    # balancer cannot write here.
    objects = Sub(f"${{Arn}}/{LB_LOG_PREFIX}/AWSLogs/${{AWS::AccountId}}/*", Arn=arn)
    writers = {
        by_account: ("LbLogsBucketPolicy", Principal("AWS", Sub(
            "arn:${AWS::Partition}:iam::${Account}:root",
            Account=FindInMap("ElbLogAccounts", Ref("AWS::Region"), "Account")))),
        by_service: ("LbLogsBucketPolicyByService",
                     Principal("Service", "logdelivery.elasticloadbalancing.amazonaws.com")),
    }
    policies_ = []
    for condition, (logical_id, principal) in writers.items():
        document = policies.document([
            deny_insecure_transport(arn),
            Statement(Sid="ElbLogDelivery", Effect=Allow, Principal=principal, Action=[s3_actions.PutObject],
                      Resource=[objects]),
        ])
        policies_.append((s3.BucketPolicy(logical_id, Bucket=Ref(bucket), PolicyDocument=document), condition))
    return policies_


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
    """A bucket and its objects: TLS only."""
    return policies.deny_insecure_transport([s3_actions.Action("*")], [arn, Sub("${Arn}/*", Arn=arn)])
