"""Strict mode: CloudFormation as real accounts enforce it, over moto's resources.

`install()` swaps moto's CloudFormation actions for the strict engine's
(api.py, engine.py), adds the service rules moto skips (rules.py) and has
every request authorized by IAM's evaluation logic (../policy/), and
plays the deliveries between services that moto skips (../delivery/) and
runs the state machines (../stepfunctions.py);
`reset()` forgets every stack and refusal along with moto's own reset.
"""

from __future__ import annotations


def install() -> None:
    from .. import delivery, stepfunctions
    from ..policy import enforce
    from . import api, policy_store, rules

    stepfunctions.enable()
    api.install()
    rules.install()
    policy_store.install()
    enforce.install()
    delivery.install()


def reset() -> None:
    from .. import containers, delivery, stepfunctions
    from ..policy import enforce
    from . import api

    stepfunctions.stop_running_executions()
    containers.reset()
    api.reset()
    enforce.reset()
    delivery.reset()
