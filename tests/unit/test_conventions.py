"""Conventions every template keeps: tags, retained state, parameters, quotas."""

from __future__ import annotations

import json

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from automl_cfn.model import MANAGED_BY
from tests.conftest import retained

STATEFUL_TYPES = {"AWS::S3::Bucket", "AWS::ECR::Repository", "AWS::Logs::LogGroup", "AWS::KMS::Key",
                  "AWS::SecretsManager::Secret"}
# CloudFormation quotas (templates fetched from S3)
MAX_TEMPLATE_BYTES = 1_000_000
MAX_RESOURCES = 500
MAX_PARAMETERS = 200
MAX_OUTPUTS = 200


def all_resources(templates):
    for name, doc in templates.items():
        for logical_id, body in doc["Resources"].items():
            yield name, logical_id, body


def taggable(resource_type: str) -> bool:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    return "Tags" in schema.get("properties", {})


def tag_map(tags) -> dict:
    """Key/Value pairs, or the plain map a few types take (EventBridge Pipes)."""
    return dict(tags) if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}


def test_every_taggable_resource_carries_project_environment_managedby(templates):
    missing = []
    for name, logical_id, body in all_resources(templates):
        if name == "artifacts":  # shared by every project in the account: tagged ManagedBy only
            assert tag_map(body["Properties"].get("Tags", [])).get("ManagedBy", MANAGED_BY) == MANAGED_BY
            continue
        if not taggable(body["Type"]):
            continue
        tags = tag_map(body.get("Properties", {}).get("Tags", []))
        expected = {"Project": {"Ref": "ProjectName"}, "Environment": {"Ref": "Environment"}, "ManagedBy": MANAGED_BY}
        if any(tags.get(k) != v for k, v in expected.items()):
            missing.append(f"{name}:{logical_id}")
    assert missing == []


def test_stateful_resources_are_retained_on_delete_and_replace(templates):
    stateful = [(n, i, b) for n, i, b in all_resources(templates) if b["Type"] in STATEFUL_TYPES]
    assert len(stateful) >= 4 + 1 + 4 + 1  # repositories, bucket, log groups, flow-log group
    for name, logical_id, body in stateful:
        if name == "artifacts":  # its own stack, never rolled back by a deploy: plain Retain
            assert (body["DeletionPolicy"], body["UpdateReplacePolicy"]) == ("Retain", "Retain")
        else:
            assert retained(body), logical_id


def test_parameters_are_constrained_and_grouped(templates):
    for name, doc in templates.items():
        if name == "artifacts":  # no parameters
            continue
        interface = doc["Metadata"]["AWS::CloudFormation::Interface"]
        grouped = {p for group in interface["ParameterGroups"] for p in group["Parameters"]}
        assert grouped == set(doc["Parameters"]), name
        for pname, spec in doc["Parameters"].items():
            if pname in interface.get("ParameterLabels", {}):  # registry parameters (not wired inputs)
                constrained = {"AllowedValues", "AllowedPattern", "MinValue", "MaxValue"} & set(spec)
                assert constrained, f"{name}.{pname} has no constraint"
                assert "ConstraintDescription" in spec or spec["Type"] == "Number", f"{name}.{pname}"


@pytest.mark.parametrize("name", ["root", "network", "registry", "storage", "monitoring", "iam", "compute", "pipeline",
                                  "artifacts"])
def test_templates_stay_within_cloudformation_quotas(templates, name):
    doc = templates[name]
    assert len(json.dumps(doc)) < MAX_TEMPLATE_BYTES
    assert len(doc["Resources"]) <= MAX_RESOURCES
    assert len(doc.get("Parameters", {})) <= MAX_PARAMETERS
    assert len(doc.get("Outputs", {})) <= MAX_OUTPUTS


def test_no_hard_coded_partition_region_or_account(templates):
    # The ELB log-delivery accounts are keyed by region by design (a mapping and its condition).
    def scrub(doc):
        conditions = {k: v for k, v in doc.get("Conditions", {}).items() if k != "RegionHasElbLogAccount"}
        return {**{k: v for k, v in doc.items() if k != "Mappings"}, "Conditions": conditions}
    text = json.dumps({name: scrub(doc) for name, doc in templates.items()})
    for literal in ("arn:aws:", "us-east-1", "123456789012"):
        assert literal not in text


def test_one_pass_encoding_matches_troposphere():
    from automl_cfn.stacks import build_children, root

    children = build_children()
    for name, child in {**children, "root": root.build(children)}.items():
        assert child.to_dict() == child.template.to_dict(), name


def test_one_pass_encoding_of_whole_templates_and_foreign_objects():
    from automl_cfn.stacks import artifacts, baseline
    from automl_cfn.stacks.base import plain
    from automl_cfn.synth import build_templates

    documents = build_templates()
    for name, template in {"artifacts": artifacts.build(), "baseline": baseline.build(documents)}.items():
        assert plain(template) == template.to_dict(), name
    with pytest.raises(TypeError, match="not JSON serializable: object"):
        plain({"Value": object()})
