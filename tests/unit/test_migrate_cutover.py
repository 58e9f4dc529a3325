"""The Terraform side of the cut-over, and the settings block: pure text, checked as text."""

from __future__ import annotations

import pytest

from automl_cfn.errors import RefusedError
from automl_cfn.migrate import cutover, settings_file
from automl_cfn.migrate.plan import ADOPT, REPLACE, Row

ROWS = [
    Row('module.registry.aws_ecr_repository.repos["train"]', "registry", "TrainRepository", ADOPT,
        resource="module.registry.aws_ecr_repository.repos"),
    Row('module.registry.aws_ecr_repository.repos["pipeline"]', "registry", "PipelineRepository", ADOPT,
        resource="module.registry.aws_ecr_repository.repos"),
    Row("aws_cloudwatch_log_group.ecs[0]", "monitoring", "OptimizeLogGroup", ADOPT,
        resource="aws_cloudwatch_log_group.ecs"),
    Row("aws_cloudwatch_log_group.ecs[3]", "", "", "unknown", resource="aws_cloudwatch_log_group.ecs"),
    Row("module.network[0].aws_vpc.main", "network", "Vpc", REPLACE, resource="module.network.aws_vpc.main"),
]


def test_removed_blocks_cover_whole_resources_and_only_adopted_ones():
    text = cutover.removed_blocks(ROWS)
    assert "removed {\n  from = module.registry.aws_ecr_repository.repos\n\n  lifecycle {\n    destroy = false" in text
    assert "from = aws_cloudwatch_log_group.ecs" not in text       # one of its instances is not adopted
    assert "# aws_cloudwatch_log_group.ecs: only some of its instances were adopted" in text
    assert "aws_vpc" not in text


def test_state_rm_lines_are_quoted_for_the_shell():
    script = cutover.state_rm_script(ROWS)
    assert "terraform state rm 'module.registry.aws_ecr_repository.repos[\"train\"]'" in script
    assert "terraform state rm 'aws_cloudwatch_log_group.ecs[0]'" in script
    assert "ecs[3]" not in script and "aws_vpc" not in script


ORIGINAL = "# dev settings\nproject_name: automl   # keep\nenvironment: dev\napi_key_secret: \"\"  # none yet\n"
WANTED = {"adopted_names": {"data_bucket": "automl-tf-data"}, "api_key_secret": "arn:aws:secretsmanager:x"}


def test_the_block_is_appended_once_and_the_rest_kept():
    import yaml

    text = settings_file.updated(ORIGINAL, WANTED, "config/dev.yaml")
    assert text.startswith("# dev settings\nproject_name: automl   # keep\n")
    assert '# api_key_secret: ""  # none yet  (automl-cfn migrate: set below)' in text
    assert yaml.safe_load(text)["adopted_names"] == {"data_bucket": "automl-tf-data"}
    assert yaml.safe_load(text)["api_key_secret"] == "arn:aws:secretsmanager:x"
    assert settings_file.updated(text, WANTED, "config/dev.yaml") == text      # a re-run changes nothing


def test_a_different_value_the_user_set_is_refused():
    with pytest.raises(RefusedError, match="already sets api_key_secret"):
        settings_file.updated(ORIGINAL.replace('""', "arn:aws:secretsmanager:other"), WANTED, "config/dev.yaml")


def test_a_new_migration_replaces_the_block():
    first = settings_file.updated(ORIGINAL, WANTED, "config/dev.yaml")
    second = settings_file.updated(first, {"adopted_names": {"data_bucket": "other"}}, "config/dev.yaml")
    assert second.count(settings_file.BEGIN) == 1 and "data_bucket: other" in second and "automl-tf-data" not in second
