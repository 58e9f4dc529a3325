"""The StackSets actions of the CloudFormation API in strict mode (the model is stacksets.py; who may call, and
where a stack set lives, stacksets_callers.py)."""

from __future__ import annotations

import re
import uuid

from moto.core.responses import ActionResult, EmptyResult

from . import engine, stacksets
from . import stacksets_callers as callers
from .api import BACKENDS, action, parameters_of, tags_of
from .engine import Backend, CfnError
from .stacksets import Instance, StackSet


def backend_at(account: str, region: str) -> Backend:
    if (account, region) not in BACKENDS:
        BACKENDS[(account, region)] = Backend(account, region)
    return BACKENDS[(account, region)]


def stack_set_of(self, backend: Backend) -> StackSet:
    """The stack set the request names, where its caller reaches it (the management account's, called as
    DELEGATED_ADMIN)."""
    call_as, account, region = callers.store_of(self, backend)
    name = self._get_param("StackSetName")
    found = stacksets.sets_of(account, region).get(name)
    if found is None or found.status == "DELETED" or not callers.visible(call_as, found.permission_model):
        raise callers.not_found(name)
    return found


def preferences_of(self) -> dict:
    return self._get_params().get("OperationPreferences") or {}


def targets_of(self, stack_set: StackSet) -> list[tuple[str, str, str]]:
    """(account, region, OU) from Accounts or DeploymentTargets, and Regions."""
    regions = self._get_param("Regions", []) or []
    if not regions:
        raise engine.validation("Regions must be specified")
    targets = self._get_params().get("DeploymentTargets") or {}
    accounts = self._get_param("Accounts", []) or targets.get("Accounts") or []
    ous = targets.get("OrganizationalUnitIds") or []
    if stack_set.permission_model == "SERVICE_MANAGED":
        if not ous:
            raise engine.validation("StackSets with SERVICE_MANAGED permission model can only have "
                                    "OrganizationalUnit as target")
        found = stacksets.organization_accounts(stack_set.account, ous)
        stack_set.ous = sorted(set(stack_set.ous) | set(ous))
        return [(account, region, ou) for account, ou in found for region in regions]
    if ous:
        raise engine.validation("StackSets with SELF_MANAGED permission model can only have accounts as target")
    if not accounts or not all(re.fullmatch(r"\d{12}", a) for a in accounts):
        raise engine.validation("Accounts must be 12-digit AWS account IDs")
    return [(account, region, "") for account in accounts for region in regions]


@action
def create_stack_set(self, backend: Backend) -> ActionResult:
    name = self._get_param("StackSetName")
    if not re.fullmatch(r"[a-zA-Z][-a-zA-Z0-9]{0,127}", name or ""):
        raise engine.validation(f"1 validation error detected: Value '{name}' at 'stackSetName' failed to satisfy "
                                "constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*")
    model = self._get_param("PermissionModel") or "SELF_MANAGED"
    callers.refuse_delegated_admin_for_self_managed(callers.call_as_of(self), model)
    call_as, account, region = callers.store_of(self, backend)
    if model == "SERVICE_MANAGED" and call_as == callers.SELF:
        callers.refuse_service_managed_outside_management(backend.account)
    existing = stacksets.sets_of(account, region).get(name)
    if existing is not None and existing.status != "DELETED":
        raise CfnError("NameAlreadyExistsException", f"StackSet {name} already exists")
    template, body = template_of(self, backend)   # read as the caller
    engine.check_capabilities(template, self._get_param("Capabilities", []) or [], backend)
    created = StackSet(
        name=name, set_id=f"{name}:{uuid.uuid4()}", account=account, region=region,
        template=template, body=body, parameters=parameters_of(self, None),
        capabilities=self._get_param("Capabilities", []) or [], tags=tags_of(self), permission_model=model,
        auto_deployment=self._get_params().get("AutoDeployment") or {},
        admin_role=self._get_param("AdministrationRoleARN")
        or f"arn:aws:iam::{account}:role/{stacksets.ADMINISTRATION_ROLE}",
        execution_role=self._get_param("ExecutionRoleName") or stacksets.EXECUTION_ROLE,
        description=self._get_param("Description") or "")
    stacksets.sets_of(account, region)[name] = created
    return ActionResult({"StackSetId": created.set_id})


def template_of(self, backend: Backend) -> tuple[dict, str]:
    from moto.cloudformation.models import Stack as MotoStack

    body, url = self._get_param("TemplateBody"), self._get_param("TemplateURL")
    if url:
        template, body = backend.fetch(url)
        return template, body
    if body:
        return engine.parse_template(body, MotoStack), body
    raise engine.validation("Either Template URL or Template Body must be specified.")


