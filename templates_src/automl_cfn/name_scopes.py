"""Where a name the templates set must be unique: in the partition, in the account, or in one region of it.

One environment may run in two regions of one account (`deploy --region`, a stack set's instances).  A
name unique per region (a queue, a cluster, a log group) may then repeat; a name unique per account
(an IAM role, a CloudWatch dashboard) or per partition (an S3 bucket) may not: the second region's
create fails ("already exists"), or, where the service's API overwrites (PutDashboard), two stacks
would share one resource and the first delete would take it from both.  So every such name the
templates build carries the region (tests/unit/test_name_scopes.py scans every environment for it), and
the local endpoint keeps dashboards account-wide as AWS does (local_aws/strict/rules.py).

The scopes are data taken from AWS's own words, each entry with its evidence, checked by the tests:

- `says`: the sentence of the API reference that states the scope, as botocore's model carries it
  (`api`: service, operation and, where the sentence documents one parameter, that member);
- `arn`: the Service Authorization Reference resource type whose ARN format has the name in it: no
  region field means the name is account-wide (`arn:${Partition}:iam::${Account}:role/...`), no region
  and no account means partition-wide (`arn:${Partition}:s3:::${BucketName}`);
- `source`: the documentation page, for people.

Deliberate account-wide names without a region (all outside the workload templates):

- the CI roles and the permissions boundary of `deploy-role` (`<project>-<env>-ci-deploy`, `-ci-diff`,
  `-boundary`): one per environment and account; their policies cover every region (deploy_role/);
- GitHub's OIDC provider: one per URL per account, so the deploy-role template takes its ARN
  (OidcProviderArn) instead of creating it, and every environment's roles share it.

Renaming a custom-named resource replaces it.  The buckets already carry the account and the region,
so no bucket (stateful, retained) is renamed; the dashboard (stateless: its body is the template's) is.
"""

from __future__ import annotations

from dataclasses import dataclass

PARTITION, ACCOUNT, REGION = "partition", "account", "region"


@dataclass(frozen=True)
class NameScope:
    unique_in: str                   # PARTITION, ACCOUNT or REGION (REGION: maybe narrower, see `says`)
    source: str                      # the AWS documentation page
    says: str = ""                   # its words, as botocore's documentation of `api` has them
    api: tuple[str, ...] = ()        # (botocore service, operation[, member]) documenting `says`
    arn: str = ""                    # Service Authorization Reference type "service:type" naming the resource
    name_property: str = ""          # where the provider schema has no custom-name property (providers.py)

    @property
    def account_wide(self) -> bool:
        """Two regions of one account cannot both hold the name."""
        return self.unique_in in (PARTITION, ACCOUNT)


IAM_NAMES = "IAM user, group, role, and policy names must be unique within the account."
SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"

