"""The CloudFormation API in strict mode: moto's request parsing and response
serialisation, with every stack and change-set action answered by the
strict engine (engine.py) instead of moto's.

Each action reads its parameters, calls the engine under its lock, and
returns the response document in the shape the botocore model gives.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError
from moto.core.responses import ActionResult, EmptyResult

from . import engine, rollback_triggers
from .engine import LOCK, Backend, CfnError, ChangeSet, Stack

BACKENDS: dict[tuple[str, str], Backend] = {}


class StrictError(CloudFormationError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def backend_of(response) -> Backend:
    key = (response.current_account, response.region)
    if key not in BACKENDS:
        BACKENDS[key] = Backend(*key)
    return BACKENDS[key]


def reset() -> None:
    from . import stacksets

    with LOCK:
        BACKENDS.clear()
        stacksets.reset()


def action(function):
    """Run under the engine's lock, the resource handlers as the caller; engine errors become AWS errors."""
    from ..policy.handlers import running_as

    @wraps(function)
    def handle(self):
        with LOCK, running_as(self):
            try:
                return function(self, backend_of(self))
            except CfnError as exc:
                raise StrictError(exc.code, exc.message) from None
    return handle


# ---------------------------------------------------------------------------
# request helpers
# ---------------------------------------------------------------------------

def template_of(self, backend: Backend, stack: Stack | None = None) -> tuple[dict, str, str]:
    from moto.cloudformation.models import Stack as MotoStack

    body, url = self._get_param("TemplateBody"), self._get_param("TemplateURL")
    if self._get_bool_param("UsePreviousTemplate", False) and stack is not None:
        return stack.template, stack.template_body, stack.template_url
    if url:
        return (*backend.fetch(url), url)
    if body:
        check_body_size(body)
        return engine.parse_template(body, MotoStack), body, ""
    raise engine.validation("Either Template URL or Template Body must be specified.")


TEMPLATE_BODY_MAX = 51_200   # bytes (CloudFormation quotas: "Template body size in a request")


def check_body_size(body: str) -> None:
    """A template sent in the request may be 51,200 bytes at most; a bigger one must come from S3
    (cloudformation-limits.html).  moto took any size.  Test: test_strict_refuses_a_template_body_over_51200_bytes."""
    if len(body.encode()) > TEMPLATE_BODY_MAX:
        raise engine.validation("1 validation error detected: Value at 'templateBody' failed to satisfy constraint: "
                                f"Member must have length less than or equal to {TEMPLATE_BODY_MAX}")


def parameters_of(self, stack: Stack | None) -> dict[str, str]:
    values = {}
    for item in self._get_param("Parameters", []) or []:
        key = item["ParameterKey"]
        if item.get("UsePreviousValue"):
            if stack is None or key not in stack.parameters:
                raise engine.validation(f"Parameter {key} has no previous value")
            values[key] = stack.parameters[key]
        else:
            values[key] = item.get("ParameterValue", "")
    return values


def tags_of(self) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in self._get_param("Tags", []) or []}


def rollback_configuration_of(self) -> dict | None:
    """The request's RollbackConfiguration; None when the request omits it (an empty trigger list is given)."""
    given = [key for key in self.querystring if key.startswith("RollbackConfiguration")]
    if not given:
        return None
    value = self._get_param("RollbackConfiguration") or {}
    value = value if isinstance(value, dict) else {}
    if "RollbackConfiguration.RollbackTriggers" in self.querystring:      # the query protocol's empty list
        value["RollbackTriggers"] = []
    elif not any(key.startswith("RollbackConfiguration.RollbackTriggers") for key in given):
        value.pop("RollbackTriggers", None)
    return value


def optional_bool(self, name: str) -> bool | None:
    value = self._get_param(name)
    if value is None:
        return None
    return value if isinstance(value, bool) else str(value).lower() == "true"


# ---------------------------------------------------------------------------
# response documents
# ---------------------------------------------------------------------------

