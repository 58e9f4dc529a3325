"""The day-2 verbs end to end against the local endpoint, on a deployed stack."""

from __future__ import annotations

import json
import os
import stat
import threading
import time

import pytest

from automl_cfn.cli import main

from .conftest import outputs, push_images


@pytest.fixture
def prod(aws, cli):
    """prod deployed (it has the Step Functions pipeline); returns its outputs."""
    code, out, err = cli("deploy", "--env", "prod", "--yes", "--region", "us-east-1")
    assert code == 0, err
    import boto3

    return outputs(boto3.client("cloudformation", endpoint_url=aws.url, region_name="us-east-1"), "automl-prod")


def ops(cli, verb, *args):
    return cli(verb, *args, "--env", "prod", "--region", "us-east-1")


def make_tree(root, big_size=9 * 1024 * 1024):
    (root / "raw").mkdir(parents=True)
    for index in range(20):
        (root / "raw" / f"part-{index:02d}.csv").write_text(f"id,value\n{index},{index * 2}\n")
    (root / "data_science_project_data.csv").write_text("a,b\n1,2\n")
    (root / "model.pkl").write_bytes(b"pickle")
    (root / "big.bin").write_bytes(os.urandom(big_size))  # above the multipart threshold


def test_upload_twice_sends_nothing_the_second_time(aws, prod, cli, clients, tmp_path):
    make_tree(tmp_path / "data")
    code, out, err = ops(cli, "upload", "--source", str(tmp_path / "data"), "--exclude", "*.pkl")
    assert code == 0, err
    assert out.startswith("uploaded 22 files (9.0 MiB)") and "0 unchanged" in out
    s3 = clients("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=prod["DataBucketName"], Prefix="data/")["Contents"]}
    assert "data/raw/part-07.csv" in keys and "data/big.bin" in keys and "data/model.pkl" not in keys
    assert s3.head_object(Bucket=prod["DataBucketName"], Key="data/big.bin")["ETag"].endswith('-2"')

    before = aws.requests()
    code, out, err = ops(cli, "upload", "--source", str(tmp_path / "data"), "--exclude", "*.pkl")
    assert code == 0 and out.startswith("uploaded 0 files (0.0 MiB)") and "22 unchanged" in out
    assert aws.requests() - before <= 3  # describe the stack, one listing page; no object requests

    (tmp_path / "data" / "raw" / "part-03.csv").write_text("id,value\n3,999\n")
    code, out, err = ops(cli, "upload", "--source", str(tmp_path / "data"), "--exclude", "*.pkl")
    assert out.startswith("uploaded 1 file (0.0 MiB)") and "21 unchanged" in out
    body = s3.get_object(Bucket=prod["DataBucketName"], Key="data/raw/part-03.csv")["Body"].read()
    assert body == b"id,value\n3,999\n"


def test_upload_delete_needs_confirmation(aws, prod, cli, clients, tmp_path):
    make_tree(tmp_path / "data", big_size=10)
    assert ops(cli, "upload", "--source", str(tmp_path / "data"))[0] == 0
    (tmp_path / "data" / "model.pkl").unlink()
    code, out, err = ops(cli, "upload", "--source", str(tmp_path / "data"), "--delete")
    assert code == 3 and "--yes" in err
    s3 = clients("s3")
    assert s3.head_object(Bucket=prod["DataBucketName"], Key="data/model.pkl")
    code, out, err = ops(cli, "upload", "--source", str(tmp_path / "data"), "--delete", "--yes")
    assert code == 0 and "1 deleted" in out
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=prod["DataBucketName"], Prefix="data/")["Contents"]}
    assert "data/model.pkl" not in keys


def test_download_brings_back_what_was_put(aws, prod, cli, clients, tmp_path):
    s3 = clients("s3")
    for name, body in {"best/params.json": b'{"depth": 6}', "model.bin": os.urandom(1024)}.items():
        s3.put_object(Bucket=prod["DataBucketName"], Key=f"models/{name}", Body=body)
    dest = tmp_path / "models"
    code, out, err = ops(cli, "download", "models", "--dest", str(dest))
    assert code == 0, err
    assert out.startswith("downloaded 2 files")
    assert (dest / "best" / "params.json").read_bytes() == b'{"depth": 6}'
    assert (dest / "model.bin").read_bytes() == s3.get_object(
        Bucket=prod["DataBucketName"], Key="models/model.bin")["Body"].read()
    code, out, err = ops(cli, "download", "models", "--dest", str(dest))
    assert out.startswith("downloaded 0 files") and "2 unchanged" in out


