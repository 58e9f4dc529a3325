"""predict: `batch` scores the held-out split into predictions/; `serve` (the prediction service behind
the load balancer) answers GET <health path> and POST /predict {"instances": [[30 numbers], ...]}.

It fails closed: with API_KEY set (the ECS secret), /predict needs the header x-api-key equal to it, or to
API_KEY_PREVIOUS (the key before a rotation, which the service accepts until `automl-cfn rotate-api-key
--finish`); without a key, /predict answers only where the task definition declares the endpoint open
(ALLOW_UNAUTHENTICATED=true, which the templates set only where the settings allow an endpoint without a
key).  Otherwise /predict and the health check answer 503, so a load balancer never sends it traffic and a
deployment of it rolls back."""

from __future__ import annotations

import hmac
import io
import json
import os
import sys
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import joblib

from . import data
from .store import Store

# The task definition's declaration that the endpoint needs no key (stacks/compute.py sets it).
OPEN_ENDPOINT_VARIABLE = "ALLOW_UNAUTHENTICATED"
REFUSING = "no API_KEY, and the task definition does not declare the endpoint open: refusing predictions"


def load_model(store: Store):
    return joblib.load(io.BytesIO(store.get(f"{store.models}model.joblib")))


def batch(store: Store | None = None) -> str:
    store = store or Store()
    model = load_model(store)
    _, x_test, _, _ = data.load()
    rows = ["row,prediction,probability"] + [
        f"{i},{int(label)},{probability:.4f}"
        for i, (label, probability) in enumerate(zip(model.predict(x_test), model.predict_proba(x_test)[:, 1]))]
    key = f"{store.predictions}{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.csv"
    where = store.put(key, ("\n".join(rows) + "\n").encode())
    print(f"predict: {len(rows) - 1} predictions -> {where}")
    return key


def key_accepted(given: str, keys) -> bool:
    """`given` equals one of the keys.  Each comparison takes constant time and all of them run, so the time
    tells neither the key nor which one matched; an empty or absent key accepts nothing."""
    matches = [hmac.compare_digest(given.encode(), key.encode()) for key in keys if key]
    return any(matches)


def api_keys(environ) -> tuple[str | None, str | None]:
    """The key and the previous key, as ECS injects them from the task definition's secrets."""
    return environ.get("API_KEY") or None, environ.get("API_KEY_PREVIOUS") or None


def authentication(environ) -> tuple[str | None, bool]:
    """(the API key, whether the endpoint is declared open) from the container's environment."""
    return environ.get("API_KEY") or None, environ.get(OPEN_ENDPOINT_VARIABLE, "") == "true"


def handler(model, features: int, health_path: str, api_key: str | None, open_endpoint: bool = False,
            previous_api_key: str | None = None):
    refusing = not api_key and not open_endpoint

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path != health_path:
                self._answer(404, {"error": "not found"})
            elif refusing:
                self._answer(503, {"status": REFUSING})
            else:
                self._answer(200, {"status": "ok"})

        def do_POST(self):  # noqa: N802
            if self.path != "/predict":
                return self._answer(404, {"error": "not found"})
            if refusing:
                return self._answer(503, {"error": REFUSING})
            if api_key and not key_accepted(self.headers.get("x-api-key", ""), (api_key, previous_api_key)):
                return self._answer(401, {"error": "missing or wrong x-api-key"})
            try:
                length = int(self.headers.get("Content-Length", "0"))
                instances = json.loads(self.rfile.read(min(length, 1_000_000)))["instances"]
                if not instances or any(len(row) != features for row in instances):
                    raise ValueError(f"each instance needs {features} numbers")
                labels = model.predict(instances).tolist()
            except (ValueError, KeyError, TypeError) as exc:
                return self._answer(400, {"error": str(exc)})
            self._answer(200, {"predictions": labels})

        def log_message(self, format, *args):  # one line per request on stdout, for CloudWatch Logs
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


def serve(store: Store | None = None) -> None:
    store = store or Store()
    port = int(os.environ.get("PORT", "8080"))
    health_path = os.environ.get("HEALTH_CHECK_PATH", "/health")
    api_key, open_endpoint = authentication(os.environ)
    server = ThreadingHTTPServer(("0.0.0.0", port), handler(load_model(store), data.feature_count(), health_path,
                                                            api_key, open_endpoint,
                                                            previous_api_key=api_keys(os.environ)[1]))
    access = "x-api-key required" if api_key else "open endpoint" if open_endpoint else REFUSING
    print(f"predict: serving on port {port} (health {health_path}; {access})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if mode not in ("serve", "batch"):
        sys.exit(f"predict: unknown mode {mode!r}; use serve or batch")
    batch() if mode == "batch" else serve()
