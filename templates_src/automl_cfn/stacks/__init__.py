"""One module per concern, each a function returning a StackTemplate; root wires them."""

from ..lazy_imports import defer_troposphere_extras

defer_troposphere_extras()   # before any module here imports troposphere

# Build order: a child may consume outputs only of children before it.
# storage precedes endpoint: the load balancer's log bucket policy must exist first.
CHILDREN = ("security", "network", "storage", "endpoint", "registry", "monitoring", "iam", "compute", "pipeline")

# Children created only under a root condition.
CHILD_CONDITIONS = {"pipeline": "StepFunctionsEnabled", "network": "CreatesVpc"}

# What a conditional child's outputs are where the child does not exist: the root wires these instead
# (an existing VPC's IDs come in as parameters; its tasks run in its private subnets).
CHILD_FALLBACKS = {
    "network": {
        "VpcId": ("parameter", "ExistingVpcId"),
        "VpcCidrBlock": ("parameter", "ExistingVpcCidr"),
        "PublicSubnets": ("parameter", "ExistingPublicSubnetIds"),
        "PrivateSubnets": ("parameter", "ExistingPrivateSubnetIds"),
        "TaskSubnets": ("parameter", "ExistingPrivateSubnetIds"),
        "AssignPublicIp": ("value", "DISABLED"),
        "EndpointSecurityGroupId": ("value", "none"),
    },
}


def build_children() -> dict:
    """name -> StackTemplate for every child, in build order."""
    from importlib import import_module

    return {name: import_module(f"{__name__}.{name}").build() for name in CHILDREN}
