"""`migrate plan`: each Terraform resource of the seed's deployment -> what automl-cfn does with it.

- adopt: stateful; imported in place under its Terraform name (adopted_names).
  Resources that only configure an adopted one (a bucket's versioning, an ECR
  lifecycle policy) go with it.
- replace: stateless; the new stacks create their own, and Terraform destroys
  the old once traffic has moved.
- unknown: not part of the seed's deployment; left alone and listed.

For adopted resources the plan also lists what differs between Terraform's
recorded configuration and what the environment's templates set, so the first
update's changes are known before it runs.  Fully offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import UserError
from ..model import LOG_SOURCES, REPOSITORIES, title
from .tfstate import Instance, State, shown

ADOPT, REPLACE, UNKNOWN = "adopt", "replace", "unknown"

# Stateful Terraform types, and the automl-cfn resource each becomes.
ADOPTED_TYPES = {
    "aws_s3_bucket": ("storage", "DataBucket"),
    "aws_ecr_repository": ("registry", "{}Repository"),
    "aws_cloudwatch_log_group": ("monitoring", "{}LogGroup"),
}
# Types that configure an adopted resource: they go with it (their `bucket` or `repository` names it).
PARTS = {
    "aws_s3_bucket_versioning": "bucket", "aws_s3_bucket_server_side_encryption_configuration": "bucket",
    "aws_s3_bucket_lifecycle_configuration": "bucket", "aws_s3_bucket_public_access_block": "bucket",
    "aws_s3_bucket_policy": "bucket", "aws_s3_bucket_logging": "bucket", "aws_s3_bucket_ownership_controls": "bucket",
    "aws_s3_bucket_intelligent_tiering_configuration": "bucket",
    "aws_ecr_lifecycle_policy": "repository", "aws_ecr_repository_policy": "repository",
    "aws_secretsmanager_secret_version": "secret_id",
}
# Stateless Terraform types -> (stack, CloudFormation type): the new stacks make their own.
REPLACED_TYPES = {
    "aws_vpc": ("network", "AWS::EC2::VPC"), "aws_subnet": ("network", "AWS::EC2::Subnet"),
    "aws_internet_gateway": ("network", "AWS::EC2::InternetGateway"),
    "aws_nat_gateway": ("network", "AWS::EC2::NatGateway"), "aws_eip": ("network", "AWS::EC2::EIP"),
    "aws_route_table": ("network", "AWS::EC2::RouteTable"), "aws_route": ("network", "AWS::EC2::Route"),
    "aws_route_table_association": ("network", "AWS::EC2::SubnetRouteTableAssociation"),
    "aws_vpc_endpoint": ("network", "AWS::EC2::VPCEndpoint"), "aws_flow_log": ("network", "AWS::EC2::FlowLog"),
    "aws_security_group": ("compute", "AWS::EC2::SecurityGroup"),
    "aws_iam_role": ("iam", "AWS::IAM::Role"), "aws_iam_role_policy": ("iam", "AWS::IAM::Role"),
    "aws_iam_role_policy_attachment": ("iam", "AWS::IAM::Role"),
    "aws_ecs_cluster": ("compute", "AWS::ECS::Cluster"),
    "aws_ecs_cluster_capacity_providers": ("compute", "AWS::ECS::ClusterCapacityProviderAssociations"),
    "aws_ecs_task_definition": ("compute", "AWS::ECS::TaskDefinition"),
    "aws_ecs_service": ("compute", "AWS::ECS::Service"),
    "aws_appautoscaling_target": ("compute", "AWS::ApplicationAutoScaling::ScalableTarget"),
    "aws_appautoscaling_policy": ("compute", "AWS::ApplicationAutoScaling::ScalingPolicy"),
    "aws_cloudwatch_metric_alarm": ("monitoring", "AWS::CloudWatch::Alarm"),
    "aws_cloudwatch_dashboard": ("monitoring", "AWS::CloudWatch::Dashboard"),
    "aws_sns_topic": ("monitoring", "AWS::SNS::Topic"),
    "aws_sfn_state_machine": ("pipeline", "AWS::StepFunctions::StateMachine"),
}
# Words in an address or a name that pick one of several resources of a type.
HINTS = ("optimize", "train", "predict", "pipeline", "public", "private", "execution", "task", "cpu", "memory")


@dataclass
class Row:
    address: str
    stack: str
    logical_id: str
    action: str
    name: str = ""                                   # the physical name an adopted resource keeps
    differences: list[str] = field(default_factory=list)
    drifts: list[str] = field(default_factory=list)   # differences only a replacement could make
    kind: tuple[str, str | None] | None = None       # (adopted_names kind, key) for an adopted resource
    resource: str = ""                               # the address without instance keys


def plan(state: State, documents: Mapping[str, dict], values: Mapping[str, str], region: str,
         data_bucket: str | None = None) -> list[Row]:
    """One row per resource instance in the state, in state order."""
    from ..evaluate import nested_stacks

    regions = state.regions
    if regions and regions != {region}:
        raise UserError(f"the Terraform state is in {shown(', '.join(sorted(regions)))} but the settings' "
                        f"aws_region is {region}; migrate into the region the resources live in (set aws_region, or "
                        "--region)")
    ours = {name: stack.resources() for name, stack in nested_stacks(documents, values, region).items()}
    bucket = _data_bucket(state, data_bucket)
    rows = []
    adopted_by_name: dict[str, Row] = {}
    for instance in state.instances:
        row = _adopted(instance, bucket, ours)
        if row:
            adopted_by_name[row.name] = row
        rows.append(row)
    for i, instance in enumerate(state.instances):
        if rows[i] is None:
            rows[i] = _part(instance, adopted_by_name, ours) or _replaced(instance, ours) or \
                Row(instance.address, "", "", UNKNOWN)
        rows[i].resource = instance.resource_address
    return rows


def _data_bucket(state: State, chosen: str | None) -> Instance | None:
    buckets = [i for i in state.instances if i.type == "aws_s3_bucket"]
    if chosen:
        found = [b for b in buckets if chosen in (b.address, b.optional_text("bucket", "the bucket's name"))]
        if not found:
            raise UserError(f"--data-bucket {shown(chosen)}: no aws_s3_bucket with that address or name in the "
                            f"state; buckets: {shown(', '.join(b.address for b in buckets) or 'none', 400)}")
        return found[0]
    candidates = [b for b in buckets
                  if "log" not in f"{b.address} {b.optional_text('bucket', 'the bucket name')}".lower()]
    if len(candidates) > 1:
        raise UserError(f"{shown(candidates[0].address)} and {shown(candidates[1].address)} both look like the data "
                        "bucket; name the one to adopt with --data-bucket ADDRESS (the others are left alone)")
    return candidates[0] if candidates else None


def _adopted(instance: Instance, bucket: Instance | None, ours: dict) -> Row | None:
    if instance.type == "aws_secretsmanager_secret":
        # Kept where it is and used by ARN (api_key_secret): CloudFormation imports a secret only by that ARN.
        arn = instance.text("arn", "the secret's ARN, which api_key_secret takes")
        return Row(instance.address, "security", "ApiKeySecret (by ARN)", ADOPT, name=arn, kind=("api_key_secret", None))
    if instance.type not in ADOPTED_TYPES:
        return None
    stack, pattern = ADOPTED_TYPES[instance.type]
    if instance.type == "aws_s3_bucket":
        if instance is not bucket:
            return None
        name, kind = instance.text("bucket", "the bucket's name, which the data bucket keeps"), ("data_bucket", None)
        logical_id = pattern
    else:
        name = instance.text("name", "the name it keeps")
        choices = REPOSITORIES if instance.type == "aws_ecr_repository" else LOG_SOURCES
        key = _pick(choices, instance, name)
        if key is None:
            return None
        kind = ("repositories" if instance.type == "aws_ecr_repository" else "log_groups", key)
        logical_id = pattern.format(title(key))
    row = Row(instance.address, stack, logical_id, ADOPT, name=name, kind=kind)
    return _compared(row, instance, ours)


def _compared(row: Row, instance: Instance, ours: dict) -> Row:
    properties = ours.get(row.stack, {}).get(row.logical_id, {}).get("Properties", {})
    row.differences = [line for compare in COMPARISONS.get(instance.type, ()) for line in compare(instance, properties)]
    row.drifts = [line for line in row.differences if line.endswith(CREATE_ONLY)]
    return row


def _pick(choices, instance: Instance, name: str) -> str | None:
    """The repository or log source an instance is: its for_each key, else its name's last word."""
    if isinstance(instance.index, str) and instance.index in choices:
        return instance.index
    last = name.rstrip("/").replace("/", "-").rsplit("-", 1)[-1]
    if last in choices:
        return last
    return next((c for c in choices if c in instance.name), None)


