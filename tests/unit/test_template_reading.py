"""The local endpoint reads a template body as moto would, only faster (local_aws/patches.py)."""

from __future__ import annotations

import pytest
from moto.cloudformation.models import Stack as MotoStack

from automl_cfn.local_aws.patches import read_template


def test_json_templates_read_by_json_equal_what_moto_reads(project_root):
    paths = [p for p in sorted((project_root / "generated").glob("*/*.json"))
             if p.parent.name in ("templates", "account")]
    assert len(paths) > 10
    for path in paths:
        body = path.read_text()
        assert read_template(body, MotoStack.parse_template) == MotoStack.parse_template(body), path.name


def never(body):
    raise AssertionError("a JSON body reached the YAML reader")


@pytest.mark.parametrize("body", [
    "{Resources: {B: {Type: 'AWS::S3::Bucket'}}}",              # YAML flow style: starts like JSON
    "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub '${AWS::StackName}-b'\n",
])
def test_yaml_still_goes_to_moto(body):
    assert read_template(body, MotoStack.parse_template) == MotoStack.parse_template(body)
    assert read_template(body, MotoStack.parse_template)["Resources"]["B"]["Type"] == "AWS::S3::Bucket"


def test_json_does_not_reach_the_yaml_reader():
    assert read_template(' {"Resources": {}}', never) == {"Resources": {}}
