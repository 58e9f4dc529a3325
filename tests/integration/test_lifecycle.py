"""A user's second week, on the strict endpoint: destroy and come back, a failed first create, purge,
two operations at once, settings that earlier --var or release deployed, EXPRESS mode."""

from __future__ import annotations

import threading

import pytest

from automl_cfn.deploy import destroy as destroy_module, lock as lock_module, plan, retained

from .conftest import import_certificate, outputs, push_images, stack_names

DEV = ("--env", "dev")
PROD = ("--env", "prod", "--region", "us-east-1")
# prod turns termination protection on; these tests destroy it, so every deploy of prod here turns it off.
UNPROTECTED = ("--var", "termination_protection=false")
# A trust policy IAM stores (it refuses "{}"); whom it trusts does not matter here.
ANY_TRUST = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
             '"ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')


def deploy(cli, *extra, env=DEV):
    return cli("deploy", *env, "--yes", *extra)


def fill(clients, environment: str, objects: int = 52) -> dict:
    """Data, images and log events, as a week of use leaves them; returns what to compare."""
    cfn = clients("cloudformation")
    found = outputs(cfn, f"automl-{environment}")
    s3 = clients("s3")
    for index in range(objects):
        s3.put_object(Bucket=found["DataBucketName"], Key=f"data/part-{index:03d}.csv", Body=b"a,b\n1,2\n")
    push_images(clients, environment, "v1", services=("optimize", "train", "predict", "pipeline"))
    logs = clients("logs")
    logs.create_log_stream(logGroupName=found["OptimizeLogGroupName"], logStreamName="run-1")
    logs.put_log_events(logGroupName=found["OptimizeLogGroupName"], logStreamName="run-1",
                        logEvents=[{"timestamp": 1_700_000_000_000, "message": "trained"}])
    return snapshot(clients, found)


def snapshot(clients, found: dict) -> dict:
    ecr, logs = clients("ecr"), clients("logs")
    repositories = {r["repositoryName"]: r["repositoryArn"] for r in ecr.describe_repositories()["repositories"]}
    return {
        "bucket": found["DataBucketName"],
        "objects": clients("s3").list_objects_v2(Bucket=found["DataBucketName"])["KeyCount"],
        "repositories": repositories,
        "images": {name: len(ecr.list_images(repositoryName=name)["imageIds"]) for name in repositories},
        "log events": len(logs.get_log_events(logGroupName=found["OptimizeLogGroupName"],
                                              logStreamName="run-1")["events"]),
    }


def owner(clients, physical_id: str) -> str:
    return clients("cloudformation").describe_stack_resources(PhysicalResourceId=physical_id)["StackResources"][0][
        "StackName"]


def test_deploy_destroy_deploy_brings_the_environment_back_with_its_data(aws, cli, clients):
    assert deploy(cli)[0] == 0
    before = fill(clients, "dev")
    code, out, err = cli("destroy", *DEV, "--yes")
    assert code == 0, err
    assert "automl-dev" not in stack_names(clients("cloudformation"))
    code, out, err = deploy(cli)
    assert code == 0, err
    assert "retained resources adopted, not created:" in out
    assert f"< S3 bucket {before['bucket']} (52 objects): imported into StorageStack/DataBucket" in out
    after = snapshot(clients, outputs(clients("cloudformation"), "automl-dev"))
    assert after == before   # the same bucket, objects, repositories, images and log events
    assert owner(clients, before["bucket"]).startswith("automl-dev-StorageStack-")
    assert owner(clients, "automl-dev-train").startswith("automl-dev-RegistryStack-")
    assert deploy(cli)[0] == 0   # and it is an ordinary environment again: nothing left to change
    assert "No changes: automl-dev is up to date" in deploy(cli)[1]


