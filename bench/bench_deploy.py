"""Deploy against the local endpoint: `automl-cfn deploy` from nothing versus a
minimal boto3 change-set script on the same templates (target ratio <= 1.3),
an unchanged redeploy (targets <= 0.5 s and <= 3 requests), and the API calls each makes."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from common import BIN, ROOT, report

from automl_cfn.local_aws import LocalAws

RUNS = 7   # each deploy against a reset endpoint; 3 runs scattered the ratio by +-0.1


def timed(argv, env) -> float:
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    with LocalAws() as aws:
        env = {**os.environ, **aws.env}
        ours_cmd = [str(BIN / "automl-cfn"), "deploy", "--env", "dev", "--yes"]
        base_cmd = [sys.executable, str(ROOT / "bench" / "minimal_deploy.py"), "dev"]
        samples = {"ours": [], "base": [], "redeploy": []}
        calls = {}
        for _ in range(RUNS):
            aws.reset()
            samples["base"].append(timed(base_cmd, env))
            calls["base"] = aws.requests()
            aws.reset()
            samples["ours"].append(timed(ours_cmd, env))
            calls["ours"] = aws.requests()
            aws._call("/_automl/requests/reset", "POST")
            samples["redeploy"].append(timed(ours_cmd, env))
            calls["redeploy"] = aws.requests()
    ours, base, redeploy = (statistics.median(samples[k]) for k in ("ours", "base", "redeploy"))
    report("minimal boto3 change-set deploy (from nothing)", base, "s")
    report("automl-cfn deploy --env dev (from nothing)", ours, "s")
    report("deploy / minimal script", ours / base, "x", "<= 1.3", ours / base <= 1.3)
    report("unchanged redeploy", redeploy, "s", "<= 0.5", redeploy <= 0.5)
    report("API calls, unchanged redeploy", calls["redeploy"], "req", "<= 3", calls["redeploy"] <= 3)
    for key, label in (("base", "API calls, minimal script"), ("ours", "API calls, automl-cfn deploy (first)")):
        report(label, calls[key], "req")


if __name__ == "__main__":
    main()