def _part(instance: Instance, adopted: dict[str, Row], ours: dict) -> Row | None:
    reference = PARTS.get(instance.type)
    if not reference:
        return None
    owner = adopted.get(instance.optional_text(reference, "the name of the resource it configures"))
    if owner is None:
        return None
    return _compared(Row(instance.address, owner.stack, owner.logical_id, ADOPT, name=owner.name), instance, ours)


def _replaced(instance: Instance, ours: dict) -> Row | None:
    if instance.type not in REPLACED_TYPES:
        return None
    stack, cfn_type = REPLACED_TYPES[instance.type]
    candidates = sorted(k for k, v in ours.get(stack, {}).items() if v["Type"] == cfn_type)
    name = instance.attributes.get("name")   # only a hint here: a name of another type is not one
    words = f"{instance.address} {name if isinstance(name, str) else ''}".lower()
    zone = str(instance.index + 1) if isinstance(instance.index, int) else None   # count.index 0 is our zone 1
    score = {c: sum(h in words and h in c.lower() for h in HINTS) + (zone is not None and c.endswith(zone))
             for c in candidates}
    best = max(score.values(), default=0)
    chosen = [c for c in candidates if score[c] == best]
    logical_id = chosen[0] if len(chosen) == 1 else (f"{len(chosen)} {cfn_type.rsplit('::', 1)[1]}s" if chosen
                                                     else "(none in this environment)")
    return Row(instance.address, stack, logical_id, REPLACE)


