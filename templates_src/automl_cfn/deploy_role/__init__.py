"""The CI roles of one environment and the permissions boundary of its roles (`automl-cfn deploy-role`).

Three policies, all derived from the templates and the Service Authorization Reference:

- **deploy** (`<project>-<env>-ci-deploy`, path /automl-cfn/), trusted by GitHub's OIDC provider for the
  repository's default branch and the environment's GitHub environment.  Without a service role,
  CloudFormation calls each resource type's handlers with the caller's credentials, so the role needs
  what the handlers need: the provider schemas list it (needs.py keeps an action of another service
  only where the resource's properties refer to that service).  To them come the tool's own calls
  (change sets, the artifacts bucket, preflight's reads, stack sets); with existing_vpc_id, preflight
  reads that VPC's attributes and the prefix lists its endpoints admit from (network_statements).  Every action is scoped to the
  environment (scoping.py): by ARN where the project names the resource, by its Project and Environment
  tags where AWS names it; "*" only for actions that take no resource ARN.
- **diff** (`<project>-<env>-ci-diff`), trusted by pull requests only: the deploy role's List and Read
  actions without those that return data (objects, secret values, images), and what `diff` writes:
  CreateChangeSet and DeleteChangeSet on the environment's stacks (a change set is how CloudFormation
  computes a diff; it changes nothing until executed, which this role cannot do) and new template sets
  in the artifacts bucket (only with If-None-Match: an uploaded set is never overwritten).  A first diff
  of a never-deployed environment leaves the empty REVIEW_IN_PROGRESS stack behind (deleting stacks is
  not the diff role's to do); the first deploy creates the stack through it.
- **boundary** (`<project>-<env>-boundary`, a managed policy): every role the stacks create carries it
  when the permissions_boundary setting is `project`.  It allows what the roles' own policies and the
  AWS managed policies they attach allow, scoped by the environment's names where the project names the
  resource, and denies every IAM write but PassRole.  The deploy role may create and change roles only
  with this boundary on them (iam:PermissionsBoundary), may attach only the managed policies the
  templates attach (iam:PolicyARN), may never remove or change the boundary, and may pass the
  environment's roles only to the services that trust them.  So what the CI can grant a role is capped
  by the boundary, and what it can do itself is capped by this environment's names and tags.

Nothing of the deploy role's is on "*" unless it takes no resource ARN or carries a condition
(tests/unit/test_deploy_role.py proves it against parliament's definitions).  The documents are split to
fit IAM's managed-policy size.  `destroy --purge-data` deletes data: it is not a CI verb and is not
covered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..model import RELEASES_PREFIX, TEMPLATE_SET_TAG, TEMPLATES_PREFIX
from ..settings import Settings
from . import reference
from .needs import Needs, collect, configurations
from .scoping import Scope, statements

MANAGED_POLICY_MAX = 6144                               # characters, whitespace excluded
LONGEST_PARTITION = "aws-us-gov"                        # documents are sized for it
ROLE_PATH = "/automl-cfn/"                              # outside every `role/<project>-<env>-*` pattern
DEPLOY, DIFF = "ci-deploy", "ci-diff"                    # role names after `<project>-<env>-`
STACKSET_ADMINISTRATION_ROLE = "AWSCloudFormationStackSetAdministrationRole"

# What automl-cfn calls itself (deploy, diff, release, status, preflight, stackset), beyond the handlers.
TOOL_ACTIONS = (
    "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteChangeSet", "cloudformation:ListChangeSets", "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents", "cloudformation:DescribeStackResource",
    "cloudformation:DescribeStackResources", "cloudformation:ListStackResources", "cloudformation:GetTemplate",
    "cloudformation:SetStackPolicy", "cloudformation:GetStackPolicy", "cloudformation:UpdateTerminationProtection",
    "cloudformation:ContinueUpdateRollback", "cloudformation:RollbackStack", "cloudformation:CancelUpdateStack",
    "cloudformation:DeleteStack", "cloudformation:DescribeEvents", "cloudformation:DetectStackDrift",
    "cloudformation:DescribeStackDriftDetectionStatus", "cloudformation:DescribeStackResourceDrifts",
    "cloudformation:ListStacks", "cloudformation:ValidateTemplate", "cloudformation:GetTemplateSummary",
    "sts:GetCallerIdentity",
    # preflight
    "ec2:DescribeAvailabilityZones", "ec2:DescribeVpcs", "ec2:DescribeAddresses", "ec2:DescribeNatGateways",
    "ec2:DescribeSubnets", "ec2:DescribeRouteTables", "ec2:DescribeVpcEndpoints", "ec2:DescribeSecurityGroups",
    "servicequotas:ListServiceQuotas", "servicequotas:ListAWSDefaultServiceQuotas",
    "acm:DescribeCertificate", "kms:DescribeKey", "iam:GetPolicy", "iam:GetRole", "ecs:DescribeClusters",
    "sns:GetTopicAttributes", "states:DescribeStateMachine", "cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard",
    "ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:ListImages", "logs:DescribeLogGroups",
    "elasticloadbalancing:DescribeRules", "secretsmanager:DescribeSecret", "s3:ListBucket",
    # automl-cfn stackset, on the environment's stack set
    "cloudformation:CreateStackSet", "cloudformation:UpdateStackSet", "cloudformation:DeleteStackSet",
    "cloudformation:DescribeStackSet", "cloudformation:ListStackSets", "cloudformation:ListStackInstances", "cloudformation:DescribeStackInstance",
    "cloudformation:CreateStackInstances", "cloudformation:UpdateStackInstances",
    "cloudformation:DeleteStackInstances", "cloudformation:DescribeStackSetOperation",
    "cloudformation:ListStackSetOperations", "cloudformation:ListStackSetOperationResults",
    "cloudformation:DetectStackSetDrift",
)
# What the tool does in the artifacts bucket (artifacts_statements).
ARTIFACTS_ACTIONS = ("s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging",
                     "s3:PutObjectTagging")
# preflight's reads of the network existing_vpc_id names, which the project neither created nor tagged (so
# the tag-held grants do not reach it): the VPC's DNS attributes, on that VPC only; and the entries of the
# prefix lists its endpoints' security groups admit from, which may be AWS-managed (account `aws`) or shared by
# a landing zone's network account (RAM), so in any account.  Both read only (deploy/preflight_network.py).
NETWORK_READS = ("ec2:DescribeVpcAttribute", "ec2:GetManagedPrefixListEntries")
# What `diff` writes: a change set is computed, shown and deleted, never executed.
DIFF_WRITES = ("cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet")
# Read actions that return data rather than describe infrastructure: not the pull-request role's.
DATA_READS = ("s3:GetObject", "s3:GetObjectVersion", "secretsmanager:GetSecretValue", "ecr:BatchGetImage",
              "ecr:GetDownloadUrlForLayer", "logs:GetLogEvents", "logs:FilterLogEvents")
# IAM actions on roles that take iam:PermissionsBoundary but would remove or bypass the boundary.
NEVER_ON_ROLES = ("iam:DeleteRolePermissionsBoundary",)
# Attaching and detaching managed policies: held to the templates' policies as well (iam:PolicyARN).
ATTACHING = ("iam:AttachRolePolicy", "iam:DetachRolePolicy")
PASS_ROLE = "iam:PassRole"
CREATE_SERVICE_LINKED_ROLE = "iam:CreateServiceLinkedRole"
POLICY_EDITS = ("iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion")


@dataclass
class Policies:
    """The statements of the two CI roles and the boundary document, for one environment."""

    deploy: list[dict]
    diff: list[dict]
    boundary: dict
    scope: Scope


def scope_of(settings: Settings, needs: Needs, partition: str = "aws", account: str = "*") -> Scope:
    """The environment's names; what the settings name from outside the project (a customer key, a
    secret, a certificate, a boundary of the settings' own) joins the patterns of its type."""
    given = []
    for setting, key in (("kms_key", "kms:key"), ("api_key_secret", "secretsmanager:Secret"),
                         ("certificate_arn", "acm:certificate"), ("permissions_boundary", "iam:policy")):
        value = getattr(settings, setting)
        if value.startswith("arn:"):
            given.append((key, value))
    return Scope(settings.project_name, settings.environment, partition, account, network=settings.existing_vpc_id,
                 log_groups=tuple(sorted(needs.names.get("AWS::Logs::LogGroup", set()))),
                 adopted=dict(settings.adopted_names or {}), given=tuple(given))


