"""Artifacts: the bucket the deploy verb uploads child templates to, where
`publish` keeps releases, and where it keeps each environment's lock and
settings record.

Its own small stack, created once per account and region on first deploy
(idempotent): encrypted, versioned, every public-access block on, TLS-only,
and template sets under templates/ tagged expirable expire 90 days after
upload (each deploy writes under a content-hash prefix, so nothing in use is
ever overwritten; deploy/retention.py says which sets are kept and how a
release restores what expired); releases/, locks/ and records/ never expire.  No server access logs: checks/skips.yaml
says why (CKV_AWS_18).
"""

from __future__ import annotations

from awacs.aws import Allow, Condition, Principal, Statement, StringEquals
from awacs.s3 import GetObject
from troposphere import Equals, GetAtt, If, Not, NoValue, Output, Parameter, Ref, Sub, Tags, Template, s3

from ..model import MANAGED_BY, RELEASES_PREFIX, TEMPLATE_SET_TAG, TEMPLATES_PREFIX
from . import policies, storage

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
            TagFilters=[s3.TagFilter(Key=TEMPLATE_SET_TAG[0], Value=TEMPLATE_SET_TAG[1])],
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=1),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1),
        )]),
        Tags=Tags(ManagedBy=MANAGED_BY),
        # Templates of deployed stacks are worth keeping when this stack goes.
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    ))
    organization = t.add_parameter(Parameter(
        "OrganizationId", Type="String", Default="", AllowedPattern=r"^$|^o-[a-z0-9]{10,32}$",
        ConstraintDescription="must be empty or an AWS Organizations ID (o-...)",
        Description="The organisation whose accounts may read templates and releases (the organization_id "
                    "setting); empty: this account only"))
    shared = t.add_condition("SharedWithOrganization", Not(Equals(Ref(organization), "")))
    arn = GetAtt(bucket, "Arn")
    t.add_resource(s3.BucketPolicy("ArtifactsBucketPolicy", Bucket=Ref(bucket), PolicyDocument={
        "Version": policies.VERSION,
        "Statement": [storage.deny_insecure_transport(arn), If(shared, organization_reads(arn, organization), NoValue)],
    }))
    t.add_output(Output("BucketName", Value=Ref(bucket), Description="Artifacts bucket name"))
    t.add_output(Output("BucketArn", Value=GetAtt(bucket, "Arn"), Description="Artifacts bucket ARN"))
    return t


def organization_reads(bucket_arn, organization: Parameter) -> Statement:
    """Any principal of the organisation may read nested templates (StackSets instances fetch them with
    their own accounts' credentials) and published releases (deploy --release-bucket): nothing else."""
    return Statement(
        Sid="OrganizationReadsTemplatesAndReleases", Effect=Allow, Principal=Principal("*"), Action=[GetObject],
        Resource=[Sub(f"${{Arn}}/{TEMPLATES_PREFIX}*", Arn=bucket_arn), Sub(f"${{Arn}}/{RELEASES_PREFIX}*", Arn=bucket_arn)],
        Condition=Condition(StringEquals("aws:PrincipalOrgID", Ref(organization))),
    )
