"""Shared fixtures: the project root and the generated templates."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def templates() -> dict:
    """name -> template document, built once per session (as `templates` writes them)."""
    from automl_cfn import synth

    return synth.build_templates()


def retained(body: dict) -> bool:
    """Kept when its stack goes or it is replaced; deleted only by the rollback of the create that made it."""
    return (body.get("DeletionPolicy"), body.get("UpdateReplacePolicy")) == ("RetainExceptOnCreate", "Retain")