def policies(project: Path, settings: Settings, documents: Mapping[str, dict], partition: str = "aws",
             account: str = "*") -> Policies:
    needs = collect(documents, configurations(project, settings).values())
    scope = scope_of(settings, needs, partition, account)
    from .boundary import boundary_document

    deploy = deploy_statements(needs, scope)
    return Policies(deploy, diff_statements(deploy, scope), boundary_document(needs, scope), scope)


# ---------------------------------------------------------------------------
# deploy
# ---------------------------------------------------------------------------

def deploy_statements(needs: Needs, scope: Scope) -> list[dict]:
    actions = (needs.actions | set(TOOL_ACTIONS)) - set(NEVER_ON_ROLES)
    on_roles = {a for a in actions if "role" in (reference.resource_types(a) or []) and a.startswith("iam:")}
    result = iam_statements(on_roles, needs, scope)
    result += statements(actions - on_roles, scope)
    result += artifacts_statements(scope, diff=False)
    return result + network_statements(scope) + deny_statements(scope)


def network_statements(scope: Scope) -> list[dict]:
    """With an existing VPC, preflight reads what of it the tags do not reach (NETWORK_READS)."""
    if not scope.network:
        return []
    vpc, any_prefix_list = NETWORK_READS
    return [{"Sid": "PreflightReadsTheExistingVpc", "Effect": "Allow", "Action": [vpc],
             "Resource": [scope.arn("ec2", f"vpc/{scope.network}")]},
            {"Sid": "PreflightReadsThePrefixListsItsEndpointsAdmit", "Effect": "Allow", "Action": [any_prefix_list],
             "Resource": [f"arn:{scope.partition}:ec2:*:*:prefix-list/*"]}]


