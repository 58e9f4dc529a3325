"""The CloudFormation template of one environment's CI roles and boundary (`deploy-role --format template`).

Deployed once per environment and account, by an administrator:

- the boundary, `<project>-<env>-boundary`: what the permissions_boundary setting `project` names;
- the deploy role, `/automl-cfn/<project>-<env>-ci-deploy`: GitHub's OIDC tokens of the repository's
  default branch and of the environment's GitHub environment (the deploy workflows' jobs run in one);
- the diff role, `/automl-cfn/<project>-<env>-ci-diff`: tokens of the repository's pull requests.

Every ARN's account and partition are the deploying account's (Fn::Sub of ${AWS::AccountId} and
${AWS::Partition}, string by string, so the policies stay JSON objects that cfn-lint reads).
"""

from __future__ import annotations

from typing import Any

from . import DEPLOY, DIFF, ROLE_PATH, Policies, documents_of

PLACEHOLDER_ACCOUNT = "111111111111"
OIDC_AUDIENCE = "token.actions.githubusercontent.com:aud"
OIDC_SUBJECT = "token.actions.githubusercontent.com:sub"


def template(chosen: Policies) -> dict:
    """`chosen` is built with account PLACEHOLDER_ACCOUNT and partition "aws"."""
    scope = chosen.scope
    prefix = scope.prefix
    resources: dict[str, Any] = {
        "Boundary": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "ManagedPolicyName": f"{prefix}-boundary",
            "Description": f"Permissions boundary of every role the {prefix} stacks create (automl-cfn)",
            "PolicyDocument": substituted(chosen.boundary)}},
    }
    subjects = {
        DEPLOY: {"Fn::If": ["HasGitHubEnvironment",
                            [{"Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/${DefaultBranch}"},
                             {"Fn::Sub": "repo:${GitHubRepository}:environment:${GitHubEnvironment}"}],
                            [{"Fn::Sub": "repo:${GitHubRepository}:ref:refs/heads/${DefaultBranch}"}]]},
        DIFF: [{"Fn::Sub": "repo:${GitHubRepository}:pull_request"}],
    }
    purposes = {DEPLOY: ("DeployRole", "deploys it from CI (GitHub Actions OIDC)", chosen.deploy),
                DIFF: ("DiffRole", "reviews its changes from pull requests, read-only", chosen.diff)}
    for suffix, (logical_id, what, statements) in purposes.items():
        resources[logical_id] = {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": f"{prefix}-{suffix}", "Path": ROLE_PATH, "MaxSessionDuration": 3600,
            "Description": f"automl-cfn: {what} ({prefix})",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Federated": {"Ref": "OidcProviderArn"}},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {OIDC_AUDIENCE: "sts.amazonaws.com", OIDC_SUBJECT: subjects[suffix]}},
            }]}}}
        documents = documents_of(statements)
        for number, document in enumerate(documents, 1):
            resources[f"{logical_id}Policy{number}"] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
                "ManagedPolicyName": f"{prefix}-{suffix}-{number}", "Path": ROLE_PATH,
                "Description": f"automl-cfn {suffix} permissions of {prefix} ({number} of {len(documents)})",
                "Roles": [{"Ref": logical_id}], "PolicyDocument": substituted(document)}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"CI roles and permissions boundary of {prefix} (automl-cfn deploy-role --env "
                       f"{scope.environment})",
        "Parameters": {
            "GitHubRepository": {"Type": "String", "AllowedPattern": "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
                                 "Description": "ORG/REPO whose workflows may assume the roles"},
            "OidcProviderArn": {"Type": "String", "AllowedPattern": "^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$",
                                "Description": "ARN of the token.actions.githubusercontent.com OIDC provider"},
            "DefaultBranch": {"Type": "String", "Default": "main", "AllowedPattern": "^[A-Za-z0-9._/-]+$",
                              "Description": "The branch whose workflows may deploy"},
            "GitHubEnvironment": {"Type": "String", "Default": scope.environment,
                                  "AllowedPattern": "^$|^[A-Za-z0-9._ -]+$",
                                  "Description": "The GitHub environment whose jobs may deploy (empty: none)"},
        },
        "Conditions": {"HasGitHubEnvironment": {"Fn::Not": [{"Fn::Equals": [{"Ref": "GitHubEnvironment"}, ""]}]}},
        "Resources": resources,
        "Outputs": {
            "DeployRoleArn": {"Value": {"Fn::GetAtt": ["DeployRole", "Arn"]},
                              "Description": "role-to-assume of the deploy jobs (AUTOML_CFN_DEPLOY_ROLE_ARN)"},
            "DiffRoleArn": {"Value": {"Fn::GetAtt": ["DiffRole", "Arn"]},
                            "Description": "role-to-assume of the pull-request diff job "
                                           "(AUTOML_CFN_DIFF_ROLE_ARN_<ENV>)"},
            "BoundaryArn": {"Value": {"Ref": "Boundary"},
                            "Description": "the permissions boundary (permissions_boundary: project names it)"},
        },
    }


def substituted(value: Any) -> Any:
    """Every string naming the placeholder account or the aws partition, as an Fn::Sub of the real ones."""
    if isinstance(value, dict):
        return {k: substituted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [substituted(v) for v in value]
    if isinstance(value, str) and (PLACEHOLDER_ACCOUNT in value or value.startswith("arn:aws:")):
        text = value.replace(PLACEHOLDER_ACCOUNT, "${AWS::AccountId}")
        return {"Fn::Sub": text.replace("arn:aws:", "arn:${AWS::Partition}:", 1)}
    return value