# -- what differs: Terraform's recorded value -> the template's ---------------

# An import takes the resource as it is.  A create-only property CloudFormation never changes in place, so
# the resource keeps Terraform's value and drifts from the template (until a change would replace it).
CREATE_ONLY = " (create-only: it keeps Terraform's value and drifts from the template; match the setting instead)"


def _differs(label: str, recorded: Any, wanted: Any, instance: Instance, path: str,
             create_only: str | None = None) -> list[str]:
    """One line when Terraform's value and the template's differ; `create_only` names the CloudFormation
    type/property, marked when the provider schema says a change replaces the resource."""
    if recorded is None or str(recorded).lower() == str(wanted).lower():
        return []
    recorded = "(sensitive)" if instance.is_sensitive(path) else shown(recorded, 80)
    line = f"{label}: {recorded} -> {wanted}"
    if create_only:
        from .. import providers

        resource_type, prop = create_only.split("/", 1)
        if prop in providers.get(resource_type).create_only:
            line += CREATE_ONLY
    return [line]


def _versioning(instance: Instance, properties: dict) -> list[str]:
    recorded = instance.value("versioning_configuration.0.status") or instance.value("versioning.0.enabled")
    if isinstance(recorded, bool):   # provider 3: versioning.0.enabled
        recorded = "Enabled" if recorded else "Suspended"
    wanted = (properties.get("VersioningConfiguration") or {}).get("Status", "Suspended")
    return _differs("versioning", recorded, wanted, instance, "versioning_configuration")


