"""Names unique per account or partition carry the region, in every environment; and the table saying which
names those are (name_scopes.py) agrees with AWS's own words: botocore's API documentation and the Service
Authorization Reference's ARN formats (parliament's copy)."""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

from automl_cfn import deploy_role, name_scopes, providers, regional, synth
from automl_cfn.name_scopes import ACCOUNT, PARTITION, REGION, SCOPES
from automl_cfn.parameters import parameter_values
from automl_cfn.settings import FULL_FEATURED, load_settings, with_overrides

from .test_regions import REGIONS

ACCOUNT_ID = "123456789012"
# Two regions one environment may run in at once, the second as long as region names get (test_names walks
# every region's name lengths).
TWO_REGIONS = ("us-west-2", max(REGIONS, key=len))


@lru_cache(maxsize=None)
def api_documentation(service: str, operation: str, member: str | None = None) -> str:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    text = model.documentation if member is None else model.input_shape.members[member].documentation
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text or "")).split())


@lru_cache(maxsize=1)
def arn_formats() -> dict[str, set[str]]:
    import parliament

    definition = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
    formats: dict[str, set[str]] = {}
    for service in definition:
        for resource in service["resources"]:
            formats.setdefault(f"{service['prefix']}:{resource['resource']}", set()).add(resource["arn"])
    return formats


@pytest.mark.parametrize("resource_type", sorted(SCOPES))
def test_each_scope_is_what_aws_says(resource_type):
    scope = SCOPES[resource_type]
    assert scope.unique_in in (PARTITION, ACCOUNT, REGION) and scope.source.startswith("https://docs.aws.amazon.com/")
    if scope.says:
        assert scope.says in api_documentation(*scope.api), (resource_type, scope.api)
    for arn in arn_formats().get(scope.arn, set()) if scope.arn else ():
        region, account = arn.split(":")[3:5]
        assert (region, account) == {PARTITION: ("", ""), ACCOUNT: ("", "${Account}"),
                                     REGION: ("${Region}", "${Account}")}[scope.unique_in], arn
    assert not scope.arn or scope.arn in arn_formats(), f"{scope.arn} is no Service Authorization Reference type"


def test_every_account_wide_scope_rests_on_a_checked_statement():
    """A page alone may do for a regional name; an account-wide one needs AWS's words or its ARN format."""
    for resource_type, scope in SCOPES.items():
        if scope.account_wide:
            assert scope.says or scope.arn, resource_type
    assert {t for t, s in SCOPES.items() if s.account_wide} >= {
        "AWS::S3::Bucket", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::CloudWatch::Dashboard"}


@pytest.fixture(scope="module")
def chosen(project_root, dev):
    return deploy_role.policies(project_root, dev, synth.read_generated_documents(project_root / "generated"),
                                account=ACCOUNT_ID)


def test_every_named_type_has_a_scope(templates, chosen):
    """Every resource type the templates (workload, account baseline, CI roles) may name is in the table, so
    a new one is judged before it ships."""
    from automl_cfn.deploy_role.template import template

    documents = [*templates.values(), synth.build_baseline_template(templates), template(chosen)]
    named = {t for t in providers.template_types(documents) if providers.get(t).name_property}
    assert named and sorted(named - set(SCOPES)) == []


def environments(project_root, dev) -> dict[str, object]:
    found = {path.stem: load_settings(env=path.stem, root=project_root)
             for path in sorted((project_root / "config").glob("*.yaml"))}
    return {**found, "full-featured": with_overrides(dev, **FULL_FEATURED)}


def test_every_environment_names_account_wide_resources_by_region(templates, project_root, dev):
    """The same environment in two regions of one account: each name unique per account (or partition)
    holds the region, so the two never meet."""
    checked: set[str] = set()
    for label, settings in environments(project_root, dev).items():
        values = {**parameter_values(settings), "TemplatesBucket": "b", "TemplatesPrefix": "p/"}
        by_region = {}
        for region in TWO_REGIONS:
            names = [n for n in regional.explicit_names(templates, values, region, ACCOUNT_ID)
                     if name_scopes.account_wide(n.type)]
            missing = [f"{n.where} {n.value}" for n in names if region not in n.value]
            assert missing == [], (label, region)
            assert all(n.fits for n in names), (label, region, [n for n in names if not n.fits])
            by_region[region] = {(n.type, n.value) for n in names}
            checked |= {n.type for n in names}
        assert not set.intersection(*by_region.values()), label
    assert {"AWS::IAM::Role", "AWS::CloudWatch::Dashboard", "AWS::S3::Bucket"} <= checked


def test_the_ci_roles_serve_every_region_of_the_account(chosen):
    """The deliberate exception: one deploy-role stack per environment and account, so its names (account-wide)
    hold no region, and no statement of its policies is held to one region."""
    from automl_cfn.deploy_role.template import template

    resources = template(chosen)["Resources"]
    names = [body["Properties"].get(providers.get(body["Type"]).name_property) for body in resources.values()]
    assert names and all(isinstance(n, str) and n.startswith("automl-dev-") for n in names)
    assert not [n for n in names for region in REGIONS if region in n]
    arns = [arn for statements in (chosen.deploy, chosen.diff) for s in statements
            for arn in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"]) if arn.startswith("arn:")]
    assert arns and {arn.split(":")[3] for arn in arns} <= {"", "*"}
