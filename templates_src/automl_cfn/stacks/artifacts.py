"""Artifacts: the bucket the deploy verb uploads child templates to, and where
it keeps each environment's lock and settings record.

Its own small stack, created once per account and region on first deploy
(idempotent): encrypted, every public-access block on, TLS-only, and old
template sets under templates/ expire (each deploy writes under a
content-hash prefix, so nothing in use is ever overwritten); locks/ and
records/ never expire.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Ref, Sub, Tags, Template, s3

from ..model import MANAGED_BY, TEMPLATES_PREFIX
from . import storage

EXPIRE_DAYS = 90


def build() -> Template:
    t = Template(Description="automl-cfn artifacts: bucket holding the child templates of each deploy")
    t.set_version("2010-09-09")
    bucket = t.add_resource(s3.Bucket(
        "ArtifactsBucket",
        BucketName=Sub("automl-cfn-artifacts-${AWS::AccountId}-${AWS::Region}"),
        BucketEncryption=storage.default_encryption(),
        PublicAccessBlockConfiguration=storage.block_all_public_access(),
        OwnershipControls=storage.bucket_owner_enforced(),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-old-template-sets", Status="Enabled", Prefix=TEMPLATES_PREFIX, ExpirationInDays=EXPIRE_DAYS,
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=1),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1),
        )]),
        Tags=Tags(ManagedBy=MANAGED_BY),
        # Templates of deployed stacks are worth keeping when this stack goes.
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    ))
    t.add_resource(storage.tls_only_policy(bucket, "ArtifactsBucketPolicy"))
    t.add_output(Output("BucketName", Value=Ref(bucket), Description="Artifacts bucket name"))
    t.add_output(Output("BucketArn", Value=GetAtt(bucket, "Arn"), Description="Artifacts bucket ARN"))
    return t