def _encryption(instance: Instance, properties: dict) -> list[str]:
    recorded = instance.value("rule.0.apply_server_side_encryption_by_default.0.sse_algorithm") or \
        instance.value("server_side_encryption_configuration.0.rule.0.apply_server_side_encryption_by_default.0"
                       ".sse_algorithm")
    rules = (properties.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or [{}]
    wanted = (rules[0].get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
    return _differs("encryption", recorded, wanted, instance, "rule") if wanted else []


def _lifecycle(instance: Instance, properties: dict) -> list[str]:
    rules = instance.value("rule") or []
    if not isinstance(rules, list) or not all(isinstance(r, dict) and isinstance(r.get("id", ""), str)
                                              for r in rules):
        raise instance.wrong("rule", rules, "a list of rules, each with a string id")
    recorded = sorted(shown(r.get("id") or "?", 80) for r in rules)
    wanted = sorted(r.get("Id", "?") for r in (properties.get("LifecycleConfiguration") or {}).get("Rules", []))
    if recorded == wanted:
        return []
    return [f"lifecycle rules: {', '.join(recorded) or 'none'} -> {', '.join(wanted) or 'none'}"]


def _public_access(instance: Instance, properties: dict) -> list[str]:
    wanted = properties.get("PublicAccessBlockConfiguration") or {}
    lines = []
    for tf, cfn in (("block_public_acls", "BlockPublicAcls"), ("block_public_policy", "BlockPublicPolicy"),
                    ("ignore_public_acls", "IgnorePublicAcls"), ("restrict_public_buckets", "RestrictPublicBuckets")):
        lines += _differs(tf, instance.value(tf), wanted.get(cfn, False), instance, tf)
    return lines


def _repository(instance: Instance, properties: dict) -> list[str]:
    scan = (properties.get("ImageScanningConfiguration") or {}).get("ScanOnPush")
    lines = _differs("scan on push", instance.value("image_scanning_configuration.0.scan_on_push"), scan, instance,
                     "image_scanning_configuration")
    lines += _differs("tag mutability", instance.value("image_tag_mutability"), properties.get("ImageTagMutability"),
                      instance, "image_tag_mutability")
    encryption = (properties.get("EncryptionConfiguration") or {}).get("EncryptionType")
    lines += _differs("encryption", instance.value("encryption_configuration.0.encryption_type"), encryption,
                      instance, "encryption_configuration", "AWS::ECR::Repository/EncryptionConfiguration")
    return lines


def _log_group(instance: Instance, properties: dict) -> list[str]:
    return _differs("retention days", instance.value("retention_in_days"), properties.get("RetentionInDays"),
                    instance, "retention_in_days")


COMPARISONS: dict[str, tuple[Callable[[Instance, dict], list[str]], ...]] = {
    "aws_s3_bucket": (_versioning, _encryption),   # provider 3 kept these on the bucket itself
    "aws_s3_bucket_versioning": (_versioning,),
    "aws_s3_bucket_server_side_encryption_configuration": (_encryption,),
    "aws_s3_bucket_lifecycle_configuration": (_lifecycle,),
    "aws_s3_bucket_public_access_block": (_public_access,),
    "aws_ecr_repository": (_repository,),
    "aws_cloudwatch_log_group": (_log_group,),
}


def settings_for(rows: list[Row]) -> dict[str, Any]:
    """The settings these rows call for: adopted_names, and api_key_secret for an adopted secret."""
    names: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    for row in rows:
        if row.kind is None:
            continue
        kind, key = row.kind
        if kind == "api_key_secret":
            settings[kind] = row.name
        elif key is None:
            names[kind] = row.name
        else:
            names.setdefault(kind, {})[key] = row.name
    return {"adopted_names": names, **settings} if names else settings


def types_markdown() -> str:
    """The README's table: each Terraform type the seed's deployment uses, and what the move does with it."""
    lines = ["| Terraform type | Action | automl-cfn resource |", "|---|---|---|"]
    lines += [f"| `{t}` | {ADOPT} | {stack}/{logical.format('<Name>')} |" for t, (stack, logical) in ADOPTED_TYPES.items()]
    lines.append(f"| `aws_secretsmanager_secret` | {ADOPT} (by ARN) | `api_key_secret` setting |")
    lines += [f"| `{t}` | {ADOPT}, with the resource its `{ref}` names | (its configuration) |" for t, ref in PARTS.items()]
    lines += [f"| `{t}` | {REPLACE} | {stack}: `{cfn}` |" for t, (stack, cfn) in REPLACED_TYPES.items()]
    lines.append(f"| anything else | {UNKNOWN} | left alone, listed |")
    return "\n".join(lines) + "\n"
