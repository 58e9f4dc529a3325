"""preflight on the local endpoint: each live check passes on a clean account and fails on the
account that would make CloudFormation fail; `deploy` runs them before any change set."""

from __future__ import annotations

import json

import pytest

from .conftest import import_certificate, push_images, stack_names

DEV = ("--env", "dev")
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def checks(cli, *args) -> tuple[int, dict[str, list[dict]]]:
    code, out, err = cli("preflight", *DEV, "--format", "json", *args)
    assert out, err
    report = json.loads(out)
    by_name: dict[str, list[dict]] = {}
    for check in report["checks"]:
        by_name.setdefault(check["name"], []).append(check)
    return code, by_name


def statuses(found: dict[str, list[dict]], name: str) -> list[str]:
    return [c["status"] for c in found.get(name, [])]


def test_a_clean_account_passes_and_the_report_names_its_target(aws, cli):
    code, out, err = cli("preflight", *DEV)
    assert code == 0, err
    assert "preflight for automl-dev: account 123456789012, region us-east-1" in out
    code, found = checks(cli)
    assert code == 0
    assert statuses(found, "zones") == ["pass"] and statuses(found, "existing") == ["pass"]
    assert statuses(found, "names") == ["pass"] and statuses(found, "mappings") == ["pass"]
    # Service Quotas is not served by the local endpoint: a warning, never a pass it cannot know.
    assert statuses(found, "quotas") == ["warn"]


def test_more_zones_than_the_region_has(aws, cli):
    code, found = checks(cli, "--var", "az_count=3", "--region", "us-west-1")
    assert code == 3 and statuses(found, "zones") == ["fail"]
    assert "us-west-1 has 2 availability zones; az_count is 3" in found["zones"][0]["detail"]
    assert found["zones"][0]["fix"] == "set az_count: 2"


def test_a_name_taken_outside_the_environment(aws, cli, clients):
    clients("iam").create_role(RoleName="automl-dev-predict-task-role-us-east-1", AssumeRolePolicyDocument=TRUST)
    clients("s3").create_bucket(Bucket="automl-dev-data-123456789012-us-east-1")
    code, found = checks(cli)
    assert code == 3
    by_status = {c["status"]: c for c in found["existing"]}
    # IAM names are account-wide and the owner was looked up in this region only: the fix says so.
    assert by_status["fail"]["detail"] == ("IAM role automl-dev-predict-task-role-us-east-1 exists and no stack in "
                                           "us-east-1 holds it; IAM role names are account-wide, so a stack in "
                                           "another region may")
    assert by_status["fail"]["fix"].startswith("if no stack in any region holds it: aws iam delete-role --role-name "
                                               "automl-dev-predict-task-role-us-east-1")
    # A retained bucket is what the deploy adopts: a warning that says so.
    assert "S3 bucket automl-dev-data-123456789012-us-east-1 exists" in by_status["warn"]["detail"]
    assert "adopts it" in by_status["warn"]["fix"]
    # And deploy stops on it before any change set, with the fix.
    code, out, err = cli("deploy", *DEV, "--yes")
    assert code == 3 and "preflight existing: IAM role automl-dev-predict-task-role-us-east-1" in err
    assert "automl-dev" not in stack_names(clients("cloudformation"))


def test_stray_alarms_are_found_in_one_lookup(aws, cli, clients):
    for name in ("automl-dev-train-cpu-high", "automl-dev-predict-memory-high", "someone-elses-alarm"):
        clients("cloudwatch").put_metric_alarm(AlarmName=name, MetricName="CPUUtilization", Namespace="AWS/ECS",
                                               Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=80,
                                               ComparisonOperator="GreaterThanThreshold")
    code, found = checks(cli)
    assert code == 3
    failed = sorted(c["detail"] for c in found["existing"] if c["status"] == "fail")
    assert failed == ["alarm automl-dev-predict-memory-high exists and belongs to no stack",
                      "alarm automl-dev-train-cpu-high exists and belongs to no stack"]


def test_names_of_a_deployed_environment_are_its_own(aws, cli, clients):
    assert cli("deploy", *DEV, "--yes")[0] == 0
    code, found = checks(cli)
    assert code == 0 and statuses(found, "existing") == ["pass"]


