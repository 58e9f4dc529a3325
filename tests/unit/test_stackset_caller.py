"""Who calls StackSets (CallAs), detected from the organisation and checked against the targets file; every
StackSets call carries it; and the order of a rollout's operations (stubbed: no endpoint)."""

from __future__ import annotations

import re

import boto3
import pytest
from botocore import xform_name
from botocore.stub import Stubber

from automl_cfn.deploy import stackset_plan
from automl_cfn.deploy.stackset_caller import DELEGATED_ADMIN, SELF, Caller, StackSetsClient, caller_for
from automl_cfn.deploy.stackset_plan import CREATE_INSTANCES, UPDATE_INSTANCES, UPDATE_SET, Step, plan
from automl_cfn.errors import UserError

from tests.conftest import ROOT

MANAGEMENT, MEMBER = "111111111111", "222222222222"
ORG = {"Id": "o-abcdef1234", "Arn": f"arn:aws:organizations::{MANAGEMENT}:organization/o-abcdef1234",
       "MasterAccountId": MANAGEMENT}


def client(name: str):
    return boto3.client(name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


class Targets:
    def __init__(self, service_managed: bool, call_as: str = ""):
        self.service_managed, self.call_as = service_managed, call_as


class Target:
    """Stands in for deploy.target.Target: an account, and stubbed clients."""

    def __init__(self, account: str):
        self.account, self.cfn, self.organizations = account, client("cloudformation"), client("organizations")
        self.aws = self

    def client(self, name: str):
        return self.organizations


def caller(account: str, targets: Targets, answer: dict | None = None, error: str = "") -> Caller:
    target = Target(account)
    with Stubber(target.organizations) as stub:
        if error:
            stub.add_client_error("describe_organization", error)
        elif answer is not None:
            stub.add_response("describe_organization", {"Organization": answer})
        found = caller_for(target, targets)
        stub.assert_no_pending_responses()
    return found


def test_the_organisation_tells_how_to_call():
    assert caller(MANAGEMENT, Targets(True), ORG) == Caller(MANAGEMENT, SELF, ORG["Id"], MANAGEMENT)
    assert caller(MEMBER, Targets(True), ORG) == Caller(MEMBER, DELEGATED_ADMIN, ORG["Id"], MANAGEMENT)
    assert caller(MEMBER, Targets(True, DELEGATED_ADMIN), ORG).call_as == DELEGATED_ADMIN
    # Self-managed stack sets take no CallAs, and the organisation is not asked.
    assert caller(MEMBER, Targets(False)) == Caller(MEMBER)
    # An account that may not read the organisation calls as the file says, else as AWS's default.
    assert caller(MEMBER, Targets(True, DELEGATED_ADMIN), error="AccessDeniedException").call_as == DELEGATED_ADMIN
    assert caller(MEMBER, Targets(True), error="AccessDeniedException").call_as == SELF


@pytest.mark.parametrize("account, given, answer, error, message", [
    (MEMBER, SELF, ORG, "", f"call_as: SELF, but account {MEMBER} is a member of o-abcdef1234, not its management "
                            f"account ({MANAGEMENT})"),
    (MANAGEMENT, DELEGATED_ADMIN, ORG, "", f"call_as: DELEGATED_ADMIN, but account {MANAGEMENT} is the management "
                                          "account of o-abcdef1234"),
    (MEMBER, "", None, "AWSOrganizationsNotInUseException", f"account {MEMBER} is in none"),
])
def test_a_file_that_contradicts_the_organisation_is_one_line(account, given, answer, error, message):
    with pytest.raises(UserError) as raised:
        caller(account, Targets(True, given), answer, error)
    assert message in str(raised.value) and "\n" not in str(raised.value) and raised.value.exit_code == 2


def test_call_as_goes_to_every_operation_whose_model_takes_it():
    cfn = client("cloudformation")
    model = cfn.meta.service_model
    sets = StackSetsClient(cfn, Caller(MEMBER, DELEGATED_ADMIN))
    for operation in model.operation_names:
        assert sets.takes_call_as(xform_name(operation)) == ("CallAs" in model.operation_model(operation).input_shape.members)
    assert not StackSetsClient(cfn, Caller(MEMBER)).takes_call_as("describe_stack_set")   # self-managed: none
    with Stubber(cfn) as stub:
        stub.add_response("describe_stack_set", {"StackSet": {"StackSetName": "s"}},
                          {"StackSetName": "s", "CallAs": DELEGATED_ADMIN})
        stub.add_response("list_stack_instances", {"Summaries": []}, {"StackSetName": "s", "CallAs": DELEGATED_ADMIN})
        stub.add_response("describe_stacks", {"Stacks": []}, {"StackName": "s"})
        sets.describe_stack_set(StackSetName="s")
        list(sets.get_paginator("list_stack_instances").paginate(StackSetName="s"))
        sets.describe_stacks(StackName="s")


def test_the_stackset_verbs_call_stacksets_only_through_the_caller_client():
    """A StackSets operation called on the plain client would go without CallAs (a delegated administrator's call
    fails); stackset.py and baseline.py reach them through StackSetsClient only."""
    model = client("cloudformation").meta.service_model
    taking = {xform_name(o) for o in model.operation_names if "CallAs" in model.operation_model(o).input_shape.members}
    for module in ("stackset.py", "baseline.py"):
        source = (ROOT / "templates_src" / "automl_cfn" / "deploy" / module).read_text()
        plain = [m for m in re.findall(r"\bcfn\.(\w+)\(", source) if m in taking]
        paginated = [m for m in re.findall(r"\bcfn\.get_paginator\(\"(\w+)\"\)", source) if m in taking]
        assert plain + paginated == [], module


# -- the order of operations -------------------------------------------------------------

A, B = "111111111111", "222222222222"
ORDER = ["eu-west-1", "us-east-1"]


def test_regions_in_sequence_follow_region_order_across_override_groups():
    work = {CREATE_INSTANCES: {(A, "us-east-1"): {}, (A, "eu-west-1"): {}, (B, "us-east-1"): {"X": "1"},
                               (B, "eu-west-1"): {"X": "1"}}}
    assert plan(work, ORDER, parallel=False) == [
        Step(CREATE_INSTANCES, (), (A,), ("eu-west-1",)), Step(CREATE_INSTANCES, (("X", "1"),), (B,), ("eu-west-1",)),
        Step(CREATE_INSTANCES, (), (A,), ("us-east-1",)), Step(CREATE_INSTANCES, (("X", "1"),), (B,), ("us-east-1",))]
    # In parallel, order does not matter: one operation per override group, over all its regions.
    assert plan(work, ORDER, parallel=True) == [
        Step(CREATE_INSTANCES, (), (A,), ("eu-west-1", "us-east-1")),
        Step(CREATE_INSTANCES, (("X", "1"),), (B,), ("eu-west-1", "us-east-1"))]


def test_one_group_stays_one_operation_and_each_region_updates_before_it_creates():
    every = {(w, r): {} for w in (A, B) for r in ORDER}
    assert plan({CREATE_INSTANCES: every}, ORDER, parallel=False) == [Step(CREATE_INSTANCES, (), (A, B), tuple(ORDER))]
    work = {UPDATE_INSTANCES: {(A, "us-east-1"): {"X": "2"}}, UPDATE_SET: {(A, "us-east-1"): {}, (A, "eu-west-1"): {}},
            CREATE_INSTANCES: {(B, "us-east-1"): {}, (B, "eu-west-1"): {}}}
    assert [(s.kind, s.where, s.regions) for s in plan(work, ORDER, parallel=False)] == [
        (UPDATE_SET, (A,), ("eu-west-1",)), (CREATE_INSTANCES, (B,), ("eu-west-1",)),
        (UPDATE_INSTANCES, (A,), ("us-east-1",)), (UPDATE_SET, (A,), ("us-east-1",)),
        (CREATE_INSTANCES, (B,), ("us-east-1",))]


def test_instances_made_are_counted_per_account_and_region():
    def results(*rows):
        return [{"Account": a, "Region": r, "Status": s} for a, r, s in rows]
    outcomes = [(UPDATE_INSTANCES, results((A, "us-east-1", "SUCCEEDED"))),
                (UPDATE_SET, results((A, "us-east-1", "SUCCEEDED"), (B, "us-east-1", "SUCCEEDED"))),
                (CREATE_INSTANCES, results((A, "eu-west-1", "SUCCEEDED"), (B, "eu-west-1", "FAILED"),
                                           ("333333333333", "eu-west-1", "SUCCEEDED")))]
    assert stackset_plan.instances_made(outcomes) == (2, 2)