def test_prod_comes_back_with_its_key_and_secret(aws, cli, clients):
    """The KMS key and the generated API key secret cannot be imported by name: they come back by ARN."""
    assert deploy(cli, "--var", "api_key_secret=create", *UNPROTECTED, env=PROD)[0] == 0
    cfn, sm, kms = clients("cloudformation"), clients("secretsmanager"), clients("kms")
    secret = sm.describe_secret(SecretId="automl/prod/api-key")
    value = sm.get_secret_value(SecretId=secret["ARN"])["SecretString"]
    key = kms.describe_key(KeyId="alias/automl-prod")["KeyMetadata"]["Arn"]
    assert cli("destroy", *PROD, "--yes")[0] == 0
    code, out, err = deploy(cli, "--var", "api_key_secret=create", *UNPROTECTED, env=PROD)
    assert code == 0, err
    assert f"used by ARN (KmsKey {key})" in out and f"used by ARN (ApiKeySecret {secret['ARN']})" in out
    params = {p["ParameterKey"]: p["ParameterValue"] for p in
              cfn.describe_stacks(StackName="automl-prod")["Stacks"][0]["Parameters"]}
    assert (params["KmsKey"], params["ApiKeySecret"]) == (key, secret["ARN"])
    assert sm.get_secret_value(SecretId=secret["ARN"])["SecretString"] == value   # clients keep their API key
    assert kms.describe_key(KeyId="alias/automl-prod")["KeyMetadata"]["Arn"] == key
    assert "No changes" in deploy(cli, "--var", "api_key_secret=create", *UNPROTECTED, env=PROD)[1]


def test_a_secret_waiting_out_its_recovery_window_is_named_before_any_change(aws, cli, clients):
    """Secrets Manager keeps a deleted secret's name for 7 to 30 days: say so, instead of a failed create."""
    secrets = clients("secretsmanager")
    arn = secrets.create_secret(Name="automl/dev/api-key", SecretString="old")["ARN"]
    secrets.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    code, out, err = deploy(cli, "--var", "api_key_secret=create")
    assert code == 3
    line = err.strip().splitlines()[-1]
    assert line.startswith("automl-cfn: error: Secret automl/dev/api-key is scheduled for deletion (")
    assert line.endswith("restore it, or wait until it is gone, before deploying with ApiKeySecret create")
    assert "automl-dev" not in stack_names(clients("cloudformation"))


def test_a_failed_first_create_leaves_nothing_in_the_way(aws, cli, clients, monkeypatch):
    """A role name someone took by hand: preflight names it before any change set.  Taken after preflight
    looked, it fails the first create; RetainExceptOnCreate deletes the buckets and repositories it had
    made, so once the role is gone the next deploy simply creates everything."""
    from automl_cfn.deploy import preflight

    iam = clients("iam")
    iam.create_role(RoleName="automl-dev-predict-task-role-us-east-1", AssumeRolePolicyDocument=ANY_TRUST)
    code, out, err = deploy(cli)
    assert code == 3 and "preflight existing: IAM role automl-dev-predict-task-role-us-east-1" in err
    assert "automl-dev" not in stack_names(clients("cloudformation"))
    iam.delete_role(RoleName="automl-dev-predict-task-role-us-east-1")

    def taken_meanwhile(ctx):
        found = original(ctx)
        iam.create_role(RoleName="automl-dev-predict-task-role-us-east-1", AssumeRolePolicyDocument=ANY_TRUST)
        return found

    original, checks = preflight.existing_check, preflight.AFTER_PREDICTION
    monkeypatch.setattr(preflight, "AFTER_PREDICTION", (taken_meanwhile, preflight.traffic_check))
    code, out, err = deploy(cli)
    monkeypatch.setattr(preflight, "AFTER_PREDICTION", checks)
    assert code == 1
    assert "already exists" in err.strip().splitlines()[-1]
    assert stack_names(clients("cloudformation"))["automl-dev"] == "ROLLBACK_COMPLETE"
    assert [b["Name"] for b in clients("s3").list_buckets()["Buckets"] if b["Name"].startswith("automl-dev")] == []
    assert clients("ecr").describe_repositories()["repositories"] == []
    iam.delete_role(RoleName="automl-dev-predict-task-role-us-east-1")
    code, out, err = deploy(cli)
    assert code == 0, err
    assert "ROLLBACK_COMPLETE: it never finished creating" in err
    assert "adopted" not in out   # nothing was left over to adopt