@action
def update_stack_set(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    if self._get_param("TemplateBody") or self._get_param("TemplateURL"):
        found.template, found.body = template_of(self, backend)
    elif not self._get_bool_param("UsePreviousTemplate", False):
        raise engine.validation("Either Template URL or Template Body must be specified.")
    if self._get_param("Parameters") is not None:
        found.parameters = parameters_of(self, None) | {
            p["ParameterKey"]: found.parameters.get(p["ParameterKey"], "")
            for p in self._get_param("Parameters") if p.get("UsePreviousValue")}
    if self._get_param("Capabilities") is not None:
        found.capabilities = self._get_param("Capabilities")
    engine.check_capabilities(found.template, found.capabilities, backend)
    if self._get_param("Tags") is not None:
        found.tags = tags_of(self)
    operation = stacksets.new_operation(found, "UPDATE", preferences_of(self), self._get_param("OperationId", ""))
    regions = set(self._get_param("Regions", []) or [])
    accounts = set(self._get_param("Accounts", []) or [])
    targets = [key for key in found.instances if (not regions or key[1] in regions)
               and (not accounts or key[0] in accounts)]
    return deployed(found, operation, targets)


def deployed(found: StackSet, operation, targets: list[tuple[str, str]]) -> ActionResult:
    """Carry the operation out by creating or updating each target's stack."""
    stacksets.carry_out(found, operation, targets,
                        lambda instance: stacksets.deploy_instance(found, backend_at, instance))
    return ActionResult({"OperationId": operation.operation_id})


@action
def create_stack_instances(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    targets = targets_of(self, found)
    overrides = {p["ParameterKey"]: p.get("ParameterValue", "") for p in self._get_param("ParameterOverrides", []) or []}
    operation = stacksets.new_operation(found, "CREATE", preferences_of(self), self._get_param("OperationId", ""))
    for account, region, ou in targets:
        instance = found.instances.setdefault((account, region), Instance(account, region, ou))
        instance.overrides.update(overrides)
    return deployed(found, operation, [(a, r) for a, r, _ in targets])


@action
def update_stack_instances(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    targets = targets_of(self, found)
    missing = [(a, r) for a, r, _ in targets if (a, r) not in found.instances]
    if missing:
        raise CfnError("StackInstanceNotFoundException", f"Stack instance {missing[0][0]} {missing[0][1]} not found")
    overrides = {p["ParameterKey"]: p.get("ParameterValue", "") for p in self._get_param("ParameterOverrides", []) or []}
    operation = stacksets.new_operation(found, "UPDATE", preferences_of(self), self._get_param("OperationId", ""))
    for account, region, _ in targets:
        found.instances[(account, region)].overrides = dict(overrides)
    return deployed(found, operation, [(a, r) for a, r, _ in targets])


@action
def delete_stack_instances(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    retain = self._get_bool_param("RetainStacks", None)
    if retain is None:
        raise engine.validation("RetainStacks must be specified")
    if found.permission_model == "SERVICE_MANAGED":
        ous = (self._get_params().get("DeploymentTargets") or {}).get("OrganizationalUnitIds") or []
        regions = set(self._get_param("Regions", []) or [])
        targets = [key for key, instance in found.instances.items() if instance.ou in ous and key[1] in regions]
    else:
        targets = [(a, r) for a, r, _ in targets_of(self, found) if (a, r) in found.instances]
    operation = stacksets.new_operation(found, "DELETE", preferences_of(self), self._get_param("OperationId", ""),
                                        retain_stacks=retain)
    stacksets.carry_out(found, operation, targets,
                        lambda instance: stacksets.delete_instance(found, backend_at, instance, retain))
    return ActionResult({"OperationId": operation.operation_id})


@action
def delete_stack_set(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    if found.instances:
        raise CfnError("StackSetNotEmptyException", "StackSet is not empty")
    found.status = "DELETED"
    return EmptyResult()


@action
def describe_stack_set(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    document = {
        "StackSetName": found.name, "StackSetId": found.set_id, "Description": found.description,
        "Status": found.status, "TemplateBody": found.body,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in found.parameters.items()],
        "Capabilities": found.capabilities, "Tags": [{"Key": k, "Value": v} for k, v in found.tags.items()],
        "StackSetARN": found.arn, "AdministrationRoleARN": found.admin_role,
        "ExecutionRoleName": found.execution_role, "PermissionModel": found.permission_model,
        "ManagedExecution": {"Active": False},
    }
    if found.permission_model == "SERVICE_MANAGED":
        document["AutoDeployment"] = {"Enabled": str(found.auto_deployment.get("Enabled")).lower() == "true",
                                      "RetainStacksOnAccountRemoval": str(found.auto_deployment.get(
                                          "RetainStacksOnAccountRemoval")).lower() == "true"}
        document["OrganizationalUnitIds"] = found.ous
    return ActionResult({"StackSet": document})


@action
def list_stack_sets(self, backend: Backend) -> ActionResult:
    """ListStackSets lists deleted stack sets too, unless Status (ACTIVE | DELETED) narrows the listing
    (CloudFormation API reference, ListStackSets). Test: test_stack_set_listing_filters_by_status"""
    call_as, account, region = callers.store_of(self, backend)
    status = self._get_param("Status")
    return ActionResult({"Summaries": [{"StackSetName": s.name, "StackSetId": s.set_id, "Status": s.status,
                                        "PermissionModel": s.permission_model}
                                       for s in stacksets.sets_of(account, region).values()
                                       if callers.visible(call_as, s.permission_model)
                                       and status in (None, s.status)]})


def instance_document(found: StackSet, instance: Instance) -> dict:
    return {"StackSetId": found.set_id, "Region": instance.region, "Account": instance.account,
            "StackId": instance.stack_id or None, "Status": instance.status, "StatusReason": instance.reason or None,
            "StackInstanceStatus": {"DetailedStatus": instance.detailed},
            "OrganizationalUnitId": instance.ou or None, "DriftStatus": "IN_SYNC" if instance.stack_id else
            "NOT_CHECKED", "LastOperationId": instance.last_operation or None,
            "ParameterOverrides": [{"ParameterKey": k, "ParameterValue": v} for k, v in instance.overrides.items()]}


@action
def list_stack_instances(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    summaries = []
    for instance in found.instances.values():
        document = instance_document(found, instance)
        document.pop("ParameterOverrides")
        summaries.append(document)
    return ActionResult({"Summaries": summaries})


@action
def describe_stack_instance(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    key = (self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion"))
    if key not in found.instances:
        raise CfnError("StackInstanceNotFoundException", f"Stack instance {key[0]} {key[1]} not found")
    return ActionResult({"StackInstance": instance_document(found, found.instances[key])})


def operation_of(found: StackSet, operation_id: str) -> stacksets.Operation:
    for operation in found.operations:
        if operation.operation_id == operation_id:
            return operation
    raise CfnError("OperationNotFoundException", f"Operation {operation_id} not found")


@action
def describe_stack_set_operation(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    operation = operation_of(found, self._get_param("OperationId"))
    return ActionResult({"StackSetOperation": {
        "OperationId": operation.operation_id, "StackSetId": found.set_id, "Action": operation.action,
        "Status": operation.status, "StatusReason": operation.reason or None,
        "OperationPreferences": operation.preferences, "RetainStacks": operation.retain_stacks,
        "AdministrationRoleARN": found.admin_role, "ExecutionRoleName": found.execution_role,
        "CreationTimestamp": operation.created, "EndTimestamp": operation.ended}})


@action
def list_stack_set_operations(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    return ActionResult({"Summaries": [{"OperationId": o.operation_id, "Action": o.action, "Status": o.status,
                                        "StatusReason": o.reason or None, "CreationTimestamp": o.created,
                                        "EndTimestamp": o.ended} for o in reversed(found.operations)]})


@action
def list_stack_set_operation_results(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    return ActionResult({"Summaries": operation_of(found, self._get_param("OperationId")).results})


@action
def stop_stack_set_operation(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    operation = operation_of(found, self._get_param("OperationId"))
    if operation.status != "RUNNING":
        raise CfnError("InvalidOperationException", f"Operation {operation.operation_id} is not running")
    return EmptyResult()


@action
def detect_stack_set_drift(self, backend: Backend) -> ActionResult:
    found = stack_set_of(self, backend)
    operation = stacksets.new_operation(found, "DETECT_DRIFT", preferences_of(self),
                                        self._get_param("OperationId", ""))
    stacksets.carry_out(found, operation, list(found.instances), lambda instance: (True, ""))
    return ActionResult({"OperationId": operation.operation_id})


ACTIONS = (create_stack_set, update_stack_set, create_stack_instances, update_stack_instances,
           delete_stack_instances, delete_stack_set, describe_stack_set, list_stack_sets, list_stack_instances,
           describe_stack_instance, describe_stack_set_operation, list_stack_set_operations,
           list_stack_set_operation_results, stop_stack_set_operation, detect_stack_set_drift)
