"""Promotion by artifact: publish once, deploy the same bytes to dev and to another account's prod."""

from __future__ import annotations

import json

import boto3
import pytest

from .conftest import credentials_in, stack_names

ARTIFACTS = "automl-cfn-artifacts-{account}-us-east-1"
OTHER_ACCOUNT = "222222222222"


def publish(run) -> dict:
    code, out, err = run("publish", "--env", "dev", "--format", "json")
    assert code == 0, err
    return json.loads(out)


def parameters(cfn, stack: str) -> dict[str, str]:
    return {p["ParameterKey"]: p["ParameterValue"] for p in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Parameters"]}


def as_account(aws, monkeypatch, account: str) -> None:
    """The CLI acts in another account from here on."""
    for key, value in credentials_in(aws, account).items():
        monkeypatch.setenv(key.upper(), value)


def organisation(clients) -> tuple[str, str]:
    """An organisation managed from this account, with one member account: (organisation ID, member)."""
    organizations = clients("organizations")
    org = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    status = organizations.create_account(Email="prod@example.com", AccountName="prod")["CreateAccountStatus"]
    return org, status["AccountId"]


def test_publish_is_idempotent_and_deploy_uses_the_release_not_the_checkout(aws, run, project, clients):
    first = publish(run)
    assert first["written"] == 11 and first["environments"] == ["dev", "prod"]
    again = publish(run)
    assert again["release"] == first["release"] and again["written"] == 0
    release = first["release"]
    code, out, err = run("deploy", "--env", "dev", "--release", release, "--yes")
    assert code == 0, err
    assert f"Release {release}: the templates, parameters and tags published" in err
    cfn = clients("cloudformation")
    deployed = parameters(cfn, "automl-dev")
    assert deployed["LogRetentionDays"] == "7"
    # The checkout moves on; the release does not.
    settings = project / "config" / "dev.yaml"
    settings.write_text(settings.read_text().replace("log_retention_days: 7", "log_retention_days: 30"))
    code, out, err = run("deploy", "--env", "dev", "--release", release, "--yes")
    assert code == 0, err
    assert "config differs from the release in LogRetentionDays: the release's values are deployed" in err
    assert "No changes: automl-dev is up to date" in out
    assert parameters(cfn, "automl-dev")["LogRetentionDays"] == "7"
    # A new release of the changed config has another ID.
    assert publish(run)["release"] != release


def test_promotion_to_another_account_copies_the_release_verified(aws, run, project, clients, monkeypatch):
    org, member = organisation(clients)
    settings = project / "config" / "dev.yaml"
    settings.write_text(settings.read_text() + f"organization_id: {org}\n")
    release = publish(run)["release"]     # publishing shares the artifacts bucket with the organisation first
    source = ARTIFACTS.format(account="123456789012")
    as_account(aws, monkeypatch, member)
    code, _, err = run("deploy", "--env", "dev", "--release", release, "--yes")
    assert code != 0 and f"is not in s3://automl-cfn-artifacts-{member}-us-east-1/releases/automl/" in err
    assert "--release-bucket" in err and "Traceback" not in err
    # Explicit credentials: boto3's default session keeps the first credentials it resolved in this process.
    other = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=aws.url, **credentials_in(aws, member))
    assert "automl-dev" not in stack_names(other)
    code, out, err = run("deploy", "--env", "dev", "--release", release, "--release-bucket", source, "--yes")
    assert code == 0, err
    assert stack_names(other)["automl-dev"] == "CREATE_COMPLETE"
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=aws.url, **credentials_in(aws, member))
    prefix = f"releases/automl/{release}/"
    copied = {o["Key"] for o in s3.list_objects_v2(Bucket=ARTIFACTS.format(account=member),
                                                   Prefix=prefix)["Contents"]}
    assert len(copied) == 11 and f"{prefix}release.json" in copied
    root = s3.get_object(Bucket=ARTIFACTS.format(account=member), Key=f"{prefix}root.json")["Body"].read()
    assert root == clients("s3").get_object(Bucket=source, Key=f"{prefix}root.json")["Body"].read()


def test_promotion_to_another_account_needs_the_organisation_statement(aws, run, clients, monkeypatch):
    """Without organization_id the bucket is this account's alone: S3 refuses the other account's read."""
    release = publish(run)["release"]
    as_account(aws, monkeypatch, OTHER_ACCOUNT)
    code, _, err = run("deploy", "--env", "dev", "--release", release, "--release-bucket",
                       ARTIFACTS.format(account="123456789012"), "--yes")
    assert code != 0 and "refuses this account (222222222222) its releases" in err and "organization_id" in err
    assert "Traceback" not in err
    other = boto3.client("cloudformation", region_name="us-east-1", endpoint_url=aws.url,
                         **credentials_in(aws, OTHER_ACCOUNT))
    assert "automl-dev" not in stack_names(other)