def test_a_switched_off_setting_keeps_its_data_and_adopts_it_when_switched_on(aws, cli, clients):
    assert deploy(cli, "--var", "enable_access_logging=true")[0] == 0
    bucket = outputs(clients("cloudformation"), "automl-dev")["DataBucketName"].replace("-data-", "-access-logs-")
    clients("s3").put_object(Bucket=bucket, Key="data-bucket/log-1", Body=b"GET /")
    code, out, err = deploy(cli, "--var", "enable_access_logging=false")   # off: out of the stack, kept
    assert code == 0, err
    assert clients("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    code, out, err = deploy(cli, "--var", "enable_access_logging=true")
    assert code == 0, err
    assert f"< S3 bucket {bucket} (1 objects): imported into StorageStack/AccessLogsBucket" in out
    assert owner(clients, bucket).startswith("automl-dev-StorageStack-")


# ---------------------------------------------------------------------------
# purge
# ---------------------------------------------------------------------------

def test_purge_deletes_everything_retained_and_the_environment_can_come_back(aws, cli, clients):
    assert deploy(cli, "--var", "api_key_secret=create", *UNPROTECTED, env=PROD)[0] == 0
    found = fill(clients, "prod", objects=5)
    code, out, err = cli("destroy", *PROD, "--yes", "--purge-data", "--purge-confirm", "automl-prod")
    assert code == 0, err
    assert found["bucket"] not in {b["Name"] for b in clients("s3").list_buckets()["Buckets"]}
    assert clients("ecr").describe_repositories()["repositories"] == []
    assert clients("logs").describe_log_groups(logGroupNamePrefix="/ecs/automl-prod")["logGroups"] == []
    assert clients("secretsmanager").list_secrets()["SecretList"] == []   # deleted without a recovery window
    assert "scheduled for deletion in 7 days" in out
    assert "Purged" in err
    code, out, err = deploy(cli, "--var", "api_key_secret=create", *UNPROTECTED, env=PROD)
    assert code == 0, err
    assert "adopted" not in out   # a fresh start: nothing left to adopt, the secret's name is free


def test_an_interrupted_purge_can_be_run_again_once_the_stack_is_gone(aws, cli, clients, monkeypatch):
    assert deploy(cli)[0] == 0
    found = fill(clients, "dev", objects=3)
    real = retained.KINDS["AWS::ECR::Repository"]
    calls = []

    def interrupted(aws_handle, item):
        calls.append(item.physical_id)
        raise KeyboardInterrupt

    monkeypatch.setitem(retained.KINDS, "AWS::ECR::Repository", retained.Kind(real.label, real.find, interrupted, 1))
    code, out, err = cli("destroy", *DEV, "--yes", "--purge-data", "--purge-confirm", "automl-dev")
    assert code == 130 and calls
    assert "automl-dev" not in stack_names(clients("cloudformation"))
    monkeypatch.setitem(retained.KINDS, "AWS::ECR::Repository", real)
    code, out, err = cli("destroy", *DEV, "--yes", "--purge-data", "--purge-confirm", "automl-dev")
    assert code == 0, err
    assert "automl-dev is not deployed; looking for what it retained" in err
    assert clients("ecr").describe_repositories()["repositories"] == []
    assert found["bucket"] not in {b["Name"] for b in clients("s3").list_buckets()["Buckets"]}


def test_a_purge_never_reports_what_it_did_not_do(aws, cli, clients, monkeypatch):
    from botocore.exceptions import ClientError

    assert deploy(cli)[0] == 0
    fill(clients, "dev", objects=2)
    real = retained.KINDS["AWS::ECR::Repository"]

    def denied(aws_handle, item):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "DeleteRepository")

    monkeypatch.setitem(retained.KINDS, "AWS::ECR::Repository", retained.Kind(real.label, real.find, denied, 1))
    code, out, err = cli("destroy", *DEV, "--yes", "--purge-data", "--purge-confirm", "automl-dev")
    assert code == 1
    assert "automl-dev-train\tFAILED: not allowed" in out
    assert err.strip().splitlines()[-1] == ("automl-cfn: error: 4 of 8 retained resources were not deleted (listed "
                                            "above); run destroy --purge-data again once the cause is fixed")
    assert "Purged" not in err
    assert len(clients("ecr").describe_repositories()["repositories"]) == 4


# ---------------------------------------------------------------------------
# two operations at once
# ---------------------------------------------------------------------------

def hold_inside(monkeypatch, module, name: str):
    """Make the first call of module.name wait until released; returns (entered, release)."""
    entered, release = threading.Event(), threading.Event()
    real = getattr(module, name)

    def paused(*args, **kwargs):
        if not entered.is_set():
            entered.set()
            assert release.wait(60), "never released"
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, paused)
    return entered, release


