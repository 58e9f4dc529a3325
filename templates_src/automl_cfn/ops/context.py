"""The deployed stack as the day-2 verbs see it: its outputs."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..deploy.read import require_stack, stack_outputs
from ..deploy.target import Target
from ..errors import AwsError, UserError
from ..model import REPOSITORIES, SERVICES, title


@dataclass
class Deployed:
    target: Target
    outputs: dict[str, str]
    parameters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, target: Target) -> "Deployed":
        stack = require_stack(target)
        return cls(target, stack_outputs(stack),
                   {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])})

    def stack_parameter(self, key: str) -> str:
        return self.parameters.get(key, "")

    def get(self, key: str) -> str:
        if key not in self.outputs:
            raise AwsError(f"{self.target.name} has no output {key}; redeploy it with "
                           f"'automl-cfn deploy {self.target.env_flag}'")
        return self.outputs[key]

    @property
    def bucket(self) -> str:
        return self.get("DataBucketName")

    def repository_uri(self, repository: str) -> str:
        return self.get(f"{title(repository)}RepositoryUri")

    def client(self, service: str):
        return self.target.aws.client(service)


def check_service(name: str, allowed=SERVICES, what: str = "service") -> str:
    if name not in allowed:
        import difflib

        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UserError(f"unknown {what} {name[:40]!r}{hint}; allowed: {', '.join(allowed)}")
    return name


def check_repository(name: str) -> str:
    return check_service(name, REPOSITORIES, "image")
