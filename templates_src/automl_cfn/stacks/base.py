"""What every concern's template shares: parameters from the one registry,
named conditions, standard tags, retained stateful resources, outputs.

A concern module builds a StackTemplate and adds resources to it; it never
declares a parameter or condition by hand, so the same name always means the
same thing in every template.
"""

from __future__ import annotations

from functools import cache
from typing import Callable

import orjson
from troposphere import (
    And, AWSHelperFn, BaseAWSObject, Condition, Equals, If, Not, NoValue, Or, Output, Parameter, Ref, Sub, Tags,
    Template,
)

from ..model import MANAGED_BY, MAX_AZS, NONE
from ..parameters import NO_DEFAULT, PARAMETERS
from ..settings import PROJECT_BOUNDARY

# Stateful resources survive stack deletion and replacement, except when the
# operation that created them fails and rolls back: then they are new and
# empty, and keeping them would only make the next create collide with them.
RETAIN_EXCEPT_ON_CREATE = "RetainExceptOnCreate"
RETAIN = "Retain"   # UpdateReplacePolicy has no RetainExceptOnCreate



def _flag(parameter: str) -> Callable[["StackTemplate"], object]:
    return lambda st: Equals(Ref(st.parameter(parameter)), "true")


# Named conditions, each built from parameters (declared on first use).
CONDITIONS: dict[str, Callable[["StackTemplate"], object]] = {
    "HasAz2": lambda st: Not(Equals(Ref(st.parameter("AzCount")), "1")),
    "HasAz3": lambda st: Equals(Ref(st.parameter("AzCount")), "3"),
    "HasNat": lambda st: Not(Equals(Ref(st.parameter("NatGateways")), "none")),
    "NatPerAz": lambda st: Equals(Ref(st.parameter("NatGateways")), "per_az"),
    "FlowLogsEnabled": _flag("EnableFlowLogs"),
    "CreatesVpc": lambda st: Equals(Ref(st.parameter("ExistingVpcId")), ""),
    "PrivateEndpoints": _flag("PrivateEndpoints"),
    # Tasks stay in private subnets when they can reach AWS from there: through NAT, or endpoints.
    "TasksInPrivateSubnets": lambda st: Or(Condition(st.condition("HasNat")),
                                           Condition(st.condition("PrivateEndpoints"))),
    "TerminationProtected": _flag("TerminationProtection"),
    "SpotByDefault": _flag("UseFargateSpot"),
    "PredictionServiceEnabled": _flag("EnablePredictionService"),
    "StepFunctionsEnabled": _flag("EnableStepFunctions"),
    "HasPipelineSchedule": lambda st: Not(Equals(Ref(st.parameter("PipelineSchedule")), "")),
    "PipelineScheduled": lambda st: And(Condition(st.condition("StepFunctionsEnabled")),
                                        Condition(st.condition("HasPipelineSchedule"))),
    "RetrainsOnNewData": lambda st: And(Condition(st.condition("StepFunctionsEnabled")),
                                        Equals(Ref(st.parameter("RetrainOnNewData")), "true")),
    "HasModelQualityGate": lambda st: Not(Equals(Ref(st.parameter("ModelQualityMetric")), "")),
    "IntelligentTieringEnabled": _flag("DataIntelligentTiering"),
    "HasImageTag": lambda st: Not(Equals(Ref(st.parameter("ImageTag")), "")),
    "HasAlarmEmail": lambda st: Not(Equals(Ref(st.parameter("AlarmEmail")), "")),
    "AccessLoggingEnabled": _flag("EnableAccessLogging"),
    "HasPermissionsBoundary": lambda st: Not(Equals(Ref(st.parameter("PermissionsBoundary")), "")),
    "ProjectBoundary": lambda st: Equals(Ref(st.parameter("PermissionsBoundary")), PROJECT_BOUNDARY),
    "CreateKmsKey": lambda st: Equals(Ref(st.parameter("KmsKey")), "create"),
    "CreateApiKeySecret": lambda st: Equals(Ref(st.parameter("ApiKeySecret")), "create"),
    "HasLoadBalancer": lambda st: Not(Equals(Ref(st.parameter("LoadBalancer")), "none")),
    "PublicLoadBalancer": lambda st: Equals(Ref(st.parameter("LoadBalancer")), "public"),
    "HasCertificate": lambda st: And(Condition(st.condition("HasLoadBalancer")),
                                     Not(Equals(Ref(st.parameter("CertificateArn")), ""))),
    # Blue/green, canary and linear all shift traffic between two target groups.
    "ShiftsTraffic": lambda st: And(Condition(st.condition("HasLoadBalancer")),
                                    Not(Equals(Ref(st.parameter("DeploymentStrategy")), "rolling"))),
    "LbAccessLogsWanted": lambda st: And(Condition(st.condition("HasLoadBalancer")),
                                         Equals(Ref(st.parameter("EnableLbAccessLogs")), "true")),
    "IsBlueGreen": lambda st: Equals(Ref(st.parameter("DeploymentStrategy")), "blue_green"),
    "IsCanary": lambda st: Equals(Ref(st.parameter("DeploymentStrategy")), "canary"),
    "IsLinear": lambda st: Equals(Ref(st.parameter("DeploymentStrategy")), "linear"),
    "ScalesOnRequests": lambda st: And(Condition(st.condition("PredictionServiceScales")),
                                       Condition(st.condition("HasLoadBalancer"))),
    # Wired inputs: "none" when the environment has no such key or secret.
    "HasKmsKey": lambda st: Not(Equals(Ref(st.input("KmsKeyArn", "KMS key ARN, or none")), NONE)),
    "HasApiKeySecret": lambda st: Not(Equals(Ref(st.input("ApiKeySecretArn", "API key secret ARN, or none")), NONE)),
    "HasApiKeyPreviousSecret": lambda st: Not(Equals(
        Ref(st.input("ApiKeyPreviousSecretArn", "Previous API key secret ARN, or none")), NONE)),
    # The service scales only once it has an image to run (see compute).
    "PredictionServiceScales": lambda st: And(
        Condition(st.condition("PredictionServiceEnabled")), Condition(st.condition("HasImageTag"))
    ),
}


