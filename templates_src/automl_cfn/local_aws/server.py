"""The server: moto's WSGI app behind a small middleware that counts AWS requests, injects throttling for
fault tests and serves the endpoint's own API under /_automl/ (control.py lists it).  POST /moto-api/reset
forgets every resource, strict mode's stacks, refusals and deliveries included.
"""

from __future__ import annotations

import gc
import io
import json
import os
import sys
import threading
from urllib.parse import parse_qs

DEFAULT_PORT = 4566
PORT_RANGE = (1, 65535)


def keep_imports() -> None:
    """moto imports each service's backend on its first request, and those modules, classes and tables
    stay for the server's life: frozen, the collector stops walking them again and again (it spent
    0.4 s of a first deploy's requests doing so, over a thousand collections).  Whatever else is alive
    at that moment stays too, which happens once per newly imported service.
    Test: test_the_endpoint_leaves_what_it_imports_out_of_garbage_collection."""
    gc.freeze()


class CountingApp:
    """WSGI middleware: counts AWS requests, injects throttling, serves /_automl/."""

    def __init__(self, app, on_reset=None):
        self.app = app
        self.on_reset = on_reset
        self.count = 0
        self.throttles: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_automl/"):
            return self.control(environ, start_response, path)
        if path.startswith("/moto-api"):
            if path.startswith("/moto-api/reset") and self.on_reset:
                self.on_reset()
            return self.app(environ, start_response)
        with self.lock:
            self.count += 1
        if self.throttles:
            action = self.action_of(environ)
            with self.lock:
                left = self.throttles.get(action, 0)
                if left:
                    self.throttles[action] = left - 1
            if left:
                return self.throttled(start_response)
        modules = len(sys.modules)
        response = self.app(environ, start_response)
        if len(sys.modules) != modules:
            keep_imports()
        return response

    def control(self, environ, start_response, path):
        from .control import answer

        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        method = environ.get("REQUEST_METHOD", "GET")
        found = answer(path, method, query) or self.counters(path, method, query)
        status, document = found
        body = json.dumps(document).encode()
        reasons = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}
        start_response(f"{status} {reasons.get(status, 'Error')}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def counters(self, path: str, method: str, query: dict) -> tuple[int, object]:
        """/_automl/requests, .../reset and /_automl/throttle: this middleware's own state."""
        if path not in ("/_automl/requests", "/_automl/requests/reset", "/_automl/throttle"):
            return 404, {"error": f"no such path {path!r} (see local_aws/control.py)"}
        if path != "/_automl/requests" and method != "POST":
            return 405, {"error": f"{path} takes POST"}
        with self.lock:
            if path == "/_automl/requests/reset":
                self.count = 0
                self.throttles.clear()
            elif path == "/_automl/throttle":
                action, count = query.get("action", ""), query.get("count", "1")
                if not action or not count.isascii() or not count.isdigit():
                    return 400, {"error": "parameters: action=<API action> and count=<non-negative integer>"}
                self.throttles[action] = int(count)
            return 200, {"count": self.count, "throttles": self.throttles, "frozen": gc.get_freeze_count()}

    @staticmethod
    def action_of(environ) -> str:
        """The API action: X-Amz-Target (JSON protocols) or Action= (query protocol, body restored)."""
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return target.rsplit(".", 1)[-1]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if "Action" in query:
            return query["Action"][0]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if not length or "x-www-form-urlencoded" not in environ.get("CONTENT_TYPE", ""):
            return ""
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        return parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]

    @staticmethod
    def throttled(start_response):
        body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                b"<Message>Rate exceeded</Message></Error><RequestId>0</RequestId></ErrorResponse>")
        start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
        return [body]


def serve(port: int, host: str = "127.0.0.1", quiet: bool = False, strict: bool = True) -> None:
    """Run the patched endpoint in the foreground until interrupted."""
    from ..batch_gc import collector_paused

    with collector_paused():   # moto's imports keep what they build: nothing to collect (0.4 s of a start)
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import run_simple

        app = _app(port, quiet, strict)
    keep_imports()
    run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)


def _app(port: int, quiet: bool, strict: bool) -> "CountingApp":
    """moto's WSGI app, patched (and in strict mode with the strict engine), behind CountingApp."""
    import logging

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from . import patches

    os.environ.setdefault("MOTO_PORT", str(port))
    patches.apply(strict)
    on_reset = None
    if strict:
        from . import strict as strict_mode

        strict_mode.install()
        on_reset = strict_mode.reset
    if quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    return CountingApp(DomainDispatcherApplication(create_backend_app), on_reset=on_reset)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="automl-cfn local-aws", description="Run the local AWS endpoint.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--quiet", action="store_true", help="log errors only")
    parser.add_argument("--lenient", action="store_true",
                        help="plain moto (with its defects patched) instead of strict CloudFormation rules")
    args = parser.parse_args(argv)
    from ..errors import UserError

    try:
        run(args.port, args.quiet, strict=not args.lenient)
    except UserError as exc:
        print(f"automl-cfn local-aws: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


def check_port(port: int) -> None:
    from ..errors import UserError

    low, high = PORT_RANGE
    if not low <= port <= high:
        raise UserError(f"--port {port}: not a TCP port; allowed: {low} to {high}")


def check_port_free(port: int, host: str = "127.0.0.1") -> None:
    """Bind once before the banner, so a taken port is one line, not a banner and then a traceback."""
    import errno
    import socket

    from ..errors import UserError

    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"--port {port}: already in use on {host}; stop what listens there, or choose "
                                "another port") from None
            raise UserError(f"--port {port}: cannot listen on {host} ({exc.strerror})") from None


def run(port: int, quiet: bool, strict: bool = True) -> None:
    from ..errors import UserError
    from .handle import environment

    check_port(port)
    check_port_free(port)
    try:
        import moto  # noqa: F401
    except ImportError:
        raise UserError("the local AWS endpoint needs moto: pip install -e '.[local]'") from None
    if not quiet:
        mode = "strict CloudFormation rules" if strict else "lenient: plain moto"
        print(f"local AWS endpoint (moto, {mode}) on http://127.0.0.1:{port}; use it with:")
        for key, value in environment(port).items():
            print(f"  export {key}={value}")
        print("Ctrl-C stops it.", flush=True)
    serve(port, quiet=quiet, strict=strict)
