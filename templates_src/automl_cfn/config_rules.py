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
