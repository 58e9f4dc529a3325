"""Checks a deploy runs before it creates a change set.

The image check: the task definitions must not point at a tag that was
never pushed (the Terraform README's "image not found in ECR").
"""

from __future__ import annotations

from ..errors import RefusedError
from ..model import REPOSITORIES, SERVICES
from .aws import error_code


def missing_images(ecr, prefix: str, tag: str, repositories=REPOSITORIES) -> list[str]:
    """Repositories named `<prefix>-<repository>` that do not hold `tag`."""
    missing = []
    for repository in repositories:
        name = f"{prefix}-{repository}"
        try:
            ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])
        except Exception as exc:
            if error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
                missing.append(name)
                continue
            raise
    return missing


def check_images(ecr, prefix: str, tag: str, env_flag: str) -> None:
    """Refuse to point the task definitions at a tag that was never pushed."""
    if not tag:
        return
    missing = missing_images(ecr, prefix, tag, SERVICES)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise RefusedError(f"image tag {tag!r} is not in ECR repository {missing[0]}{more}; push it with "
                           f"'automl-cfn build {env_flag} --tag {tag} --push', or pass --skip-image-check")
