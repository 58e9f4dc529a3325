"""Upload of 500 small files plus one 64 MB file to the local endpoint:
`automl-cfn upload` versus `aws s3 sync` from the awscli package (target
ratio <= 1.0), and a re-sync of the unchanged tree (target < 2 s).

awscli pins its own botocore, so it lives in its own virtual environment
(.bench/awscli), created on first run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from common import BIN, ROOT, report

from automl_cfn.local_aws import LocalAws

AWSCLI_VENV = ROOT / ".bench" / "awscli"
RUNS = 5   # 3 scattered the ratio by +-0.05 around its target


def awscli() -> Path:
    aws = AWSCLI_VENV / "bin" / "aws"
    if not aws.exists():
        subprocess.run([sys.executable, "-m", "venv", str(AWSCLI_VENV)], check=True)
        subprocess.run([str(AWSCLI_VENV / "bin" / "pip"), "install", "--quiet", "awscli"], check=True)
    return aws


def make_tree(root: Path) -> None:
    for index in range(500):
        folder = root / f"part-{index // 50:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"rows-{index:03d}.csv").write_bytes(os.urandom(2048))
    (root / "big.bin").write_bytes(os.urandom(64 * 1024 * 1024))


def empty(s3, bucket: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        items = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) +
                 page.get("DeleteMarkers", [])]
        for start in range(0, len(items), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": items[start:start + 1000], "Quiet": True})


def timed(argv, env) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {result.stderr[-1500:]}")
    return time.perf_counter() - start


def main() -> None:
    aws_cli = awscli()
    with LocalAws() as endpoint, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **endpoint.env}
        subprocess.run([str(BIN / "automl-cfn"), "deploy", "--env", "dev", "--yes"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        tree = Path(tmp) / "tree"
        make_tree(tree)
        s3 = boto3.client("s3", endpoint_url=endpoint.url, region_name=endpoint.region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        bucket = "automl-dev-data-123456789012-us-east-1"
        ours_cmd = [str(BIN / "automl-cfn"), "upload", "--env", "dev", "--source", str(tree)]
        cli_cmd = [str(aws_cli), "s3", "sync", str(tree), f"s3://{bucket}/data/", "--only-show-errors"]
        samples = {"ours": [], "awscli": [], "resync": []}
        for _ in range(RUNS):
            empty(s3, bucket)
            samples["awscli"].append(timed(cli_cmd, env))
            empty(s3, bucket)
            samples["ours"].append(timed(ours_cmd, env))
            samples["resync"].append(timed(ours_cmd, env))
    ours, theirs, resync = (statistics.median(samples[k]) for k in ("ours", "awscli", "resync"))
    report("aws s3 sync, 500 files + 64 MB", theirs, "s")
    report("automl-cfn upload, 500 files + 64 MB", ours, "s")
    report("upload / aws s3 sync", ours / theirs, "x", "<= 1.0", ours / theirs <= 1.0)
    report("re-sync of the unchanged tree", resync, "s", "< 2", resync < 2)


if __name__ == "__main__":
    main()