def test_names_that_do_not_fit_the_region_deployed_to(aws, cli, tmp_path):
    """The settings check names for aws_region; --region deploys elsewhere, where a 14-character region
    makes the access-log bucket's name too long."""
    config = tmp_path / "long.yaml"
    config.write_text("project_name: pppppppppppppppp\nenvironment: eeeeeeee\naws_region: us-east-1\n"
                      "enable_access_logging: true\n")
    code, out, err = cli("preflight", "--config", str(config), "--region", "ap-southeast-1", "--offline",
                         "--format", "json")
    names = [c for c in json.loads(out)["checks"] if c["name"] == "names"][0]
    assert code == 3 and names["status"] == "fail"
    assert "is 65 characters in ap-southeast-1, over the 63 AWS::S3::Bucket allows" in names["detail"]


@pytest.mark.parametrize("setting, fragment", [
    ("certificate_arn=arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
     "does not exist"),
    ("certificate_arn=arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
     "certificate_arn is in eu-west-1, the stack in us-east-1"),
])
def test_a_certificate_that_is_missing_or_elsewhere(aws, cli, setting, fragment):
    code, found = checks(cli, "--var", "load_balancer=internal", "--var", setting)
    assert code == 3 and statuses(found, "certificate") == ["fail"] and fragment in found["certificate"][0]["detail"]


def test_an_issued_certificate_passes(aws, cli, clients):
    arn = import_certificate(clients)
    code, found = checks(cli, "--var", "load_balancer=internal", "--var", f"certificate_arn={arn}")
    assert statuses(found, "certificate") == ["pass"], found["certificate"]


def test_a_key_and_a_boundary_that_do_not_exist_or_are_off(aws, cli, clients):
    missing_key = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    boundary = "arn:aws:iam::123456789012:policy/no-such-boundary"
    code, found = checks(cli, "--var", f"kms_key={missing_key}", "--var", f"permissions_boundary={boundary}")
    assert code == 3
    assert statuses(found, "kms-key") == ["fail"] and "does not exist" in found["kms-key"][0]["detail"]
    assert statuses(found, "permissions-boundary") == ["fail"]
    kms = clients("kms")
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    code, found = checks(cli, "--var", f"kms_key={key['Arn']}")
    assert statuses(found, "kms-key") == ["fail"] and "is Disabled" in found["kms-key"][0]["detail"]
    kms.enable_key(KeyId=key["KeyId"])
    code, found = checks(cli, "--var", f"kms_key={key['Arn']}")
    assert statuses(found, "kms-key") == ["pass"]


def test_an_image_tag_never_pushed(aws, cli, clients):
    assert cli("deploy", *DEV, "--yes")[0] == 0
    code, found = checks(cli, "--var", "image_tag=v9")
    assert code == 3 and "image tag 'v9' is not in ECR repository automl-dev-optimize (and 2 more)" in \
        found["images"][0]["detail"]
    push_images(clients, "dev", "v9")
    code, found = checks(cli, "--var", "image_tag=v9")
    assert statuses(found, "images") == ["pass"]


def test_a_rule_change_while_ecs_has_moved_traffic_to_green(aws, cli, clients):
    """After a canary deployment ECS leaves production on green; a template change that rewrites the
    production listener rule would send traffic back to blue's drained group: refused, with the fix."""
    canary = ("--var", "load_balancer=internal", "--var", "deployment_strategy=canary")
    assert cli("deploy", *DEV, "--yes", *canary)[0] == 0
    elb = clients("elbv2")
    listener = elb.describe_listeners(LoadBalancerArn=elb.describe_load_balancers()["LoadBalancers"][0][
        "LoadBalancerArn"])["Listeners"][0]
    rule = [r for r in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if not r["IsDefault"]][0]
    groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    moved = [{"TargetGroupArn": g["TargetGroupArn"], "Weight": 0 if g["Weight"] else 100} for g in groups]
    elb.modify_rule(RuleArn=rule["RuleArn"], Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": moved}}])
    # A change that leaves the rule alone goes ahead.
    assert cli("deploy", *DEV, "--yes", *canary, "--var", "alarm_cpu_threshold=90")[0] == 0
    # A change that rewrites it (strategy back to rolling drops green from the rule) is refused.
    code, out, err = cli("deploy", *DEV, "--yes", "--var", "load_balancer=internal", "--reset")
    assert code == 3 and "preflight traffic: ECS has moved production traffic off the blue target group" in err
    assert "automl-cfn release --env dev --tag TAG" in err