def stack_document(stack: Stack) -> dict[str, Any]:
    document: dict[str, Any] = {
        "StackId": stack.stack_id, "StackName": stack.name, "Description": stack.template.get("Description"),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in stack.resolved_parameters().items()],
        "CreationTime": stack.created, "StackStatus": stack.status,
        "StackStatusReason": stack.reason or None, "DisableRollback": stack.disable_rollback,
        "Capabilities": stack.capabilities, "Tags": [{"Key": k, "Value": v} for k, v in stack.tags.items()],
        "EnableTerminationProtection": stack.termination_protection,
        "Outputs": [{"OutputKey": k, "OutputValue": v, "Description": d} for k, (v, d) in stack.outputs.items()]
        or None,
        "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"},
    }
    if stack.rollback_configuration:
        document["RollbackConfiguration"] = stack.rollback_configuration
    if stack.updated:
        document["LastUpdatedTime"] = stack.updated
    if stack.deleted:
        document["DeletionTime"] = stack.deleted
    if stack.parent_id:
        document["ParentId"], document["RootId"] = stack.parent_id, stack.root_id
    return document


def summary_document(stack: Stack) -> dict[str, Any]:
    document = {"StackId": stack.stack_id, "StackName": stack.name, "CreationTime": stack.created,
                "StackStatus": stack.status, "TemplateDescription": stack.template.get("Description"),
                "DriftInformation": {"StackDriftStatus": "NOT_CHECKED"}}
    for key, value in (("LastUpdatedTime", stack.updated), ("DeletionTime", stack.deleted),
                       ("ParentId", stack.parent_id or None), ("RootId", stack.root_id if stack.parent_id else None)):
        if value:
            document[key] = value
    return document


def resource_summary(resource) -> dict[str, Any]:
    return {"LogicalResourceId": resource.logical_id, "PhysicalResourceId": resource.physical_id,
            "ResourceType": resource.type, "LastUpdatedTimestamp": resource.updated,
            "ResourceStatus": resource.status, "ResourceStatusReason": resource.reason or None,
            "DriftInformation": {"StackResourceDriftStatus": "NOT_CHECKED"}}


def resource_document(stack: Stack, resource) -> dict[str, Any]:
    return {"StackName": stack.name, "StackId": stack.stack_id, "LogicalResourceId": resource.logical_id,
            "PhysicalResourceId": resource.physical_id, "ResourceType": resource.type,
            "Timestamp": resource.updated, "ResourceStatus": resource.status,
            "ResourceStatusReason": resource.reason or None}


def change_set_document(change_set: ChangeSet) -> dict[str, Any]:
    stack = change_set.stack
    document = {
        "ChangeSetName": change_set.name, "ChangeSetId": change_set.change_set_id, "StackId": stack.stack_id,
        "StackName": stack.name, "Description": change_set.description or None,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in change_set.parameters.items()] or None,
        "CreationTime": change_set.created, "ExecutionStatus": change_set.execution_status,
        "Status": change_set.status, "StatusReason": change_set.reason or None,
        "Capabilities": change_set.capabilities, "Tags": [{"Key": k, "Value": v}
                                                          for k, v in change_set.tags.items()] or None,
        "Changes": change_set.changes, "IncludeNestedStacks": change_set.include_nested,
        "ImportExistingResources": change_set.import_existing,
    }
    if change_set.parent_id:
        document["ParentChangeSetId"], document["RootChangeSetId"] = change_set.parent_id, change_set.root_id
    if change_set.deployment_config:
        document["DeploymentConfig"] = change_set.deployment_config
    if change_set.rollback_configuration:
        document["RollbackConfiguration"] = change_set.rollback_configuration
    if change_set.on_stack_failure:
        document["OnStackFailure"] = change_set.on_stack_failure
    return document