@pytest.mark.parametrize("args, fragment", [
    (["upload", "--source", "EMPTY"], "no files to upload"),
    (["upload", "--source", "MISSING"], "no such directory"),
    (["upload", "--source", "EMPTY", "--prefix", "secrets/"], "the bucket's prefixes are data/, models/, predictions/"),
    (["download", "secrets"], "choose one of data, models, predictions"),
    (["run", "trian"], "unknown service 'trian'; did you mean 'train'?"),
    (["run", "train", "--cpu", "1024"], "--cpu and --memory go together"),
    (["run", "train", "--cpu", "1024", "--memory", "512"], "--memory 512: with --cpu 1024 Fargate offers 2048 to 8192"),
    (["logs", "optimise"], "unknown log source 'optimise'"),
    (["logs", "train", "--since", "yesterday"], "--since 'yesterday'"),
    (["pipeline", "start", "--input", "{not json"], "--input is not JSON"),
])
def test_bad_input_is_one_line_and_sends_nothing(aws, cli, tmp_path, args, fragment):
    (tmp_path / "EMPTY").mkdir()
    args = [str(tmp_path / a) if a in ("EMPTY", "MISSING") else a for a in args]
    code, out, err = cli(*args, "--env", "dev")
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err
    assert aws.requests() == 0


def test_verbs_need_a_deployed_stack(aws, cli, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.csv").write_text("x")
    for args in (["run", "train"], ["upload", "--source", str(tmp_path / "d")], ["logs", "train"],
                 ["pipeline", "start"], ["download", "models"]):
        code, out, err = cli(*args, "--env", "dev")
        assert code == 1 and "automl-dev is not deployed in us-east-1" in err, args


def test_run_takes_everything_from_the_outputs(aws, prod, cli, clients):
    code, out, err = ops(cli, "run", "train")
    assert code == 0, err
    arn = out.split("started train: ")[1].strip()
    task = clients("ecs").describe_tasks(cluster=prod["ClusterName"], tasks=[arn])["tasks"][0]
    assert task["taskDefinitionArn"].split("/")[-1].startswith("automl-prod-train:")
    assert task["startedBy"] == "automl-cfn"
    assert task["capacityProviderName"] == "FARGATE"  # prod: on-demand
    assert "containerOverrides" not in task.get("overrides", {}) or not task["overrides"]["containerOverrides"]


def test_run_without_an_image_tag_says_it_runs_latest(aws, prod, cli):
    code, out, err = ops(cli, "run", "optimize")
    assert code == 0 and "warning: no image_tag is deployed, so optimize runs the ':latest' image" in err


def test_logs_say_when_there_is_nothing_to_show(aws, prod, cli):
    code, out, err = ops(cli, "logs", "train")
    assert code == 0 and out == "" and "no log events in /ecs/automl-prod-train since" in err


def test_a_one_off_predict_scores_a_batch(aws, prod, cli, clients):
    code, out, err = ops(cli, "run", "predict")
    assert code == 0, err
    arn = out.split("started predict: ")[1].strip()
    task = clients("ecs").describe_tasks(cluster=prod["ClusterName"], tasks=[arn])["tasks"][0]
    assert task["overrides"]["containerOverrides"] == [{"name": "predict", "command": ["batch"]}]


def test_run_wait_reports_how_the_task_ended(aws, prod, cli, clients):
    ecs = clients("ecs")

    done = threading.Event()

    def stop_when_started():   # however long the run takes to start the task on a loaded machine
        while not done.is_set():
            tasks = ecs.list_tasks(cluster=prod["ClusterName"])["taskArns"]
            if tasks:
                ecs.stop_task(cluster=prod["ClusterName"], task=tasks[0], reason="Essential container exited")
                return
            done.wait(0.05)

    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    try:
        code, out, err = ops(cli, "run", "optimize", "--wait", "--poll", "0.2", "--spot", "--cpu", "8192",
                             "--memory", "16384")
    finally:
        done.set()
        stopper.join()
    assert code == 0, err
    assert "optimize finished: exit code 0 (Essential container exited)" in out
    assert "STOPPED" in err


def test_pipeline_start_and_status(aws, prod, cli):
    aws.hold_tasks()         # optimize runs until the test ends: the execution stays RUNNING
    code, out, err = ops(cli, "pipeline", "start", "--input", '{"run": "nightly"}')
    assert code == 0, err
    execution = out.split("started ")[1].strip()
    assert execution.startswith(prod["StateMachineArn"].replace(":stateMachine:", ":execution:"))
    code, out, err = ops(cli, "pipeline", "status")
    assert code == 0 and execution.rsplit(":", 1)[1] in out and "RUNNING" in out
    code, out, err = ops(cli, "pipeline", "status", execution.rsplit(":", 1)[1])
    assert code == 0 and "execution started" in out and "status: RUNNING" in out


def test_pipeline_wait_follows_the_run_to_its_end(aws, prod, cli, containers):
    """`start --wait` shows each step as it happens and ends with the run: here its steps' containers exit 0
    but train published no quality metric, so the gate stops the run before predict, and the exit status says
    so (tests/integration/test_pipeline_runs.py runs the example's containers)."""
    containers.play(prod["ClusterName"], {service: (lambda environment: 0) for service in ("optimize", "train")})
    code, out, err = ops(cli, "pipeline", "start", "--wait", "--poll", "0")
    assert code == 1 and "Train entered" in err and "ModelQualityTooLow failed" in err, err
    assert "pipeline FAILED: ModelQualityTooLow" in err and [s for s, _ in containers.ran] == ["optimize", "train"]


def test_pipeline_status_takes_the_execution_before_or_after_the_options(aws, prod, cli):
    aws.hold_tasks()
    code, out, err = ops(cli, "pipeline", "start")
    name = out.split("started ")[1].strip().rsplit(":", 1)[1]
    for args in (("pipeline", "status", name, "--env", "prod", "--region", "us-east-1"),
                 ("pipeline", "status", "--env", "prod", "--region", "us-east-1", name)):
        code, out, err = cli(*args)
        assert code == 0 and "execution started" in out, err
    code, out, err = cli("pipeline", "status", "--env", "prod", "--region", "us-east-1", name, "extra")
    assert code == 2 and "unrecognized arguments" in err


def test_pipeline_not_enabled_is_a_clear_message(aws, cli):
    assert cli("deploy", "--env", "dev", "--yes")[0] == 0
    code, out, err = cli("pipeline", "start", "--env", "dev")
    assert code == 2
    assert "the Step Functions pipeline is not enabled in dev (enable_stepfunctions: false)" in err


def test_logs_show_events_written_to_the_service_group(aws, prod, cli, clients):
    logs = clients("logs")
    group = prod["TrainLogGroupName"]
    logs.create_log_stream(logGroupName=group, logStreamName="train/train/1234")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="train/train/1234", logEvents=[
        {"timestamp": now - 2000, "message": "loading data/"}, {"timestamp": now - 1000, "message": "best auc 0.91"}])
    code, out, err = ops(cli, "logs", "train", "--since", "5m")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].endswith("train/train/1234 loading data/") and lines[1].endswith("best auc 0.91")
    code, out, err = ops(cli, "logs", "optimize", "--since", "5m")
    assert code == 0 and out == ""


