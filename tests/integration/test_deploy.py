"""deploy, diff, status, outputs, destroy end to end against the local endpoint."""

from __future__ import annotations

import json

from .conftest import outputs, pending_change_sets, stack_names

CHILDREN_DEV = {"SecurityStack", "NetworkStack", "EndpointStack", "RegistryStack", "StorageStack", "MonitoringStack", "IamStack", "ComputeStack"}


def deploy(cli, *extra):
    return cli("deploy", "--env", "dev", "--yes", *extra)


def test_deploy_from_nothing_wires_the_nested_stacks(aws, cli, clients):
    code, out, err = deploy(cli)
    assert code == 0, err
    cfn = clients("cloudformation")
    stacks = stack_names(cfn)
    assert stacks["automl-dev"] == "CREATE_COMPLETE"
    nested = {name.split("-")[2]: status for name, status in stacks.items() if name.startswith("automl-dev-")}
    assert set(nested) == CHILDREN_DEV and set(nested.values()) == {"CREATE_COMPLETE"}  # no pipeline in dev
    root = outputs(cfn, "automl-dev")
    assert root["ClusterName"] == "automl-dev-cluster"
    assert root["DataBucketName"] == "automl-dev-data-123456789012-us-east-1"
    assert root["AssignPublicIp"] == "ENABLED"  # dev has no NAT gateway
    # The compute stack got the network stack's subnets (moto keeps no network
    # configuration on a CloudFormation-made service, so the wiring is read
    # from the nested stacks' parameters and outputs).
    by_logical = {name.split("-")[2]: name for name in stacks if name.startswith("automl-dev-")}
    compute = cfn.describe_stacks(StackName=by_logical["ComputeStack"])["Stacks"][0]
    compute_params = {p["ParameterKey"]: p["ParameterValue"] for p in compute["Parameters"]}
    assert compute_params["TaskSubnets"] == outputs(cfn, by_logical["NetworkStack"])["TaskSubnets"]
    assert compute_params["TaskSubnets"] == root["PublicSubnets"]  # no NAT: tasks in the public subnets
    assert compute_params["ExecutionRoleArn"] == outputs(cfn, by_logical["IamStack"])["ExecutionRoleArn"]
    ecs = clients("ecs")
    service = ecs.describe_services(cluster="automl-dev-cluster", services=["automl-dev-predict"])["services"][0]
    assert service["desiredCount"] == 0  # no image pushed yet
    ec2 = clients("ec2")
    subnets = ec2.describe_subnets(SubnetIds=root["PublicSubnets"].split(","))["Subnets"]
    assert {s["VpcId"] for s in subnets} == {root["VpcId"]}
    assert sorted(s["CidrBlock"] for s in subnets) == ["10.0.0.0/19", "10.0.32.0/19"]
    # moto keeps container definitions (not task-level cpu/memory or roles).
    container = ecs.describe_task_definition(taskDefinition="automl-dev-optimize")["taskDefinition"][
        "containerDefinitions"][0]
    assert container["memory"] == 4096 and container["image"].endswith("automl-dev-optimize:latest")
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["DATA_BUCKET"] == root["DataBucketName"]
    assert "+ ComputeStack" in out and "automl-dev: CREATE_COMPLETE" in err
    assert "ClusterName\tautoml-dev-cluster" in out


def test_unchanged_redeploy_is_a_no_op(aws, cli, clients):
    assert deploy(cli)[0] == 0
    cfn = clients("cloudformation")
    events_before = len(cfn.describe_stack_events(StackName="automl-dev")["StackEvents"])
    before = aws.requests()
    code, out, err = deploy(cli)
    assert code == 0, err
    assert "No changes: automl-dev is up to date (templates, parameters and tags match; no change set" in out
    assert aws.requests() - before <= 3     # known from DescribeStacks: no lock, no upload, no change set
    assert len(cfn.describe_stack_events(StackName="automl-dev")["StackEvents"]) == events_before
    # --force goes through a change set, which CloudFormation finds empty.
    code, out, err = deploy(cli, "--force")
    assert code == 0 and "0 uploaded, 10 already there" in err and "No changes: automl-dev is up to date." in out
    assert pending_change_sets(cfn, "automl-dev") == []
    # Any difference takes the full path: a tag, a parameter, termination protection.
    code, out, err = deploy(cli, "--var", "alarm_cpu_threshold=81")
    assert code == 0 and "AlarmCpuThreshold: '80' -> '81'" in out


