"""The containers of the ECS tasks the endpoint starts, played by the tests.

The endpoint runs no containers: it holds every task RUNNING until StopTask (local_aws/containers.py).  A
`Containers` player watches a cluster; for each task it runs the container as Fargate would, in a process of
its own: the image's code (docker/app, `python -m automl_example.<service> <command>`) with the task
definition's environment, the run's overrides, and the session of the task role, which the endpoint judges
like any other caller.  Then the container exits with the process's status, and ECS stops the task.  A test can
stand in its own step for a service (a train that publishes a poor score).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

APP = Path(__file__).resolve().parents[2] / "docker" / "app"


class Containers:
    def __init__(self, aws, clients, scratch: Path):
        self.aws, self.clients, self.scratch = aws, clients, scratch
        self.ran: list[tuple[str, int]] = []           # (service, exit status), in the order the tasks ran
        self.errors: list[BaseException] = []
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def play(self, cluster: str, stand_ins: dict[str, Callable[[dict], int]] | None = None) -> "Containers":
        """Run every task the cluster starts from now on until `stop()`; `stand_ins` maps a service to a function
        of the container's environment that returns its exit status."""
        self.aws.hold_tasks(True)
        self._thread = threading.Thread(target=self._watch, args=(cluster, stand_ins or {}), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        if self._thread:
            self._thread.join(timeout=600)
        errors, self.errors = self.errors, []
        if errors:
            raise errors[0]

    def _watch(self, cluster: str, stand_ins: dict) -> None:
        ecs, seen = self.clients("ecs"), set()
        while not self._done.is_set():
            try:
                for arn in ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]:
                    if arn not in seen:
                        seen.add(arn)
                        self._run(ecs, cluster, ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0],
                                  stand_ins)
            except Exception as failure:      # shown by stop(), in the test's thread
                self.errors.append(failure)
                return
            self._done.wait(0.05)

    def _run(self, ecs, cluster: str, task: dict, stand_ins: dict) -> None:
        definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
        container = definition["containerDefinitions"][0]
        override = next((o for o in task.get("overrides", {}).get("containerOverrides", [])
                         if o.get("name") == container["name"]), {})
        environment = {v["name"]: v["value"] for v in container.get("environment", [])}
        environment.update({v["name"]: v["value"] for v in override.get("environment", [])})
        session = self.aws.service_credentials(definition["taskRoleArn"], "ecs-tasks.amazonaws.com", task["taskArn"])
        environment.update({
            "AWS_ACCESS_KEY_ID": session["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": session["SecretAccessKey"],
            "AWS_SESSION_TOKEN": session["SessionToken"], "AWS_ENDPOINT_URL": self.aws.url,
            "AWS_DEFAULT_REGION": self.aws.region, "SCRATCH": str(self.scratch), "PYTHONPATH": str(APP),
            "PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
        service = environment["SERVICE"]
        if service in stand_ins:
            status = stand_ins[service](environment)
        else:
            command = override.get("command") or container.get("command") or []
            status = subprocess.run([sys.executable, "-m", f"automl_example.{service}", *command], env=environment,
                                    cwd=self.scratch, timeout=600).returncode
        self.ran.append((service, status))
        self.aws.container_exits(cluster, task["taskArn"], status)
