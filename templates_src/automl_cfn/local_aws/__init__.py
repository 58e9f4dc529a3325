"""The local AWS endpoint: moto's server on 127.0.0.1, strict by default.

Strict mode (the default, and what the test suite runs against) answers
CloudFormation with an engine that follows the rules real accounts enforce
and moto skips (strict/engine.py lists them): create-before-delete updates,
replacement on create-only properties, refusal of custom-named
replacements, rollback (RetainExceptOnCreate included) or *_FAILED with
rollback disabled, resource import, stack policies, name limits and
"already exists" for named resources, one load balancer per target group,
one listener per port, two Availability Zones per Application Load
Balancer.  `--lenient` runs plain moto with its defects patched
(patches.py), for comparison.

Use it with `automl-cfn local-aws [--port N] [--lenient]`; tests and
benchmarks start it with `LocalAws().start()`.  Everything talks to it
through AWS_ENDPOINT_URL, so the same code reaches real AWS when that is
unset.
"""

from .handle import DUMMY_CREDENTIALS, REGION, LocalAws, environment, free_port
from .server import DEFAULT_PORT, main, run

__all__ = ["DEFAULT_PORT", "DUMMY_CREDENTIALS", "REGION", "LocalAws", "environment", "free_port", "main", "run"]