def change_set_summary(change_set: ChangeSet) -> dict[str, Any]:
    stack = change_set.stack
    return {"StackId": stack.stack_id, "StackName": stack.name, "ChangeSetId": change_set.change_set_id,
            "ChangeSetName": change_set.name, "ExecutionStatus": change_set.execution_status,
            "Status": change_set.status, "StatusReason": change_set.reason or None,
            "CreationTime": change_set.created, "Description": change_set.description or None,
            "IncludeNestedStacks": change_set.include_nested,
            "ImportExistingResources": change_set.import_existing}


# ---------------------------------------------------------------------------
# actions
# ---------------------------------------------------------------------------

@action
def create_stack(self, backend: Backend) -> ActionResult:
    template, body, url = template_of(self, backend)
    stack = backend.create_stack(
        name=self._get_param("StackName"), template=template, body=body, url=url,
        parameters=parameters_of(self, None), tags=tags_of(self), capabilities=self._get_param("Capabilities", []),
        disable_rollback=bool(optional_bool(self, "DisableRollback")), on_failure=self._get_param("OnFailure", ""),
        policy=self._get_param("StackPolicyBody", ""),
        termination_protection=bool(optional_bool(self, "EnableTerminationProtection")),
        retain_except_on_create=bool(optional_bool(self, "RetainExceptOnCreate")),
        token=self._get_param("ClientRequestToken", ""),
        rollback_configuration=rollback_triggers.kept_unless_given(rollback_configuration_of(self), {}))
    return ActionResult({"StackId": stack.stack_id})


@action
def update_stack(self, backend: Backend) -> ActionResult:
    stack = backend.stack(self._get_param("StackName"))
    template, body, url = template_of(self, backend, stack)
    tags = tags_of(self) if self._get_param("Tags") is not None else dict(stack.tags)
    backend.update_stack(stack, template, body, url, parameters_of(self, stack), tags,
                         self._get_param("Capabilities", []), bool(optional_bool(self, "DisableRollback")),
                         self._get_param("ClientRequestToken", ""),
                         rollback_triggers.kept_unless_given(rollback_configuration_of(self),
                                                             stack.rollback_configuration))
    return ActionResult({"StackId": stack.stack_id})


@action
def delete_stack(self, backend: Backend) -> ActionResult:
    stack = backend.find(self._get_param("StackName"))
    if stack is not None:  # deleting a stack that is not there succeeds
        backend.delete_stack(stack, self._get_param("ClientRequestToken", ""))
    return EmptyResult()


@action
def describe_stacks(self, backend: Backend) -> ActionResult:
    name = self._get_param("StackName")
    stacks = [backend.stack(name, include_deleted=True)] if name else list(backend.stacks.values())
    return ActionResult({"Stacks": [stack_document(s) for s in stacks]})


@action
def list_stacks(self, backend: Backend) -> ActionResult:
    wanted = set(self._get_param("StackStatusFilter", []) or [])
    stacks = list(backend.stacks.values()) + list(backend.deleted.values())
    return ActionResult({"StackSummaries": [summary_document(s) for s in stacks
                                            if not wanted or s.status in wanted]})


@action
def describe_stack_events(self, backend: Backend) -> ActionResult:
    stack = backend.stack(self._get_param("StackName"), include_deleted=True)
    return ActionResult({"StackEvents": list(reversed(stack.events))})


@action
def describe_events(self, backend: Backend) -> ActionResult:
    """Operation events.  This engine runs no pre-deployment validation of its own (its rules fail the
    operation instead), so a change set has no VALIDATION_ERROR events; a stack's are its stack events."""
    name = self._get_param("StackName")
    if self._get_param("ChangeSetName"):
        backend.change_set(self._get_param("ChangeSetName"), name)
        return ActionResult({"OperationEvents": []})
    failed_only = str(self._get_param("Filters.FailedEvents", "")).lower() == "true"
    stack = backend.stack(name, include_deleted=True)
    events = [{"EventId": e.get("EventId"), "StackId": stack.stack_id, "EventType": "STACK_EVENT",
               "LogicalResourceId": e.get("LogicalResourceId"), "PhysicalResourceId": e.get("PhysicalResourceId"),
               "ResourceType": e.get("ResourceType"), "Timestamp": e.get("Timestamp"),
               "ResourceStatus": e.get("ResourceStatus"), "ResourceStatusReason": e.get("ResourceStatusReason")}
              for e in reversed(stack.events) if not failed_only or "FAILED" in str(e.get("ResourceStatus"))]
    return ActionResult({"OperationEvents": events})