def in_thread(function, *args):
    result = {}

    def run():
        result["value"] = function(*args)
    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.mark.parametrize("first", ["deploy", "destroy"])
def test_one_operation_at_a_time(aws, cli, clients, monkeypatch, first):
    """While one deploy (or destroy) runs, another deploy stops before it changes anything."""
    assert deploy(cli)[0] == 0
    module, name = (plan, "prepare") if first == "deploy" else (destroy_module, "delete_stacks")
    entered, release = hold_inside(monkeypatch, module, name)
    args = ("deploy", *DEV, "--yes", "--var", "log_retention_days=14") if first == "deploy" else \
        ("destroy", *DEV, "--yes")
    thread, result = in_thread(cli, *args)
    assert entered.wait(60)
    code, out, err = cli("deploy", *DEV, "--yes", "--var", "log_retention_days=30")
    release.set()
    thread.join(60)
    assert code == 3
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"automl-cfn: error: automl-dev is locked: {first} by ")
    assert line.endswith("; follow it with 'automl-cfn status --env dev --watch', or if that run is gone, "
                         "pass --force-unlock")
    assert result["value"][0] == 0
    if first == "deploy":  # the first deploy's setting is what is deployed: nothing was lost silently
        params = {p["ParameterKey"]: p["ParameterValue"] for p in
                  clients("cloudformation").describe_stacks(StackName="automl-dev")["Stacks"][0]["Parameters"]}
        assert params["LogRetentionDays"] == "14"


def test_a_stale_lock_is_taken_over_and_force_unlock_says_what_it_breaks(aws, cli, clients, monkeypatch):
    assert deploy(cli)[0] == 0
    s3 = clients("s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("automl-cfn-artifacts"))
    live = {"stack": "automl-dev", "operation": "deploy", "holder": "ci@runner-7 (pid 4242)", "host": "runner-7",
            "pid": 4242, "token": "t", "started": "2026-11-27T06:00:00+00:00", "expires": "2999-01-01T00:00:00+00:00"}
    import json

    s3.put_object(Bucket=bucket, Key="locks/automl-dev.json", Body=json.dumps(live).encode())
    # --force: an unchanged deploy would end before the lock, having nothing to do.
    code, out, err = deploy(cli, "--force")
    assert code == 3 and "deploy by ci@runner-7 (pid 4242) since 2026-11-27T06:00:00+00:00 is in progress" in err
    code, out, err = deploy(cli, "--force-unlock", "--force")
    assert code == 0, err
    assert "Breaking the lock of deploy by ci@runner-7 (pid 4242)" in err and "both now change automl-dev" in err
    expired = {**live, "expires": "2026-01-01T00:00:00+00:00"}
    s3.put_object(Bucket=bucket, Key="locks/automl-dev.json", Body=json.dumps(expired).encode())
    code, out, err = deploy(cli, "--force")
    assert code == 0, err
    assert "Taking over the stale lock of deploy by ci@runner-7" in err
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="locks/")   # released afterwards


def test_the_lock_is_a_conditional_write(aws, clients):
    """Exactly one of two writers gets it, whatever the timing: S3 decides, not a status read earlier."""
    s3 = clients("s3")
    s3.create_bucket(Bucket="locks")
    first = lock_module.acquire(s3, "locks", "automl-dev", "deploy", "hint")
    entry = dict(first.holder, pid=1, host="elsewhere")   # someone else's, still valid
    import json

    s3.put_object(Bucket="locks", Key=first.key, Body=json.dumps(entry).encode())
    with pytest.raises(lock_module.RefusedError, match="automl-dev is locked"):
        lock_module.acquire(s3, "locks", "automl-dev", "deploy", "hint")


# ---------------------------------------------------------------------------
# settings: --var, release, --reset
# ---------------------------------------------------------------------------

