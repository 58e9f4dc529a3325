"""Custom checkov checks for what its CloudFormation runner does not cover.

Loaded with `checkov --external-checks-dir checks/checkov` (make scan).
Templates here are generic: a value may be a Ref to a parameter or an
Fn::If on a condition, so each check judges every branch, and a Ref to a
parameter by that parameter's own constraints.
"""

from __future__ import annotations

import re

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

ROOT_USERS = ("0", "root", "0:0", "root:root")


def branches(value):
    """Every value an Fn::If can take (AWS::NoValue as None)."""
    if isinstance(value, dict) and "Fn::If" in value:
        _, when_true, when_false = value["Fn::If"]
        return branches(when_true) + branches(when_false)
    if isinstance(value, dict) and value.get("Ref") == "AWS::NoValue":
        return [None]
    return [value]


def containers(conf):
    for definition in conf.get("Properties", {}).get("ContainerDefinitions", []) or []:
        if isinstance(definition, dict):
            yield definition


class ContainersNotPrivileged(BaseResourceCheck):
    def __init__(self):
        super().__init__(name="ECS containers are not privileged", id="CKV_AUTOML_1",
                         categories=[CheckCategories.GENERAL_SECURITY],
                         supported_resources=["AWS::ECS::TaskDefinition"])

    def scan_resource_conf(self, conf):
        for container in containers(conf):
            if any(v is True or str(v).lower() == "true" for v in branches(container.get("Privileged", False))):
                return CheckResult.FAILED
        return CheckResult.PASSED


class ReadOnlyRootFilesystem(BaseResourceCheck):
    def __init__(self):
        super().__init__(name="ECS containers have a read-only root filesystem", id="CKV_AUTOML_2",
                         categories=[CheckCategories.GENERAL_SECURITY],
                         supported_resources=["AWS::ECS::TaskDefinition"])

    def scan_resource_conf(self, conf):
        for container in containers(conf):
            values = branches(container.get("ReadonlyRootFilesystem"))
            if not all(v is True or str(v).lower() == "true" for v in values):
                return CheckResult.FAILED
        return CheckResult.PASSED


class NonRootUser(BaseResourceCheck):
    """A literal user must not be root; a Ref'd parameter must reject root by its AllowedPattern."""

    def __init__(self):
        super().__init__(name="ECS containers run as a non-root user", id="CKV_AUTOML_3",
                         categories=[CheckCategories.GENERAL_SECURITY],
                         supported_resources=["AWS::ECS::TaskDefinition"])

    def scan_resource_conf(self, conf):
        parameters = getattr(self, "_parameters", {})
        for container in containers(conf):
            for user in branches(container.get("User")):
                if user is None:
                    return CheckResult.FAILED
                if isinstance(user, str) and user in ROOT_USERS:
                    return CheckResult.FAILED
                if isinstance(user, dict) and "Ref" in user:
                    pattern = parameters.get(user["Ref"], {}).get("AllowedPattern")
                    if not pattern or any(re.match(pattern, root) for root in ROOT_USERS):
                        return CheckResult.FAILED
        return CheckResult.PASSED


class ServiceHasNoLiteralPublicIp(BaseResourceCheck):
    """Tasks get a public IP only through the network's choice (NatGateways none), never hard-coded."""

    def __init__(self):
        super().__init__(name="ECS service does not assign a public IP unless the network requires it",
                         id="CKV_AUTOML_4", categories=[CheckCategories.NETWORKING],
                         supported_resources=["AWS::ECS::Service"])

    def scan_resource_conf(self, conf):
        network = conf.get("Properties", {}).get("NetworkConfiguration", {}) or {}
        awsvpc = network.get("AwsvpcConfiguration", {}) if isinstance(network, dict) else {}
        value = awsvpc.get("AssignPublicIp", "DISABLED") if isinstance(awsvpc, dict) else "DISABLED"
        if any(v == "ENABLED" for v in branches(value)):
            return CheckResult.FAILED
        return CheckResult.PASSED


class StepFunctionsLoggingAndTracing(BaseResourceCheck):
    def __init__(self):
        super().__init__(name="Step Functions state machines log executions and trace with X-Ray",
                         id="CKV_AUTOML_5", categories=[CheckCategories.LOGGING],
                         supported_resources=["AWS::StepFunctions::StateMachine"])

    def scan_resource_conf(self, conf):
        props = conf.get("Properties", {})
        logging = props.get("LoggingConfiguration") or {}
        tracing = props.get("TracingConfiguration") or {}
        logged = logging.get("Level") in ("ALL", "ERROR", "FATAL") and logging.get("Destinations")
        traced = tracing.get("Enabled") is True or str(tracing.get("Enabled")).lower() == "true"
        return CheckResult.PASSED if logged and traced else CheckResult.FAILED


class LogGroupRetention(BaseResourceCheck):
    def __init__(self):
        super().__init__(name="Every CloudWatch log group has a retention", id="CKV_AUTOML_6",
                         categories=[CheckCategories.LOGGING], supported_resources=["AWS::Logs::LogGroup"])

    def scan_resource_conf(self, conf):
        values = branches(conf.get("Properties", {}).get("RetentionInDays"))
        return CheckResult.PASSED if all(v is not None for v in values) else CheckResult.FAILED


class BucketPolicyDeniesInsecureTransport(BaseResourceCheck):
    """Deny of every action to everyone when aws:SecureTransport is false (string or JSON boolean)."""

    def __init__(self):
        super().__init__(name="Bucket policy denies requests that are not over TLS", id="CKV_AUTOML_7",
                         categories=[CheckCategories.ENCRYPTION], supported_resources=["AWS::S3::BucketPolicy"])

    def scan_resource_conf(self, conf):
        document = conf.get("Properties", {}).get("PolicyDocument", {}) or {}
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        for statement in statements:
            if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
                continue
            principal = statement.get("Principal")
            actions = statement.get("Action")
            actions = actions if isinstance(actions, list) else [actions]
            secure = (statement.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport")
            if principal in ("*", {"AWS": "*"}) and "s3:*" in actions and str(secure).lower() == "false":
                return CheckResult.PASSED
        return CheckResult.FAILED


checks = [ContainersNotPrivileged(), ReadOnlyRootFilesystem(), NonRootUser(), ServiceHasNoLiteralPublicIp(),
          StepFunctionsLoggingAndTracing(), LogGroupRetention(), BucketPolicyDeniesInsecureTransport()]
