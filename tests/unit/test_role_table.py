"""The README's table of roles: every role of the templates, each row read from its policies, and a
condition the table cannot describe stops it rather than being left out."""

from __future__ import annotations

import copy

import pytest

from automl_cfn import role_table, synth
from automl_cfn.scan import FULL, environments, resolved


@pytest.fixture(scope="module")
def inputs(templates, project_root):
    account = synth.read_account_documents(project_root / "generated")
    return templates, resolved(templates, environments(project_root)[FULL]), account


@pytest.fixture(scope="module")
def table(inputs) -> dict[str, list[list[str]]]:
    """Role -> its rows (cells: assumed by, may, on, only)."""
    roles: dict[str, list[list[str]]] = {}
    current = None
    for line in role_table.markdown(*inputs).splitlines()[2:]:
        role, *cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if role:
            current = role.split("`")[1]
        roles.setdefault(current, []).append(cells)
    return roles


def test_every_role_of_the_templates_is_in_the_table(inputs, table):
    templates, _, account = inputs
    every = {logical_id for documents in (templates, account) for doc in documents.values()
             for logical_id, body in doc["Resources"].items() if body["Type"] == "AWS::IAM::Role"}
    assert sorted(table) == sorted(every)


def test_each_task_role_shows_only_its_own_locations(table):
    def on(role, verb):
        return {cells[2] for cells in table[role] if verb in cells[1]}

    assert on("PredictTaskRole", "GetObject") == {"`DataBucket/models/*`"}
    assert on("PredictTaskRole", "PutObject") == {"`DataBucket/predictions/*`"}
    assert on("OptimizeTaskRole", "PutObject") == {"`DataBucket/models/best_params.json`"}
    assert on("TrainTaskRole", "GetObject") == {"`DataBucket/data/*`", "`DataBucket/models/best_params.json`"}
    assert [cells[3] for cells in table["TrainTaskRole"] if "PutMetricData" in cells[1]] == [
        "`cloudwatch:namespace` = `<project>-<env>/pipeline`"]
    assert not any("cloudwatch" in cells[1] for role in ("OptimizeTaskRole", "PredictTaskRole") for cells in table[role])


def test_the_table_says_who_assumes_each_role_and_what_brings_it(table):
    assert table["PredictTaskRole"][0][0] == "`ecs-tasks.amazonaws.com` for this account"
    assert table["EcsInfrastructureRole"][0][0] == "`ecs.amazonaws.com`"   # AWS documents its trust without it
    kms = [cells for cells in table["TrainTaskRole"] if cells[1].startswith("kms:")]
    assert kms == [["", "kms: Decrypt, GenerateDataKey", "`CustomerKey`", "with `kms_key`"]]


def test_every_feature_described_is_one_the_templates_use(inputs):
    text = role_table.markdown(*inputs)
    assert [when for when in role_table.FEATURES.values() if when not in text] == []


def test_a_role_under_an_undescribed_condition_stops_the_table(inputs):
    templates, full, account = inputs
    changed = copy.deepcopy(templates)
    changed["iam"]["Resources"]["TrainTaskRole"]["Condition"] = "SomethingNew"
    with pytest.raises(role_table.UnknownCondition, match="condition SomethingNew: say in role_table.FEATURES"):
        role_table.markdown(changed, full, account)


def test_a_statement_under_a_condition_stops_the_table(inputs):
    templates, full, account = inputs
    changed = copy.deepcopy(templates)
    policy = changed["iam"]["Resources"]["TrainTaskRole"]["Properties"]["Policies"][0]
    statements = policy["PolicyDocument"]["Statement"]
    statements[0] = {"Fn::If": ["HasKmsKey", statements[0], {"Ref": "AWS::NoValue"}]}
    with pytest.raises(role_table.UnknownCondition, match="has a statement under a condition"):
        role_table.markdown(changed, full, account)
