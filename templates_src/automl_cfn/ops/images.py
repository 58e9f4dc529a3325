"""build: docker build each image, tag it, log in to ECR, push.

Docker is driven through its CLI; ECR login uses get_authorization_token,
so no AWS CLI is needed.  The tag is the git short SHA of the build context
unless --tag is given.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import ui
from ..errors import AwsError, UserError
from ..model import REPOSITORIES, SCRATCH_PATH
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
        for warning in dockerfile_warnings(dockerfile.read_text(), spec.build_args, settings.container_user):
            ui.info(f"warning: {spec.dockerfile} ({spec.repository}): {warning}")
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


def dockerfile_warnings(text: str, build_args: dict, container_user: str) -> list[str]:
    """What makes a container unable to run as the task definitions run it: as root, or with nowhere
    to write.  Read from the Dockerfile's last stage (ARG defaults and build arguments substituted);
    a base image's USER or VOLUME is not seen."""
    lines = re.sub(r"\\\n", " ", text).splitlines()
    instructions = [line.strip().split(None, 1) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    last_from = max((i for i, parts in enumerate(instructions) if parts[0].upper() == "FROM"), default=0)
    values = {k: str(v) for k, v in build_args.items()}
    user, volumes = None, []
    for parts in instructions[last_from:]:
        keyword, rest = parts[0].upper(), parts[1] if len(parts) > 1 else ""
        if keyword == "ARG" and "=" in rest:
            name, default = rest.split("=", 1)
            values.setdefault(name.strip(), default.strip().strip('"'))
        rest = re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), m.group(0)), rest)
        if keyword == "USER":
            user = rest.strip()
        elif keyword == "VOLUME":
            volumes += json.loads(rest) if rest.strip().startswith("[") else rest.split()
    warnings = []
    if user is None or user.split(":")[0] in ("root", "0"):
        warnings.append(f"the image runs as root (no USER in its last stage, or USER root); the tasks run as "
                        f"container_user {container_user}, so add a USER that owns {SCRATCH_PATH}")
    elif user != container_user:
        warnings.append(f"the image's USER {user} is not container_user {container_user}: the scratch directory "
                        f"{SCRATCH_PATH} must belong to the user the task runs as")
    if SCRATCH_PATH not in [v.rstrip("/") or "/" for v in volumes]:
        warnings.append(f"no VOLUME {SCRATCH_PATH}: Fargate mounts the scratch volume root-owned (mode 0755), so a "
                        f"non-root container can write nowhere; create {SCRATCH_PATH} owned by the user and declare "
                        f"VOLUME [\"{SCRATCH_PATH}\"]")
    return warnings


def login(deployed: Deployed, docker_cli: str) -> None:
    """docker login to the registry with a token from ecr:GetAuthorizationToken."""
    data = deployed.client("ecr").get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    registry = data["proxyEndpoint"]
    run([docker_cli, "login", "--username", user, "--password-stdin", registry], stdin=password)
