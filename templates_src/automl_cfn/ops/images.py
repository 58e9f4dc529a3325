"""build: docker build each image, tag it, log in to ECR, push.

Docker is driven through its CLI; ECR login uses get_authorization_token,
so no AWS CLI is needed.  The tag is the git short SHA of the build context
unless --tag is given.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import ui
from ..errors import AwsError, UserError
from ..model import REPOSITORIES
from .context import Deployed, check_repository

INSTALL_DOCKER = "install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop"


@dataclass
class BuildOptions:
    services: tuple[str, ...] = ()
    tag: str | None = None
    push: bool = False


def docker() -> str:
    """The docker CLI, with a daemon answering; else one clear line."""
    found = shutil.which("docker")
    if not found:
        raise UserError(f"docker is not installed (not on PATH): {INSTALL_DOCKER}")
    probe = subprocess.run([found, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise UserError("docker is installed but its daemon is not running or not reachable "
                        "(start Docker, or check DOCKER_HOST): 'docker version' failed")
    return found


def git_short_sha(where: Path) -> str:
    result = subprocess.run(["git", "-C", str(where), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"{where} is not in a git repository with a commit; pass --tag TAG")
    sha = result.stdout.strip()
    dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain"], capture_output=True, text=True)
    if dirty.stdout.strip():
        ui.info(f"note: {where} has uncommitted changes; the image tag {sha} does not describe them exactly")
    return sha


def run(argv: list[str], stdin: str | None = None) -> None:
    ui.info("$ " + " ".join(argv))
    result = subprocess.run(argv, input=stdin, text=True)
    if result.returncode != 0:
        raise AwsError(f"'{' '.join(argv[:2])}' failed with exit code {result.returncode}")


def build(deployed: Deployed, options: BuildOptions) -> str:
    """Build (and push) the chosen images; returns the tag."""
    settings = deployed.target.settings
    project = deployed.target.project_dir
    repositories = [check_repository(s) for s in options.services] or list(REPOSITORIES)
    specs = [settings.image(r) for r in repositories]
    for spec in specs:
        context = project / spec.context
        dockerfile = project / spec.dockerfile
        if not context.is_dir():
            raise UserError(f"images.{spec.repository}.context: {context} is not a directory")
        if not dockerfile.is_file():
            raise UserError(f"images.{spec.repository}.dockerfile: {dockerfile} not found "
                            "(set images: in the settings file)")
    tag = options.tag or git_short_sha(project / specs[0].context)
    docker_cli = docker()
    for spec in specs:
        uri = deployed.repository_uri(spec.repository)
        argv = [docker_cli, "build", "--platform", spec.platform, "-f", str(project / spec.dockerfile),
                "-t", f"{uri}:{tag}"]
        for key, value in sorted(spec.build_args.items()):
            argv += ["--build-arg", f"{key}={value}"]
        run(argv + [str(project / spec.context)])
    if options.push:
        login(deployed, docker_cli)
        for spec in specs:
            run([docker_cli, "push", f"{deployed.repository_uri(spec.repository)}:{tag}"])
        ui.info(f"Pushed {len(specs)} image(s) tagged {tag}. Deploy them with: "
                f"automl-cfn deploy {deployed.target.env_flag} --var image_tag={tag}")
    return tag


def login(deployed: Deployed, docker_cli: str) -> None:
    """docker login to the registry with a token from ecr:GetAuthorizationToken."""
    data = deployed.client("ecr").get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    registry = data["proxyEndpoint"]
    run([docker_cli, "login", "--username", user, "--password-stdin", registry], stdin=password)
