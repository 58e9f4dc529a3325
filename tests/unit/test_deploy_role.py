"""deploy-role: the CI role's policy is derived from the provider schemas' handler permissions, scoped
where the ARN is certain, split to IAM's size limit, and passes parliament (beyond what its older
action database cannot know)."""

from __future__ import annotations

import json

import pytest

from automl_cfn import deploy_role, providers

ACCOUNT = "123456789012"
# Actions the provider schemas list that parliament 1.6.4's database predates (or that name an API
# rather than an IAM action); IAM accepts any action name, so they stay.
NEWER_THAN_PARLIAMENT = "UNKNOWN_ACTION"


@pytest.fixture(scope="module")
def statements(templates):
    return deploy_role.statements(templates.values(), "automl", account=ACCOUNT)


def test_every_handler_permission_of_every_type_is_granted(templates, statements):
    granted = {a for s in statements for a in s["Action"]}
    for resource_type in providers.template_types(templates.values()):
        wanted = {a for a in providers.get(resource_type).permissions if a in providers.committed_iam_actions()}
        assert wanted <= granted, (resource_type, wanted - granted)
    assert {"cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DescribeEvents",
            "servicequotas:ListServiceQuotas", "elasticloadbalancing:DescribeRules"} <= granted


def test_scoped_where_the_arn_is_certain(statements):
    by_sid = {s["Sid"]: s for s in statements}
    assert f"arn:aws:cloudformation:*:{ACCOUNT}:stack/automl-*/*" in by_sid["CloudFormationOnTheProjectsStacks"][
        "Resource"]
    assert by_sid["IamOnTheProjectsRoles"]["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/automl-*"]
    assert "iam:CreateRole" in by_sid["IamOnTheProjectsRoles"]["Action"]
    passing = by_sid["PassTheProjectsRolesToTheirServices"]
    assert passing["Resource"] == [f"arn:aws:iam::{ACCOUNT}:role/automl-*"]
    assert "ecs-tasks.amazonaws.com" in passing["Condition"]["StringEquals"]["iam:PassedToService"]
    assert "secretsmanager:GetSecretValue" in by_sid["SecretsOfTheProject"]["Action"]
    assert "ecr:CreateRepository" in by_sid["RepositoriesOfTheProject"]["Action"]
    assert "s3:PutBucketPolicy" in by_sid["BucketsOfTheProject"]["Action"]
    # No role or secret action is left on "*"; what is there acts on no ARN the project names.
    on_star = [a for s in statements if s["Resource"] == "*" for a in s["Action"]]
    known = providers.committed_iam_actions()
    assert not [a for a in on_star if (a.startswith("secretsmanager:") and known.get(a))
                or (a.startswith("iam:") and "Role" in a)]
    assert "kms:CreateKey" in on_star and "ec2:CreateVpc" in on_star


def test_actions_iam_does_not_know_are_left_out(templates, statements):
    granted = {a for s in statements for a in s["Action"]}
    schema_only = {a for t in providers.template_types(templates.values()) for a in providers.get(t).permissions
                   if a not in providers.committed_iam_actions()}
    assert "s3:DeleteBucketCors" in schema_only and not schema_only & granted


def test_the_committed_action_data_is_current(templates):
    from automl_cfn.synth import build_baseline_template

    documents = [*templates.values(), build_baseline_template(templates)]
    extracted = providers.iam_actions(a for t in providers.template_types(documents)
                                      for a in providers.extract(t).permissions)
    assert extracted == providers.committed_iam_actions(), "run: python -m automl_cfn.providers"


def test_each_document_fits_a_managed_policy_and_parliament_finds_only_newer_actions(statements):
    from parliament import analyze_policy_string

    documents = deploy_role.documents_of(statements)
    assert len(documents) > 1 and all(deploy_role._size(d) <= deploy_role.MANAGED_POLICY_MAX for d in documents)
    assert [s for d in documents for s in d["Statement"]] == statements
    star_statements = {s["Sid"] for s in statements if s["Resource"] == "*"}
    scoped = deploy_role.scopes("automl", "aws", ACCOUNT)
    sid_of = {a: s["Sid"] for s in statements for a in s["Action"]}
    for document in documents:
        for finding in analyze_policy_string(json.dumps(document)).findings:
            if finding.issue == NEWER_THAN_PARLIAMENT:
                # Known to cfn-lint's newer copy of the Service Authorization Reference, or a CloudFormation
                # API the tool calls that botocore knows.
                action = finding.detail.rsplit(" ", 1)[-1]
                assert action in providers.committed_iam_actions() or action in deploy_role.TOOL_CLOUDFORMATION, \
                    action
                continue
            if finding.issue == "RESOURCE_MISMATCH":
                # parliament's older database wants "*" where the newer reference scopes the action to a
                # type the statement names (SNS subscription calls act on the topic's ARN and below).
                for mismatch in finding.detail:
                    if mismatch["action"] in deploy_role.TOOL_STACKSETS:
                        continue   # its database predates stack-set ARNs for CreateStackSet (the reference has them)
                    service, types = scoped[sid_of[mismatch["action"]]]
                    assert deploy_role._within(mismatch["action"], types, providers.committed_iam_actions()), mismatch
                continue
            assert finding.issue == "RESOURCE_STAR", (finding.issue, finding.detail)
            assert all(a.endswith("Handlers") for a in star_statements)


def test_the_template_is_an_oidc_role_with_the_policies(templates):
    template = deploy_role.template(templates.values(), "automl")
    role = template["Resources"]["DeployRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"]["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    policies = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert policies and all(p["Properties"]["Roles"] == [{"Ref": "DeployRole"}] for p in policies)
    text = json.dumps(template)
    assert ACCOUNT not in text and "${AWS::AccountId}" in text and "111111111111" not in text


def test_the_template_passes_cfn_lint(templates, tmp_path):
    from cfnlint.api import lint_all

    path = tmp_path / "deploy-role.json"
    path.write_text(json.dumps(deploy_role.template(templates.values(), "automl")))
    findings = [m for m in lint_all(path.read_text()) if m.rule.id[0] in "EW"]
    assert findings == []


def test_the_verb_prints_documents_or_a_template(project_root, capsys):
    from automl_cfn.cli import main

    assert main(["deploy-role", "--env", "prod", "--account", ACCOUNT, "--project-dir", str(project_root)]) == 0
    documents = json.loads(capsys.readouterr().out)
    assert len(documents) > 1 and documents[0]["Statement"][0]["Sid"] == "CloudFormationOnTheProjectsStacks"
    assert main(["deploy-role", "--env", "prod", "--format", "template", "--project-dir", str(project_root)]) == 0
    assert "DeployRole" in json.loads(capsys.readouterr().out)["Resources"]
    assert main(["deploy-role", "--env", "prod", "--account", "12", "--project-dir", str(project_root)]) == 2
    assert "not a 12-digit AWS account ID" in capsys.readouterr().err
