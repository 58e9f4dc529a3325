"""taskcat, offline against the local endpoint or for real against an account.

`make taskcat-local`: start the local endpoint, run every test of
.taskcat.yml in taskcat's own virtual environment (its pins conflict with
moto's), with the local-only adjustments on the command line (keep the
stacks for the check, no SigV2-deny bucket policy, which the endpoint
cannot evaluate) and the report stylesheet served offline
(scripts/taskcat/offline.py).  Then check what taskcat does not: that every
test's root stack, in every region, completed with its outputs present.

`make taskcat`: `taskcat test run` as it is, against the account in the
environment's credentials; it says so clearly when there are none.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import AwsError, UserError

PROJECT_PREFIX = "tCaT-automl-cfn-"
# Stacks a test needs before it runs (Quick Start style): template -> stack name, in every region.
FIXTURES = {"tests/taskcat/fixtures/existing-vpc.json": "automl-cfn-taskcat-existing-vpc"}
TASKCAT_VENV = ".venv-taskcat"
OFFLINE_WRAPPER = "scripts/taskcat/offline.py"
# What every test's root stack must output, and what only the pipeline adds.
REQUIRED_OUTPUTS = ("ClusterName", "DataBucketName", "TaskSubnets", "TaskSecurityGroupId", "AssignPublicIp",
                    "OptimizeRepositoryUri", "TrainRepositoryUri", "PredictRepositoryUri", "PipelineRepositoryUri",
                    "OptimizeTaskFamily", "TrainTaskFamily", "PredictTaskFamily", "QuickStartCommands")


@dataclass
class Result:
    test: str
    region: str
    stack: str
    status: str
    missing: list[str]

    @property
    def passed(self) -> bool:
        return self.status == "CREATE_COMPLETE" and not self.missing


def load_config(project: Path) -> dict:
    import yaml

    path = project / ".taskcat.yml"
    if not path.exists():
        raise UserError(f"{path} not found")
    return yaml.safe_load(path.read_text())


def taskcat_python(project: Path) -> Path:
    python = project / TASKCAT_VENV / "bin" / "python"
    if not python.exists():
        raise UserError(f"taskcat's virtual environment {TASKCAT_VENV}/ is missing: run 'make taskcat-venv'")
    return python


def expected(config: dict) -> list[tuple[str, str, bool, bool]]:
    """(test, region, pipeline expected, endpoint expected) for every test and region in the config."""
    project = config.get("project", {})
    default_regions = project.get("regions", [])
    shared = project.get("parameters", {})
    rows = []
    for name, test in config.get("tests", {}).items():
        params = {**shared, **test.get("parameters", {})}
        pipeline = str(params.get("EnableStepFunctions", "false")).lower() == "true"
        endpoint = str(params.get("LoadBalancer", "none")) != "none"
        for region in test.get("regions", default_regions):
            rows.append((name, region, pipeline, endpoint))
    return rows


def check_outputs(config: dict, endpoint_env: dict[str, str]) -> list[Result]:
    import boto3

    results = []
    clients = {}
    for test, region, pipeline, endpoint in expected(config):
        if region not in clients:
            clients[region] = boto3.client("cloudformation", region_name=region,
                                           endpoint_url=endpoint_env.get("AWS_ENDPOINT_URL"),
                                           aws_access_key_id=endpoint_env["AWS_ACCESS_KEY_ID"],
                                           aws_secret_access_key=endpoint_env["AWS_SECRET_ACCESS_KEY"])
        cfn = clients[region]
        stacks = [s for page in cfn.get_paginator("describe_stacks").paginate() for s in page["Stacks"]
                  if s["StackName"].startswith(f"{PROJECT_PREFIX}{test}-") and "ParentId" not in s]
        if not stacks:
            results.append(Result(test, region, "-", "NOT FOUND", list(REQUIRED_OUTPUTS)))
            continue
        stack = stacks[0]
        outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs") or []}
        wanted = REQUIRED_OUTPUTS + (("StateMachineArn",) if pipeline else ())
        missing = [key for key in wanted if not outputs.get(key)]
        if not pipeline and "StateMachineArn" in outputs:
            missing.append("(StateMachineArn present without the pipeline)")
        if endpoint != str(outputs.get("EndpointUrl", "none")).startswith("http"):
            missing.append(f"EndpointUrl ({outputs.get('EndpointUrl')!r})")
        results.append(Result(test, region, stack["StackName"], stack["StackStatus"], missing))
    return results


def deploy_fixtures(project: Path, regions: list[str], client) -> None:
    """Create (or keep) every fixture stack in every region, and wait for it."""
    for template, name in FIXTURES.items():
        body = (project / template).read_text()
        for region in regions:
            cfn = client("cloudformation", region)
            try:
                status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
            except Exception as exc:   # not there yet
                if "does not exist" not in str(exc):
                    raise
                status = None
            if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                continue
            cfn.create_stack(StackName=name, TemplateBody=body, Tags=[{"Key": "Purpose", "Value": "taskcat"}])
            cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 600})


def run_local(project: Path, output_dir: Path | None = None) -> list[Result]:
    """Every .taskcat.yml test against a fresh local endpoint; returns the checked results."""
    from .local_aws import LocalAws

    config = load_config(project)
    python = taskcat_python(project)
    output_dir = output_dir or project / "taskcat_outputs"
    with LocalAws() as endpoint:
        env = {**os.environ, **endpoint.env, "AWS_DEFAULT_REGION": endpoint.region}
        env.pop("AWS_PROFILE", None)
        import boto3

        deploy_fixtures(project, config["project"]["regions"], lambda service, region: boto3.client(
            service, region_name=region, endpoint_url=endpoint.url, aws_access_key_id=endpoint.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=endpoint.env["AWS_SECRET_ACCESS_KEY"]))
        command = [str(python), str(project / OFFLINE_WRAPPER), "test", "run",
                   "--no-delete",          # keep the stacks for the output check below
                   "--enable-sig-v2",      # no SigV2-deny bucket policy: the endpoint cannot evaluate it
                   "--lint-disable",       # 'make lint' runs taskcat lint; this run proves deployment
                   "--minimal-output", "--output-directory", str(output_dir)]
        result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        log = output_dir / "taskcat-run.log"
        output_dir.mkdir(parents=True, exist_ok=True)
        log.write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise AwsError(f"taskcat failed (exit {result.returncode}); log in {log}:\n{tail}")
        return check_outputs(config, endpoint.env)


def run_real(project: Path) -> int:
    """`taskcat test run` against the account in the environment."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    python = taskcat_python(project)
    if os.environ.get("AWS_ENDPOINT_URL"):
        raise UserError("AWS_ENDPOINT_URL is set: 'make taskcat' runs against real AWS; "
                        "use 'make taskcat-local' for the local endpoint")
    try:
        account = boto3.client("sts").get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as exc:
        raise UserError(f"'make taskcat' deploys into a real AWS account and needs credentials "
                        f"({type(exc).__name__}); set AWS_PROFILE or keys, or run 'make taskcat-local' "
                        "to test offline") from None
    print(f"taskcat: testing in account {account}; fixtures first", flush=True)
    deploy_fixtures(project, load_config(project)["project"]["regions"],
                    lambda service, region: boto3.client(service, region_name=region))
    return subprocess.run([str(python), "-m", "taskcat", "test", "run"], cwd=project).returncode


def report(results: list[Result]) -> int:
    width = max((len(r.test) for r in results), default=4)
    for r in results:
        verdict = "PASS" if r.passed else "FAIL"
        extra = f"  missing: {', '.join(r.missing)}" if r.missing else ""
        print(f"{verdict}  {r.test:<{width}}  {r.region:<10} {r.status}{extra}")
    failed = [r for r in results if not r.passed]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    from .errors import UserError as _UserError

    parser = argparse.ArgumentParser(prog="python -m automl_cfn.taskcat_run")
    parser.add_argument("mode", choices=("local", "real"))
    parser.add_argument("--project-dir", default=".")
    args = parser.parse_args(argv)
    project = Path(args.project_dir).resolve()
    try:
        if args.mode == "real":
            return run_real(project)
        return report(run_local(project))
    except _UserError as exc:
        print(f"taskcat: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
