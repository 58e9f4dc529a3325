"""Imports flow one way: cli -> ops/deploy -> synth -> stacks -> settings/model.

A module imports only from its own floor or lower ones; within the ops/deploy
floor, deploy never imports ops (the image check is a preflight step deploy
runs with its own client, not an ops verb).  The local endpoint is a tool of
its own beside them: it reads the template floors, never the verbs.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "templates_src" / "automl_cfn"
FLOORS = {
    "cli": 5,
    "ops": 4, "deploy": 4, "migrate": 4, "local_aws": 4,
    "taskcat_run": 4,
    "synth": 3, "evaluate": 3, "cost": 3, "diagram": 3, "lint": 3, "scan": 3, "skips": 3,
    "planner": 3, "intrinsics": 3, "providers": 3, "keys": 3, "cache": 3, "transitions": 3, "regional": 3, "deploy_role": 3,
    "role_table": 3,
    "stacks": 2,
    "settings": 1, "parameters": 1, "model": 1, "errors": 1, "ui": 1, "__init__": 1, "data": 1,
    "lazy_imports": 1, "digest": 1, "schedule": 1, "batch_gc": 1, "config_rules": 1, "rollout_time": 1,
    "name_scopes": 1, "redact": 1,
}


def top(module: str) -> str:
    return module.split(".")[0]


def imports_of(path: Path) -> set[str]:
    """Package-relative top-level names a module imports (automl_cfn.X or relative)."""
    relative = path.relative_to(PACKAGE).with_suffix("")
    package = list(relative.parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                parts = base + (node.module.split(".") if node.module else [])
                if not parts:   # from . import x (at the package root)
                    parts = [alias.name for alias in node.names]
                    found.update(parts)
                    continue
                if parts == package and not node.module:
                    found.update(f"{'.'.join(parts)}.{alias.name}" for alias in node.names)
                    continue
                found.add(".".join(parts))
            elif node.module and node.module.startswith("automl_cfn."):
                found.add(node.module.split(".", 1)[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".", 1)[1] for a in node.names if a.name.startswith("automl_cfn."))
    return found


def test_imports_flow_one_way():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = top(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for imported in imports_of(path):
            there = top(imported)
            if there not in FLOORS or there == here:
                continue
            if FLOORS[there] > FLOORS[here] or (here == "deploy" and there in ("ops", "local_aws")) or \
                    (here == "local_aws" and there in ("deploy", "ops", "cli")) or \
                    (here == "ops" and there == "local_aws"):
                wrong.append(f"{path.relative_to(PACKAGE)} imports {imported}")
    assert wrong == []


def test_every_module_has_a_floor():
    names = {top(".".join(p.relative_to(PACKAGE).with_suffix("").parts)) for p in PACKAGE.rglob("*.py")}
    assert sorted(names - set(FLOORS)) == []