def az_condition(index: int) -> str | None:
    """Condition that AZ number `index` (0-based) is in use; the first always is."""
    if not 0 <= index < MAX_AZS:
        raise ValueError(f"AZ index {index} outside 0..{MAX_AZS - 1}")
    return None if index == 0 else f"HasAz{index + 1}"


def takes_tags(resource) -> bool:
    return "Tags" in resource.props


class StandardTags(Tags):
    def to_dict_map(self) -> dict:
        """The same tags as a map, for the types that want {key: value}."""
        return {tag["Key"]: tag["Value"] for tag in self.tags}


@cache
def registry_parameter(name: str) -> Parameter:
    """The registry's parameter as troposphere declares it, built once: most templates declare the same
    ones (ProjectName, Environment ...), and a Parameter is never changed once declared."""
    spec = PARAMETERS[name]
    props = {"Type": spec.type, "Description": spec.description}
    if spec.allowed_values:
        props["AllowedValues"] = list(spec.allowed_values)
    if spec.allowed_pattern:
        props["AllowedPattern"] = spec.allowed_pattern
    if spec.constraint:
        props["ConstraintDescription"] = f"must be {spec.constraint}"
    elif spec.allowed_values:
        props["ConstraintDescription"] = f"must be one of {', '.join(spec.allowed_values)}"
    if spec.min_value is not None:
        props["MinValue"] = spec.min_value
    if spec.max_value is not None:
        props["MaxValue"] = spec.max_value
    if spec.max_length is not None:
        props["MaxLength"] = spec.max_length
    if spec.default is not NO_DEFAULT:
        default = spec.default
        props["Default"] = ("true" if default else "false") if isinstance(default, bool) else str(default)
    return Parameter(name, **props)