def test_release_changes_only_the_image_tag_and_a_deploy_never_undoes_a_var_silently(aws, cli, clients):
    assert deploy(cli, "--var", "enable_stepfunctions=true")[0] == 0
    push_images(clients, "dev", "v1")
    code, out, err = cli("release", *DEV, "--tag", "v1", "--yes")
    assert code == 0, err
    assert "ImageTag: '' -> 'v1'" in out and "EnableStepFunctions" not in out   # only the tag changed
    assert "automl-dev-PipelineStack" in " ".join(stack_names(clients("cloudformation")))
    code, out, err = deploy(cli)   # neither the pipeline nor the tag is in config/dev.yaml
    assert code == 3
    assert err.strip().splitlines()[-1].startswith("automl-cfn: error: ")
    assert "in the deployed stack (set by an earlier --var or release) but" in err
    assert "pass --reset to return to config/dev.yaml" in err
    code, out, err = deploy(cli, "--var", "enable_stepfunctions=true", "--var", "image_tag=v1")
    assert code == 0, err   # repeating them is fine
    code, out, err = deploy(cli, "--reset")
    assert code == 0, err
    assert "EnableStepFunctions: 'true' -> 'false'" in out and "ImageTag: 'v1' -> ''" in out
    assert deploy(cli)[0] == 0   # back to the file: nothing recorded any more


# ---------------------------------------------------------------------------
# EXPRESS mode
# ---------------------------------------------------------------------------

def test_express_mode_deploys_an_image_tag_and_recovers_a_stack_it_left_update_failed(aws, cli, clients):
    """dev deploys in EXPRESS mode: each image tag replaces the task definitions, which CloudFormation refuses
    with rollback off.  The deploy keeps rollback on; a stack an older deploy left UPDATE_FAILED is rolled
    back first."""
    assert deploy(cli)[0] == 0
    push_images(clients, "dev", "v1")
    push_images(clients, "dev", "v2")
    code, out, err = deploy(cli, "--var", "image_tag=v1")
    assert code == 0, err
    cfn = clients("cloudformation")
    stack = cfn.describe_stacks(StackName="automl-dev")["Stacks"][0]
    parameters = [{"ParameterKey": p["ParameterKey"], "UsePreviousValue": True} for p in stack["Parameters"]
                  if p["ParameterKey"] != "ImageTag"] + [{"ParameterKey": "ImageTag", "ParameterValue": "v2"}]
    change_set = cfn.create_change_set(StackName="automl-dev", ChangeSetName="old-express", UsePreviousTemplate=True,
                                       Parameters=parameters, Capabilities=plan.CAPABILITIES,
                                       IncludeNestedStacks=True, DeploymentConfig={"Mode": "EXPRESS"})["Id"]
    cfn.execute_change_set(ChangeSetName=change_set)
    assert cfn.describe_stacks(StackName="automl-dev")["Stacks"][0]["StackStatus"] == "UPDATE_FAILED"
    code, out, err = deploy(cli, "--var", "image_tag=v2")
    assert code == 0, err
    assert "is UPDATE_FAILED" in err and "Rolling it back to its last stable state first" in err
    container = clients("ecs").describe_task_definition(taskDefinition="automl-dev-train")["taskDefinition"][
        "containerDefinitions"][0]
    assert container["image"].endswith(":v2")


def test_a_protected_load_balancer_is_not_replaced_behind_its_protection(aws, cli, clients):
    """With termination_protection the load balancer has deletion protection: replacing it (internal -> public)
    would leave the old one behind, so the deploy refuses and says how; with protection off first, it works."""
    endpoint = ("--var", "load_balancer=internal")
    assert deploy(cli, *endpoint, "--var", "termination_protection=true")[0] == 0
    elb = clients("elbv2")
    arn = elb.describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
    attributes = {a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
    assert attributes["deletion_protection.enabled"] == "true"
    public = ("--var", "load_balancer=public", "--var", f"certificate_arn={import_certificate(clients)}",
              "--var", "api_key_secret=create")
    code, out, err = deploy(cli, *public, "--var", "termination_protection=true")
    assert code == 3 and "has deletion protection (termination_protection: true)" in err
    assert "Deploy with termination_protection: false first" in err
    assert [lb["LoadBalancerArn"] for lb in elb.describe_load_balancers()["LoadBalancers"]] == [arn]
    assert deploy(cli, *endpoint, "--var", "termination_protection=false")[0] == 0
    code, out, err = deploy(cli, *public, "--var", "termination_protection=false")
    assert code == 0, err + out[-2000:]
    assert [lb["Scheme"] for lb in elb.describe_load_balancers()["LoadBalancers"]] == ["internet-facing"]