def test_a_var_change_updates_the_stack(aws, cli, clients):
    assert deploy(cli)[0] == 0
    code, out, err = deploy(cli, "--var", "optimize_cpu=4096", "--var", "optimize_memory=8192",
                            "--var", "log_retention_days=14")
    assert code == 0, err
    groups = clients("logs").describe_log_groups(logGroupNamePrefix="/ecs/automl-dev-")["logGroups"]
    assert {g["retentionInDays"] for g in groups} == {14}
    assert "OptimizeCpu: '2048' -> '4096'" in out and "OptimizeMemory: '4096' -> '8192'" in out
    # optimize runs double (10 h at 4 vCPU / 8 GB on Spot: +$0.30), 14-day logs keep twice as much (+$0.07)
    assert "monthly cost estimate: $22.44 -> $22.82" in out
    cfn = clients("cloudformation")
    assert cfn.describe_stacks(StackName="automl-dev")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in
              cfn.describe_stacks(StackName="automl-dev")["Stacks"][0]["Parameters"]}
    assert params["OptimizeCpu"] == "4096"
    definition = clients("ecs").describe_task_definition(taskDefinition="automl-dev-optimize")["taskDefinition"]
    assert definition["containerDefinitions"][0]["memory"] == 8192 and definition["revision"] == 2


def test_prod_creates_the_pipeline_and_its_outputs(aws, cli, clients):
    code, out, err = cli("deploy", "--env", "prod", "--yes", "--region", "us-east-1")
    assert code == 0, err
    root = outputs(clients("cloudformation"), "automl-prod")
    machine = clients("stepfunctions").describe_state_machine(stateMachineArn=root["StateMachineArn"])
    definition = json.loads(machine["definition"])
    assert definition["StartAt"] == "StartedByABatch"
    # prod's quality gate: its threshold spliced in as a number, between train and predict
    assert {"Variable": "$.quality.values[0]", "NumericGreaterThanEquals": 0.8} in \
        definition["States"]["ModelGoodEnough"]["Choices"][0]["And"]
    subnets = definition["States"]["Train"]["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    assert subnets == root["TaskSubnets"].split(",")  # the list spliced into the JSON array
    assert root["AssignPublicIp"] == "DISABLED"


def test_no_execute_leaves_the_change_set(aws, cli, clients):
    code, out, err = cli("deploy", "--env", "dev", "--no-execute")
    assert code == 0, err
    cfn = clients("cloudformation")
    summaries = cfn.list_change_sets(StackName="automl-dev")["Summaries"]
    assert len(summaries) == 1 and summaries[0]["ChangeSetName"] in err
    assert cfn.describe_stacks(StackName="automl-dev")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"


def test_a_stack_left_in_review_is_recreated_after_confirmation(aws, cli, clients):
    assert cli("deploy", "--env", "dev", "--no-execute")[0] == 0
    code, out, err = deploy(cli)
    assert code == 0, err
    assert "REVIEW_IN_PROGRESS" in err
    assert stack_names(clients("cloudformation"))["automl-dev"] == "CREATE_COMPLETE"


def test_without_a_terminal_or_yes_nothing_is_deployed(aws, cli, clients):
    code, out, err = cli("deploy", "--env", "dev")
    assert code == 3
    assert "needs confirmation and there is no terminal" in err and "--yes" in err
    assert "automl-dev" not in stack_names(clients("cloudformation"))


def test_diff_reviews_without_executing(aws, cli, clients):
    assert deploy(cli)[0] == 0
    code, out, err = cli("diff", "--env", "dev", "--var", "log_retention_days=14", "--output", "markdown")
    assert code == 0, err
    assert "### CloudFormation change set for `automl-dev`" in out
    assert "| `LogRetentionDays` | `7` | `14` |" in out
    cfn = clients("cloudformation")
    assert pending_change_sets(cfn, "automl-dev") == []
    params = {p["ParameterKey"]: p["ParameterValue"] for p in
              cfn.describe_stacks(StackName="automl-dev")["Stacks"][0]["Parameters"]}
    assert params["LogRetentionDays"] == "7"


def test_diff_of_a_new_stack_leaves_nothing_behind(aws, cli, clients):
    code, out, err = cli("diff", "--env", "dev", "--output", "json")
    assert code == 0, err
    review = json.loads(out)
    # The eight nested stacks of dev and, in their nested change sets, everything in them.
    assert review["change_set_type"] == "CREATE"
    assert [c["logical_id"] for c in review["changes"]].count("ComputeStack") == 1
    assert len(review["changes"]) == 8 and review["summary"].endswith(" to add")
    assert "automl-dev" not in stack_names(clients("cloudformation"))


def test_a_broken_template_fails_clearly(aws, project_root, tmp_path, capsys):
    import shutil

    from automl_cfn.cli import main

    for part in ("config", "generated"):
        shutil.copytree(project_root / part, tmp_path / part)
    root = json.loads((tmp_path / "generated" / "templates" / "root.json").read_text())
    compute = root["Resources"]["ComputeStack"]["Properties"]["Parameters"]
    compute["VpcId"] = {"Fn::GetAtt": ["NetworkStack", "Outputs.NoSuchOutput"]}
    (tmp_path / "generated" / "templates" / "root.json").write_text(json.dumps(root))
    code = main(["deploy", "--env", "dev", "--yes", "--project-dir", str(tmp_path)])
    err = capsys.readouterr().err
    # Predicted from the templates before any change set: nothing is created.
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "automl-cfn: error: the templates would fail: Template error: nested stack NetworkStack has no output "
        "'NoSuchOutput'; fix the stacks and run 'make templates' (nothing was deployed)")
    assert "Traceback" not in err


