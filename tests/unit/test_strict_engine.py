"""The strict endpoint reads a template body as moto would, only faster (local_aws/strict/engine.py)."""

from __future__ import annotations

import pytest
from moto.cloudformation.models import Stack as MotoStack

from automl_cfn.local_aws.strict.engine import parse_template


def test_json_templates_read_by_json_equal_what_moto_reads(project_root):
    for path in sorted((project_root / "generated").glob("*/*.json")):
        if path.parent.name in ("templates", "account"):
            body = path.read_text()
            assert parse_template(body, MotoStack) == MotoStack.parse_template(body), path.name


@pytest.mark.parametrize("body", [
    "{Resources: {B: {Type: 'AWS::S3::Bucket'}}}",              # YAML flow style: starts like JSON
    "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub '${AWS::StackName}-b'\n",
])
def test_yaml_still_goes_to_moto(body):
    assert parse_template(body, MotoStack) == MotoStack.parse_template(body)
    assert parse_template(body, MotoStack)["Resources"]["B"]["Type"] == "AWS::S3::Bucket"
