"""The least-privilege IAM policy a CI role needs to deploy these stacks (`automl-cfn deploy-role`).

Without a service role, CloudFormation calls each resource type's handlers
with the caller's credentials, so the caller needs what the handlers need.
The provider schemas cfn-lint ships list exactly that (`handlers.create /
read / update / delete .permissions`, extracted into data/providers.json), for
every resource type the templates use.  To them come the calls automl-cfn
makes itself: CloudFormation change sets on the environment's stacks, the
artifacts bucket (templates, lock, --var record) and the read-only calls of
`preflight`.

Scoped from data: cfn-lint's copy of the Service Authorization Reference
(data/iam_actions.json) says which resource types each action acts on.  An
action whose every resource type names something the project owns goes to a
statement on the project's ARNs: its stacks and change sets, roles,
repositories, buckets, log groups, topics, state machines, alarms and
dashboards, secrets; iam:PassRole to the project's roles and only to the
services that take them; the tool's S3 calls to the artifacts bucket.  The
rest (EC2, ECS, ELB, KMS key creation, Describe and List calls) acts on no
ARN the project can name in advance, so it applies to "*".  A schema entry
IAM has no action for (an API name) is left out.  The
documents are split to fit IAM's managed-policy size; parliament proves them
(tests/unit/test_deploy_role.py).  `destroy --purge-data` is not a CI verb and
is not covered.
"""

from __future__ import annotations

import json
from typing import Iterable, Mapping

from . import providers
from .model import RELEASES_PREFIX

MANAGED_POLICY_MAX = 6144                               # characters, whitespace excluded
ARTIFACTS_STACK = "automl-cfn-artifacts"

# What automl-cfn calls itself (deploy, diff, release, status, preflight), beyond the handlers.
TOOL_CLOUDFORMATION = (
    "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteChangeSet", "cloudformation:ListChangeSets", "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents", "cloudformation:DescribeStackResource",
    "cloudformation:DescribeStackResources", "cloudformation:ListStackResources", "cloudformation:GetTemplate",
    "cloudformation:SetStackPolicy", "cloudformation:GetStackPolicy", "cloudformation:UpdateTerminationProtection",
    "cloudformation:ContinueUpdateRollback", "cloudformation:RollbackStack", "cloudformation:CancelUpdateStack",
    "cloudformation:DeleteStack", "cloudformation:DescribeEvents",
)
TOOL_ANY_RESOURCE = (
    "cloudformation:ListStacks", "cloudformation:ValidateTemplate", "cloudformation:GetTemplateSummary",
    "sts:GetCallerIdentity",
    # preflight
    "ec2:DescribeAvailabilityZones", "ec2:DescribeVpcs", "ec2:DescribeAddresses", "ec2:DescribeNatGateways",
    "ec2:DescribeSubnets", "servicequotas:ListServiceQuotas", "servicequotas:ListAWSDefaultServiceQuotas",
    "acm:DescribeCertificate", "kms:DescribeKey", "iam:GetPolicy", "ecs:DescribeClusters", "sns:GetTopicAttributes",
    "states:DescribeStateMachine", "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "ecr:DescribeImages",
    "ecr:DescribeRepositories", "ecr:ListImages", "logs:DescribeLogGroups",
    "elasticloadbalancing:DescribeRules",
)
TOOL_SCOPED = ("secretsmanager:DescribeSecret",)   # preflight, on the project's secret
# automl-cfn stackset, on the project's stack sets (and the targets and types their instance operations name).
TOOL_STACKSETS = (
    "cloudformation:CreateStackSet", "cloudformation:UpdateStackSet", "cloudformation:DeleteStackSet",
    "cloudformation:DescribeStackSet", "cloudformation:ListStackInstances", "cloudformation:DescribeStackInstance",
    "cloudformation:CreateStackInstances", "cloudformation:UpdateStackInstances",
    "cloudformation:DeleteStackInstances", "cloudformation:DescribeStackSetOperation",
    "cloudformation:ListStackSetOperations", "cloudformation:ListStackSetOperationResults",
    "cloudformation:DetectStackSetDrift",
)
STACKSET_ADMINISTRATION_ROLE = "AWSCloudFormationStackSetAdministrationRole"
TOOL_ARTIFACTS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket")
# The services the project's roles are passed to (task roles, the pipeline, flow logs, ECS blue/green).
PASSED_TO = ("ecs-tasks.amazonaws.com", "ecs.amazonaws.com", "states.amazonaws.com", "vpc-flow-logs.amazonaws.com")


