from __future__ import annotations

import pytest

from automl_cfn.evaluate import Evaluation
from automl_cfn.parameters import parameter_values
from automl_cfn.settings import load_settings, with_overrides


@pytest.fixture(scope="session")
def dev(project_root):
    return load_settings(env="dev", root=project_root)


@pytest.fixture(scope="session")
def prod(project_root):
    return load_settings(env="prod", root=project_root)


@pytest.fixture
def stack(templates, dev):
    """stack('network', nat_gateways='single') -> Evaluation of that template
    for dev's settings with the given overrides (validated like --var)."""
    def evaluate(name: str, base=None, wired=None, **overrides) -> Evaluation:
        settings = with_overrides(base or dev, **overrides)
        # Inputs the root wires from other stacks: "none" unless a test sets them.
        inputs = {"KmsKeyArn": "none", "ApiKeySecretArn": "none", "ApiKeyPreviousSecretArn": "none",
                  "LbLogsBucketName": "none", **(wired or {})}
        return Evaluation(templates[name], {**inputs, **parameter_values(settings)})
    return evaluate
