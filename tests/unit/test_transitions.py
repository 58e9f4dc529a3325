"""The transition table is complete, and the offline planner agrees with every row."""

from __future__ import annotations

import pytest

from automl_cfn import planner, transitions
from automl_cfn.parameters import parameter_values
from automl_cfn.settings import SETTING_FIELDS, with_overrides


def test_every_setting_has_a_row():
    covered = {t.setting for t in transitions.TABLE} | set(transitions.ELSEWHERE_SETTINGS) | {
        name for t in transitions.TABLE for name, _, _ in t.also}
    assert sorted(set(SETTING_FIELDS) - covered) == []


def test_every_value_of_every_choice_is_visited():
    for name, spec in SETTING_FIELDS.items():
        choices = spec.metadata.get("choices")
        if not choices or name.endswith(("_cpu", "_memory")) or name.endswith("log_retention_days"):
            continue
        visited = {v for t in transitions.TABLE if t.setting == name for v in (t.start, t.to)}
        visited |= {v for t in transitions.TABLE for k, v in transitions.BASES[t.base].items() if k == name}
        assert set(choices) <= visited, name
    # The string settings with alternatives: empty, create, an existing resource's ARN.
    for name in ("kms_key", "api_key_secret"):
        assert {"", "create"} <= {t.to for t in transitions.TABLE if t.setting == name} | {""}
        assert any(str(t.to).startswith("arn:") for t in transitions.TABLE if t.setting == name)


def test_refusals_say_what_to_do_instead():
    for t in transitions.TABLE:
        if t.outcome == transitions.REFUSED:
            assert "instead" in t.note or "create a new environment" in t.note, t


@pytest.fixture(scope="module")
def context(templates):
    def load(url):
        return templates[url.rsplit("/", 1)[1].removesuffix(".json")]
    return planner.Context(region="us-east-1", account="123456789012", loader=load)


def outcome(templates, context, old, new) -> str:
    def inputs(settings):
        values = {**parameter_values(settings), "TemplatesBucket": "b", "TemplatesPrefix": "p/"}
        return planner.StackInput(templates["root"], values)

    before, after = parameter_values(old), parameter_values(new)
    if transitions.fixed_refusal({k: (before.get(k, ""), v) for k, v in after.items()}):
        return transitions.REFUSED   # the deploy refuses these before it asks the planner
    plan = planner.plan(inputs(old), inputs(new), context, stack_name="automl-dev")
    if plan.refused_replacements():
        return transitions.REFUSED
    if any(change.replaces for _, change in plan.walk()):
        return transitions.REPLACES
    return transitions.IN_PLACE if not plan.empty else transitions.DEPLOY


@pytest.mark.parametrize("row", transitions.TABLE, ids=lambda t: f"{t.setting}:{t.change}")
def test_the_planner_agrees_with_the_table(templates, context, dev, row):
    base = with_overrides(dev, **{**transitions.BASES[row.base], **row.before})
    changed = with_overrides(base, **row.after)
    assert outcome(templates, context, base, changed) == row.outcome
    if row.outcome != transitions.DEPLOY:   # and the way back is the same kind of change
        assert outcome(templates, context, changed, base) in (row.outcome, transitions.IN_PLACE,
                                                              transitions.REPLACES)


def test_a_refusal_names_its_setting(dev):
    assert transitions.refusal_for({"KmsKey": ("", "create")}) == transitions.KMS_FIXED
    assert transitions.refusal_for({"LogRetentionDays": ("7", "14")}) is None


def test_only_endpoint_settings_rewrite_the_production_listener_rule(templates, context, dev):
    """ECS owns the production rule's weights once traffic shifts; a template update that modifies the rule
    writes blue 1 / green 0 back.  Only the settings that reshape the endpoint touch it (preflight's
    traffic check guards those while traffic is on green); everything else, image tags included, leaves it."""
    def touches(old, new) -> bool:
        def inputs(settings):
            values = {**parameter_values(settings), "TemplatesBucket": "b", "TemplatesPrefix": "p/"}
            return planner.StackInput(templates["root"], values)

        plan = planner.plan(inputs(old), inputs(new), context, stack_name="automl-dev")
        return any(change.logical_id == "ProductionListenerRule" for _, change in plan.walk())

    touching = set()
    for row in transitions.TABLE:
        base = with_overrides(dev, **{**transitions.BASES[row.base], **row.before})
        if base.load_balancer != "none" and touches(base, with_overrides(base, **row.after)):
            touching.add(row.setting)
    assert touching == {"load_balancer", "predict_container_port", "certificate_arn", "deployment_strategy"}
    shifting = with_overrides(dev, **transitions.BASES["canary"])
    assert not touches(shifting, with_overrides(shifting, image_tag="v2"))
