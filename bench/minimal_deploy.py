"""The baseline for bench_deploy: the least a boto3 script must do to deploy
the same nested templates through a change set (upload the children, create
the change set, wait, execute, wait).  Usage: minimal_deploy.py ENV"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "minimal-deploy-templates"


def main(env: str) -> None:
    s3, cfn = boto3.client("s3"), boto3.client("cloudformation")
    s3.create_bucket(Bucket=BUCKET)
    for path in sorted((ROOT / "generated" / "templates").glob("*.json")):
        s3.put_object(Bucket=BUCKET, Key=f"t/{path.name}", Body=path.read_bytes())
    parameters = json.loads((ROOT / "generated" / "parameters" / f"{env}.json").read_text())
    parameters += [{"ParameterKey": "TemplatesBucket", "ParameterValue": BUCKET},
                   {"ParameterKey": "TemplatesPrefix", "ParameterValue": "t/"}]
    name = f"minimal-{env}"
    change_set = cfn.create_change_set(
        StackName=name, ChangeSetName="minimal", ChangeSetType="CREATE", Parameters=parameters,
        TemplateURL=f"https://{BUCKET}.s3.us-east-1.amazonaws.com/t/root.json",
        Capabilities=["CAPABILITY_NAMED_IAM"], IncludeNestedStacks=True,
    )
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=change_set["Id"])
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    cfn.get_waiter("stack_create_complete").wait(StackName=name)


if __name__ == "__main__":
    main(sys.argv[1])
