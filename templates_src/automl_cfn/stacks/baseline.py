"""The account baseline: AWS Config for this workload, once per account and region.

AWS Config belongs to the account, not to one application's stacks, so it
has its own template (generated/account/baseline.json) and verb
(`automl-cfn baseline`):

- the configuration recorder, for the resource types the application's
  templates use that Config can record, with its delivery channel, bucket
  and role, unless the account already has a recorder (one per region: the
  verb checks, and sets CreateRecorder to false to use it).  The global IAM
  types are one item for the whole account: only the home region's recorder
  lists them (HomeRegion, the config_home_region setting), or every region
  would record each role again;
- Config delivers as the recorder's role (a bucket of its own account), so
  the role holds the delivery grants and the bucket policy grants Config's
  service principal nothing: that principal writes only to buckets of other
  accounts, or for a service-linked role, neither of which the baseline uses
  (config/latest/developerguide/s3-bucket-policy.html);
- AWS-managed rules for the controls this workload relies on
  (config_rules.RULES), each left out in the regions that lack it;
- or the same rules as one conformance pack (RulesAs).

Nothing here holds application data; the delivery bucket, which holds the
configuration history, is retained.
"""

from __future__ import annotations

import json

from troposphere import (
    Condition as ConditionRef, Equals, GetAtt, If, Not, Or, Output, Parameter, Ref, Sub, Tags, Template, config, iam,
    s3,
)

from .. import config_rules
from ..model import MANAGED_BY
from . import policies, storage
from .base import plain

PACK_NAME = "automl-cfn-workload"
RULE_PREFIX = "automl-cfn-"
CONFIG_ROLE_POLICY = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWS_ConfigRole"
HISTORY_DAYS = 400   # configuration history kept in the delivery bucket


def rule_name(identifier: str, packed: bool = False) -> str:
    """S3_BUCKET_SSL_REQUESTS_ONLY -> automl-cfn-s3-bucket-ssl-requests-only; in the pack automl-cfn-pack-...
    (switching between the two creates the new rules before it deletes the old: the names must differ)."""
    return RULE_PREFIX + ("pack-" if packed else "") + identifier.lower().replace("_", "-")


def recorded_types(application: dict[str, dict]) -> list[str]:
    """The resource types the application's templates use that AWS Config can record."""
    used = {body["Type"] for document in application.values() for body in document.get("Resources", {}).values()}
    return sorted(used & set(config_rules.facts()["recordable"]))


def build(application: dict[str, dict]) -> Template:
    t = Template(Description="automl-cfn account baseline: AWS Config recorder and managed rules for the workload")
    t.set_version("2010-09-09")
    create = t.add_parameter(Parameter(
        "CreateRecorder", Type="String", Default="true", AllowedValues=["true", "false"],
        Description="false when the account already records with AWS Config in this region (one recorder per region)"))
    rules_as = t.add_parameter(Parameter(
        "RulesAs", Type="String", Default="rules", AllowedValues=["rules", "conformance-pack"],
        Description="the managed rules one by one, or together as one conformance pack"))
    home = t.add_parameter(Parameter(
        "HomeRegion", Type="String", AllowedValues=list(config_rules.GLOBAL_IAM_REGIONS),
        Description="the one Region whose recorder records the global IAM resource types (a Region where AWS Config "
                    "can: it served them before February 2022)"))
    t.add_condition("CreatesRecorder", Equals(Ref(create), "true"))
    t.add_condition("RulesOneByOne", Equals(Ref(rules_as), "rules"))
    t.add_condition("RecordsGlobalTypes", Equals(Ref("AWS::Region"), Ref(home)))
    recorder_resources(t, recorded_types(application))
    packed = []
    for identifier, (control, parameters) in config_rules.RULES.items():
        facts = config_rules.facts()["rules"][identifier]
        if facts["unavailable"]:
            # Not in every region: always its own rule, left out where Config lacks it.
            available = t.add_condition(f"{condition_name(identifier)}Available",
                                        Not(any_region(facts["unavailable"])))
            t.add_resource(managed_rule(identifier, control, parameters, facts, condition=available))
        else:
            t.add_resource(managed_rule(identifier, control, parameters, facts, condition="RulesOneByOne"))
            packed.append(managed_rule(identifier, control, parameters, facts, packed=True))
    t.add_condition("RulesInAPack", Not(ConditionRef("RulesOneByOne")))
    t.add_resource(config.ConformancePack(
        "WorkloadConformancePack", Condition="RulesInAPack", ConformancePackName=PACK_NAME,
        TemplateBody=json.dumps({"Resources": {rule.title: plain(rule) for rule in packed}}, sort_keys=True)))
    return t


