"""Strict mode: CloudFormation as real accounts enforce it, over moto's resources.

`install()` swaps moto's CloudFormation actions for the strict engine's
(api.py, engine.py) and adds the service rules moto skips (rules.py);
`reset()` forgets every stack along with moto's own reset.
"""

from __future__ import annotations


def install() -> None:
    from . import api, rules

    api.install()
    rules.install()


def reset() -> None:
    from . import api

    api.reset()
