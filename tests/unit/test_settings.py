"""Settings: loading, overrides and every validation rule, one line each."""

from __future__ import annotations

import pytest

from automl_cfn.settings import (
    FARGATE_MEMORY_BY_CPU, SETTING_FIELDS, Settings, SettingsError, load_settings, parse_overrides, validate,
)

SEED_VARIABLES = [
    "project_name", "environment", "aws_region", "vpc_cidr", "az_count",
    "optimize_cpu", "optimize_memory", "train_cpu", "train_memory", "predict_cpu", "predict_memory",
    "enable_prediction_service", "prediction_service_count", "log_retention_days", "enable_stepfunctions",
]
ADDED_VARIABLES = [
    "nat_gateways", "use_fargate_spot", "prediction_min_capacity", "prediction_max_capacity",
    "alarm_email", "enable_flow_logs", "image_tag",
]


def write(tmp_path, text: str, name="s.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_seed_and_issue_variable_is_a_setting():
    missing = [v for v in SEED_VARIABLES + ADDED_VARIABLES if v not in SETTING_FIELDS]
    assert missing == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_environment_files_set_every_seed_variable(project_root, env):
    import yaml

    data = yaml.safe_load((project_root / "config" / f"{env}.yaml").read_text())
    assert [v for v in SEED_VARIABLES + ADDED_VARIABLES if v not in data] == []
    assert load_settings(env=env, root=project_root).environment == env


def test_dev_is_cheap_and_prod_is_highly_available(dev, prod):
    assert dev.nat_gateways in ("none", "single") and dev.use_fargate_spot and dev.log_retention_days <= 14
    assert prod.nat_gateways == "per_az" and prod.log_retention_days == 30
    assert prod.enable_stepfunctions and prod.prediction_service_count == 2 and not prod.use_fargate_spot


def test_var_overrides_win_like_terraform_var(project_root):
    s = load_settings(env="dev", root=project_root, overrides=["optimize_cpu=4096", "optimize_memory=16384",
                                                                "enable_stepfunctions=true", "image_tag=0123"])
    assert (s.optimize_cpu, s.optimize_memory, s.enable_stepfunctions) == (4096, 16384, True)
    assert s.image_tag == "0123"  # a tag stays a string, leading zero and all


def test_config_file_instead_of_env(tmp_path):
    path = write(tmp_path, "environment: qa\nnat_gateways: single\n")
    s = load_settings(config=path)
    assert (s.environment, s.nat_gateways, s.prefix) == ("qa", "single", "automl-qa")


def test_environment_defaults_to_env_flag(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "staging.yaml").write_text("az_count: 3\n")
    assert load_settings(env="staging", root=tmp_path).environment == "staging"


def test_subnet_bits_follow_the_vpc_size():
    assert validate({"environment": "dev", "vpc_cidr": "10.0.0.0/16"}).subnet_cidr_bits == 13
    assert validate({"environment": "dev", "vpc_cidr": "10.1.0.0/24"}).subnet_cidr_bits == 5


@pytest.mark.parametrize("cpu", sorted(FARGATE_MEMORY_BY_CPU))
def test_every_fargate_pair_is_accepted(cpu):
    for memory in FARGATE_MEMORY_BY_CPU[cpu]:
        validate({"environment": "dev", "train_cpu": cpu, "train_memory": memory})


# (settings file text or None, overrides, expected fragments of the one-line message)
BAD = [
    ("environment: dev\noptimise_cpu: 1024\n", [], ["unknown setting 'optimise_cpu'", "did you mean 'optimize_cpu'"]),
    ("environment: dev\nzzz: 1\n", [], ["unknown setting 'zzz'", "variables table"]),
    ("environment: dev\naz_count: two\n", [], ["az_count", "expected a whole number", "'two'"]),
    ("environment: dev\naz_count: 2.5\n", [], ["az_count", "expected a whole number"]),
    ("environment: dev\nuse_fargate_spot: 'true'\n", [], ["use_fargate_spot", "true or false", "unquoted"]),
    ("environment: dev\nuse_fargate_spot: 1\n", [], ["use_fargate_spot", "true or false"]),
    ("environment: dev\naz_count: true\n", [], ["az_count", "whole number", "boolean"]),
    ("environment: dev\nproject_name: 42\n", [], ["project_name", "expected a string"]),
    ("environment: dev\nvpc_cidr: 10.0.0.300/16\n", [], ["vpc_cidr", "not an IPv4 CIDR"]),
    ("environment: dev\nvpc_cidr: 10.0.0.1/16\n", [], ["host bits", "10.0.0.0/16"]),
    ("environment: dev\nvpc_cidr: 10.0.0.0/8\n", [], ["/8", "/16 to /25"]),
    ("environment: dev\nvpc_cidr: 10.0.0.0/27\n", [], ["too small", "/16 to /25"]),
    ("environment: dev\nvpc_cidr: 8.8.0.0/16\n", [], ["publicly routable"]),
    ("environment: dev\nvpc_cidr: 'fd00::/64'\n", [], ["vpc_cidr", "IPv6"]),
    ("environment: dev\naz_count: 0\n", [], ["az_count", "allowed: 1, 2, 3"]),
    ("environment: dev\naz_count: 4\n", [], ["az_count", "allowed: 1, 2, 3"]),
    ("environment: dev\nnat_gateways: two\n", [], ["nat_gateways", "per_az, single, none"]),
    ("environment: dev\noptimize_cpu: 3000\n", [], ["optimize_cpu", "3000", "allowed: 256"]),
    ("environment: dev\ntrain_cpu: 1024\ntrain_memory: 512\n", [],
     ["train_memory: 512", "train_cpu=1024", "2048 to 8192 in steps of 1024"]),
    ("environment: dev\npredict_cpu: 256\npredict_memory: 4096\n", [], ["predict_memory", "allowed: 512, 1024, 2048"]),
    ("environment: dev\nlog_retention_days: 10\n", [], ["log_retention_days", "14"]),
    ("environment: dev\nprediction_service_count: -1\n", [], ["prediction_service_count", "out of range"]),
    ("environment: dev\nprediction_max_capacity: 100000000\n", [], ["prediction_max_capacity", "1 to 1000"]),
    ("environment: dev\nprediction_min_capacity: 5\nprediction_max_capacity: 2\n", [],
     ["prediction_min_capacity", "above prediction_max_capacity"]),
    ("environment: dev\nprediction_service_count: 9\nprediction_max_capacity: 4\n", [],
     ["prediction_service_count: 9", "1..4"]),
    ("environment: dev\nproject_name: My_Project\n", [], ["project_name", "invalid AWS resource names"]),
    ("environment: dev\nproject_name: a-very-long-project-name\n", [], ["project_name", "at most 16"]),
    ("environment: dev\nproject_name: ''\n", [], ["project_name", "must not be empty"]),
    ("environment: dev\nproject_name: 'x;rm -rf /'\n", [], ["project_name", "invalid AWS resource names"]),
    ("environment: dev\nproject_name: 'ünïcode'\n", [], ["project_name", "invalid AWS resource names"]),
    ("environment: Prod\n", [], ["environment", "'Prod'", "lowercase"]),
    ("environment: dev\naws_region: mars-1\n", [], ["aws_region", "not an AWS region"]),
    ("environment: dev\nconfig_home_region: mars-1\n", [], ["config_home_region", "not an AWS region"]),
    ("environment: dev\nconfig_home_region: eu-central-2\n", [],
     ["config_home_region", "cannot record the global IAM resource types in eu-central-2", "February 2022",
      "allowed: af-south-1"]),
    ("environment: dev\nconfig_home_region: cn-north-1\n", [], ["config_home_region", "partition aws-cn",
                                                                   "aws_region us-east-1"]),
    ("environment: dev\nalarm_email: not-an-email\n", [], ["alarm_email", "not an email"]),
    ("environment: dev\nimage_tag: 'bad tag'\n", [], ["image_tag", "not a valid image tag"]),
    ("environment: dev\n", ["optimize_cpu"], ["expected name=value"]),
    ("environment: dev\n", ["nope=1"], ["unknown setting 'nope'"]),
    ("environment: dev\n", ["az_count=two"], ["az_count='two'", "whole number"]),
    ("environment: dev\n", ["use_fargate_spot=yes"], ["use_fargate_spot='yes'", "true or false"]),
    ("environment: [dev\n", [], ["YAML syntax error", "line 1"]),
    ("environment: dev\n  az_count: 2\nx: [\n", [], ["YAML syntax error", "line 2"]),
    ("- environment\n- dev\n", [], ["top level is a list", "mapping"]),
    ("just a string\n", [], ["top level is a string"]),
    ("", [], ["is empty"]),
    ("1: 2\n", [], ["setting name 1"]),
]


@pytest.mark.parametrize("text, overrides, fragments", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_settings_give_one_clear_line(tmp_path, text, overrides, fragments):
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        load_settings(config=path, overrides=overrides)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file_lists_the_environments(project_root):
    with pytest.raises(SettingsError, match=r"config/staging.yaml: settings file not found \(available: dev, prod\)"):
        load_settings(env="staging", root=project_root)


def test_binary_and_non_utf8_and_directory(tmp_path):
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\x00\x01\x02")
    latin = tmp_path / "l.yaml"
    latin.write_bytes("environment: d\xe9v\n".encode("latin-1"))
    for path, fragment in ((binary, "binary"), (latin, "not UTF-8"), (tmp_path, "is a directory")):
        with pytest.raises(SettingsError, match=fragment):
            load_settings(config=path)


def test_unreadable_file(tmp_path, monkeypatch):
    from pathlib import Path

    path = write(tmp_path, "environment: dev\n")

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # Tests run as root in CI, where chmod 0 would not stop a read.
    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(SettingsError, match="cannot read settings file \\(Permission denied\\)"):
        load_settings(config=path)


def test_env_flag_must_agree_with_the_file(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "dev.yaml").write_text("environment: prod\n")
    with pytest.raises(SettingsError, match="conflicts with --env 'dev'"):
        load_settings(env="dev", root=tmp_path)


@pytest.mark.parametrize("env", ["../etc/passwd", "a b", "", "-x"])
def test_env_names_cannot_escape_the_config_directory(env, project_root):
    with pytest.raises(SettingsError, match="not an environment name"):
        load_settings(env=env, root=project_root)


def test_overrides_are_typed_by_the_setting():
    assert parse_overrides(["az_count=3", "use_fargate_spot=TRUE", "alarm_email=a@b.co"]) == {
        "az_count": 3, "use_fargate_spot": True, "alarm_email": "a@b.co",
    }


def test_the_home_region_is_config_home_region_else_aws_region(tmp_path):
    assert load_settings(config=write(tmp_path, "environment: dev\naws_region: eu-west-1\n")).home_region == \
        "eu-west-1"
    chosen = load_settings(config=write(tmp_path, "environment: dev\n"), overrides=["config_home_region=us-west-2"])
    assert (chosen.aws_region, chosen.home_region) == ("us-east-1", "us-west-2")
    # A region that cannot record them is no error for the environment itself (only for its baseline).
    assert load_settings(config=write(tmp_path, "environment: dev\naws_region: eu-central-2\n")).home_region == \
        "eu-central-2"


def test_defaults_are_valid():
    validate({"environment": "dev"})
    assert Settings().project_name == "automl"


def test_adopted_name_rules_are_the_provider_schemas_patterns():
    """The settings check adopted names as CloudFormation will (cfn-lint's provider schemas)."""
    import re

    from automl_cfn import providers
    from automl_cfn.settings import ADOPTED_NAME_RULES

    samples = {"data_bucket": ("AWS::S3::Bucket", "BucketName", ["automl-data-1", "a.b-c", "ab", "-ab", "A-b", "x" * 64]),
               "repositories": ("AWS::ECR::Repository", "RepositoryName",
                                ["automl-train", "team/automl__x", "a", "Upper", "x-", "x" * 257]),
               "log_groups": ("AWS::Logs::LogGroup", "LogGroupName", ["/ecs/automl-train", "a#b", "", "a b", "x" * 513])}
    for kind, (resource_type, prop, names) in samples.items():
        spec = providers.schema(resource_type)["properties"][prop]
        for name in names:
            schema_ok = (re.search(spec["pattern"], name) is not None
                         and spec.get("minLength", 1) <= len(name) <= spec["maxLength"])
            if kind == "data_bucket":
                schema_ok = schema_ok and len(name) >= 3   # S3's own minimum, which the schema leaves out
            assert (re.fullmatch(ADOPTED_NAME_RULES[kind][1], name) is not None) == schema_ok, (kind, name)


def test_settings_hash_and_repr_work_with_every_field_set(project_root):
    """The generated hash would fail on the dict fields (images, adopted_names); the repr names the environment."""
    from dataclasses import replace as copy_with

    prod = load_settings(env="prod", root=project_root)
    with_images = copy_with(prod, images={"train": {"platform": "linux/arm64"}})
    assert hash(with_images) == hash(copy_with(with_images)) and with_images == copy_with(with_images)
    assert with_images != prod and len({with_images, prod}) == 2
    assert repr(prod) == f"Settings(project_name='automl', environment='prod', aws_region='{prod.aws_region}')"