class StackTemplate:
    """A troposphere Template plus the project's conventions."""

    def __init__(self, concern: str, description: str):
        self.concern = concern
        self.template = Template(Description=f"automl-cfn {concern}: {description}")
        self.template.set_version("2010-09-09")
        self.project_name = self.parameter("ProjectName")
        self.environment = self.parameter("Environment")

    # -- parameters ----------------------------------------------------------
    def parameter(self, name: str) -> Parameter:
        """Declare (once) a parameter from the registry and return it."""
        if name in self.template.parameters:
            return self.template.parameters[name]
        param = self.template.add_parameter(registry_parameter(name))
        self.template.add_parameter_to_group(param, PARAMETERS[name].group)
        self.template.set_parameter_label(param, PARAMETERS[name].label)
        return param

    def input(self, name: str, description: str, type: str = "String") -> Parameter:
        """A parameter that the root fills from another stack's output."""
        if name in self.template.parameters:
            return self.template.parameters[name]
        param = self.template.add_parameter(
            Parameter(name, Type=type, Description=f"{description} (wired by the root stack)")
        )
        self.template.add_parameter_to_group(param, "Wired from other stacks")
        return param

    def ref(self, name: str) -> Ref:
        return Ref(self.parameter(name))

    def adopted_or(self, parameter: str, derived):
        """The name a migration kept from Terraform when `parameter` is set, else the name automl-cfn derives.
        Either way it is fixed for the environment's life: changing it replaces a named, retained resource."""
        given = self.add_condition(f"{parameter}Given", Not(Equals(self.ref(parameter), "")))
        return If(given, Ref(parameter), derived)

    # -- conditions ------------------------------------------------------------
    def condition(self, name: str) -> str:
        """Declare (once) a named condition and return its name."""
        if name not in self.template.conditions:
            self.template.add_condition(name, CONDITIONS[name](self))
        return name

    def add_condition(self, name: str, expression) -> str:
        """A condition local to this template (combinations of the named ones)."""
        if name not in self.template.conditions:
            self.template.add_condition(name, expression)
        return name

    # -- resources -------------------------------------------------------------
    def tags(self, **extra: str) -> "StandardTags":
        return StandardTags(
            Project=Ref(self.project_name),
            Environment=Ref(self.environment),
            ManagedBy=MANAGED_BY,
            **extra,
        )

    def boundary(self):
        """Every role's PermissionsBoundary: the setting's policy, the environment's own (`project`: the
        policy `automl-cfn deploy-role` creates in this account), or none."""
        project = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${ProjectName}-${Environment}-boundary")
        return If(self.condition("HasPermissionsBoundary"),
                  If(self.condition("ProjectBoundary"), project, Ref(self.parameter("PermissionsBoundary"))), NoValue)

    def kms_or(self, when_key, otherwise=None):
        """`when_key` where the environment has a KMS key, else `otherwise` (default: absent)."""
        return If(self.condition("HasKmsKey"), when_key, NoValue if otherwise is None else otherwise)

    def previous_api_key_arn(self):
        """The previous API key secret's ARN where the environment has one, else absent (in a list: no item)."""
        arn = Ref(self.input("ApiKeyPreviousSecretArn", "Previous API key secret ARN, or none"))
        return If(self.condition("HasApiKeyPreviousSecret"), arn, NoValue)

    def kms_key_arn(self) -> Ref:
        self.condition("HasKmsKey")
        return Ref(self.template.parameters["KmsKeyArn"])

    def add(self, resource, *, stateful: bool = False, condition: str | None = None):
        """Add a resource with the standard tags; stateful ones are retained.

        Stateful resources (data, images, logs, keys, secrets) survive stack
        deletion and replacement: only an explicit, confirmed verb deletes data.
        """
        if takes_tags(resource) and "Tags" not in resource.properties:
            # Most types take a list of Key/Value pairs; a few (EventBridge Pipes) a plain map.
            resource.Tags = self.tags() if resource.props["Tags"][0] is not dict else self.tags().to_dict_map()
        if stateful:
            resource.DeletionPolicy = RETAIN_EXCEPT_ON_CREATE
            resource.UpdateReplacePolicy = RETAIN
        if condition:
            resource.Condition = self.condition(condition) if condition in CONDITIONS else condition
        return self.template.add_resource(resource)

    def output(self, name: str, value, description: str, condition: str | None = None) -> Output:
        out = Output(name, Value=value, Description=description)
        if condition:
            out.Condition = self.condition(condition) if condition in CONDITIONS else condition
        return self.template.add_output(out)

    def to_dict(self) -> dict:
        """Same document as Template.to_dict(), in one pass (see `plain`)."""
        return plain(self.template)


def plain(obj):
    """troposphere/awacs objects -> plain JSON data, validating each object once.

    troposphere's encode_to_dict re-walks every already-encoded subtree at each
    level of nesting.  Here orjson walks the dicts, lists and strings (nine nodes
    in ten) natively and asks `_encoded` only for the troposphere and awacs
    objects; reading its bytes back gives the plain data.  Most of what remains
    (about 4 ms for all templates) is troposphere's own validation.  A unit test
    pins the result to troposphere's own output.
    """
    return orjson.loads(orjson.dumps(obj, default=_encoded))


def _encoded(obj):
    """One troposphere/awacs object as data that may still hold such objects (orjson comes back for those)."""
    if isinstance(obj, Template):   # the sections Template.to_dict() writes
        sections = {
            "AWSTemplateFormatVersion": obj.version, "Description": obj.description, "Metadata": obj.metadata,
            "Conditions": obj.conditions, "Mappings": obj.mappings, "Parameters": obj.parameters,
            "Outputs": obj.outputs, "Transform": obj.transform, "Rules": obj.rules, "Globals": obj.globals,
            "Resources": obj.resources,
        }
        return {key: value for key, value in sections.items() if value or key == "Resources"}
    if isinstance(obj, BaseAWSObject):
        if obj.do_validation:
            obj._validate_props()
            obj.validate()
        if obj.properties:
            return obj.resource
        if hasattr(obj, "resource_type"):
            return {key: value for key, value in obj.resource.items() if key != "Properties"}
        return {}
    if isinstance(obj, Tags):
        return obj.tags
    if isinstance(obj, AWSHelperFn):
        return obj.data
    if hasattr(obj, "JSONrepr"):  # awacs
        return obj.JSONrepr()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"{type(obj).__name__} is not template data")
