"""The stand-ins for cfn_flip and troposphere.serverless (lazy_imports.py) change no byte of the output,
stay unloaded while templates are built, and give way to the real modules on first real use."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

RENDER = ("import sys, json; from automl_cfn import synth; "
          "files = synth.render_all(__import__('pathlib').Path('.')); "
          "print(json.dumps({'files': {k: v.decode() for k, v in files.items() if k.startswith('templates/')}, "
          "'loaded': sorted(m for m in ('cfn_flip', 'troposphere.serverless', 'troposphere.awslambda') "
          "if m in sys.modules and not (sys.modules[m].__doc__ or '').endswith('(automl_cfn.lazy_imports)'))"
          "}))")


def render(eager: bool) -> dict:
    env = {**os.environ, "AUTOML_CFN_EAGER_IMPORTS": "1" if eager else "0"}
    result = subprocess.run([sys.executable, "-c", RENDER], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True)
    import json

    return json.loads(result.stdout)


def test_the_templates_are_the_same_bytes_with_troposphere_imported_whole():
    deferred, eager = render(eager=False), render(eager=True)
    assert deferred["files"] == eager["files"] and len(deferred["files"]) == 11
    assert "cfn_flip" in eager["loaded"] and "troposphere.serverless" in eager["loaded"]
    assert deferred["loaded"] == []


def test_the_real_modules_load_on_first_use():
    code = ("from automl_cfn import stacks; import troposphere, sys; t = troposphere.Template(); "
            "t.set_transform('AWS::Serverless-2016-10-31'); print(t.to_yaml().strip()); "
            "print(type(sys.modules['troposphere.serverless']).__name__, sys.modules['cfn_flip'].__name__)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "Transform: AWS::Serverless-2016-10-31" in result.stdout
    assert result.stdout.strip().endswith("module cfn_flip")