def test_deploy_needs_generated_templates(aws, project_root, tmp_path, capsys):
    import shutil

    from automl_cfn.cli import main

    shutil.copytree(project_root / "config", tmp_path / "config")
    assert main(["deploy", "--env", "dev", "--yes", "--project-dir", str(tmp_path)]) == 2
    assert "generated/templates/root.json not found: run 'make templates'" in capsys.readouterr().err
    assert aws.requests() == 0


def test_status_and_outputs(aws, cli):
    assert deploy(cli)[0] == 0
    code, out, _ = cli("status", "--env", "dev")
    assert code == 0 and "automl-dev\tCREATE_COMPLETE" in out and "  ComputeStack\tCREATE_COMPLETE" in out
    code, out, _ = cli("outputs", "--env", "dev", "--format", "json")
    assert json.loads(out)["ClusterName"] == "automl-dev-cluster"
    code, out, _ = cli("outputs", "--env", "dev", "--format", "env")
    assert "export CLUSTER_NAME=automl-dev-cluster" in out.splitlines()


def test_verbs_on_a_stack_that_is_not_deployed(aws, cli):
    for verb in ("status", "outputs", "destroy"):
        code, out, err = cli(verb, "--env", "dev")
        assert code == 1 and "automl-dev is not deployed in us-east-1" in err, verb


def test_drift_says_clearly_when_the_endpoint_lacks_it(aws, cli):
    assert deploy(cli)[0] == 0
    code, out, err = cli("drift", "--env", "dev")
    assert code == 1
    assert "drift detection is not available at this endpoint" in err


def put_data(clients, bucket: str, count: int) -> None:
    s3 = clients("s3")
    for index in range(count):
        s3.put_object(Bucket=bucket, Key=f"data/file-{index}.csv", Body=f"row,{index}\n".encode())


def test_destroy_keeps_the_bucket_and_its_objects(aws, cli, clients, tmp_path):
    assert deploy(cli)[0] == 0
    bucket = outputs(clients("cloudformation"), "automl-dev")["DataBucketName"]
    put_data(clients, bucket, 5)
    code, out, err = cli("destroy", "--env", "dev", "--yes", "--backup", str(tmp_path / "backup"))
    assert code == 0, err
    assert "automl-dev" not in stack_names(clients("cloudformation"))
    s3 = clients("s3")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 5
    assert sorted(p.name for p in (tmp_path / "backup" / "data").iterdir()) == [f"file-{i}.csv" for i in range(5)]
    assert (tmp_path / "backup" / "data" / "file-3.csv").read_text() == "row,3\n"
    repositories = {r["repositoryName"] for r in clients("ecr").describe_repositories()["repositories"]}
    assert {"automl-dev-optimize", "automl-dev-train", "automl-dev-predict", "automl-dev-pipeline"} <= repositories
    assert f"{bucket}\t5 objects" in out


def test_destroy_without_confirmation_deletes_nothing(aws, cli, clients):
    assert deploy(cli)[0] == 0
    code, out, err = cli("destroy", "--env", "dev")
    assert code == 3 and "--yes" in err
    assert stack_names(clients("cloudformation"))["automl-dev"] == "CREATE_COMPLETE"


