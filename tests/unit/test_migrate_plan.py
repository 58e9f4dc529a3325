"""`migrate plan`: Terraform state (both formats) -> adopt / replace / unknown, offline, without printing secrets."""

from __future__ import annotations

import json
import os

import pytest

from automl_cfn.cli import main
from automl_cfn.migrate.plan import ADOPT, REPLACE, UNKNOWN, plan, settings_for
from automl_cfn.migrate.tfstate import read_state
from automl_cfn.parameters import parameter_values
from automl_cfn.settings import validate, with_overrides

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tfstate")
STATE = os.path.join(FIXTURES, "seed-prod.tfstate")
SHOW = os.path.join(FIXTURES, "seed-prod.show.json")
SECRET = "hunter2-do-not-print"


@pytest.fixture(scope="module")
def documents(templates):
    return templates


def rows_of(path, documents, prod, **kwargs):
    from pathlib import Path

    return plan(read_state(Path(path)), documents, parameter_values(prod), prod.aws_region, **kwargs)


def by_address(rows):
    return {r.address: (r.stack, r.logical_id, r.action) for r in rows}


def test_both_state_formats_give_the_same_plan(documents, prod):
    assert by_address(rows_of(STATE, documents, prod)) == by_address(rows_of(SHOW, documents, prod))


def test_stateful_resources_are_adopted_under_their_module_and_key_addresses(documents, prod):
    rows = by_address(rows_of(STATE, documents, prod))
    assert rows["aws_s3_bucket.data"] == ("storage", "DataBucket", ADOPT)
    assert rows["aws_s3_bucket_versioning.data"] == ("storage", "DataBucket", ADOPT)
    assert rows['module.registry.aws_ecr_repository.repos["train"]'] == ("registry", "TrainRepository", ADOPT)
    assert rows['module.registry.aws_ecr_lifecycle_policy.repos["pipeline"]'] == \
        ("registry", "PipelineRepository", ADOPT)
    assert rows["aws_cloudwatch_log_group.ecs[1]"] == ("monitoring", "TrainLogGroup", ADOPT)
    assert rows["aws_secretsmanager_secret.api_key"][2] == ADOPT


def test_stateless_resources_are_replaced_by_their_counterparts(documents, prod):
    rows = by_address(rows_of(STATE, documents, prod))
    assert rows["module.network.aws_subnet.private[1]"] == ("network", "PrivateSubnet2", REPLACE)
    assert rows["module.network.aws_nat_gateway.main[0]"] == ("network", "NatGateway1", REPLACE)
    assert rows['aws_ecs_task_definition.task["predict"]'] == ("compute", "PredictTaskDefinition", REPLACE)
    assert rows['aws_cloudwatch_metric_alarm.cpu["train"]'] == ("monitoring", "TrainCpuAlarm", REPLACE)
    assert rows["aws_iam_role.ecs_execution"] == ("iam", "ExecutionRole", REPLACE)


def test_what_is_not_the_seeds_is_unknown_and_data_sources_are_not_listed(documents, prod):
    rows = by_address(rows_of(STATE, documents, prod))
    assert rows["aws_sqs_queue.side_project"] == ("", "", UNKNOWN)
    assert not any("aws_availability_zones" in address for address in rows)


def test_differences_compare_terraforms_record_with_this_environments_template(documents, prod):
    rows = {r.address: r for r in rows_of(STATE, documents, prod)}
    assert rows["aws_cloudwatch_log_group.ecs[0]"].differences == ["retention days: 14 -> 30"]
    assert rows["aws_s3_bucket_versioning.data"].differences == []          # both Enabled
    assert rows["aws_s3_bucket_public_access_block.data"].differences == []  # both block everything
    assert "tag mutability: MUTABLE -> IMMUTABLE" in rows['module.registry.aws_ecr_repository.repos["train"]'].differences
    # Another environment's settings, another comparison: dev keeps logs a week.
    dev_rows = {r.address: r for r in rows_of(STATE, documents, with_overrides(prod, log_retention_days=7))}
    assert dev_rows["aws_cloudwatch_log_group.ecs[0]"].differences == ["retention days: 14 -> 7"]


def test_the_settings_it_would_write_are_valid_settings(documents, prod):
    wanted = settings_for(rows_of(STATE, documents, prod))
    assert wanted["adopted_names"]["repositories"]["predict"] == "automl-predict"
    assert wanted["adopted_names"]["data_bucket"] == "automl-prod-data-a1b2c3"
    assert wanted["api_key_secret"].startswith("arn:aws:secretsmanager:us-west-2:")
    settings = validate({**prod.as_dict(), **wanted})
    assert parameter_values(settings)["AdoptedTrainLogGroupName"] == "/ecs/automl-train"


