"""Every explicit name in the templates fits its AWS limit, in every region, for every project and
environment the settings accept, and the settings refuse exactly the ones whose names would not fit."""

from __future__ import annotations

import pytest

from automl_cfn import providers
from automl_cfn.intrinsics import Evaluator, Symbol, is_symbolic
from automl_cfn.settings import SettingsError, with_overrides

from .test_regions import REGIONS

ACCOUNT = "123456789012"


def explicit_names(templates: dict, project: str, environment: str, region: str) -> list[tuple[str, str, int]]:
    """(where, name, limit) for every resource whose name the templates set, evaluated."""
    found = []
    for stack, template in templates.items():
        given = {k: "none" for k, spec in template.get("Parameters", {}).items() if "Default" not in spec}
        given.update({k: spec["Default"] for k, spec in template.get("Parameters", {}).items() if "Default" in spec})
        given.update({"ProjectName": project, "Environment": environment})
        evaluator = Evaluator({**template, "Conditions": {}}, given, region=region, account=ACCOUNT,
                              resource_value=lambda logical_id, attribute: Symbol(stack, logical_id, attribute))
        for logical_id, body in template["Resources"].items():
            provider = providers.get(body["Type"])
            node = (body.get("Properties") or {}).get(provider.name_property) if provider.name_property else None
            if node is None or provider.name_max_length is None:
                continue
            name = evaluator.resolved(node) if not (isinstance(node, dict) and "Fn::If" in node) else None
            if isinstance(name, str) and not is_symbolic(name):
                found.append((f"{stack}/{logical_id}", name, provider.name_max_length))
    return found


def accepted(dev, project: str, environment: str, region: str) -> bool:
    try:
        with_overrides(dev, project_name=project, environment=environment, aws_region=region)
    except SettingsError:
        return False
    return True


@pytest.mark.parametrize("region", sorted({len(r): r for r in REGIONS}.values()))   # one per region length
def test_the_settings_accept_exactly_the_names_that_fit(templates, dev, region):
    for total in range(17, 26):   # project_name + "-" + environment, around the limits
        project = "p" * min(16, total - 2)
        environment = "e" * (total - 1 - len(project))
        if not 1 <= len(environment) <= 8:
            continue
        too_long = [(w, n, limit) for w, n, limit in explicit_names(templates, project, environment, region)
                    if len(n) > limit]
        assert accepted(dev, project, environment, region) is (not too_long), (region, total, too_long)


def test_the_longest_settings_in_the_longest_regions_fit(templates, dev):
    checked = 0
    for region in REGIONS:
        for project, environment in (("p" * 16, "e" * 8), ("p" * 16, "e" * 5), ("p" * 12, "e" * 8)):
            if accepted(dev, project, environment, region):
                for where, name, limit in explicit_names(templates, project, environment, region):
                    assert len(name) <= limit, (region, where, name)
                    checked += 1
    assert checked > 100


def test_names_the_templates_build_from_resources_fit_too(templates):
    """Target group names come from their load balancer's ID (16 hex characters) and the port."""
    for logical_id in ("BlueTargetGroup", "GreenTargetGroup"):
        text, values = templates["endpoint"]["Resources"][logical_id]["Properties"]["Name"]["Fn::Sub"]
        longest = text.replace("${Id}", "f" * 16).replace("${Port}", "65535")
        assert len(longest) <= providers.get("AWS::ElasticLoadBalancingV2::TargetGroup").name_max_length


def test_the_refusal_names_the_name_and_the_limit(dev):
    with pytest.raises(SettingsError) as refused:
        with_overrides(dev, project_name="p" * 16, environment="e" * 8, aws_region="ap-southeast-1")
    assert str(refused.value) == (
        "project_name and environment ('pppppppppppppppp-eeeeeeee') make the access-log bucket's name 65 "
        "characters in ap-southeast-1 (aws_region), over the 63 AWS allows; shorten them by 2 characters together")
