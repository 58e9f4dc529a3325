"""Short batch work without CPython's cyclic garbage collector.

Generating the templates allocates a few hundred thousand small objects
(troposphere objects, dicts, classes while modules import) and keeps nearly
all of them until the process ends.  Every 700 allocations the collector
walks the young objects, and now and then all of them, to find cycles: it
runs about 75 times and frees a few hundred objects, about a tenth of a cold
`automl-cfn templates`.  cfn-lint is the same story at a larger scale: about
an eighth of its time, for 55 MB of peak memory saved.

Reference counting still frees everything that is not in a cycle, so memory
stays bounded by what the batch keeps; long-running verbs (deploy waits, the
local endpoint) keep the collector.  `bench/bench_templates.py` measures both.

At exit the interpreter collects once more, over every object alive; the
console script (`cli.run`) freezes them first, since they die with the process.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

# `python -c` program that runs cfn-lint's own entry point with the collector off (its argv follows), and
# everything frozen at exit: the interpreter's final collection over cfn-lint's schemas, sympy and
# networkx took 0.3 s of each process (atexit hooks run before it).
CFN_LINT_WITHOUT_GC = ("import atexit, gc, sys; gc.disable(); atexit.register(gc.freeze); sys.argv[0] = 'cfn-lint'; "
                       "from cfnlint.runner import main; sys.exit(main())")


@contextmanager
def collector_paused():
    """The collector off for the block, and back as it was after (tests run verbs in-process)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Enabled as it is, the collector would at once walk everything the block allocated: what
            # survived moves to the oldest generation instead (freeze, then unfreeze), as if already
            # examined, and ordinary collections resume from zero.
            gc.freeze()
            gc.unfreeze()
            gc.enable()