@pytest.fixture
def recording_docker(tmp_path, monkeypatch):
    """An executable named docker on PATH that records each call and its stdin."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "docker-calls.jsonl"
    script = bin_dir / "docker"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        "stdin = sys.stdin.read() if '--password-stdin' in sys.argv else ''\n"
        f"open({str(record)!r}, 'a').write(json.dumps({{'argv': sys.argv[1:], 'stdin': stdin}}) + '\\n')\n"
        "if sys.argv[1:2] == ['version']: print('28.2.2')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def calls():
        return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    return calls


def project_with_images(project_root, tmp_path):
    import shutil

    project = tmp_path / "project"
    for part in ("config", "generated"):
        shutil.copytree(project_root / part, project / part)
    (project / "docker").mkdir()
    shutil.copy(project_root / "docker" / "Dockerfile", project / "docker" / "Dockerfile")
    return project


def test_build_and_push_issue_the_docker_commands(aws, prod, recording_docker, project_root, tmp_path, capsys):
    project = project_with_images(project_root, tmp_path)
    code = main(["build", "--env", "prod", "--region", "us-east-1", "--project-dir", str(project),
                 "--service", "train", "--tag", "v1.2.3", "--push"])
    assert code == 0, capsys.readouterr().err
    calls = recording_docker()
    uri = prod["TrainRepositoryUri"]
    assert [c["argv"] for c in calls] == [
        ["version", "--format", "{{.Server.Version}}"],
        ["build", "--platform", "linux/amd64", "-f", str(project / "docker/Dockerfile"), "-t", f"{uri}:v1.2.3",
         "--build-arg", "STEP=train", str(project)],
        ["login", "--username", "AWS", "--password-stdin", "https://123456789012.dkr.ecr.us-east-1.amazonaws.com"],
        ["push", f"{uri}:v1.2.3"],
    ]
    assert calls[2]["stdin"] == "123456789012-auth-token"  # decoded from the endpoint's authorization token
    assert "warning" not in capsys.readouterr().err   # the example images run as the task's user, with /tmp


def test_build_warns_about_an_image_that_runs_as_root(aws, prod, recording_docker, project_root, tmp_path, capsys):
    project = project_with_images(project_root, tmp_path)
    (project / "docker" / "Dockerfile").write_text("FROM python:3.11-slim\nCMD [\"python\"]\n")
    assert main(["build", "--env", "prod", "--region", "us-east-1", "--project-dir", str(project),
                 "--service", "train", "--tag", "v1"]) == 0
    err = capsys.readouterr().err
    assert "warning: docker/Dockerfile (train): the image runs as root" in err
    assert "no VOLUME /tmp: Fargate mounts the scratch volume root-owned (mode 0755)" in err


def test_build_all_images_tagged_with_the_git_sha(aws, prod, recording_docker, project_root, tmp_path, capsys):
    import subprocess

    project = project_with_images(project_root, tmp_path)
    git = ["git", "-C", str(project), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(git + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    sha = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert main(["build", "--env", "prod", "--region", "us-east-1", "--project-dir", str(project)]) == 0
    builds = [c["argv"] for c in recording_docker() if c["argv"][0] == "build"]
    assert [b[6].rsplit("/", 1)[1] for b in builds] == [f"automl-prod-{i}:{sha}" for i in
                                                        ("optimize", "train", "predict", "pipeline")]
    assert not any(c["argv"][0] in ("login", "push") for c in recording_docker())


def test_build_without_docker_is_one_line(aws, prod, project_root, tmp_path, monkeypatch, capsys):
    project = project_with_images(project_root, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    code = main(["build", "--env", "prod", "--region", "us-east-1", "--project-dir", str(project), "--tag", "x"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("automl-cfn: error: docker is not installed (not on PATH): install Docker Engine "
                           "(https://docs.docker.com/engine/install/) or Docker Desktop")


def test_build_with_docker_but_no_daemon(aws, prod, project_root, tmp_path, monkeypatch, capsys):
    project = project_with_images(project_root, tmp_path)
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    code = main(["build", "--env", "prod", "--region", "us-east-1", "--project-dir", str(project), "--tag", "x"])
    assert code == 2 and "its daemon is not running" in capsys.readouterr().err


def test_deploy_refuses_a_tag_that_is_not_in_ecr(aws, prod, cli, clients):
    code, out, err = cli("deploy", "--env", "prod", "--region", "us-east-1", "--yes", "--var", "image_tag=abc1234")
    assert code == 3
    assert "image tag 'abc1234' is not in ECR repository automl-prod-optimize (and 2 more)" in err
    ecr = clients("ecr")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                                      "digest": "sha256:" + "0" * 64}, "layers": []})
    for service in ("optimize", "train", "predict"):
        ecr.put_image(repositoryName=f"automl-prod-{service}", imageManifest=manifest, imageTag="abc1234")
    code, out, err = cli("deploy", "--env", "prod", "--region", "us-east-1", "--yes", "--var", "image_tag=abc1234")
    assert code == 0, err
    definition = clients("ecs").describe_task_definition(taskDefinition="automl-prod-train")["taskDefinition"]
    assert definition["containerDefinitions"][0]["image"] == f"{prod['TrainRepositoryUri']}:abc1234"


def test_outputs_show_the_quick_start_commands(aws, prod, cli):
    code, out, err = ops(cli, "outputs")
    assert code == 0
    assert "automl-cfn run optimize --env prod --wait" in out
    assert f"aws ecs run-task --cluster {prod['ClusterName']} --task-definition automl-prod-optimize" in out
    assert "automl-cfn pipeline start --env prod --wait" in out


def test_release_moves_the_service_to_a_tag_behind_a_blue_green_endpoint(aws, cli, clients):
    lb = ["--var", "load_balancer=internal", "--var", "deployment_strategy=blue_green", "--var", "enable_lb_access_logs=true"]
    code, out, err = cli("deploy", "--env", "prod", "--region", "us-east-1", "--yes", *lb)
    assert code == 0, err
    assert outputs(clients("cloudformation"), "automl-prod")["EndpointUrl"].startswith("http://")
    code, out, err = cli("release", "--env", "prod", "--region", "us-east-1", "--tag", "r1", "--yes", *lb)
    assert code == 3 and "image tag 'r1' is not in ECR" in err  # nothing pushed yet
    push_images(clients, "prod", "r1")
    code, out, err = cli("release", "--env", "prod", "--region", "us-east-1", "--tag", "r1", "--yes", "--poll", "0",
                         *lb)
    assert code == 0, err
    assert "ImageTag: '' -> 'r1'" in out and "deployment COMPLETED" in out
    image = clients("ecs").describe_task_definition(taskDefinition="automl-prod-predict")["taskDefinition"][
        "containerDefinitions"][0]["image"]
    assert image.endswith("automl-prod-predict:r1")
