"""Template sets live as long as something reads them (deploy/retention.py): the artifacts bucket's lifecycle
runs on the endpoint (local_aws/lifecycle.py); a release after the deployed set expired puts it back from
CloudFormation's copies; a set a stack set names is kept; a set nothing names still expires."""

from __future__ import annotations

import json

from .conftest import push_images

DEV = ("--env", "dev")
BUCKET = "automl-cfn-artifacts-123456789012-us-east-1"


def deployed_prefix(clients) -> str:
    stack = clients("cloudformation").describe_stacks(StackName="automl-dev")["Stacks"][0]
    return next(p["ParameterValue"] for p in stack["Parameters"] if p["ParameterKey"] == "TemplatesPrefix")


def keys_under(clients, prefix: str) -> set[str]:
    listed = clients("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"] for item in listed.get("Contents", [])}


def test_a_release_after_the_deployed_templates_expired_puts_them_back(aws, cli, clients):
    """CloudFormation reads the nested templates again when a release updates the nested stacks
    (UsePreviousTemplate on the root): 91 days after the deploy they have expired."""
    assert cli("deploy", *DEV, "--yes")[0] == 0
    prefix = deployed_prefix(clients)
    assert len(keys_under(clients, prefix)) > 5
    expired = aws.pass_days(91)
    assert f"s3://{BUCKET}/{prefix}compute.json" in expired and keys_under(clients, prefix) == set()

    push_images(clients, "dev", "v2")
    code, out, err = cli("release", *DEV, "--tag", "v2", "--yes")
    assert code == 0, err[-3000:]
    assert "Restored" in err and "nested template(s) the release reads" in err
    assert f"{prefix}compute.json" in keys_under(clients, prefix)
    stack = clients("cloudformation").describe_stacks(StackName="automl-dev")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"


def test_a_redeploy_puts_back_what_expired_of_its_set(aws, cli, clients):
    assert cli("deploy", *DEV, "--yes")[0] == 0
    prefix = deployed_prefix(clients)
    before = keys_under(clients, prefix)
    aws.pass_days(91)
    code, out, err = cli("deploy", *DEV, "--yes", "--force")
    assert code == 0, err[-3000:]
    assert keys_under(clients, prefix) == before


def test_only_sets_tagged_expirable_expire(aws, cli, clients):
    """What the rule takes: the deploy's set (tagged expirable), not an object of templates/ without the tag
    (uploaded before the tag existed), nor a release under releases/."""
    assert cli("deploy", *DEV, "--yes")[0] == 0
    s3 = clients("s3")
    s3.put_object(Bucket=BUCKET, Key="templates/automl/0123456789abcdef/root.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="releases/automl/r1/manifest.json", Body=b"{}")
    assert aws.pass_days(89) == []
    expired = aws.pass_days(91)
    assert expired and all(key.startswith(f"s3://{BUCKET}/templates/automl/") for key in expired)
    assert f"s3://{BUCKET}/templates/automl/0123456789abcdef/root.json" not in expired
    rule = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"][0]
    assert rule["Expiration"]["Days"] == 90
    assert rule["Filter"]["And"]["Tags"] == [{"Key": "automl-cfn:template-set", "Value": "expirable"}]


def test_a_set_a_stack_set_names_is_kept_and_goes_back_to_expiry_when_none_does(aws, cli, clients):
    """Accounts that join a stack set later get its nested templates from the set: no release is there to
    put them back, so they never expire while a stack set names them."""
    from automl_cfn.deploy import retention
    from automl_cfn.deploy.aws import Aws, AwsOptions

    assert cli("deploy", *DEV, "--yes")[0] == 0
    prefix = deployed_prefix(clients)
    cfn = clients("cloudformation")
    cfn.create_stack_set(StackSetName="reads-the-set", TemplateBody=json.dumps({
        "Parameters": {"TemplatesBucket": {"Type": "String"}, "TemplatesPrefix": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
        Parameters=[{"ParameterKey": "TemplatesBucket", "ParameterValue": BUCKET},
                    {"ParameterKey": "TemplatesPrefix", "ParameterValue": prefix}])
    here = Aws(AwsOptions(region="us-east-1"), default_region="us-east-1")
    assert retention.keep_for_stack_sets(here, BUCKET, "automl") == {prefix: retention.KEPT}
    assert aws.pass_days(365) == []
    cfn.delete_stack_set(StackSetName="reads-the-set")
    assert retention.keep_for_stack_sets(here, BUCKET, "automl") == {prefix: retention.EXPIRABLE}
    kept = keys_under(clients, prefix)
    assert {key.rsplit("/", 1)[1] for key in aws.pass_days(91)} == {key.rsplit("/", 1)[1] for key in kept}
