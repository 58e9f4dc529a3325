"""Import troposphere without the two parts these templates never use.

troposphere's package imports cfn_flip (for Template.to_yaml; it pulls in
PyYAML and logging) and, in the Template class body, troposphere.serverless
(for the SAM Globals type, which loads a dozen service modules).  Together
they are about a quarter of `automl-cfn templates`' start-up.  Both are
replaced in sys.modules by stand-ins that load the real module on first use
of anything but the one name the class body binds (Globals, which only a SAM
template sets).  `templates` never calls to_yaml or sets a transform, so the
real modules stay unloaded; anything that does gets them.

tests/unit/test_lazy_imports.py renders every template in a process without
the stand-ins and compares the bytes, so a troposphere upgrade that starts
to need either module cannot change the output silently.
"""

from __future__ import annotations

import importlib
import os
import sys
import types

DISABLE = "AUTOML_CFN_EAGER_IMPORTS"   # set to 1 to import troposphere whole (the test's reference run)


class _SamGlobals:
    """What Template's class body binds as `Globals` until serverless is really imported."""


def _deferred(name: str, placeholders: dict[str, object]) -> types.ModuleType:
    stand_in = types.ModuleType(name, f"{name}, loaded on first use (automl_cfn.lazy_imports)")

    def load(attribute: str):
        if attribute in placeholders:
            return placeholders[attribute]
        if attribute.startswith("__"):   # the import system probing (__path__, __spec__ ...): not a use
            raise AttributeError(attribute)
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        return getattr(importlib.import_module(name), attribute)

    stand_in.__getattr__ = load   # PEP 562: called for every name the stand-in does not hold
    return stand_in


def defer_troposphere_extras() -> None:
    if os.environ.get(DISABLE) == "1" or "troposphere" in sys.modules:
        return
    sys.modules.setdefault("cfn_flip", _deferred("cfn_flip", {}))
    sys.modules.setdefault("troposphere.serverless", _deferred("troposphere.serverless", {"Globals": _SamGlobals}))