@pytest.mark.parametrize("output", [[], ["--format", "json"]])
@pytest.mark.parametrize("path", [STATE, SHOW])
def test_sensitive_values_are_never_printed(project_root, capsys, path, output):
    assert main(["migrate", "plan", "--tfstate", path, "--env", "prod", "--project-dir", str(project_root),
                 *output]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out and "aws_secretsmanager_secret_version.api_key" in out


def test_json_output_is_one_document(project_root, capsys):
    assert main(["migrate", "plan", "--tfstate", STATE, "--env", "prod", "--project-dir", str(project_root),
                 "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["terraform_version"] == "1.7.5" and len(document["rows"]) == 40


def state_with(tmp_path, change) -> str:
    document = json.loads(open(STATE).read())
    change(document)
    path = tmp_path / "changed.tfstate"
    path.write_text(json.dumps(document))
    return str(path)


def second_bucket(document):
    bucket = json.loads(json.dumps(next(r for r in document["resources"] if r["type"] == "aws_s3_bucket")))
    bucket["name"] = "data_copy"
    bucket["instances"][0]["attributes"]["bucket"] = "automl-prod-data-copy"
    document["resources"].append(bucket)


HOSTILE = [
    (lambda tmp: _write(tmp, b'{"version": 4, "resources": [{"mode": "man'), "not JSON (line 1)"),
    (lambda tmp: _write(tmp, b"resource \"aws_s3_bucket\" \"data\" {}\n"), "an HCL file?"),
    (lambda tmp: _write(tmp, b"[1, 2]"), "the top level is not an object"),
    (lambda tmp: _write(tmp, b"[" * 200_000 + b"]" * 200_000), "not JSON"),
    (lambda tmp: _write(tmp, b"\xff\xfe\x00binary"), "not JSON"),
    (lambda tmp: _write(tmp, json.dumps({"version": 3, "terraform_version": "0.11.14", "modules": []}).encode()),
     "state format version 3 from Terraform 0.11.14"),
    (lambda tmp: _write(tmp, json.dumps({"version": 5, "terraform_version": "9.0.0"}).encode()),
     "state format version 5"),
    (lambda tmp: _write(tmp, json.dumps({"format_version": "2.0", "values": {}}).encode()), "format 2.0"),
    (lambda tmp: _write(tmp, json.dumps({"version": 4, "terraform_version": "1.7.5"}).encode()),
     "without a 'resources' list"),
    (lambda tmp: state_with(tmp, second_bucket), "both look like the data bucket"),
    (lambda tmp: state_with(tmp, lambda d: d["resources"][1].pop("type")), "resource 2 has no type or name"),
    (lambda tmp: state_with(tmp, lambda d: d["resources"][1].update(instances="x")), "has malformed instances"),
    (lambda tmp: _write(tmp, json.dumps({"format_version": "1.0", "values": [1]}).encode()), "'values' is not an"),
    (lambda tmp: _write(tmp, json.dumps({"format_version": "1.0", "values": {"root_module": {"resources": [
        {"mode": "managed", "type": "aws_vpc", "name": "x"}]}}}).encode()), "has no address"),
    (lambda tmp: str(tmp / "absent.tfstate"), "Terraform state file not found"),
    (lambda tmp: str(tmp), "is not a regular file"),
    (lambda tmp: _fifo(tmp), "is not a regular file"),
]


def _write(tmp, data: bytes) -> str:
    path = tmp / "state.tfstate"
    path.write_bytes(data)
    return str(path)


def _fifo(tmp) -> str:
    path = tmp / "state.fifo"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("make, fragment", HOSTILE, ids=[f for _, f in HOSTILE])
def test_odd_states_fail_with_one_line(project_root, tmp_path, capsys, make, fragment):
    path = make(tmp_path)
    assert main(["migrate", "plan", "--tfstate", path, "--env", "prod", "--project-dir", str(project_root)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


def attributes_of(type_, name, index=0):
    def change(update):
        def apply(document):
            resource = next(r for r in document["resources"] if r["type"] == type_ and r["name"] == name)
            update(resource["instances"][index])
        return apply
    return change


WRONG_TYPES = [
    # (change to the state, the address named, what the message says)
    (attributes_of("aws_s3_bucket", "data")(lambda i: i.update(attributes=[{"bucket": "x"}])),
     "aws_s3_bucket.data", "attributes is a list, expected an object"),
    (attributes_of("aws_s3_bucket", "data")(lambda i: i["attributes"].update(bucket=42)),
     "aws_s3_bucket.data", "attribute bucket is a number (42), expected a string"),
    (attributes_of("aws_s3_bucket", "data")(lambda i: i["attributes"].update(bucket=None)),
     "aws_s3_bucket.data", "attribute bucket is null, expected a string"),
    (attributes_of("aws_ecr_repository", "repos", 1)(lambda i: i["attributes"].update(name=["automl-train"])),
     'module.registry.aws_ecr_repository.repos["train"]', "attribute name is a list"),
    (attributes_of("aws_cloudwatch_log_group", "ecs")(lambda i: i["attributes"].pop("name")),
     "aws_cloudwatch_log_group.ecs[0]", "attribute name is missing"),
    (attributes_of("aws_secretsmanager_secret", "api_key")(lambda i: i["attributes"].update(arn={"a": 1})),
     "aws_secretsmanager_secret.api_key", "attribute arn is an object"),
    (attributes_of("aws_sqs_queue", "side_project")(lambda i: i["attributes"].update(arn="not-an-arn")),
     "aws_sqs_queue.side_project", "attribute arn is a string (not-an-arn), expected an ARN"),
    (attributes_of("aws_ecs_cluster", "main")(lambda i: i["attributes"].update(region=["us-west-2"])),
     "aws_ecs_cluster.main", "attribute region is a list"),
    (attributes_of("aws_s3_bucket_lifecycle_configuration", "data")(lambda i: i["attributes"].update(rule="x")),
     "aws_s3_bucket_lifecycle_configuration.data", "attribute rule is a string (x), expected a list of rules"),
    (attributes_of("aws_s3_bucket_lifecycle_configuration", "data")(
        lambda i: i["attributes"].update(rule=[{"id": 7}])),
     "aws_s3_bucket_lifecycle_configuration.data", "attribute rule is a list"),
    (attributes_of("aws_s3_bucket_versioning", "data")(
        lambda i: i["attributes"].update(versioning_configuration=[{"status": ["Enabled"]}])), None, None),
    (attributes_of("aws_secretsmanager_secret_version", "api_key")(
        lambda i: i.update(sensitive_attributes={"secret_string": True})),
     "aws_secretsmanager_secret_version.api_key", "sensitive_attributes is an object, expected a list"),
    (attributes_of("aws_ecr_repository", "repos", 1)(lambda i: i.update(index_key=True)),
     "aws_ecr_repository.repos", "instance key True is a boolean"),
    (attributes_of("aws_ecr_repository", "repos", 1)(lambda i: i.update(index_key=1.5)),
     "aws_ecr_repository.repos", "instance key 1.5 is a number"),
    (attributes_of("aws_ecr_repository", "repos", 1)(lambda i: i.update(index_key={"k": "v"})),
     "aws_ecr_repository.repos", "is an object"),
    (attributes_of("aws_cloudwatch_log_group", "ecs")(lambda i: i.update(index_key=-1)),
     "aws_cloudwatch_log_group.ecs", "instance key -1 is negative"),
    (lambda d: next(r for r in d["resources"] if r["type"] == "aws_vpc").update(module=7),
     "aws_vpc.main", "module path 7 is a number"),
]


@pytest.mark.parametrize("change, address, words", WRONG_TYPES,
                         ids=[w or "a wrong type only compared" for _, _, w in WRONG_TYPES])
def test_wrong_typed_state_values_are_one_line_naming_the_resource_and_attribute(project_root, tmp_path, capsys,
                                                                                 change, address, words):
    path = state_with(tmp_path, change)
    code = main(["migrate", "plan", "--tfstate", path, "--env", "prod", "--project-dir", str(project_root)])
    err = capsys.readouterr().err.strip().splitlines()
    if words is None:   # a value only compared: shown as Terraform's, no error
        assert code == 0, err
        return
    assert code == 2 and len(err) == 1, err
    assert address in err[0] and words in err[0] and "edited or corrupted" in err[0], err[0]


def test_a_state_in_another_region_is_refused(project_root, capsys):
    assert main(["migrate", "plan", "--tfstate", STATE, "--env", "dev", "--project-dir", str(project_root)]) == 2
    err = capsys.readouterr().err
    assert "the Terraform state is in us-west-2 but the settings' aws_region is us-east-1" in err


def test_data_bucket_chooses_among_lookalikes(project_root, tmp_path, capsys):
    path = state_with(tmp_path, second_bucket)
    assert main(["migrate", "plan", "--tfstate", path, "--env", "prod", "--project-dir", str(project_root),
                 "--data-bucket", "aws_s3_bucket.data_copy", "--format", "json"]) == 0
    rows = {r["address"]: r["action"] for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["aws_s3_bucket.data_copy"] == ADOPT and rows["aws_s3_bucket.data"] == UNKNOWN


def test_the_readme_lists_every_terraform_type_and_its_action(project_root):
    from automl_cfn.migrate.plan import types_markdown

    readme = (project_root / "README.md").read_text()
    block = readme.split("<!-- migrate-types:start -->\n", 1)[1].split("<!-- migrate-types:end -->", 1)[0]
    assert block == types_markdown()
