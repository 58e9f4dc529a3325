"""Every explicit name in the templates fits its AWS limit, in every region, for every project and
environment the settings accept, and the settings refuse exactly the ones whose names would not fit."""

from __future__ import annotations

import pytest

from automl_cfn import providers, regional
from automl_cfn.parameters import parameter_values
from automl_cfn.settings import FULL_FEATURED, SettingsError, with_overrides

from .test_regions import REGIONS

ACCOUNT = "123456789012"


def explicit_names(templates: dict, dev, project: str, environment: str, region: str) -> list[regional.Name]:
    """Every name the full-featured environment sets, for this project and environment names (raw
    parameters: the settings would refuse the ones that do not fit, which is what is under test)."""
    values = {**parameter_values(with_overrides(dev, **FULL_FEATURED)), "ProjectName": project,
              "Environment": environment, "TemplatesBucket": "b", "TemplatesPrefix": "p/"}
    return regional.explicit_names(templates, values, region, ACCOUNT)


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
        too_long = [n for n in explicit_names(templates, dev, project, environment, region) if not n.fits]
        assert accepted(dev, project, environment, region) is (not too_long), (region, total, too_long)


def test_the_longest_settings_in_the_longest_regions_fit(templates, dev):
    checked = 0
    for region in REGIONS:
        for project, environment in (("p" * 16, "e" * 8), ("p" * 16, "e" * 5), ("p" * 12, "e" * 8)):
            if accepted(dev, project, environment, region):
                for name in explicit_names(templates, dev, project, environment, region):
                    assert name.fits, (region, name)
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