@action
def list_stack_resources(self, backend: Backend) -> ActionResult:
    stack = backend.stack(self._get_param("StackName"), include_deleted=True)
    return ActionResult({"StackResourceSummaries": [resource_summary(r) for r in stack.resources.values()]})


@action
def describe_stack_resources(self, backend: Backend) -> ActionResult:
    physical = self._get_param("PhysicalResourceId")
    if physical:
        found = backend.owner_by_physical_id(physical)
        if found is None:
            raise engine.validation(f"Stack for {physical} does not exist")
        return ActionResult({"StackResources": [resource_document(*found)]})
    stack = backend.stack(self._get_param("StackName"), include_deleted=True)
    logical = self._get_param("LogicalResourceId")
    resources = [r for r in stack.resources.values() if not logical or r.logical_id == logical]
    return ActionResult({"StackResources": [resource_document(stack, r) for r in resources]})


@action
def describe_stack_resource(self, backend: Backend) -> ActionResult:
    stack = backend.stack(self._get_param("StackName"), include_deleted=True)
    logical = self._get_param("LogicalResourceId")
    if logical not in stack.resources:
        raise engine.validation(f"Resource {logical} does not exist for stack {stack.name}")
    return ActionResult({"StackResourceDetail": resource_document(stack, stack.resources[logical])})


@action
def get_template(self, backend: Backend) -> ActionResult:
    stack = backend.stack(self._get_param("StackName"), include_deleted=True)
    return ActionResult({"TemplateBody": stack.template_body, "StagesAvailable": ["Original", "Processed"]})


@action
def get_template_summary(self, backend: Backend) -> ActionResult:
    name = self._get_param("StackName")
    if name:
        template = backend.stack(name).template
    else:
        template, _, _ = template_of(self, backend)
    parameters = [{"ParameterKey": k, "DefaultValue": v.get("Default"), "ParameterType": v.get("Type", "String"),
                   "NoEcho": bool(v.get("NoEcho")), "Description": v.get("Description", "")}
                  for k, v in (template.get("Parameters") or {}).items()]
    types = sorted({r["Type"] for r in (template.get("Resources") or {}).values()})
    return ActionResult({"Parameters": parameters, "Description": template.get("Description"),
                         "ResourceTypes": types, "Version": template.get("AWSTemplateFormatVersion")})


@action
def create_change_set(self, backend: Backend) -> ActionResult:
    stack_name = self._get_param("StackName")
    kind = self._get_param("ChangeSetType", "UPDATE")
    existing = backend.find(stack_name)
    template, body, url = template_of(self, backend, existing)
    change_set = backend.create_change_set(
        stack_name=stack_name, name=self._get_param("ChangeSetName"), kind=kind, template=template, body=body,
        url=url, parameters=parameters_of(self, existing), tags=tags_of(self),
        capabilities=self._get_param("Capabilities", []) or [], description=self._get_param("Description", ""),
        include_nested=bool(optional_bool(self, "IncludeNestedStacks")),
        import_existing=bool(optional_bool(self, "ImportExistingResources")),
        resources_to_import=self._get_param("ResourcesToImport", []) or [],
        deployment_config=self._get_param("DeploymentConfig") or {},
        on_stack_failure=self._get_param("OnStackFailure", ""))
    change_set.rollback_configuration = rollback_triggers.kept_unless_given(
        rollback_configuration_of(self), existing.rollback_configuration if existing else {})
    return ActionResult({"Id": change_set.change_set_id, "StackId": change_set.stack.stack_id})