def condition_name(identifier: str) -> str:
    return "".join(part.capitalize() for part in identifier.split("_"))


def any_region(regions: list[str]):
    """Fn::Or takes 2 to 10 conditions: nested in groups of ten."""
    tests = [Equals(Ref("AWS::Region"), region) for region in regions]
    while len(tests) > 1:
        tests = [Or(*group) if len(group) > 1 else group[0] for group in (tests[i:i + 10]
                                                                         for i in range(0, len(tests), 10))]
    return tests[0]


def managed_rule(identifier: str, control: str, parameters: dict, facts: dict, condition: str | None = None,
                 packed: bool = False):
    props = dict(ConfigRuleName=rule_name(identifier, packed), Description=f"{control} (automl-cfn baseline)",
                 Source=config.Source(Owner="AWS", SourceIdentifier=identifier))
    if parameters:
        props["InputParameters"] = dict(parameters)
    if facts["trigger"] == "Periodic":
        props["MaximumExecutionFrequency"] = "TwentyFour_Hours"
    else:
        props["Scope"] = config.Scope(ComplianceResourceTypes=facts["resource_types"])
    rule = config.ConfigRule(f"{condition_name(identifier)}Rule", **props)
    if condition:
        rule.Condition = condition
    return rule


def recording_group(types: list[str]) -> config.RecordingGroup:
    """The types to record; the global IAM ones in the home region only (listing a type records it, whatever
    IncludeGlobalResourceTypes says: botocore's RecordingGroup.includeGlobalResourceTypes)."""
    regional = [name for name in types if name not in config_rules.GLOBAL_IAM_TYPES]
    listed = If("RecordsGlobalTypes", types, regional) if regional != types else types
    return config.RecordingGroup(AllSupported=False, IncludeGlobalResourceTypes=False, ResourceTypes=listed,
                                 RecordingStrategy=config.RecordingStrategy(UseOnly="INCLUSION_BY_RESOURCE_TYPES"))


def recorder_resources(t: Template, types: list[str]) -> None:
    bucket = t.add_resource(s3.Bucket(
        "ConfigHistoryBucket", Condition="CreatesRecorder",
        BucketEncryption=storage.default_encryption(),
        PublicAccessBlockConfiguration=storage.block_all_public_access(),
        OwnershipControls=storage.bucket_owner_enforced(),
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=s3.LifecycleConfiguration(Rules=[s3.LifecycleRule(
            Id="expire-old-history", Status="Enabled", ExpirationInDays=HISTORY_DAYS,
            NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=30),
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=1))]),
        Tags=Tags(ManagedBy=MANAGED_BY),
        DeletionPolicy="Retain", UpdateReplacePolicy="Retain"))
    arn = GetAtt(bucket, "Arn")
    # Config writes as the role below, never as its service principal here: the policy only refuses plain HTTP.
    policy = t.add_resource(s3.BucketPolicy("ConfigHistoryBucketPolicy", Condition="CreatesRecorder",
                                            Bucket=Ref(bucket),
                                            PolicyDocument=policies.document([storage.deny_insecure_transport(arn)])))
    role = t.add_resource(iam.Role(
        "ConfigRecorderRole", Condition="CreatesRecorder",
        AssumeRolePolicyDocument=policies.trust("config.amazonaws.com"),
        ManagedPolicyArns=[Sub(CONFIG_ROLE_POLICY)],   # reads the recorded resources' configuration
        Policies=[policies.inline("deliver-config-history", policies.grant_config_delivery(arn))],
        Tags=Tags(ManagedBy=MANAGED_BY)))
    recorder = t.add_resource(config.ConfigurationRecorder(
        "ConfigRecorder", Condition="CreatesRecorder", RoleARN=GetAtt(role, "Arn"),
        RecordingGroup=recording_group(types)))
    t.add_resource(config.DeliveryChannel(
        "ConfigDeliveryChannel", Condition="CreatesRecorder", S3BucketName=Ref(bucket),
        ConfigSnapshotDeliveryProperties=config.ConfigSnapshotDeliveryProperties(DeliveryFrequency="TwentyFour_Hours"),
        DependsOn=[policy.title, recorder.title]))
    t.add_output(Output("ConfigHistoryBucketName", Condition="CreatesRecorder", Value=Ref(bucket),
                        Description="Where the recorder delivers configuration history"))
