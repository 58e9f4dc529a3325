"""The AWS Config side of the account baseline: which managed rules, and the facts about them.

The rules are chosen here, one line each with the control it checks.  The
facts come from data: the managed rules' trigger type, resource types,
parameters and the regions that lack them from the managed-rule list moto
ships (taken from AWS's documentation), region names from botocore's
endpoint data, and the resource types AWS Config can record from botocore's
Config model.  `python -m automl_cfn.config_rules` extracts them into
`data/config_rules.json` (committed; a test fails when it is stale), so
generating the templates needs neither moto nor botocore's models.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "config_rules.json"

# identifier -> (the control, input parameters)
RULES = {
    "S3_BUCKET_SSL_REQUESTS_ONLY": ("S3 buckets refuse requests without TLS", {}),
    "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED": ("S3 buckets block public access", {}),
    "ECR_PRIVATE_IMAGE_SCANNING_ENABLED": ("ECR repositories scan images on push", {}),
    "ECS_TASK_DEFINITION_NONROOT_USER": ("ECS task definitions run as a user other than root", {}),
    "ECS_CONTAINERS_READONLY_ACCESS": ("ECS containers have a read-only root file system", {}),
    "CW_LOGGROUP_RETENTION_PERIOD_CHECK": ("CloudWatch log groups keep logs for a limited time",
                                           {"MinRetentionTime": "1"}),
    "CMK_BACKING_KEY_ROTATION_ENABLED": ("KMS keys rotate", {}),
    "VPC_FLOW_LOGS_ENABLED": ("VPCs have flow logs", {}),
}


# The global IAM resource types: one configuration item each for the whole account, recorded by every region's
# recorder that lists them (ResourceTypes overrides includeGlobalResourceTypes: false), so the baseline lists
# them in its home region only (config/latest/developerguide/select-resources.html, "Global Resources";
# botocore's RecordingGroup.includeGlobalResourceTypes).
GLOBAL_IAM_TYPES = ("AWS::IAM::Group", "AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::User")

# Where AWS Config can record them: the Regions it served before February 2022.  The set is closed (no later
# Region joins it); AWS names the later ones it refuses them in (Hyderabad, Melbourne, Calgary, Spain, Zurich,
# Tel Aviv, UAE; every Region opened since is later still).  Source: AWS::Config::ConfigurationRecorder
# RecordingGroup, IncludeGlobalResourceTypes (AWSCloudFormation/latest/UserGuide/
# aws-properties-config-configurationrecorder-recordinggroup.html).
GLOBAL_IAM_REGIONS = (
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
    "ap-southeast-2", "ap-southeast-3", "ca-central-1", "eu-central-1", "eu-north-1", "eu-south-1", "eu-west-1",
    "eu-west-2", "eu-west-3", "me-south-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
    "cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1",
)


def partition(region: str) -> str:
    """The partition a Region belongs to (a home region serves only its own partition's accounts)."""
    for prefix, name in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                         ("us-isof-", "aws-iso-f"), ("us-iso-", "aws-iso"), ("eu-isoe-", "aws-iso-e"),
                         ("eusc-", "aws-eusc")):
        if region.startswith(prefix):
            return name
    return "aws"


@lru_cache(maxsize=1)
def facts() -> dict:
    """{"rules": {identifier: {trigger, resource_types, parameters, unavailable}}, "recordable": [types]}"""
    return json.loads(DATA.read_text())


def extract() -> dict:
    """The facts, from moto's managed-rule list and botocore's endpoint and Config data."""
    import gzip

    import botocore.session
    import moto.config

    managed = json.load(gzip.open(Path(moto.config.__file__).parent / "resources" / "aws_managed_rules.json.gz"))
    managed = managed.get("ManagedRules", managed)
    session = botocore.session.get_session()
    regions = {}
    for partition in session.get_data("endpoints")["partitions"]:
        regions.update({info["description"]: code for code, info in partition["regions"].items()})
    rules = {}
    for identifier in RULES:
        rule = managed[identifier]
        where = rule["AWS Region"]
        unavailable = sorted(code for name, code in regions.items() if where.startswith("All supported AWS regions "
                                                                                        "except") and name in where)
        rules[identifier] = {
            "trigger": rule["Trigger type"],
            "resource_types": [t.strip() for t in rule["Resource Types"].split(",") if t.strip()],
            "parameters": sorted(p["Name"] for p in rule.get("Parameters", [])),
            "unavailable": unavailable,
        }
    recordable = sorted(session.get_service_model("config").shape_for("ResourceType").enum)
    return {"rules": rules, "recordable": recordable}


if __name__ == "__main__":
    DATA.write_text(json.dumps(extract(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA}")
