"""What every stack verb acts on: the settings, the AWS handle, the committed
templates; and the options of deploy, diff and release."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .. import synth
from ..model import MANAGED_BY
from ..settings import Settings
from .aws import Aws
from .cfn import describe


@dataclass
class DeployOptions:
    yes: bool = False
    execute: bool = True
    express: bool | None = None          # None: the settings decide
    output: str = "text"                 # text | json | markdown
    allow_replace: tuple[str, ...] = ()
    wait: bool = False                   # wait for an operation already in progress
    skip_image_check: bool = False
    reset: bool = False                  # drop settings an earlier --var set, back to the settings file
    force_unlock: bool = False
    release_tag: str | None = None       # release: change only the image tag of what is deployed
    force: bool = False                  # a change set even when nothing differs
    poll: float = 2.0


@dataclass
class Target:
    """The stack a verb acts on."""

    settings: Settings
    aws: Aws
    env_flag: str = ""
    project_dir: Path = Path(".")
    file_settings: Settings | None = None     # the settings file alone, without --var
    var_names: frozenset[str] = frozenset()   # the settings this command's --var set

    @property
    def name(self) -> str:
        return self.settings.stack_name

    @property
    def cfn(self):
        return self.aws.client("cloudformation")

    @property
    def resume_hint(self) -> str:
        return f"automl-cfn status {self.env_flag} --watch".replace("  ", " ")

    def describe(self) -> dict | None:
        return describe(self.cfn, self.name)

    @cached_property
    def files(self) -> dict[str, bytes]:
        """The committed templates (generated/templates), read once per verb."""
        return synth.read_generated(self.project_dir / "generated")

    @cached_property
    def documents(self) -> dict[str, dict]:
        return synth.parse_documents(self.files)

    @cached_property
    def account(self) -> str:
        return self.aws.account_id()

    @cached_property
    def values(self) -> dict[str, str]:
        """The template parameters for these settings, with what only the account knows filled in: an
        existing VPC's CIDR block (the load balancer's security group admits that range)."""
        from ..errors import RefusedError
        from ..parameters import parameter_values
        from .aws import error_code

        values = {**parameter_values(self.settings), "ExistingVpcCidr": ""}
        vpc_id = self.settings.existing_vpc_id
        if vpc_id:
            try:
                vpcs = self.aws.client("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
            except Exception as exc:
                if error_code(exc) not in ("InvalidVpcID.NotFound", "InvalidVpcID.Malformed"):
                    raise
                vpcs = []
            if not vpcs:
                raise RefusedError(f"existing_vpc_id {vpc_id} does not exist in {self.aws.region}; check the ID and "
                                   "the region")
            values["ExistingVpcCidr"] = vpcs[0]["CidrBlock"]
        return values

    def tags(self) -> list[dict[str, str]]:
        return [{"Key": "Project", "Value": self.settings.project_name},
                {"Key": "Environment", "Value": self.settings.environment},
                {"Key": "ManagedBy", "Value": MANAGED_BY}]
