"""One preflight check's answer: pass, warn, fail or skip, with what it saw and the fix for a fail.

Apart from preflight.py so that the checks of one job living in a module of their own
(preflight_network.py) answer in the same terms without importing the verb."""

from __future__ import annotations

from dataclasses import dataclass

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""
