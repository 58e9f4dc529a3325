"""What stops a destroy: the stack's termination protection and the deletion protection the
templates set on resources (`termination_protection: true` turns on both).

- CloudFormation refuses DeleteStack while the root stack's termination protection is on; a nested
  stack's follows its root's (using-cfn-protect-stacks.html).
- A resource's own deletion protection lets DeleteStack start and fails it half way: the load
  balancer's `deletion_protection.enabled` makes DeleteLoadBalancer fail with OperationNotPermitted,
  "This restriction also applies to CloudFormation stack deletions"
  (elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#deletion-protection;
  the AWSSupportRemediator-EnableElbDeletionProtection runbook).  The environment is left
  DELETE_FAILED, its load balancer still running.

So destroy looks for all of them before it deletes anything (`find`), refuses while any is on
(`refusal`, whose first hint handles every one of them), and `destroy --unprotect` turns them off
(`turn_off`): the resources first, the stack's termination protection last, so an environment whose
resources could not be unprotected keeps its termination protection.

KINDS has one entry per resource type whose deletion protection the templates set; plan.py refuses
to replace or remove those while protection is on, and tests/unit/test_destroy_protection.py fails when a
template sets a deletion protection no entry covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .. import ui
from .aws import Aws, error_code

NESTED_STACK = "AWS::CloudFormation::Stack"
LOAD_BALANCER_PROTECTION = "deletion_protection.enabled"
GONE = ("DELETE_COMPLETE",)


def load_balancer_protected(aws: Aws, arn: str) -> bool:
    try:
        attributes = aws.client("elbv2").describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    except Exception as exc:
        if error_code(exc) == "LoadBalancerNotFound":
            return False       # deleted already: nothing protects it
        raise
    return {a["Key"]: a["Value"] for a in attributes}.get(LOAD_BALANCER_PROTECTION) == "true"


def unprotect_load_balancer(aws: Aws, arn: str) -> None:
    aws.client("elbv2").modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": LOAD_BALANCER_PROTECTION, "Value": "false"}])


def protect_load_balancer_command(arn: str) -> str:
    return (f"aws elbv2 modify-load-balancer-attributes --load-balancer-arn {arn} "
            f"--attributes Key={LOAD_BALANCER_PROTECTION},Value=true")


@dataclass(frozen=True)
class Kind:
    label: str
    is_on: Callable[[Aws, str], bool]          # (aws, physical ID): is its deletion protection on now?
    turn_off: Callable[[Aws, str], None]
    turn_on_command: Callable[[str], str]      # the AWS CLI line that turns it on again


KINDS = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": Kind("load balancer", load_balancer_protected,
                                                      unprotect_load_balancer, protect_load_balancer_command),
}


@dataclass(frozen=True)
class Protected:
    """A deployed resource whose deletion protection is on."""

    path: str               # logical IDs from the root: EndpointStack/PredictionLoadBalancer
    resource_type: str
    physical_id: str

    def __str__(self) -> str:
        return f"{KINDS[self.resource_type].label} {ui.printable(self.path)} ({ui.printable(self.physical_id)})"


@dataclass
class Protections:
    stack: str
    termination: bool = False                       # the root stack's termination protection
    resources: list[Protected] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.termination or bool(self.resources)

    def describe(self) -> str:
        """termination protection on STACK and deletion protection on the load balancer PATH (ID)"""
        parts = [f"termination protection on {self.stack}"] if self.termination else []
        if self.resources:
            parts.append("deletion protection on the " + ", ".join(str(r) for r in self.resources))
        return " and ".join(parts)

    @property
    def count(self) -> int:
        return int(self.termination) + len(self.resources)


def find(aws: Aws, stack: dict) -> Protections:
    """The protections on now in the deployed stack and its nested stacks."""
    cfn = aws.client("cloudformation")
    found = Protections(stack["StackName"], termination=bool(stack.get("EnableTerminationProtection")))
    pending = [(stack["StackId"], "")]
    while pending:
        stack_id, prefix = pending.pop(0)
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_id):
            for resource in page["StackResourceSummaries"]:
                physical = resource.get("PhysicalResourceId")
                if not physical or resource["ResourceStatus"] in GONE:
                    continue
                path = prefix + resource["LogicalResourceId"]
                if resource["ResourceType"] == NESTED_STACK:
                    pending.append((physical, path + "/"))
                elif resource["ResourceType"] in KINDS and KINDS[resource["ResourceType"]].is_on(aws, physical):
                    found.resources.append(Protected(path, resource["ResourceType"], physical))
    return found


def command(env_flag: str) -> str:
    return " ".join(part for part in ("automl-cfn destroy", env_flag, "--unprotect") if part)


def refusal(protections: Protections, env_flag: str) -> str:
    """Why destroy will not start, and first the one command that handles every protection found."""
    them = "both" if protections.count == 2 else "them all" if protections.count > 2 else "it"
    stops = "stop" if protections.count > 1 else "stops"
    return (f"{protections.describe()} {stops} the delete of {protections.stack}; '{command(env_flag)}' turns "
            f"{them} off and deletes the stacks (after the same confirmation; the data is kept as always), or "
            "set termination_protection: false and deploy, then destroy")


def still_off(protections: Protections) -> str:
    """After --unprotect, when the delete failed: what is off now, and how to keep the environment instead.
    A deploy turns the stack's termination protection on again, but not a resource's: the template did not
    change, so CloudFormation does not set the attribute again."""
    commands = [KINDS[r.resource_type].turn_on_command(ui.printable(r.physical_id)) for r in protections.resources]
    if protections.termination:
        commands.append(f"aws cloudformation update-termination-protection --enable-termination-protection "
                        f"--stack-name {protections.stack}")
    return (f"--unprotect turned off {protections.describe()}; to keep {protections.stack} instead, turn "
            f"{'it' if protections.count == 1 else 'them'} on again: " + "; ".join(f"'{c}'" for c in commands))


def turn_off(aws: Aws, protections: Protections) -> None:
    """Resources first, the stack's termination protection last."""
    for resource in protections.resources:
        KINDS[resource.resource_type].turn_off(aws, resource.physical_id)
        ui.info(f"{resource}: deletion protection off")
    if protections.termination:
        aws.client("cloudformation").update_termination_protection(StackName=protections.stack,
                                                                   EnableTerminationProtection=False)
        ui.info(f"{protections.stack}: termination protection off")
