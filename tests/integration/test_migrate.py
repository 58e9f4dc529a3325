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
