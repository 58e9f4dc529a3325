"""A handle for tests, benchmarks and demos: start the endpoint in a child
process, reset it, count its requests, inject throttling, stop it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field

REGION = "us-east-1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def environment(port: int, region: str = REGION) -> dict[str, str]:
    """What a shell needs to point boto3 (and the AWS CLI) at the endpoint."""
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        **DUMMY_CREDENTIALS,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalAws:
    """The endpoint in a child process.  strict=False gives plain moto (its defects patched)."""

    port: int = field(default_factory=free_port)
    region: str = REGION
    strict: bool = True
    process: subprocess.Popen | None = None
    log_path: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return environment(self.port, self.region)

    def start(self, timeout: float = 60.0) -> "LocalAws":
        import tempfile

        # Server errors go to a file, never to a pipe nobody reads (which would block the server).
        log = tempfile.NamedTemporaryFile(prefix=f"local-aws-{self.port}-", suffix=".log", delete=False)
        self.log_path = log.name
        argv = [sys.executable, "-m", "automl_cfn.local_aws", "--port", str(self.port), "--quiet"]
        self.process = subprocess.Popen(argv + ([] if self.strict else ["--lenient"]),
                                        stdout=subprocess.DEVNULL, stderr=log)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local AWS endpoint exited: {self.log_tail()}")
            try:
                self.requests()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"local AWS endpoint did not answer on port {self.port} within {timeout:.0f} s")

    def _call(self, path: str, method: str = "GET") -> bytes:
        request = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def reset(self) -> None:
        """Forget every resource (moto's reset, strict stacks included) and zero the request counter."""
        self._call("/moto-api/reset", "POST")
        self._call("/_automl/requests/reset", "POST")

    def requests(self) -> int:
        """AWS requests served since the last reset."""
        return json.loads(self._call("/_automl/requests"))["count"]

    def throttle(self, action: str, count: int) -> None:
        """Answer the next `count` requests for `action` with a Throttling error."""
        self._call(f"/_automl/throttle?action={action}&count={count}", "POST")

    def fire_schedule(self, name: str, group: str = "default", account: str = "123456789012") -> dict:
        """Invoke one EventBridge schedule now, as Scheduler would: {"started": ...}, {"dead_letter": ...} or
        {"lost": reason}."""
        from urllib.parse import urlencode

        query = urlencode({"name": name, "group": group, "account": account, "region": self.region})
        return json.loads(self._call(f"/_automl/scheduler/fire?{query}", "POST"))

    def deliver_config_history(self, region: str | None = None, account: str = "123456789012") -> dict:
        """One AWS Config history delivery of the region's recorder, as its role: {"delivered": [keys]}, with
        "refused" (AWS's message) or "idle" (nothing records) when nothing was written."""
        from urllib.parse import urlencode

        query = urlencode({"account": account, "region": region or self.region})
        return json.loads(self._call(f"/_automl/config/deliver?{query}", "POST"))

    def service_credentials(self, role_arn: str, service: str, source_arn: str = "") -> dict:
        """The session `service` gets when it assumes `role_arn` (AccessKeyId, SecretAccessKey,
        SessionToken, Arn); raises PermissionError when the role's trust policy refuses the service."""
        from urllib.error import HTTPError
        from urllib.parse import urlencode

        query = urlencode({"role": role_arn, "service": service, "source": source_arn})
        try:
            return json.loads(self._call(f"/_automl/credentials?{query}", "POST"))
        except HTTPError as exc:
            raise PermissionError(json.loads(exc.read())["error"]) from None

    def refusals(self) -> list[dict]:
        """Every request the endpoint refused since the last reset, with AWS's message."""
        return json.loads(self._call("/_automl/refusals"))["refusals"]

    def deliveries(self) -> list[dict]:
        """Every delivery between services since the last reset: channel, source, target, delivered, detail."""
        return json.loads(self._call("/_automl/deliveries"))["deliveries"]

    def hold_tasks(self, on: bool = True) -> None:
        """Keep ECS tasks RUNNING until StopTask (a test plays their containers); reset lets them go."""
        self._call(f"/_automl/ecs/hold-tasks?on={'true' if on else 'false'}", "POST")

    def container_exits(self, cluster: str, task: str, code: int) -> None:
        """The task's essential container exits with `code`: ECS stops the task."""
        from urllib.parse import urlencode

        query = urlencode({"cluster": cluster, "task": task, "code": code, "region": self.region})
        self._call(f"/_automl/ecs/exit?{query}", "POST")

    def pass_days(self, days: int) -> list[str]:
        """S3 lifecycle as if `days` days had passed: returns s3://bucket/key of every object that expired."""
        return json.loads(self._call(f"/_automl/s3/lifecycle?days={int(days)}", "POST"))["expired"]

    def flush_pipes(self) -> list[dict]:
        """End every EventBridge Pipes batching window now: each pipe's queued batch starts its target."""
        return json.loads(self._call("/_automl/pipes/flush", "POST"))["started"]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, size: int = 4000) -> str:
        """The end of the server's error log (tracebacks of failed requests)."""
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(self.log_path) - size))
            return handle.read().decode("utf-8", "replace")

    def __enter__(self) -> "LocalAws":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
