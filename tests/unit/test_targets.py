"""The stackset targets file: defaults that are safe, and one clear line for everything else."""

from __future__ import annotations

import os

import pytest

from automl_cfn.deploy.targets import load_targets
from automl_cfn.errors import UserError
from automl_cfn.settings import load_settings

A, B = "111111111111", "222222222222"


@pytest.fixture
def dev(project_root):
    return load_settings(env="dev", root=project_root)


def write(tmp_path, text: str):
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    return path


def test_accounts_and_regions_alone_get_the_safe_defaults(tmp_path, dev):
    targets = load_targets(write(tmp_path, f'accounts: ["{A}", "{B}"]\nregions: [eu-west-1, us-east-1]\n'), dev)
    assert not targets.service_managed
    assert targets.operation_preferences() == {
        "RegionConcurrencyType": "SEQUENTIAL", "RegionOrder": ["eu-west-1", "us-east-1"], "MaxConcurrentCount": 1,
        "FailureToleranceCount": 0, "ConcurrencyMode": "STRICT_FAILURE_TOLERANCE"}


def test_overrides_apply_per_region_then_per_account(tmp_path, dev):
    targets = load_targets(write(tmp_path, f'accounts: ["{A}", "{B}"]\nregions: [us-east-1, eu-west-1]\n'
                                           f'overrides:\n  eu-west-1: {{az_count: 3, log_retention_days: 14}}\n'
                                           f'  "{B}": {{az_count: 2}}\n'
                                           "preferences: {region_order: [eu-west-1], failure_tolerance: 1, "
                                           "max_concurrent_accounts: 2, region_concurrency: parallel}\n"), dev)
    assert targets.settings_for(dev, A, "eu-west-1").az_count == 3
    assert targets.settings_for(dev, B, "eu-west-1").az_count == 2
    assert targets.settings_for(dev, B, "eu-west-1").log_retention_days == 14
    assert targets.settings_for(dev, A, "us-east-1") == dev
    assert targets.operation_preferences()["RegionOrder"] == ["eu-west-1", "us-east-1"]
    assert targets.operation_preferences()["RegionConcurrencyType"] == "PARALLEL"


def test_call_as_is_read_and_left_to_detection_when_absent(tmp_path, dev):
    units = "organizational_units: [ou-ab12-cdef3456]\nregions: [us-east-1]\n"
    assert load_targets(write(tmp_path, units + "call_as: DELEGATED_ADMIN\n"), dev).call_as == "DELEGATED_ADMIN"
    assert load_targets(write(tmp_path, units + "call_as: SELF\n"), dev).call_as == "SELF"
    assert load_targets(write(tmp_path, units), dev).call_as == ""
    assert load_targets(write(tmp_path, f'accounts: ["{A}"]\nregions: [us-east-1]\ncall_as: SELF\n'), dev).call_as == "SELF"


@pytest.mark.parametrize("text, message", [
    ("regions: [us-east-1]\n", "give either accounts: (12-digit IDs, self-managed) or organizational_units:"),
    (f'accounts: ["{A}"]\norganizational_units: [ou-ab12-cdef3456]\nregions: [us-east-1]\n', "not both or neither"),
    ("accounts: [111111111111]\nregions: [us-east-1]\n", "expected a list of strings (quote account IDs)"),
    ('accounts: ["1234"]\nregions: [us-east-1]\n', "'1234' is not a 12-digit AWS account ID"),
    (f'accounts: ["{A}", "{A}"]\nregions: [us-east-1]\n', f"accounts: lists {A} twice"),
    ("organizational_units: [ou-x]\nregions: [us-east-1]\n", "'ou-x' is not an OU ID"),
    (f'accounts: ["{A}"]\n', "regions: must list at least one region"),
    (f'accounts: ["{A}"]\nregions: [mars-north-1x]\n', "'mars-north-1x' is not a region name"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\nregion: [eu-west-1]\n', "unknown key 'region'; allowed: accounts"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\noverrides: {{"{B}": {{az_count: 3}}}}\n',
     f"'{B}' is neither a listed account nor a listed region"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\noverrides: {{us-east-1: {{az_count: 7}}}}\n',
     "overrides: us-east-1: az_count: 7 is not allowed"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\noverrides: {{us-east-1: {{az_cuont: 2}}}}\n', "did you mean 'az_count'"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\noverrides: {{us-east-1: {{environment: prod}}}}\n',
     "environment cannot differ between instances"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\npreferences: {{failure_tolerance: -1}}\n', "failure_tolerance from 0"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\npreferences: {{max_concurrent_accounts: 5}}\n',
     "max_concurrent_accounts (5) may be at most failure_tolerance + 1 (1) in strict mode"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\npreferences: {{region_order: [eu-west-1]}}\n',
     "region_order may list only the regions under regions:"),
    (f'accounts: ["{A}"]\nregions: [us-east-1, eu-west-1]\npreferences: {{region_order: [eu-west-1, eu-west-1]}}\n',
     "preferences: region_order: lists eu-west-1 twice"),
    ("organizational_units: [ou-ab12-cdef3456]\nregions: [us-east-1]\ncall_as: delegated_admin\n",
     "call_as: 'delegated_admin' is not allowed; allowed: DELEGATED_ADMIN, SELF"),
    ("organizational_units: [ou-ab12-cdef3456]\nregions: [us-east-1]\ncall_as: [SELF]\n",
     "call_as: \"['SELF']\" is not allowed; allowed: DELEGATED_ADMIN, SELF"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\ncall_as: DELEGATED_ADMIN\n',
     "call_as: DELEGATED_ADMIN goes with organizational_units: (service-managed)"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\npreferences: {{failure_tolerance: "1"}}\n',
     "failure_tolerance: expected int"),
    (f'accounts: ["{A}"]\nregions: [us-east-1]\npreferences: {{retries: 3}}\n', "unknown key 'retries'"),
    ("- just\n- a list\n", "top level is a list"),
    ("", "is empty"),
    ("a: &x 1\nb: *x\n", "anchor"),
    (f'accounts: ["{A}"]\naccounts: ["{B}"]\nregions: [us-east-1]\n', "'accounts' is given twice (lines 1 and 2)"),
])
def test_hostile_targets_are_one_line(tmp_path, dev, text, message):
    with pytest.raises(UserError) as raised:
        load_targets(write(tmp_path, text), dev)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_fifo_or_a_missing_file_is_refused_without_blocking(tmp_path, dev):
    fifo = tmp_path / "targets.yaml"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="is not a regular file"):
        load_targets(fifo, dev)
    with pytest.raises(UserError, match="targets file not found"):
        load_targets(tmp_path / "absent.yaml", dev)
