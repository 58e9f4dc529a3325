"""Each local-endpoint patch and strict rule names the moto defect it covers and the test that shows it."""

from __future__ import annotations

import re

from automl_cfn.local_aws import patches
from automl_cfn.local_aws.strict import rules

from tests.conftest import ROOT


def test_each_patch_and_rule_names_an_existing_test():
    source = "".join(path.read_text() for path in sorted((ROOT / "tests" / "integration").glob("test_*.py")))
    functions = patches.CLOUDFORMATION + patches.SERVICES + rules.SERVICE_RULES + (rules.check_name_length,
                                                                                   rules.check_not_taken)
    for function in functions:
        found = re.search(r"Test: (test_\w+)", " ".join((function.__doc__ or "").split()))
        assert found, f"{function.__name__} names no test"
        assert f"def {found.group(1)}(" in source, f"{function.__name__}: {found.group(1)} does not exist"


def test_the_readme_export_line_sets_what_the_endpoint_prints(project_root):
    """Plain boto3 needs AWS_DEFAULT_REGION too: the README's line is the banner's."""
    from automl_cfn.local_aws.handle import environment

    line = next(l for l in (project_root / "README.md").read_text().splitlines() if l.startswith("export AWS_ENDPOINT"))
    assert dict(pair.split("=", 1) for pair in line.split()[1:]) == environment(4566)


def test_each_delivery_and_policy_module_names_tests_that_exist():
    """The evaluator, the deliveries and the access handlers each cite the tests that show them refusing, or
    doing, what AWS does: a test function, or a test file."""
    package = ROOT / "templates_src" / "automl_cfn" / "local_aws"
    modules = sorted((package / "policy").glob("*.py")) + sorted((package / "delivery").glob("*.py")) + \
        [package / "strict" / "access_handlers.py", package / "strict" / "compute_handlers.py",
         package / "stepfunctions.py", package / "containers.py"]
    test_files = {path.stem for path in (ROOT / "tests").rglob("test_*.py")}
    functions = set(re.findall(r"def (test_\w+)\(", "".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))))
    for module in modules:
        text = module.read_text()
        docstring = text.split('"""')[1] if text.startswith('"""') else ""
        named = set(re.findall(r"\b(test_\w+)", docstring))
        assert named or module.name == "__init__.py", f"{module.relative_to(package)} names no test"
        assert named <= functions | test_files, (module.name, sorted(named - functions - test_files))
