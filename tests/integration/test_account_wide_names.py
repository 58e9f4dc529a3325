"""One environment in two regions of one account (deploy --region, or a stack set's instances): the names
unique per account (IAM roles, the CloudWatch dashboard) carry the region, so the second region's deploy
does not collide with the first's, and destroying one leaves the other whole (name_scopes.py)."""

from __future__ import annotations

import boto3

from .conftest import outputs, stack_names

REGIONS = ("us-east-1", "eu-west-1")   # config/dev.yaml's region, and another


def client(aws, name: str, region: str):
    return boto3.client(name, endpoint_url=aws.url, region_name=region, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def test_one_environment_deploys_in_two_regions_of_one_account(aws, cli):
    for region in REGIONS:
        code, out, err = cli("deploy", "--env", "dev", "--yes", "--region", region)
        assert code == 0, err
    for region in REGIONS:
        assert stack_names(client(aws, "cloudformation", region))["automl-dev"] == "CREATE_COMPLETE"
        root = outputs(client(aws, "cloudformation", region), "automl-dev")
        assert root["DashboardUrl"].endswith(f"#dashboards:name=automl-dev-pipeline-{region}")
    # Dashboards and roles belong to the account: each region sees both environments' own.
    for region in REGIONS:
        dashboards = client(aws, "cloudwatch", region).list_dashboards(DashboardNamePrefix="automl-dev-")
        assert sorted(d["DashboardName"] for d in dashboards["DashboardEntries"]) == [
            f"automl-dev-pipeline-{r}" for r in sorted(REGIONS)]
    roles = {r["RoleName"] for r in client(aws, "iam", "us-east-1").list_roles()["Roles"]}
    assert {f"automl-dev-ecs-execution-role-{r}" for r in REGIONS} <= roles
    # Destroying one region's environment takes only its own.
    code, out, err = cli("destroy", "--env", "dev", "--yes", "--region", "eu-west-1")
    assert code == 0, err
    assert "automl-dev" not in stack_names(client(aws, "cloudformation", "eu-west-1"))
    dashboards = client(aws, "cloudwatch", "eu-west-1").list_dashboards()["DashboardEntries"]
    assert [d["DashboardName"] for d in dashboards] == ["automl-dev-pipeline-us-east-1"]
    roles = {r["RoleName"] for r in client(aws, "iam", "us-east-1").list_roles()["Roles"]}
    assert "automl-dev-ecs-execution-role-us-east-1" in roles
    assert "automl-dev-ecs-execution-role-eu-west-1" not in roles
