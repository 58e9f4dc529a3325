"""Every region cfn-lint knows: the templates evaluate there as CloudFormation would evaluate them.

CloudFormation resolves Fn::FindInMap in both branches of an Fn::If, so a mapping keyed by
region must cover every region, or sit in a resource whose condition leaves it out."""

from __future__ import annotations

import re

import pytest

from automl_cfn import providers, regional
from automl_cfn.intrinsics import Evaluator, TemplateError
from automl_cfn.parameters import parameter_values
from automl_cfn.settings import FULL_FEATURED, with_overrides

REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
REGIONS = sorted(p.stem for p in (providers.schema_directory() / "providers").glob("*.json") if REGION.fullmatch(p.stem))


def test_the_region_list_holds_the_newer_regions():
    assert len(REGIONS) >= 40
    assert {"ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "eu-central-2", "il-central-1", "me-central-1",
            "ca-west-1", "mx-central-1"} <= set(REGIONS)


def test_an_untaken_branch_still_needs_its_mapping():
    template = {"Mappings": {"M": {"us-east-1": {"V": "a"}}},
                "Conditions": {"Old": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}},
                "Resources": {"R": {"Type": "T", "Properties": {"P": {"Fn::If": [
                    "Old", {"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "V"]}, "fallback"]}}}}}
    assert Evaluator(template, {}, region="us-east-1").value({"Ref": "AWS::Region"}) == "us-east-1"
    with pytest.raises(TemplateError, match="Unable to get mapping for M::ca-west-1::V"):
        Evaluator(template, {}, region="ca-west-1").value(template["Resources"]["R"]["Properties"])


@pytest.mark.parametrize("region", REGIONS)
def test_every_template_evaluates_in_every_region(templates, dev, region):
    values = {**parameter_values(with_overrides(dev, **FULL_FEATURED)), "TemplatesBucket": "b", "TemplatesPrefix": "p/"}
    assert regional.unmapped(templates, values, region, "123456789012") == []


def test_a_region_the_map_misses_is_named(templates, dev):
    """What CloudFormation would answer, per resource, when a map keyed by region lacks it."""
    broken = {**templates, "storage": {**templates["storage"], "Mappings": {
        **templates["storage"]["Mappings"], "ElbLogAccounts": {"us-east-1": {"Account": "127311923021"}}}}}
    values = {**parameter_values(with_overrides(dev, **FULL_FEATURED)), "TemplatesBucket": "b", "TemplatesPrefix": "p/"}
    assert regional.unmapped(broken, values, "us-east-1", "123456789012") == []
    assert regional.unmapped(broken, values, "eu-west-1", "123456789012") == [
        "storage/LbLogsBucketPolicy: Template error: Unable to get mapping for ElbLogAccounts::eu-west-1::Account"]
