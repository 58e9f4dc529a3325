"""`migrate apply` on the strict endpoint: what a Terraform deployment of the seed made (created here with
boto3, under Terraform's names) is adopted in place; its data is counted before and after."""

from __future__ import annotations

import json
import shutil

import pytest

from automl_cfn.cli import main
from automl_cfn.deploy.retained import owner

from .conftest import stack_names

REPOSITORIES = ("optimize", "train", "predict", "pipeline")
SOURCES = ("optimize", "train", "predict")
BUCKET = "automl-tf-data-abc123"
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                                  "digest": "sha256:" + "2" * 64}, "layers": []})


def terraform_made(clients) -> dict:
    """The seed's stateful resources with Terraform's names, holding data; returns their ARNs."""
    s3 = clients("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for key, body in (("data/train.csv", b"a,b\n1,2\n"), ("data/train.csv", b"a,b\n1,3\n"), ("models/m.pkl", b"m")):
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    arns = {}
    for repository in REPOSITORIES:
        made = clients("ecr").create_repository(repositoryName=f"automl-{repository}")["repository"]
        arns[repository] = made["repositoryArn"]
        clients("ecr").put_image(repositoryName=f"automl-{repository}", imageManifest=MANIFEST, imageTag="v7")
    logs = clients("logs")
    for source in SOURCES:
        logs.create_log_group(logGroupName=f"/ecs/automl-{source}")
        logs.create_log_stream(logGroupName=f"/ecs/automl-{source}", logStreamName="ecs/old-task")
        logs.put_log_events(logGroupName=f"/ecs/automl-{source}", logStreamName="ecs/old-task",
                            logEvents=[{"timestamp": 1_700_000_000_000, "message": f"{source} ran"}])
    secret = clients("secretsmanager").create_secret(Name="automl/api-key", SecretString="hunter2-do-not-print")
    arns["secret"] = secret["ARN"]
    return arns


def state_document(arns: dict, region: str) -> dict:
    """terraform.tfstate (format 4) as Terraform would have written it for these resources."""
    def resource(type_, name, instances, module=None):
        body = {"mode": "managed", "type": type_, "name": name, "instances": instances,
                "provider": 'provider["registry.terraform.io/hashicorp/aws"]'}
        return {**body, "module": module} if module else body

    def instance(attributes, key=None, sensitive=()):
        body = {"schema_version": 0, "attributes": attributes,
                "sensitive_attributes": [[{"type": "get_attr", "value": s}] for s in sensitive]}
        return {**body, "index_key": key} if key is not None else body

    account = arns["secret"].split(":")[4]
    return {"version": 4, "terraform_version": "1.7.5", "serial": 9, "lineage": "x", "outputs": {}, "resources": [
        resource("aws_vpc", "main", [instance({"id": "vpc-0123456789abcdef0",
                                               "arn": f"arn:aws:ec2:{region}:{account}:vpc/vpc-0123456789abcdef0"})],
                 "module.network"),
        resource("aws_s3_bucket", "data", [instance({"bucket": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"})]),
        resource("aws_s3_bucket_versioning", "data", [instance({
            "bucket": BUCKET, "versioning_configuration": [{"status": "Enabled"}]})]),
        resource("aws_ecr_repository", "repos", [instance({
            "name": f"automl-{r}", "arn": arns[r], "image_tag_mutability": "MUTABLE",
            "image_scanning_configuration": [{"scan_on_push": True}]}, key=r) for r in REPOSITORIES],
            "module.registry"),
        resource("aws_cloudwatch_log_group", "ecs", [instance({
            "name": f"/ecs/automl-{s}", "arn": f"arn:aws:logs:{region}:{account}:log-group:/ecs/automl-{s}",
            "retention_in_days": 14}, key=i) for i, s in enumerate(SOURCES)]),
        resource("aws_secretsmanager_secret", "api_key", [instance({"name": "automl/api-key", "arn": arns["secret"]})]),
        resource("aws_secretsmanager_secret_version", "api_key", [instance({
            "secret_id": arns["secret"], "secret_string": "hunter2-do-not-print"}, sensitive=("secret_string",))]),
        resource("aws_ecs_cluster", "main", [instance({"name": "automl-cluster"})]),
        resource("aws_sqs_queue", "other", [instance({"name": "not-ours"})]),
    ]}


@pytest.fixture
def project(project_root, tmp_path):
    """A copy of the project: migrate writes the adopted names into its config/dev.yaml."""
    for part in ("config", "generated"):
        shutil.copytree(project_root / part, tmp_path / "project" / part)
    return tmp_path / "project"


def counts(clients) -> dict:
    s3, ecr, logs = clients("s3"), clients("ecr"), clients("logs")
    versions = s3.list_object_versions(Bucket=BUCKET).get("Versions", [])
    return {"versions": len(versions), "objects": sum(v["IsLatest"] for v in versions),
            **{r: len(ecr.list_images(repositoryName=f"automl-{r}")["imageIds"]) for r in REPOSITORIES},
            **{s: [e["message"] for e in logs.get_log_events(logGroupName=f"/ecs/automl-{s}",
                                                             logStreamName="ecs/old-task")["events"]]
               for s in SOURCES}}


def migrate(project, state, *extra):
    return main(["migrate", "apply", "--tfstate", str(state), "--env", "dev", "--yes",
                 "--project-dir", str(project), *extra])


def test_apply_adopts_in_place_and_writes_the_terraform_side(aws, clients, project, tmp_path, capsys):
    arns = terraform_made(clients)
    state = tmp_path / "terraform" / "terraform.tfstate"
    state.parent.mkdir()
    state.write_text(json.dumps(state_document(arns, aws.region)))
    before = counts(clients)

    assert migrate(project, state) == 0
    out, err = capsys.readouterr()
    assert "hunter2" not in out + err
    cfn = clients("cloudformation")
    for name in [BUCKET, *(f"automl-{r}" for r in REPOSITORIES), *(f"/ecs/automl-{s}" for s in SOURCES)]:
        assert (owner(cfn, name) or "").startswith("automl-dev-"), name
    assert counts(clients) == before
    settings = (project / "config" / "dev.yaml").read_text()
    assert f"data_bucket: {BUCKET}" in settings and f"api_key_secret: {arns['secret']}" in settings
    removed = (state.parent / "automl-cfn-removed.tf").read_text()
    assert "from = module.registry.aws_ecr_repository.repos" in removed and "from = aws_s3_bucket.data" in removed
    assert "aws_ecs_cluster" not in removed and "aws_sqs_queue" not in removed
    assert "terraform state rm 'module.registry.aws_ecr_repository.repos[\"train\"]'" in \
        (state.parent / "automl-cfn-state-rm.sh").read_text()
    assert "terraform destroy" in err

    # Again, as after an interruption: nothing changes, nothing is rewritten.
    change_sets = len(cfn.list_change_sets(StackName="automl-dev")["Summaries"])
    assert migrate(project, state) == 0
    again = capsys.readouterr().err
    assert "adopted 9 resources" in again and "wrote the adopted names" not in again
    assert (project / "config" / "dev.yaml").read_text() == settings and counts(clients) == before
    assert len(cfn.list_change_sets(StackName="automl-dev")["Summaries"]) == change_sets

    # The state still holds what was adopted until the removed blocks are applied.
    check = ["migrate", "check", "--tfstate", str(state), "--env", "dev", "--project-dir", str(project)]
    assert main(check) == 1
    forgotten = state_document(arns, aws.region)
    forgotten["resources"] = [r for r in forgotten["resources"] if r["type"] in ("aws_vpc", "aws_ecs_cluster")]
    state.write_text(json.dumps(forgotten))
    assert main(check) == 0

    # And the environment is like any other: destroy keeps the data.
    assert main(["destroy", "--env", "dev", "--yes", "--project-dir", str(project)]) == 0
    assert "automl-dev" not in stack_names(cfn)
    assert counts(clients) == before


def test_apply_refuses_what_the_account_does_not_have(aws, clients, project, tmp_path, capsys):
    arns = terraform_made(clients)
    clients("ecr").delete_repository(repositoryName="automl-train", force=True)
    state = tmp_path / "terraform.tfstate"
    state.write_text(json.dumps(state_document(arns, aws.region)))
    original = (project / "config" / "dev.yaml").read_text()
    assert migrate(project, state) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("is in the Terraform state but not in the account (region us-east-1); refresh the state "
                            "('terraform apply -refresh-only') and run the migration again")
    assert (project / "config" / "dev.yaml").read_text() == original
    assert "automl-dev" not in stack_names(clients("cloudformation"))


def test_an_environment_deployed_with_its_own_names_is_not_renamed(aws, clients, cli, project, tmp_path, capsys):
    assert main(["deploy", "--env", "dev", "--yes", "--project-dir", str(project)]) == 0
    arns = terraform_made(clients)
    state = tmp_path / "terraform.tfstate"
    state.write_text(json.dumps(state_document(arns, aws.region)))
    original = (project / "config" / "dev.yaml").read_text()
    capsys.readouterr()
    assert migrate(project, state) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("automl-cfn: error: automl-dev already exists with other names than the Terraform "
                              "deployment's: adopted names are fixed"), err[-1]
    assert (project / "config" / "dev.yaml").read_text() == original


def test_a_bad_state_stops_apply_before_any_request(aws, project, tmp_path, capsys):
    state = tmp_path / "terraform.tfstate"
    state.write_text('{"version": 4, "terraform_version": "1.7.5", "resources": [{"mode": "managed", "ty')
    assert migrate(project, state) == 2
    assert "not JSON (line 1)" in capsys.readouterr().err
    assert aws.requests() == 0


# -- issue 27: nothing is changed unless all of it can be done, in the right account, and written safely ----------

def written_state(tmp_path, arns, region, change=None):
    document = state_document(arns, region)
    if change:
        change(document)
    state = tmp_path / "terraform" / "terraform.tfstate"
    state.parent.mkdir(exist_ok=True)
    state.write_text(json.dumps(document))
    return state


def nothing_changed(clients, project, settings_before: bytes, out_dir) -> None:
    assert (project / "config" / "dev.yaml").read_bytes() == settings_before
    assert "automl-dev" not in stack_names(clients("cloudformation"))
    assert not (out_dir / "automl-cfn-removed.tf").exists() and not (out_dir / "automl-cfn-state-rm.sh").exists()


def test_a_state_from_another_account_is_refused_naming_both(aws, clients, project, tmp_path, capsys):
    """Same-named resources in the account the credentials reach are not the state's: nothing is adopted."""
    arns = terraform_made(clients)
    ours = clients("sts").get_caller_identity()["Account"]
    other = "210987654321" if ours != "210987654321" else "123456789012"
    def elsewhere(document):
        # Without the secret (whose ARN the account check would miss by chance): the bucket, repositories and
        # log groups are found by name in the account the credentials reach, and were adopted there.
        moved = json.loads(json.dumps(document).replace(f":{ours}:", f":{other}:"))
        document["resources"] = [r for r in moved["resources"] if not r["type"].startswith("aws_secretsmanager")]

    state = written_state(tmp_path, arns, aws.region, elsewhere)
    before = (project / "config" / "dev.yaml").read_bytes()
    assert migrate(project, state) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert f"in account {other}" in err[-1] and f"the credentials reach account {ours}" in err[-1], err[-1]
    nothing_changed(clients, project, before, state.parent)


def test_a_state_from_another_region_is_refused_naming_both(aws, clients, project, tmp_path, capsys):
    arns = terraform_made(clients)
    state = written_state(tmp_path, arns, aws.region)
    before = (project / "config" / "dev.yaml").read_bytes()
    other = "eu-west-1" if aws.region != "eu-west-1" else "us-west-2"
    assert migrate(project, state, "--region", other) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert f"in region {aws.region}" in err[-1] and f"the deploy goes to {other}" in err[-1], err[-1]
    nothing_changed(clients, project, before, state.parent)


def test_an_output_directory_that_cannot_be_written_stops_apply_before_any_request(aws, clients, project, tmp_path,
                                                                                    capsys):
    arns = terraform_made(clients)
    state = written_state(tmp_path, arns, aws.region)
    before, requests = (project / "config" / "dev.yaml").read_bytes(), aws.requests()
    assert migrate(project, state, "--out", "/dev/null/sub") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["automl-cfn: error: --out /dev/null/sub: is not a directory (/dev/null is not a directory); pass "
                   "the directory the Terraform side goes in"]
    assert aws.requests() == requests
    nothing_changed(clients, project, before, state.parent)


def test_an_output_file_that_is_a_link_is_refused_and_its_target_kept(aws, clients, project, tmp_path, capsys):
    arns = terraform_made(clients)
    state = written_state(tmp_path, arns, aws.region)
    victim = tmp_path / "bashrc"
    victim.write_text("# the user's shell profile\n")
    (state.parent / "automl-cfn-state-rm.sh").symlink_to(victim)
    before = (project / "config" / "dev.yaml").read_bytes()
    assert migrate(project, state) == 3
    assert "automl-cfn-state-rm.sh: the Terraform side of the cut-over is a symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "# the user's shell profile\n"
    assert (project / "config" / "dev.yaml").read_bytes() == before
    assert "automl-dev" not in stack_names(clients("cloudformation"))


def test_a_settings_file_with_an_unclosed_block_is_refused_and_kept_whole(aws, clients, project, tmp_path, capsys):
    """The first version dropped everything after an opening marker without a closing one."""
    from automl_cfn.migrate.settings_file import BEGIN

    arns = terraform_made(clients)
    state = written_state(tmp_path, arns, aws.region)
    settings = project / "config" / "dev.yaml"
    lines = settings.read_text().count("\n")
    settings.write_text(settings.read_text() + f"\n{BEGIN}\nadopted_names:\n  data_bucket: {BUCKET}\n\n"
                        "# added later, by hand\nexpected_task_hours: 20\n")
    before = settings.read_bytes()
    assert migrate(project, state) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"automl-cfn: error: {settings}:{lines + 2}: an automl-cfn migrate block opens here and "
                              "never closes"), err[-1]
    nothing_changed(clients, project, before, state.parent)


def test_a_crlf_settings_file_keeps_crlf_and_hostile_keys_arrive_intact(aws, clients, project, tmp_path, capsys):
    """for_each keys from the state (quotes, a newline and a resource block, escape sequences, command
    substitution, rich markup) reach the messages escaped and the state rm script as Terraform's addresses; the
    settings file keeps its CRLF line endings."""
    keys = {"optimize": 'x"]\nresource "terraform_data" "pwn" {\n  provisioner "local-exec" {\n    command = '
                        '"touch pwned"\n  }\n}\n#', "train": "\x1b[31mred\x1b[0m\x1b]0;title\x07",
            "predict": "$(touch pwned) `touch pwned` '; touch pwned; '", "pipeline": "[/x][bold]b[/bold]"}

    def hostile(document):
        repos = next(r for r in document["resources"] if r["type"] == "aws_ecr_repository")
        for instance in repos["instances"]:
            instance["index_key"] = keys[instance["index_key"]]
            instance["attributes"]["encryption_configuration"] = [{"encryption_type": "KMS\x1b[2J"}]

    arns = terraform_made(clients)
    state = written_state(tmp_path, arns, aws.region, hostile)
    settings = project / "config" / "dev.yaml"
    settings.write_bytes(settings.read_bytes().replace(b"\n", b"\r\n"))
    assert migrate(project, state) == 0
    captured = capsys.readouterr()
    for line in (captured.out + captured.err).splitlines():
        assert line.replace("\t", " ").isprintable(), repr(line)
    assert "warning: module.registry.aws_ecr_repository.repos[" in captured.err   # the drift, escaped

    written = settings.read_bytes()
    assert written.count(b"\r\n") == written.count(b"\n") and b"adopted_names:\r\n" in written
    assert migrate(project, state) == 0 and settings.read_bytes() == written    # again: unchanged
    capsys.readouterr()

    script = state.parent / "automl-cfn-state-rm.sh"
    stub = tmp_path / "bin" / "terraform"
    stub.parent.mkdir()
    stub.write_text('#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done >> "$RECORD"\n'
                    'printf \'\\0\' >> "$RECORD"\n')
    stub.chmod(0o755)
    record = tmp_path / "record"
    record.write_bytes(b"")
    import os
    import subprocess

    subprocess.run(["sh", str(script)], cwd=state.parent, check=True, stdin=subprocess.DEVNULL,
                   env={**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "RECORD": str(record)})
    from automl_cfn.migrate import address

    calls = [call.split("\0") for call in record.read_bytes().decode().split("\0\0")[:-1]]
    removed_keys = {address.parse(argv[2]).key for argv in calls if "aws_ecr_repository" in argv[2]}
    assert removed_keys == set(keys.values())
    assert all(argv[:2] == ["state", "rm"] and len(argv) == 3 for argv in calls)
    assert not (state.parent / "pwned").exists() and not (tmp_path / "pwned").exists()
    removed = (state.parent / "automl-cfn-removed.tf").read_text()
    assert "from = module.registry.aws_ecr_repository.repos\n" in removed and "terraform_data" not in removed