def test_purge_needs_the_second_confirmation(aws, cli, clients):
    assert deploy(cli)[0] == 0
    bucket = outputs(clients("cloudformation"), "automl-dev")["DataBucketName"]
    put_data(clients, bucket, 3)
    code, out, err = cli("destroy", "--env", "dev", "--yes", "--purge-data")
    assert code == 3 and "--purge-confirm automl-dev" in err
    assert stack_names(clients("cloudformation"))["automl-dev"] == "CREATE_COMPLETE"  # nothing deleted
    code, out, err = cli("destroy", "--env", "dev", "--yes", "--purge-data", "--purge-confirm", "automl-dev")
    assert code == 0, err
    assert bucket not in {b["Name"] for b in clients("s3").list_buckets()["Buckets"]}
    assert clients("ecr").describe_repositories()["repositories"] == []


def test_throttling_is_retried_then_succeeds(aws, cli):
    aws.throttle("DescribeStacks", 3)
    code, out, err = deploy(cli)
    assert code == 0, err


def test_bad_input_sends_no_request(aws, cli):
    for args in (["deploy", "--env", "dev", "--var", "az_count=9"], ["deploy", "--env", "nope"],
                 ["destroy", "--env", "dev", "--purge-confirm", "x"], ["diff", "--env", "dev", "--var", "x"]):
        code, out, err = cli(*args)
        assert code == 2 and len(err.strip().splitlines()) == 1, (args, err)
    assert aws.requests() == 0


def test_missing_credentials_is_one_line(aws, cli, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, out, err = cli("status", "--env", "dev")
    assert code == 1
    assert err.strip() == ("automl-cfn: error: no AWS credentials found: set AWS_PROFILE or "
                           "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run 'aws configure' / 'aws sso login'")


def test_stack_policies_deny_replacing_or_deleting_data(aws, cli, clients):
    assert deploy(cli)[0] == 0
    cfn = clients("cloudformation")
    root_policy = json.loads(cfn.get_stack_policy(StackName="automl-dev")["StackPolicyBody"])
    deny = [s for s in root_policy["Statement"] if s["Effect"] == "Deny"]
    assert [s["Action"] for s in deny] == ["Update:Replace"]   # every stateful resource is retained:
    assert "LogicalResourceId/StorageStack" in deny[0]["Resource"]   # removing one loses nothing
    storage = next(n for n in stack_names(cfn) if n.startswith("automl-dev-StorageStack-"))
    nested = json.loads(cfn.get_stack_policy(StackName=storage)["StackPolicyBody"])
    assert "LogicalResourceId/DataBucket" in next(s for s in nested["Statement"] if s["Effect"] == "Deny")["Resource"]


def test_diff_predicts_replacements_and_says_when_deploy_would_refuse(aws, cli):
    assert deploy(cli)[0] == 0
    code, out, err = cli("diff", "--env", "dev", "--var", "kms_key=create")
    assert code == 0, err
    assert "  target: account 123456789012, region us-east-1" in out
    assert ("  RegistryStack/TrainRepository (AWS::ECR::Repository) is replaced: EncryptionConfiguration.EncryptionType, "
            "EncryptionConfiguration.KmsKey cannot change in place; keeps its name automl-dev-train: CloudFormation "
            "refuses this") in out
    assert "deploy would refuse this: kms_key is fixed when an environment is created" in err
    code, out, err = cli("deploy", "--env", "dev", "--yes", "--var", "kms_key=create")
    assert code == 3 and err.strip().splitlines()[-1].startswith("automl-cfn: error: kms_key is fixed")


def test_a_redeploy_watches_the_release_alarms_as_rollback_triggers(aws, cli, clients):
    """The first deploy creates the alarms (no triggers yet); the next one passes those that exist."""
    endpoint = ("--var", "load_balancer=internal", "--var", "rollback_monitoring_minutes=10")
    code, out, err = cli("deploy", "--env", "dev", "--yes", *endpoint)
    assert code == 0, err[-3000:]
    assert "no rollback triggers" in out + err
    code, out, err = cli("deploy", "--env", "dev", "--yes", *endpoint, "--var", "alarm_cpu_threshold=70")
    assert code == 0, err[-3000:]
    stack = clients("cloudformation").describe_stacks(StackName="automl-dev")["Stacks"][0]
    triggers = stack["RollbackConfiguration"]
    assert triggers["MonitoringTimeInMinutes"] == 10
    assert sorted(t["Arn"].rsplit(":", 1)[1] for t in triggers["RollbackTriggers"]) == [
        "automl-dev-predict-5xx", "automl-dev-predict-latency", "automl-dev-predict-unhealthy"]
    assert "rollback triggers: automl-dev-predict-5xx" in out + err
