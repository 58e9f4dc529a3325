"""Where results go: the environment's data bucket, or a folder in the scratch volume."""

from __future__ import annotations

import json
import os
from pathlib import Path

SCRATCH = Path(os.environ.get("SCRATCH", "/tmp"))


class Store:
    def __init__(self, bucket: str | None = None, root: Path | None = None):
        self.bucket = bucket if bucket is not None else os.environ.get("DATA_BUCKET") or None
        self.root = root or SCRATCH / "automl-store"
        self.models = os.environ.get("MODELS_PREFIX", "models/")
        self.predictions = os.environ.get("PREDICTIONS_PREFIX", "predictions/")
        # The one object optimize writes and train reads (optimize's task role may write nothing else).
        self.best_params = os.environ.get("BEST_PARAMS_KEY", f"{self.models}best_params.json")
        self._s3 = None

    def _client(self):
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    def put(self, key: str, body: bytes) -> str:
        if self.bucket:
            self._client().put_object(Bucket=self.bucket, Key=key, Body=body)
            return f"s3://{self.bucket}/{key}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        return str(path)

    def get(self, key: str) -> bytes:
        if self.bucket:
            return self._client().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return (self.root / key).read_bytes()

    def put_json(self, key: str, value) -> str:
        return self.put(key, json.dumps(value, indent=1, sort_keys=True).encode())

    def get_json(self, key: str):
        return json.loads(self.get(key))
