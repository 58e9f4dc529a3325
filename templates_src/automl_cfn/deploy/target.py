"""What every stack verb acts on: the settings, the AWS handle, the committed
templates; and the options of deploy, diff and release."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .. import synth
from ..model import MANAGED_BY
from ..settings import Settings
from .artifacts import ARTIFACTS_TEMPLATE, bootstrap
from .aws import Aws
from .cfn import describe

if TYPE_CHECKING:
    from .releases import Release


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
    release_id: str | None = None             # deploy --release: a published artifact, not generated/
    release_bucket: str | None = None         # where that release was published, when not in this account
    release: Release | None = None            # the release, read and verified (releases.fetch)

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
    def generated(self) -> dict[str, bytes]:
        """The committed templates (generated/templates), read once per verb."""
        return synth.read_generated(self.project_dir / "generated")

    @property
    def artifacts_template(self) -> bytes:
        """The artifacts bucket's stack: account infrastructure, always the checkout's, never a release's."""
        return self.generated[ARTIFACTS_TEMPLATE]

    @cached_property
    def artifacts_bucket(self) -> str:
        """The artifacts bucket of this account and region (its stack created or shared on first use)."""
        return bootstrap(self.aws, self.artifacts_template, self.settings.organization_id)

    @cached_property
    def files(self) -> dict[str, bytes]:
        """What this verb deploys: the committed templates, or the release's."""
        if self.release is not None:
            return {**self.release.files, ARTIFACTS_TEMPLATE: self.artifacts_template}
        return self.generated

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
        from .aws import error_code

        values = {**self.parameters(), "ExistingVpcCidr": "", "TemplatesRegion": ""}
        vpc_id = values.get("ExistingVpcId", "")
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

    def parameters(self) -> dict[str, str]:
        """The template parameters: the settings', or what the release published for this environment."""
        from ..parameters import parameter_values

        if self.release is not None:
            return dict(self.release.environment(self.settings.environment)["parameters"])
        return parameter_values(self.settings)

    def tags(self) -> list[dict[str, str]]:
        if self.release is not None:
            return [dict(tag) for tag in self.release.environment(self.settings.environment)["tags"]]
        return stack_tags(self.settings)


def stack_tags(settings: Settings) -> list[dict[str, str]]:
    """The root stack's tags (CloudFormation passes them to every resource it can tag)."""
    return [{"Key": "Project", "Value": settings.project_name},
            {"Key": "Environment", "Value": settings.environment},
            {"Key": "ManagedBy", "Value": MANAGED_BY}]