SCOPES: dict[str, NameScope] = {
    # -- unique across every account of the partition ------------------------------------------------------
    "AWS::S3::Bucket": NameScope(
        PARTITION, "https://docs.aws.amazon.com/AmazonS3/latest/userguide/gpbucketnamespaces.html",
        "each bucket name must be unique across all Amazon Web Services accounts in all the Amazon Web Services "
        "Regions within a partition", ("s3", "CreateBucket"), "s3:bucket"),
    # -- unique in the account, whatever the region -------------------------------------------------------
    "AWS::IAM::Role": NameScope(
        ACCOUNT, "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html",
        IAM_NAMES, ("iam", "CreateRole", "RoleName"), "iam:role"),
    "AWS::IAM::ManagedPolicy": NameScope(
        ACCOUNT, "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html",
        IAM_NAMES, ("iam", "CreatePolicy", "PolicyName"), "iam:policy"),
    "AWS::IAM::InstanceProfile": NameScope(
        ACCOUNT, SAR + "list_awsidentityandaccessmanagementiam.html", arn="iam:instance-profile"),
    "AWS::IAM::OIDCProvider": NameScope(
        ACCOUNT, "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html",
        "You cannot register the same provider multiple times in a single Amazon Web Services account.",
        ("iam", "CreateOpenIDConnectProvider", "Url"), "iam:oidc-provider", name_property="Url"),
    "AWS::CloudWatch::Dashboard": NameScope(
        ACCOUNT, "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/"
                 "aws-resource-cloudwatch-dashboard.html",
        "All dashboards in your account are global, not region-specific.", ("cloudwatch", "PutDashboard"),
        "cloudwatch:dashboard"),
    # -- unique in one region of the account (or narrower) -------------------------------------------------
    "AWS::CloudFormation::Stack": NameScope(
        REGION, "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html",
        "The name must be unique in the Region in which you are creating the stack.",
        ("cloudformation", "CreateStack", "StackName"), "cloudformation:stack"),
    "AWS::CloudFormation::StackSet": NameScope(
        REGION, "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html",
        "The name must be unique in the Region where you create your StackSet.",
        ("cloudformation", "CreateStackSet", "StackSetName"), "cloudformation:stackset"),
    "AWS::CloudWatch::Alarm": NameScope(
        REGION, "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html",
        "This name must be unique within the Region.", ("cloudwatch", "PutMetricAlarm", "AlarmName"),
        "cloudwatch:alarm"),
    "AWS::Logs::LogGroup": NameScope(
        REGION, "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
        "Log group names must be unique within a Region for an Amazon Web Services account.",
        ("logs", "CreateLogGroup"), "logs:log-group"),
    "AWS::KMS::Alias": NameScope(
        REGION, "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html",
        "The alias must be unique in the account and Region, but you can have aliases with the same name in "
        "different Regions.", ("kms", "CreateAlias"), "kms:alias"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": NameScope(
        REGION, "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
        "This name must be unique per region per account", ("elbv2", "CreateLoadBalancer", "Name"),
        "elasticloadbalancing:loadbalancer/app/"),
    "AWS::ElasticLoadBalancingV2::TargetGroup": NameScope(
        REGION, "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
        "This name must be unique per region per account", ("elbv2", "CreateTargetGroup", "Name"),
        "elasticloadbalancing:targetgroup"),
    "AWS::EC2::SecurityGroup": NameScope(
        REGION, "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html",
        "Names are case-insensitive and must be unique within the VPC.", ("ec2", "CreateSecurityGroup", "GroupName")),
    "AWS::ECS::Cluster": NameScope(REGION, SAR + "list_amazonelasticcontainerservice.html", arn="ecs:cluster"),
    "AWS::ECS::Service": NameScope(
        REGION, "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html",
        "Service names must be unique within a cluster, but you can have similarly named services in multiple "
        "clusters within a Region or across multiple Regions.", ("ecs", "CreateService", "serviceName"),
        "ecs:service"),
    "AWS::ECR::Repository": NameScope(REGION, SAR + "list_amazonelasticcontainerregistry.html",
                                      arn="ecr:repository"),
    "AWS::SNS::Topic": NameScope(REGION, SAR + "list_amazonsns.html", arn="sns:topic"),
    "AWS::SQS::Queue": NameScope(REGION, SAR + "list_amazonsqs.html", arn="sqs:queue"),
    "AWS::SecretsManager::Secret": NameScope(REGION, SAR + "list_awssecretsmanager.html",
                                             arn="secretsmanager:Secret"),
    "AWS::StepFunctions::StateMachine": NameScope(REGION, SAR + "list_awsstepfunctions.html",
                                                  arn="states:statemachine"),
    "AWS::Events::Rule": NameScope(REGION, SAR + "list_amazoneventbridge.html",
                                   arn="events:rule-on-default-event-bus"),
    "AWS::Pipes::Pipe": NameScope(REGION, SAR + "list_amazoneventbridgepipes.html", arn="pipes:pipe"),
    "AWS::Scheduler::Schedule": NameScope(REGION, SAR + "list_amazoneventbridgescheduler.html",
                                          arn="scheduler:schedule"),
    # A scaling policy is named within its scalable target (service, resource ID, dimension): every call on
    # it names the target too.  Its ARN carries a generated ID, so no ARN format says more.
    "AWS::ApplicationAutoScaling::ScalingPolicy": NameScope(
        REGION, "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PutScalingPolicy.html"),
    "AWS::Config::ConfigurationRecorder": NameScope(
        REGION, "https://docs.aws.amazon.com/config/latest/APIReference/API_PutConfigurationRecorder.html",
        "You can create only one customer managed configuration recorder for each account for each Amazon Web "
        "Services Region.", ("config", "PutConfigurationRecorder"), "config:ConfigurationRecorder"),
    "AWS::Config::DeliveryChannel": NameScope(
        REGION, "https://docs.aws.amazon.com/config/latest/APIReference/API_PutDeliveryChannel.html",
        "You can have only one delivery channel for each account for each Amazon Web Services Region.",
        ("config", "PutDeliveryChannel")),
    # Config rules and conformance packs are resources of one region ("API calls ... are AWS Region
    # specific"); a rule's ARN carries a generated ID, a pack's its name.
    "AWS::Config::ConfigRule": NameScope(
        REGION, "https://docs.aws.amazon.com/config/latest/developerguide/config-rule-multi-account-deployment.html"),
    "AWS::Config::ConformancePack": NameScope(REGION, SAR + "list_awsconfig.html", arn="config:ConformancePack"),
}


def scope_of(resource_type: str) -> NameScope | None:
    return SCOPES.get(resource_type)


def account_wide(resource_type: str) -> bool:
    """Is a name of this type unique in the account (or partition), so two regions cannot share it?"""
    scope = SCOPES.get(resource_type)
    return scope is not None and scope.account_wide
