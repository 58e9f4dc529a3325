"""CloudFormation parameters, derived from the settings fields.

Each setting that differs between environments becomes one CloudFormation
parameter with the same meaning (optimize_cpu -> OptimizeCpu), carrying the
setting's allowed values as AllowedValues / AllowedPattern / MinValue /
MaxValue so that a template deployed by hand or by taskcat is held to the
same rules as the settings file.  The root template declares all of them; a
child template declares the ones it uses; `parameter_values` turns a
Settings object into the values that fill them.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from .model import title
from .settings import ADOPTED_NAME_RULES, SETTING_FIELDS, Settings

NO_DEFAULT = object()


class ParamSpec(NamedTuple):   # a NamedTuple: a frozen dataclass compiles six methods on every run
    name: str
    group: str
    label: str
    description: str
    value: Callable[[Settings], Any] | None   # None: filled in at deploy time
    type: str = "String"
    allowed_values: tuple = ()
    allowed_pattern: str | None = None
    constraint: str | None = None
    min_value: int | None = None
    max_value: int | None = None
    max_length: int | None = None
    default: Any = NO_DEFAULT
    setting: str | None = None                # the setting it comes from (None: the deploy fills it in)
    as_setting: Callable[[str], str] = str    # a deployed value as the setting's value


# AllowedPattern for the free-text settings (the settings module holds the
# same rules as Python checks with friendlier messages).
PATTERNS = {
    "project_name": (r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
                     "lowercase letters, digits and single hyphens, starting with a letter, at most 16 characters"),
    "environment": (r"^[a-z][a-z0-9]*$", "lowercase letters and digits, starting with a letter, at most 8 characters"),
    "vpc_cidr": (r"^(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-5])$", "an IPv4 CIDR block from /16 to /25"),
    "alarm_email": (r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$", "an email address, or empty for no subscription"),
    "image_tag": (r"^$|^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", "a valid image tag, or empty before the first push"),
    "container_user": (r"^(?!(0|root)(:|$))([0-9]{1,10}|[a-z_][a-z0-9_-]{0,31})(:([0-9]{1,10}|[a-z_][a-z0-9_-]{0,31}))?$",
                       "a UID[:GID] or user name other than root"),
    "health_check_path": (r"^/[A-Za-z0-9/_.~-]{0,1023}$", "a URL path starting with /"),
    "certificate_arn": (r"^$|^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$",
                        "empty or an ACM certificate ARN"),
    "kms_key": (r"^$|^create$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$",
                "empty, create, or a KMS key ARN"),
    "permissions_boundary": (r"^$|^project$|^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$",
                             "empty, project, or an IAM policy ARN"),
    "api_key_secret": (r"^$|^create$|^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$",
                       "empty, create, or a Secrets Manager secret ARN"),
    "existing_vpc_id": (r"^$|^vpc-[0-9a-f]{8}([0-9a-f]{9})?$", "empty, or a VPC ID"),
    "existing_private_subnet_ids": (r"^$|^subnet-[0-9a-f]{8,17}(,subnet-[0-9a-f]{8,17}){0,2}$",
                                    "empty, or one to three subnet IDs, comma-separated"),
    "existing_public_subnet_ids": (r"^$|^subnet-[0-9a-f]{8,17}(,subnet-[0-9a-f]{8,17}){0,2}$",
                                   "empty, or one to three subnet IDs, comma-separated"),
    "pipeline_schedule": (r"^$|^(rate|cron)\([^()]+\)$", "empty, or a rate(...) or cron(...) expression"),
    "pipeline_schedule_timezone": (r"^[A-Za-z0-9_+/-]{1,50}$", "an IANA time zone name"),
    "model_quality_metric": (r"^$|^[A-Za-z0-9_.\-/:]{1,255}$", "empty, or a CloudWatch metric name"),
}
MAX_LENGTHS = {"project_name": 16, "environment": 8}

# Where title() of the setting name would read badly.
PARAMETER_NAMES = {"enable_stepfunctions": "EnableStepFunctions"}

# Settings that shape the deploy itself rather than the templates.
NOT_PARAMETERS = {"aws_region", "image_tag_immutable", "express_deploys", "images", "adopted_names",
                  "retrain_quiet_minutes", "rollback_monitoring_minutes", "allow_cleartext_api_key",
                  "expected_task_hours", "expected_storage_gb", "expected_log_gb", "expected_flow_log_gb",
                  "expected_image_gb", "nat_data_gb", "expected_data_objects", "organization_id",
                  "config_home_region"}


def _from_setting(name: str) -> ParamSpec:
    meta = SETTING_FIELDS[name].metadata
    kind = meta["kind"]
    spec: dict[str, Any] = {
        "name": PARAMETER_NAMES.get(name, title(name)),
        "group": meta["group"],
        "label": meta["doc"].split(";")[0],
        "description": meta["doc"],
        "value": (lambda s, n=name: getattr(s, n)),
        "setting": name,
    }
    if kind is bool:
        spec["allowed_values"] = ("true", "false")
    elif kind is float:
        spec["type"] = "Number"
        spec["min_value"], spec["max_value"] = meta.get("min"), meta.get("max")
    elif kind is int:
        spec["type"] = "Number"
        if "choices" in meta:
            spec["allowed_values"] = tuple(str(v) for v in meta["choices"])
        spec["min_value"] = meta.get("min")
        spec["max_value"] = meta.get("max")
    elif "choices" in meta:
        spec["allowed_values"] = tuple(meta["choices"])
    if name in PATTERNS:
        spec["allowed_pattern"], spec["constraint"] = PATTERNS[name]
    spec["max_length"] = MAX_LENGTHS.get(name)
    default = SETTING_FIELDS[name].default
    if default != "" or name in ("alarm_email", "image_tag", "kms_key", "permissions_boundary", "api_key_secret",
                                 "certificate_arn", "existing_vpc_id", "existing_private_subnet_ids",
                                 "existing_public_subnet_ids", "pipeline_schedule", "model_quality_metric"):
        spec["default"] = default
    return ParamSpec(**spec)


def _derived() -> list[ParamSpec]:
    return [
        ParamSpec(
            "SubnetCidrBits", "Network", "Host bits per subnet",
            "Host bits of each subnet carved from the VPC (8 equal slots): 29 minus the VPC prefix length",
            lambda s: s.subnet_cidr_bits, type="Number", min_value=4, max_value=13, default=13, setting="vpc_cidr",
        ),
        ParamSpec(
            "ImageTagMutability", "Registry", "Image tag mutability",
            "IMMUTABLE keeps a pushed tag from being overwritten",
            lambda s: "IMMUTABLE" if s.image_tag_immutable else "MUTABLE",
            allowed_values=("IMMUTABLE", "MUTABLE"), default="IMMUTABLE", setting="image_tag_immutable",
            as_setting=lambda value: "true" if value == "IMMUTABLE" else "false",
        ),
        ParamSpec(
            "RetrainQuietSeconds", "Pipeline", "New-data batching window",
            "Seconds uploads are collected into one pipeline start (retrain_quiet_minutes x 60)",
            lambda s: s.retrain_quiet_minutes * 60, type="Number", min_value=60, max_value=300, default=300,
            setting="retrain_quiet_minutes", as_setting=lambda value: str(int(value) // 60),
        ),
        ParamSpec(
            "ApiKeyPreviousSecret", "Security", "Previous API key secret",
            "Secret predict also accepts as API_KEY_PREVIOUS while clients move to a rotated key (automl-cfn "
            "rotate-api-key): create (whenever api_key_secret is set), empty, or the ARN of a retained one the "
            "deploy uses",
            lambda s: "create" if s.api_key_secret else "", allowed_pattern=PATTERNS["api_key_secret"][0],
            constraint=PATTERNS["api_key_secret"][1], default="create", setting="api_key_secret",
        ),
        ParamSpec(
            "ExistingVpcCidr", "Network", "Existing VPC CIDR",
            "CIDR block of existing_vpc_id (the deploy reads it from EC2); empty when automl-cfn creates the VPC",
            None, allowed_pattern=r"^$|^(\d{1,3}\.){3}\d{1,3}/\d{1,2}$", constraint="empty, or an IPv4 CIDR block",
            default="",
        ),
        ParamSpec(
            "TemplatesBucket", "Template location", "Templates bucket",
            "S3 bucket holding the child templates (the deploy's artifacts bucket, or taskcat's)",
            None, allowed_pattern=r"^[0-9a-z][0-9a-z.-]{1,61}[0-9a-z]$",
            constraint="an S3 bucket name: lowercase letters, digits, '.' and '-'",
        ),
        ParamSpec(
            "TemplatesRegion", "Template location", "Templates bucket region",
            "Region of the templates bucket; empty: this stack's own (StackSets instances in other regions read "
            "the administrator's bucket)",
            None, allowed_pattern=r"^$|^[a-z]{2,4}(-[a-z]+){1,3}-[0-9]$", constraint="empty, or a region name",
            default="",
        ),
        ParamSpec(
            "TemplatesPrefix", "Template location", "Templates key prefix",
            "Key prefix of the child templates, ending in '/'",
            None, allowed_pattern=r"^([0-9a-zA-Z!_.*'()/-]+/)?$",
            constraint="S3 key characters, ending in '/'", default="",
        ),
    ]


def adopted_parameter(kind: str, key: str | None = None) -> str:
    """AdoptedDataBucketName, AdoptedTrainRepositoryName, AdoptedPipelineLogGroupName."""
    noun = {"data_bucket": "DataBucket", "repositories": "Repository", "log_groups": "LogGroup"}[kind]
    return f"Adopted{title(key) if key else ''}{noun}Name"


def _adopted() -> list[ParamSpec]:
    """One parameter per name a migration keeps from Terraform; empty: the name automl-cfn derives."""
    return [
        ParamSpec(adopted_parameter(kind, key), "Migration", f"Adopted {kind.replace('_', ' ')} name",
                  f"Name kept from the Terraform deployment ({what}); empty: automl-cfn names it",
                  lambda s, kind=kind, key=key: s.adopted_name(kind, key), allowed_pattern=f"^$|^{pattern}$",
                  constraint=f"empty, or {what}", default="", setting="adopted_names")
        for kind, (keys, pattern, what) in ADOPTED_NAME_RULES.items() for key in (keys or (None,))
    ]


def _build_specs() -> dict[str, ParamSpec]:
    specs = [_from_setting(name) for name in SETTING_FIELDS if name not in NOT_PARAMETERS]
    specs += _derived() + _adopted()
    return {spec.name: spec for spec in specs}


PARAMETERS: dict[str, ParamSpec] = _build_specs()


def cfn_value(value: Any) -> str:
    """How CloudFormation wants a parameter value: always a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parameter_values(settings: Settings) -> dict[str, str]:
    """Every template-shaping parameter's value for these settings, in declaration order."""
    return {spec.name: cfn_value(spec.value(settings)) for spec in PARAMETERS.values() if spec.value is not None}


def as_cli_parameters(values: dict[str, str]) -> list[dict[str, str]]:
    """The `aws cloudformation ... --parameters file://x.json` shape."""
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]