@pytest.mark.parametrize("tamper, message", [
    ("template", "compute.json differs from what was published"),
    ("manifest", "does not match release ID"),
    ("missing", "network.json is missing"),
    ("garbage", "is not a release manifest"),
])
def test_a_changed_release_is_refused_before_any_change_set(aws, run, clients, tamper, message):
    release = publish(run)["release"]
    s3, bucket, prefix = clients("s3"), ARTIFACTS.format(account="123456789012"), f"releases/automl/{release}/"
    if tamper == "template":
        s3.put_object(Bucket=bucket, Key=f"{prefix}compute.json", Body=b'{"Resources": {}}')
    elif tamper == "missing":
        s3.delete_object(Bucket=bucket, Key=f"{prefix}network.json")
    elif tamper == "garbage":
        s3.put_object(Bucket=bucket, Key=f"{prefix}release.json", Body=b"\x00not json")
    else:
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}release.json")["Body"].read())
        manifest["environments"]["dev"]["parameters"]["LogRetentionDays"] = "1"
        s3.put_object(Bucket=bucket, Key=f"{prefix}release.json", Body=json.dumps(manifest).encode())
    code, _, err = run("deploy", "--env", "dev", "--release", release, "--yes")
    assert code != 0 and message in err and "nothing was deployed" in err and "Traceback" not in err
    assert "automl-dev" not in stack_names(clients("cloudformation"))


@pytest.mark.parametrize("args, message", [
    (["deploy", "--env", "dev", "--release", "xyz"], "--release 'xyz' is not a release ID"),
    (["deploy", "--env", "dev", "--release", "0123456789ABCDEF"], "is not a release ID"),
    (["deploy", "--env", "dev", "--release", "0123456789abcdef", "--var", "az_count=3"],
     "--var does not go with --release"),
    (["deploy", "--env", "dev", "--release-bucket", "some-bucket"], "--release-bucket only goes with --release"),
    (["deploy", "--env", "dev", "--release", "0123456789abcdef", "--release-bucket", "Not_A_Bucket"],
     "is not an S3 bucket name"),
    (["publish", "--env", "dev", "--var", "az_count=3"], "--var does not go with publish"),
])
def test_bad_release_flags_are_one_line_before_any_request(aws, run, args, message):
    code, _, err = run(*args)
    assert code == 2 and message in err and "Traceback" not in err
    assert aws.requests() == 0


def test_publish_refuses_stale_templates_and_an_environment_the_release_lacks(aws, run, project, clients):
    compute = project / "generated" / "templates" / "compute.json"
    original = compute.read_bytes()
    compute.write_bytes(original.replace(b'"Type": "AWS::ECS::Cluster"', b'"Type": "AWS::ECS::Cluster" '))
    code, _, err = run("publish", "--env", "dev")
    assert code == 2 and "generated/templates is not what the sources give now (compute)" in err
    compute.write_bytes(original)
    release = publish(run)["release"]
    (project / "config" / "staging.yaml").write_text((project / "config" / "dev.yaml").read_text()
                                                     .replace("environment: dev", "environment: staging"))
    code, _, err = run("deploy", "--env", "staging", "--release", release, "--yes")
    assert code == 2 and f"release {release} has no environment 'staging'" in err
    assert "automl-staging" not in stack_names(clients("cloudformation"))


def test_organization_id_shares_templates_and_releases_with_the_organisation(aws, run, clients):
    s3, bucket = clients("s3"), ARTIFACTS.format(account="123456789012")
    assert publish(run)["written"] == 11

    def organisation_statements():
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        return [s for s in policy["Statement"] if "aws:PrincipalOrgID" in json.dumps(s)]

    assert organisation_statements() == []
    code, _, err = run("publish", "--env", "dev", "--var", "organization_id=o-abcdef123456")
    assert code == 2 and "--var does not go with publish" in err
    code, _, err = run("deploy", "--env", "dev", "--yes", "--var", "organization_id=o-abcdef123456")
    assert code == 0, err
    assert "templates and releases readable by the accounts of o-abcdef123456" in err
    [shared] = organisation_statements()
    assert shared["Action"] == ["s3:GetObject"] and shared["Principal"] == "*"
    assert shared["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef123456"}}
    assert sorted(shared["Resource"]) == [f"arn:aws:s3:::{bucket}/releases/*", f"arn:aws:s3:::{bucket}/templates/*"]
    # Back to this account only: the statement goes, the bucket and what it holds stay.
    code, _, err = run("deploy", "--env", "dev", "--yes", "--reset")
    assert code == 0, err
    assert organisation_statements() == [] and s3.list_objects_v2(Bucket=bucket, Prefix="releases/")["KeyCount"] == 11