@action
def describe_change_set(self, backend: Backend) -> ActionResult:
    change_set = backend.change_set(self._get_param("ChangeSetName"), self._get_param("StackName"))
    return ActionResult(change_set_document(change_set))


@action
def list_change_sets(self, backend: Backend) -> ActionResult:
    stack = backend.stack(self._get_param("StackName"))
    return ActionResult({"Summaries": [change_set_summary(c) for c in backend.change_sets.values()
                                       if c.stack is stack and not c.parent_id]})


@action
def execute_change_set(self, backend: Backend) -> ActionResult:
    change_set = backend.change_set(self._get_param("ChangeSetName"), self._get_param("StackName"))
    backend.execute_change_set(change_set, optional_bool(self, "DisableRollback"),
                               bool(optional_bool(self, "RetainExceptOnCreate")),
                               self._get_param("ClientRequestToken", ""))
    return EmptyResult()


@action
def delete_change_set(self, backend: Backend) -> ActionResult:
    change_set = backend.change_set(self._get_param("ChangeSetName"), self._get_param("StackName"))
    if change_set.execution_status == "EXECUTE_IN_PROGRESS":
        raise CfnError("InvalidChangeSetStatus", "Cannot delete a change set that is being executed")
    for other in [c for c in backend.change_sets.values()
                  if c.root_id == change_set.change_set_id or c is change_set]:
        backend.change_sets.pop(other.change_set_id, None)
    stack = change_set.stack
    if stack.status == "REVIEW_IN_PROGRESS" and not any(c.stack is stack for c in backend.change_sets.values()):
        pass  # CloudFormation keeps an empty REVIEW_IN_PROGRESS stack until it is deleted
    return EmptyResult()


@action
def set_stack_policy(self, backend: Backend) -> ActionResult:
    backend.stack(self._get_param("StackName")).policy = self._get_param("StackPolicyBody", "")
    return EmptyResult()


@action
def get_stack_policy(self, backend: Backend) -> ActionResult:
    return ActionResult({"StackPolicyBody": backend.stack(self._get_param("StackName")).policy or None})


@action
def update_termination_protection(self, backend: Backend) -> ActionResult:
    stack = backend.stack(self._get_param("StackName"))
    if stack.parent_id:
        raise engine.validation("Termination protection cannot be set on a nested stack; set it on the root stack")
    stack.termination_protection = bool(optional_bool(self, "EnableTerminationProtection"))
    return ActionResult({"StackId": stack.stack_id})


@action
def continue_update_rollback(self, backend: Backend) -> ActionResult:
    backend.continue_update_rollback(backend.stack(self._get_param("StackName")),
                                     self._get_param("ResourcesToSkip", []) or [])
    return EmptyResult()


@action
def rollback_stack(self, backend: Backend) -> ActionResult:
    stack = backend.stack(self._get_param("StackName"))
    backend.rollback_stack(stack, self._get_param("ClientRequestToken", ""))
    return ActionResult({"StackId": stack.stack_id})


@action
def cancel_update_stack(self, backend: Backend) -> ActionResult:
    stack = backend.stack(self._get_param("StackName"))
    raise engine.validation(f"CancelUpdateStack cannot be called from current stack status {stack.status}")


ACTIONS = (create_stack, update_stack, delete_stack, describe_stacks, list_stacks, describe_stack_events, describe_events,
           list_stack_resources, describe_stack_resources, describe_stack_resource, get_template,
           get_template_summary, create_change_set, describe_change_set, list_change_sets, execute_change_set,
           delete_change_set, set_stack_policy, get_stack_policy, update_termination_protection,
           continue_update_rollback, rollback_stack, cancel_update_stack)


def install() -> None:
    from moto.cloudformation.responses import CloudFormationResponse

    from .stacksets_api import ACTIONS as STACKSET_ACTIONS

    for function in ACTIONS + STACKSET_ACTIONS:
        setattr(CloudFormationResponse, function.__name__, function)
    # Strict mode's documents are already in the response shape.
    CloudFormationResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER = {}