def iam_statements(on_roles: set[str], needs: Needs, scope: Scope) -> list[dict]:
    """Roles only with the boundary; managed policies only the templates'; PassRole only to the services
    that trust the roles; service-linked roles only for the services the types use."""
    role = scope.arn("iam", f"role/{scope.prefix}-*", region="")
    boundary = {"ArnEquals": {"iam:PermissionsBoundary": scope.boundary_arn}}
    bounded = {a for a in on_roles if "iam:PermissionsBoundary" in reference.condition_keys(a)} - {PASS_ROLE}
    attaching = bounded & set(ATTACHING)
    if not needs.managed_policies:
        bounded -= attaching
        attaching = set()
    result = [{"Sid": "IamRolesOnlyWithTheBoundary", "Effect": "Allow", "Action": sorted(bounded - attaching),
               "Resource": [role], "Condition": boundary}]
    if attaching:
        managed = sorted(arn.replace("${AWS::Partition}", scope.partition) for arn in needs.managed_policies)
        result.append({"Sid": "IamOnlyTheTemplatesManagedPolicies", "Effect": "Allow", "Action": sorted(attaching),
                       "Resource": [role],
                       "Condition": {"ArnEquals": {**boundary["ArnEquals"], "iam:PolicyARN": managed}}})
    rest = on_roles - bounded - {PASS_ROLE, CREATE_SERVICE_LINKED_ROLE} - set(ATTACHING)
    result.append({"Sid": "IamTheProjectsRoles", "Effect": "Allow", "Action": sorted(rest), "Resource": [role]})
    result.append({"Sid": "IamPassTheProjectsRolesToTheServicesThatTrustThem", "Effect": "Allow",
                   "Action": [PASS_ROLE], "Resource": [role],
                   "Condition": {"StringEquals": {"iam:PassedToService": sorted(needs.passed_to)}}})
    if needs.service_linked:
        result.append({"Sid": "IamServiceLinkedRolesOfTheServicesUsed", "Effect": "Allow",
                       "Action": [CREATE_SERVICE_LINKED_ROLE],
                       "Resource": [scope.arn("iam", f"role/aws-service-role/{name}/*", region="")
                                    for name in sorted(needs.service_linked)],
                       "Condition": {"StringEquals": {"iam:AWSServiceName": sorted(needs.service_linked)}}})
    administration = scope.arn("iam", f"role/{STACKSET_ADMINISTRATION_ROLE}", region="")
    result.append({"Sid": "IamStackSetsAdministrationRole", "Effect": "Allow", "Action": ["iam:GetRole"],
                   "Resource": [administration]})
    result.append({"Sid": "IamPassTheStackSetsAdministrationRole", "Effect": "Allow", "Action": [PASS_ROLE],
                   "Resource": [administration],
                   "Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}})
    return result


def deny_statements(scope: Scope) -> list[dict]:
    """Whatever else is ever attached to the role: the environment's roles keep the boundary as it is,
    the boundary policy stays as it is, and the CI roles and their policies are not the CI's to change."""
    role = scope.arn("iam", f"role/{scope.prefix}-*", region="")
    ci = [scope.arn("iam", f"role{ROLE_PATH}*", region=""), scope.arn("iam", f"policy{ROLE_PATH}*", region="")]
    return [
        {"Sid": "DenyRemovingTheBoundary", "Effect": "Deny", "Action": list(NEVER_ON_ROLES), "Resource": [role]},
        {"Sid": "DenyAnotherBoundary", "Effect": "Deny", "Action": ["iam:PutRolePermissionsBoundary"],
         "Resource": [role], "Condition": {"ArnNotEquals": {"iam:PermissionsBoundary": scope.boundary_arn}}},
        {"Sid": "DenyEditingTheBoundaryOrTheCiRoles", "Effect": "Deny",
         "Action": sorted({*NEVER_ON_ROLES, *POLICY_EDITS, *ATTACHING, "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                           "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary", "iam:DeleteRole"}),
         "Resource": [scope.boundary_arn, *ci]},
    ]


def artifacts_statements(scope: Scope, diff: bool) -> list[dict]:
    """The artifacts bucket: the project's template sets and releases, the environment's lock and record;
    releases published in another account's bucket, read-only.  The diff role lists, reads template
    sets and releases, and adds template sets without overwriting any (s3:if-none-match)."""
    bucket = scope.artifacts_bucket
    templates = f"{bucket}/{TEMPLATES_PREFIX}{scope.project}/*"
    releases = f"{bucket}/{RELEASES_PREFIX}{scope.project}/*"
    elsewhere = f"arn:{scope.partition}:s3:::automl-cfn-artifacts-*/{RELEASES_PREFIX}{scope.project}/*"
    lock, record = f"{bucket}/locks/{scope.prefix}.json", f"{bucket}/records/{scope.prefix}.json"
    listing = {"Sid": "ArtifactsList", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [bucket]}
    if diff:
        return [listing,
                {"Sid": "ArtifactsRead", "Effect": "Allow", "Action": ["s3:GetObject"],
                 "Resource": [templates, releases, elsewhere]},
                {"Sid": "ArtifactsNewTemplateSets", "Effect": "Allow", "Action": ["s3:PutObject"],
                 "Resource": [templates], "Condition": {"StringEquals": {"s3:if-none-match": "*"}}},
                # A new set is tagged expirable as it is uploaded (deploy/retention.py), which takes
                # s3:PutObjectTagging too: only that tag, and only on an object that has none yet.
                {"Sid": "ArtifactsNewTemplateSetTags", "Effect": "Allow", "Action": ["s3:PutObjectTagging"],
                 "Resource": [templates], "Condition": {
                     "StringEquals": {f"s3:RequestObjectTag/{TEMPLATE_SET_TAG[0]}": TEMPLATE_SET_TAG[1]},
                     "Null": {f"s3:ExistingObjectTag/{TEMPLATE_SET_TAG[0]}": "true"}}}]
    return [listing,
            {"Sid": "ArtifactsRead", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": [templates, releases, lock, record, elsewhere]},
            {"Sid": "ArtifactsWrite", "Effect": "Allow", "Action": ["s3:PutObject"],
             "Resource": [templates, releases, lock, record]},
            # Which template sets expire: their tags (deploy/retention.py).
            {"Sid": "ArtifactsTemplateSetTags", "Effect": "Allow",
             "Action": ["s3:GetObjectTagging", "s3:PutObjectTagging"], "Resource": [templates]},
            {"Sid": "ArtifactsUnlock", "Effect": "Allow", "Action": ["s3:DeleteObject"], "Resource": [lock]}]


# ---------------------------------------------------------------------------
# diff (pull requests)
# ---------------------------------------------------------------------------

def read_only(action: str) -> bool:
    """List or Read in the reference; for an action newer than parliament's, a Describe, List or Get."""
    level = reference.access_level(action)
    verb = action.split(":", 1)[1]
    reads = level in ("List", "Read") if level else verb.startswith(("Describe", "List", "Get"))
    return reads and action not in DATA_READS


def diff_statements(deploy: list[dict], scope: Scope) -> list[dict]:
    """The deploy role's statements cut to the actions `diff` may take."""
    result = []
    for statement in deploy:
        if statement["Sid"].startswith("Artifacts") or statement["Effect"] == "Deny":
            continue
        kept = [a for a in statement["Action"] if read_only(a) or a in DIFF_WRITES]
        if kept:
            result.append({**statement, "Action": kept})
    return result + artifacts_statements(scope, diff=True)


# ---------------------------------------------------------------------------
# documents
# ---------------------------------------------------------------------------

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
    """Characters IAM counts (whitespace excluded), in the longest partition's ARNs."""
    text = json.dumps(document, separators=(",", ":"))
    return len(text) + text.count("arn:aws:") * (len(LONGEST_PARTITION) - len("aws"))


def wanted_in_reference(project: Path) -> set[str]:
    """Every action the reference extract must cover: the handlers' of every type the templates use, the
    tool's, what the roles' policies and the AWS managed policies they attach allow, and all of IAM's."""
    from .. import providers, synth
    from .boundary import managed_policy_actions

    documents = synth.read_generated_documents(project / "generated")
    wanted = {a for t in providers.template_types(documents.values()) for a in providers.get(t).permissions}
    wanted |= set(TOOL_ACTIONS) | set(NETWORK_READS) | set(DATA_READS) | set(ARTIFACTS_ACTIONS)
    for document in documents.values():
        for body in document.get("Resources", {}).values():
            if body["Type"] != "AWS::IAM::Role":
                continue
            for policy in body.get("Properties", {}).get("Policies", []):
                for statement in _plain_statements(policy):
                    listed = statement.get("Action", [])
                    wanted |= set([listed] if isinstance(listed, str) else listed)
    wanted |= {a for actions in managed_policy_actions(documents).values() for a in actions}
    return wanted | set(reference.iam_actions_of_parliament())


def _plain_statements(policy) -> list[dict]:
    """A role's inline policy's statements, through an Fn::If that keeps it optional."""
    if isinstance(policy, dict) and "Fn::If" in policy:
        return [s for branch in policy["Fn::If"][1:] for s in _plain_statements(branch)]
    if isinstance(policy, dict):
        return policy.get("PolicyDocument", {}).get("Statement", [])
    return []


# ---------------------------------------------------------------------------
# what each policy allows, as docs/SECURITY.md shows it
# ---------------------------------------------------------------------------

def markdown(chosen: Policies) -> str:
    """One row per policy and service: how many actions, and how they are scoped."""
    rows: dict[tuple[int, str], dict[str, set[str]]] = {}
    policies = (("deploy role", chosen.deploy), ("diff role", chosen.diff), ("boundary", chosen.boundary["Statement"]))
    for number, (_, statements) in enumerate(policies):
        for statement in statements:
            for action in statement["Action"]:
                row = rows.setdefault((number, action.split(":", 1)[0]), {})
                row.setdefault(_scope_of(statement, boundary=number == 2), set()).add(action)
    lines = ["| Policy | Service | Actions | Scope |", "| --- | --- | --- | --- |"]
    for (number, service), scopes in sorted(rows.items()):
        described = "; ".join(f"{len(scopes[s])} {s}" for s in SCOPES if s in scopes)
        lines.append(f"| {policies[number][0]} | {service} | {len(set().union(*scopes.values()))} | {described} |")
    return "\n".join(lines) + "\n"


SCOPES = ("by the environment's names", "by its Project and Environment tags", "under a condition",
          "on any resource (the action takes no ARN)", "on any resource (the roles' own policies name it)", "denied")


def _scope_of(statement: dict, boundary: bool) -> str:
    condition = json.dumps(statement.get("Condition", {}))
    if statement["Effect"] == "Deny":
        return "denied"
    if "aws:RequestTag/Project" in condition or "aws:ResourceTag/Project" in condition:
        return "by its Project and Environment tags"
    if statement["Resource"] != "*":
        return "by the environment's names"
    if condition != "{}":
        return "under a condition"
    return SCOPES[4] if boundary else SCOPES[3]