def handler_actions(documents: Iterable[Mapping]) -> set[str]:
    """What the handlers of every type in the templates call, as IAM actions (providers.iam_actions)."""
    known = providers.committed_iam_actions()
    return {action for resource_type in providers.template_types(documents)
            for action in providers.get(resource_type).permissions if action in known}


def scopes(project: str, partition: str, account: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Statement name -> (service, resource type -> the project's ARNs of that type).  An action goes
    to a scope when every resource type it can act on is one the scope names; otherwise to "*"."""
    arn = f"arn:{partition}"
    return {
        "CloudFormationOnTheProjectsStacks": ("cloudformation", {
            "stack": f"{arn}:cloudformation:*:{account}:stack/{project}-*/*",
            "changeset": f"{arn}:cloudformation:*:{account}:changeSet/automl-cfn-*/*"}),
        "IamOnTheProjectsRoles": ("iam", {"role": f"{arn}:iam::{account}:role/{project}-*"}),
        "RepositoriesOfTheProject": ("ecr", {"repository": f"{arn}:ecr:*:{account}:repository/{project}-*"}),
        "BucketsOfTheProject": ("s3", {"bucket": f"{arn}:s3:::{project}-*", "object": f"{arn}:s3:::{project}-*/*"}),
        "LogGroupsOfTheProject": ("logs", {"log-group": f"{arn}:logs:*:{account}:log-group:*{project}-*"}),
        "TopicsOfTheProject": ("sns", {"topic": f"{arn}:sns:*:{account}:{project}-*"}),
        "StateMachinesOfTheProject": ("states", {"statemachine": f"{arn}:states:*:{account}:stateMachine:{project}-*"}),
        "AlarmsAndDashboardsOfTheProject": ("cloudwatch", {
            "alarm": f"{arn}:cloudwatch:*:{account}:alarm:{project}-*",
            "dashboard": f"{arn}:cloudwatch::{account}:dashboard/{project}-*"}),
        # The API key secret (`<project>/<environment>/api-key`): its value is never readable elsewhere.
        "SecretsOfTheProject": ("secretsmanager", {"Secret": f"{arn}:secretsmanager:*:{account}:secret:{project}/*"}),
    }


def statements(documents: Iterable[Mapping], project: str, partition: str = "aws", account: str = "*") -> list[dict]:
    """The policy's statements: scoped ones, PassRole, the artifacts bucket, then the rest by service on "*"."""
    documents = list(documents)
    known = providers.committed_iam_actions()
    actions = handler_actions(documents) | set(TOOL_CLOUDFORMATION) | set(TOOL_ANY_RESOURCE) | set(TOOL_SCOPED)
    result = []
    for sid, (service, types) in scopes(project, partition, account).items():
        chosen = {a for a in actions if a.split(":")[0] == service and a not in TOOL_ANY_RESOURCE
                  and a != "iam:PassRole" and _within(a, types, known)}
        if service == "cloudformation":
            chosen |= set(TOOL_CLOUDFORMATION)   # the tool's calls name the project's stacks and change sets
            resources = sorted(types.values()) + [f"arn:{partition}:cloudformation:*:{account}:stack/"
                                                  f"{ARTIFACTS_STACK}/*"]
        else:
            resources = sorted(types.values())
        if chosen:
            result.append({"Sid": sid, "Effect": "Allow", "Action": sorted(chosen), "Resource": resources})
            actions -= chosen
    role = f"arn:{partition}:iam::{account}:role"
    if "iam:PassRole" in actions:
        actions.discard("iam:PassRole")
        result.append({"Sid": "PassTheProjectsRolesToTheirServices", "Effect": "Allow", "Action": ["iam:PassRole"],
                       "Resource": [f"{role}/{project}-*"],
                       "Condition": {"StringEquals": {"iam:PassedToService": list(PASSED_TO)}}})
    service_linked = {a for a in actions if "ServiceLinkedRole" in a}
    if service_linked:
        result.append({"Sid": "IamServiceLinkedRoles", "Effect": "Allow", "Action": sorted(service_linked),
                       "Resource": [f"{role}/aws-service-role/*"]})
        actions -= service_linked
    bucket = f"arn:{partition}:s3:::{ARTIFACTS_STACK}-{account}-*"
    result.append({"Sid": "ArtifactsBucket", "Effect": "Allow", "Action": list(TOOL_ARTIFACTS),
                   "Resource": [bucket, f"{bucket}/*"]})
    result.append({"Sid": "StackSets", "Effect": "Allow", "Action": sorted(TOOL_STACKSETS), "Resource": [
        f"arn:{partition}:cloudformation:*:{account}:stackset/{project}-*:*",
        f"arn:{partition}:cloudformation:*:{account}:stackset-target/{project}-*:*",
        f"arn:{partition}:cloudformation:*::type/resource/*"]})
    result.append({"Sid": "StackSetsAdministrationRole", "Effect": "Allow", "Action": ["iam:GetRole", "iam:PassRole"],
                   "Resource": [f"{role}/{STACKSET_ADMINISTRATION_ROLE}"]})
    # deploy --release-bucket: another account's artifacts bucket, read-only and only its releases (that
    # bucket's policy must let this account read too).
    releases = f"arn:{partition}:s3:::{ARTIFACTS_STACK}-*"
    result.append({"Sid": "PublishedReleases", "Effect": "Allow", "Action": ["s3:GetObject"],
                   "Resource": [f"{releases}/{RELEASES_PREFIX}*"]})
    by_service: dict[str, list[str]] = {}
    for action in sorted(actions):
        by_service.setdefault(action.split(":")[0], []).append(action)
    for service, listed in sorted(by_service.items()):
        sid = "".join(part.capitalize() for part in service.split("-")) + "Handlers"
        result.append({"Sid": sid, "Effect": "Allow", "Action": listed, "Resource": "*"})
    return result


def _within(action: str, types: dict[str, str], known: dict[str, list[str]]) -> bool:
    """Every resource type the action can act on is one the scope names (and it has at least one)."""
    listed = known.get(action)
    return bool(listed) and set(listed) <= set(types)


def documents_of(chosen: list[dict]) -> list[dict]:
    """The statements in as few policy documents as fit IAM's managed-policy size."""
    documents: list[list[dict]] = [[]]
    for statement in chosen:
        trial = documents[-1] + [statement]
        if documents[-1] and _size({"Version": "2012-10-17", "Statement": trial}) > MANAGED_POLICY_MAX:
            documents.append([statement])
        else:
            documents[-1] = trial
    return [{"Version": "2012-10-17", "Statement": group} for group in documents]


def _size(document: dict) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def template(documents: Iterable[Mapping], project: str) -> dict:
    """A CloudFormation template of the CI role: trusted by GitHub's OIDC provider for one repository,
    with the policies above as managed policies (${AWS::AccountId} and ${AWS::Partition} filled by Sub)."""
    placeholder = "111111111111"
    policies = documents_of(statements(documents, project, partition="aws", account=placeholder))
    resources: dict = {
        "DeployRole": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": f"{project}-cfn-deploy",
            "Description": "automl-cfn deploys from CI (GitHub Actions OIDC)",
            "MaxSessionDuration": 3600,
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Federated": {"Ref": "OidcProviderArn"}},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                    "StringLike": {"token.actions.githubusercontent.com:sub": [
                        {"Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/main"},
                        {"Fn::Sub": "repo:${GitHubRepository}:pull_request"},
                        {"Fn::Sub": "repo:${GitHubRepository}:environment:*"}]}}}]}}},
    }
    for number, policy in enumerate(policies, 1):
        text = json.dumps(policy, separators=(",", ":")).replace(placeholder, "${AWS::AccountId}").replace(
            "arn:aws:", "arn:${AWS::Partition}:")
        resources[f"DeployPolicy{number}"] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "Description": f"automl-cfn deploy permissions ({number} of {len(policies)})",
            "Roles": [{"Ref": "DeployRole"}],
            "PolicyDocument": {"Fn::Sub": text} if "${" in text else policy}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"CI role that deploys the {project} automl-cfn stacks (automl-cfn deploy-role)",
        "Parameters": {
            "GitHubRepository": {"Type": "String", "AllowedPattern": "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
                                 "Description": "ORG/REPO whose workflows may assume the role"},
            "OidcProviderArn": {"Type": "String", "AllowedPattern": "^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$",
                                "Description": "ARN of the token.actions.githubusercontent.com OIDC provider"},
        },
        "Resources": resources,
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["DeployRole", "Arn"]},
                                "Description": "role-to-assume for aws-actions/configure-aws-credentials"}},
    }
