"""Strict mode's CloudFormation: stacks, change sets and the operations on them.

It follows the rules moto's engine skips, taking the facts from the provider
schemas (automl_cfn.providers):

- An update runs in dependency order and creates before it deletes:
  additions, in-place updates and the new half of each replacement first,
  then, once everything succeeded, a cleanup phase deletes removed
  resources and the old halves of replacements.
- A change to a create-only property replaces the resource.  A replacement
  that keeps a custom name fails ("CloudFormation cannot update a stack
  when a custom-named resource requires replacing"), and so does any
  replacement while rollback is disabled.
- A failure rolls the whole tree back (nested stacks included) unless
  rollback is disabled, in which case the stacks stay *_FAILED until
  RollbackStack or another update.  On rollback, resources created by the
  failed operation are deleted unless their DeletionPolicy is Retain;
  RetainExceptOnCreate (or ExecuteChangeSet's RetainExceptOnCreate) deletes
  them too.  Deleting a stack keeps Retain and RetainExceptOnCreate
  resources.
- Resource import: IMPORT change sets (ResourcesToImport) and
  ImportExistingResources take over an existing, unowned resource without
  touching it.  Auto-import needs what AWS documents: a static (literal)
  name, a Retain policy, and a type whose primary identifier is that name.
- Stack policies are enforced, termination protection refuses deletion,
  a ClientRequestToken makes ExecuteChangeSet idempotent, and executing a
  change set deletes the stack's other change sets.

Operations run to completion inside the API call (the caller sees the final
status on its next DescribeStacks), under one lock.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ... import providers
from ...intrinsics import Evaluator, TemplateError, dependencies, dependency_order, differences
from ...planner import Context, StackInput, StackPlan, plan
from . import rollback_triggers
from .registry import handler_for
from .resources import HandlerError, Where, random_suffix
from .types import coerce

NESTED = "AWS::CloudFormation::Stack"
RETAIN = "Retain"
RETAIN_EXCEPT_ON_CREATE = "RetainExceptOnCreate"
IAM_TYPES = {"AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy",
             "AWS::IAM::InstanceProfile", "AWS::IAM::AccessKey"}
CUSTOM_NAME_REPLACEMENT = ("CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                           "Rename {name} and update the stack again.")
DISABLED_ROLLBACK_REPLACEMENT = "Replacement type updates not supported on stack with disable-rollback."
NO_CHANGES = "The submitted information didn't contain changes. Submit different information to create a change set."
LOCK = threading.RLock()


class CfnError(Exception):
    """An API error: code and message as CloudFormation answers them."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def validation(message: str) -> CfnError:
    return CfnError("ValidationError", message)


class Failure(Exception):
    """A resource operation failed inside a stack operation."""

    def __init__(self, stack: "Stack", logical_id: str, reason: str):
        super().__init__(reason)
        self.stack, self.logical_id, self.reason = stack, logical_id, reason


# ---------------------------------------------------------------------------
# records
# ---------------------------------------------------------------------------

class Clock:
    """Strictly increasing timestamps, so that 'events since T' never misses or repeats one."""

    def __init__(self):
        self.last = datetime.now(timezone.utc)

    def now(self) -> datetime:
        moment = datetime.now(timezone.utc)
        self.last = moment if moment > self.last else self.last + timedelta(microseconds=1)
        return self.last


CLOCK = Clock()


@dataclass
class Resource:
    logical_id: str
    type: str
    properties: dict
    instance: Any = None
    status: str = "CREATE_IN_PROGRESS"
    reason: str = ""
    updated: datetime = field(default_factory=CLOCK.now)
    created_by: str = ""          # the operation that created it
    imported_by: str = ""
    child: "Stack | None" = None  # nested stacks
    deletion_policy: str = "Delete"
    update_replace_policy: str = "Delete"

    @property
    def physical_id(self) -> str:
        if self.child is not None:
            return self.child.stack_id
        return handler_for(self.type).physical_id(self.instance) if self.instance is not None else ""


@dataclass
class Stack:
    stack_id: str
    name: str
    account: str
    region: str
    template: dict = field(default_factory=dict)
    template_body: str = ""
    template_url: str = ""
    parameters: dict[str, str] = field(default_factory=dict)     # as given
    tags: dict[str, str] = field(default_factory=dict)
    capabilities: list[str] = field(default_factory=list)
    status: str = "REVIEW_IN_PROGRESS"
    reason: str = ""
    created: datetime = field(default_factory=CLOCK.now)
    updated: datetime | None = None
    deleted: datetime | None = None
    resources: dict[str, Resource] = field(default_factory=dict)
    outputs: dict[str, tuple[str, str]] = field(default_factory=dict)   # key -> (value, description)
    events: list[dict] = field(default_factory=list)
    policy: str = ""
    termination_protection: bool = False
    rollback_configuration: dict = field(default_factory=dict)
    parent_id: str = ""
    root_id: str = ""
    disable_rollback: bool = False
    retain_except_on_create: bool = False
    tokens: set[str] = field(default_factory=set)
    last_operation: "Operation | None" = None

    @property
    def where(self) -> Where:
        return Where(self.account, self.region, self.name, self.stack_id, dict(self.tags))

    def event(self, logical_id: str, resource_type: str, physical_id: str, status: str, reason: str = "",
              token: str = "") -> None:
        self.events.append({
            "StackId": self.stack_id, "EventId": str(uuid.uuid4()), "StackName": self.name,
            "LogicalResourceId": logical_id, "PhysicalResourceId": physical_id, "ResourceType": resource_type,
            "Timestamp": CLOCK.now(), "ResourceStatus": status, "ResourceStatusReason": reason or None,
            "ClientRequestToken": token or None,
        })

    def set_status(self, status: str, reason: str = "", token: str = "") -> None:
        self.status, self.reason = status, reason
        self.event(self.name, NESTED, self.stack_id, status, reason, token)

    def resolved_parameters(self) -> dict[str, str]:
        """Every template parameter with its value (defaults filled in), as DescribeStacks shows them."""
        values = {}
        for name, spec in (self.template.get("Parameters") or {}).items():
            value = self.parameters.get(name, spec.get("Default"))
            values[name] = "****" if spec.get("NoEcho") else ("" if value is None else str(value))
        return values


@dataclass
class ChangeSet:
    change_set_id: str
    name: str
    stack: Stack
    kind: str                       # CREATE | UPDATE | IMPORT
    template: dict
    template_body: str
    template_url: str
    parameters: dict[str, str]
    tags: dict[str, str]
    capabilities: list[str]
    description: str = ""
    status: str = "CREATE_COMPLETE"
    execution_status: str = "AVAILABLE"
    reason: str = ""
    created: datetime = field(default_factory=CLOCK.now)
    changes: list[dict] = field(default_factory=list)
    include_nested: bool = False
    import_existing: bool = False
    imports: set[tuple[str, str]] = field(default_factory=set)     # (stack path, logical id) to adopt
    resources_to_import: dict[str, dict] = field(default_factory=dict)
    deployment_config: dict = field(default_factory=dict)
    rollback_configuration: dict = field(default_factory=dict)
    on_stack_failure: str = ""
    parent_id: str = ""
    root_id: str = ""


@dataclass
class Snapshot:
    template: dict
    template_body: str
    template_url: str
    parameters: dict
    resources: dict[str, Resource]
    outputs: dict
    status: str


@dataclass
class Operation:
    """One stack operation over a tree of stacks."""

    kind: str                               # CREATE | UPDATE | IMPORT
    disable_rollback: bool = False
    retain_except_on_create: bool = False
    token: str = ""
    imports: set[tuple[str, str]] = field(default_factory=set)
    resources_to_import: dict[str, dict] = field(default_factory=dict)
    operation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    touched: list[Stack] = field(default_factory=list)
    cleanups: list[tuple[Stack, list[Resource]]] = field(default_factory=list)


# ---------------------------------------------------------------------------
# the backend
# ---------------------------------------------------------------------------

class Backend:
    """All stacks and change sets of one account and region."""

    def __init__(self, account: str, region: str):
        self.account, self.region = account, region
        self.stacks: dict[str, Stack] = {}
        self.deleted: dict[str, Stack] = {}
        self.change_sets: dict[str, ChangeSet] = {}

    # -- lookups ---------------------------------------------------------------
    def stack(self, name_or_id: str, include_deleted: bool = False) -> Stack:
        for stack in self.stacks.values():
            if name_or_id in (stack.name, stack.stack_id):
                return stack
        if include_deleted and name_or_id in self.deleted:
            return self.deleted[name_or_id]
        raise validation(f"Stack with id {name_or_id} does not exist")

    def find(self, name_or_id: str) -> Stack | None:
        try:
            return self.stack(name_or_id)
        except CfnError:
            return None

    def change_set(self, name_or_id: str, stack_name: str | None = None) -> ChangeSet:
        if name_or_id in self.change_sets:
            return self.change_sets[name_or_id]
        for change_set in self.change_sets.values():
            if change_set.name == name_or_id and (not stack_name or stack_name in (change_set.stack.name,
                                                                                   change_set.stack.stack_id)):
                return change_set
        raise CfnError("ChangeSetNotFound", f"ChangeSet [{name_or_id}] does not exist")

    def owner(self, resource_type: str, physical_id: str) -> tuple[Stack, Resource] | None:
        for stack in self.stacks.values():
            for resource in stack.resources.values():
                if resource.type == resource_type and resource.instance is not None \
                        and resource.physical_id == physical_id:
                    return stack, resource
        return None

    def owner_by_physical_id(self, physical_id: str) -> tuple[Stack, Resource] | None:
        for stack in self.stacks.values():
            for resource in stack.resources.values():
                if resource.physical_id == physical_id:
                    return stack, resource
        return None

    def new_stack_id(self, name: str) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{name}/{uuid.uuid4()}"

    def new_change_set_id(self, name: str) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.account}:changeSet/{name}/{uuid.uuid4()}"

    # -- templates -----------------------------------------------------------------
    def fetch(self, template_url: str) -> tuple[dict, str]:
        from moto.cloudformation.models import Stack as MotoStack
        from moto.cloudformation.utils import get_stack_from_s3_url

        from .s3_access import readable_by, region_mismatch

        elsewhere = region_mismatch(template_url)
        if elsewhere:
            raise validation(f"TemplateURL {template_url} could not be read: S3 error: The bucket is in this region: "
                             f"{elsewhere}. Please use this region to retry the request")
        if not readable_by(template_url, self.account):
            raise validation(f"TemplateURL {template_url} could not be read: S3 error: Access Denied (account "
                             f"{self.account} is not granted s3:GetObject by the bucket's policy)")
        try:
            body = get_stack_from_s3_url(template_url, account_id=self.account, partition="aws")
        except Exception as exc:
            # moto reads a key that is gone (expired behind a delete marker, or never there) as None
            missing = isinstance(exc, (AttributeError, KeyError)) or "NoSuchKey" in type(exc).__name__
            reason = "S3 error: The specified key does not exist." if missing else str(exc)
            raise validation(f"TemplateURL {template_url} could not be read: {reason}") from None
        return parse_template(body, MotoStack), body

    def availability_zones(self, region: str) -> list[str]:
        from moto.ec2.models import ec2_backends

        zones = ec2_backends[self.account][region].describe_availability_zones()
        return sorted(z.name for z in zones)

    # -- change sets -----------------------------------------------------------------
    def create_change_set(self, *, stack_name: str, name: str, kind: str, template: dict, body: str, url: str,
                          parameters: dict, tags: dict, capabilities: list, description: str,
                          include_nested: bool, import_existing: bool, resources_to_import: list,
                          deployment_config: dict, on_stack_failure: str) -> ChangeSet:
        if not re.fullmatch(r"[a-zA-Z][-a-zA-Z0-9]{0,127}", name):
            raise validation(f"1 validation error detected: Value '{name}' at 'changeSetName' failed to satisfy "
                             "constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*")
        existing = self.find(stack_name)
        if kind == "CREATE" or (kind == "IMPORT" and existing is None):
            if existing and existing.status != "REVIEW_IN_PROGRESS":
                raise CfnError("AlreadyExistsException", f"Stack [{stack_name}] already exists and cannot be created "
                                                         f"again with the changeSet [{name}].")
            stack = existing or Stack(self.new_stack_id(stack_name), stack_name, self.account, self.region)
            if existing is None:
                stack.root_id = stack.stack_id
                self.stacks[stack.stack_id] = stack
                stack.set_status("REVIEW_IN_PROGRESS", "User Initiated")
        else:
            if existing is None:
                raise validation(f"Stack [{stack_name}] does not exist")
            stack = existing
            check_updatable(stack)
        check_capabilities(template, capabilities, self)
        check_parameters(template, parameters)
        change_set = ChangeSet(self.new_change_set_id(name), name, stack, kind, template, body, url, parameters,
                               tags, capabilities, description, include_nested=include_nested,
                               import_existing=import_existing, deployment_config=deployment_config or {},
                               on_stack_failure=on_stack_failure or "")
        change_set.root_id = change_set.change_set_id
        if kind == "IMPORT":
            change_set.resources_to_import = {r["LogicalResourceId"]: r for r in resources_to_import}
        self.change_sets[change_set.change_set_id] = change_set
        try:
            self.describe_changes(change_set)
        except (TemplateError, CfnError) as exc:
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.reason = str(exc)
        return change_set

    def describe_changes(self, change_set: ChangeSet) -> None:
        stack = change_set.stack
        old = StackInput(stack.template, dict(stack.parameters)) if stack.template else None
        new = StackInput(change_set.template, dict(change_set.parameters))
        importable = None
        if change_set.import_existing or change_set.kind == "IMPORT":
            importable = self.importable_check(change_set)
        context = Context(region=self.region, account=self.account, loader=self.loader(),
                          importable=importable, availability_zones=self.availability_zones)
        result = plan(old, new, context, where="root", stack_name=stack.name)
        if change_set.kind == "IMPORT":
            check_import(change_set, result)
        change_set.imports = {(where_of(path), c.logical_id) for path, c in result.walk() if c.action == "Import"}
        change_set.changes = self.change_records(result, stack, change_set, ("root",))
        if change_set.kind == "UPDATE" and not change_set.changes and change_set.tags == stack.tags \
                and change_set.parameters == stack.parameters:
            change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
            change_set.reason = NO_CHANGES

    def loader(self):
        known = {s.template_url: s.template for s in self.stacks.values() if s.template_url}

        def load(url: str) -> dict:
            if url in known:
                return known[url]
            template, _ = self.fetch(url)
            known[url] = template
            return template
        return load

    def importable_check(self, change_set: ChangeSet):
        def importable(logical_id: str, resource_type: str, props: dict, body: dict) -> bool:
            if change_set.kind == "IMPORT":
                return logical_id in change_set.resources_to_import
            provider = providers.get(resource_type)
            name = provider.primary_identifier[0] if provider.importable_by_name else None
            if name is None or body.get("DeletionPolicy") not in (RETAIN, RETAIN_EXCEPT_ON_CREATE):
                return False
            if not isinstance((body.get("Properties") or {}).get(name), str):
                return False  # a name built with Ref or Fn::Sub is not static: auto-import skips it
            return self.unowned(resource_type, props.get(name)) is not None
        return importable

    def unowned(self, resource_type: str, identifier: str | None) -> Any:
        """The existing resource with this identifier if no live stack holds it."""
        if not identifier:
            return None
        instance = handler_for(resource_type).find(Where(self.account, self.region, "", ""), identifier)
        if instance is None:
            return None
        physical = handler_for(resource_type).physical_id(instance)
        return None if self.owner(resource_type, physical) else instance

    def change_records(self, result: StackPlan, stack: Stack | None, change_set: ChangeSet,
                       path: tuple[str, ...]) -> list[dict]:
        records = []
        for change in result.changes:
            current = stack.resources.get(change.logical_id) if stack else None
            record: dict[str, Any] = {
                "Action": change.action, "LogicalResourceId": change.logical_id,
                "ResourceType": change.resource_type,
                "PhysicalResourceId": current.physical_id if current else None,
                "Scope": ["Properties"] if change.details else [],
                "Details": [{"Target": {"Attribute": "Properties", "Name": d.name.split("/", 1)[0],
                                        "Path": "/Properties/" + d.name, "RequiresRecreation": d.recreation},
                             "Evaluation": "Dynamic" if d.source == "ResourceReference" else "Static",
                             "ChangeSource": d.source} for d in change.details],
            }
            if change.action == "Modify":
                record["Replacement"] = change.replacement
            if change.action == "Remove":
                record["PolicyAction"] = "Retain" if change.retained_on_removal else "Delete"
            elif change.replaces:
                record["PolicyAction"] = "ReplaceAndRetain" if change.update_replace_policy == RETAIN \
                    else "ReplaceAndDelete"
            if change.nested is not None and change_set.include_nested:
                child = current.child if current else None
                nested = ChangeSet(self.new_change_set_id(f"{change_set.name}-{change.logical_id}"),
                                   f"{change_set.name}-{change.logical_id}", child or stack, change_set.kind, {}, "",
                                   "", {}, {}, [], parent_id=change_set.change_set_id,
                                   root_id=change_set.root_id or change_set.change_set_id,
                                   include_nested=True)
                nested.changes = self.change_records(change.nested, child, nested, path + (change.logical_id,))
                self.change_sets[nested.change_set_id] = nested
                record["ChangeSetId"] = nested.change_set_id
            records.append({"Type": "Resource", "ResourceChange": record})
        return records

    def execute_change_set(self, change_set: ChangeSet, disable_rollback: bool | None, retain_except_on_create: bool,
                           token: str) -> None:
        stack = change_set.stack
        if token and token in stack.tokens:
            return  # the same request again: it has been carried out
        if change_set.execution_status != "AVAILABLE" or change_set.parent_id:
            raise CfnError("InvalidChangeSetStatus", f"ChangeSet [{change_set.change_set_id}] cannot be executed in "
                                                     f"its current status of [{change_set.execution_status}]")
        check_updatable(stack, allow_review=change_set.kind in ("CREATE", "IMPORT"))
        if token:
            stack.tokens.add(token)
        stack.rollback_configuration = change_set.rollback_configuration   # the stack keeps the last one given
        operation = Operation(change_set.kind, disable_rollback=rollback_disabled(change_set, disable_rollback),
                              retain_except_on_create=retain_except_on_create, token=token,
                              imports=set(change_set.imports),
                              resources_to_import=change_set.resources_to_import)
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        for other in [c for c in self.change_sets.values() if c.stack is stack and c is not change_set]:
            self.change_sets.pop(other.change_set_id, None)
        for nested in [c for c in self.change_sets.values() if c.root_id == change_set.change_set_id
                       and c is not change_set]:
            self.change_sets.pop(nested.change_set_id, None)
        stack.tags = dict(change_set.tags)
        stack.capabilities = list(change_set.capabilities)
        ok = run(self, stack, change_set.template, change_set.template_body, change_set.template_url,
                 change_set.parameters, operation)
        change_set.execution_status = "EXECUTE_COMPLETE" if ok else "EXECUTE_FAILED"
        if change_set.on_stack_failure == "DELETE" and not ok and change_set.kind == "CREATE":
            self.delete_stack(stack, token="")

    # -- stacks ------------------------------------------------------------------------
    def create_stack(self, *, name: str, template: dict, body: str, url: str, parameters: dict, tags: dict,
                     capabilities: list, disable_rollback: bool, on_failure: str, policy: str,
                     termination_protection: bool, retain_except_on_create: bool, token: str,
                     rollback_configuration: dict | None = None) -> Stack:
        if self.find(name):
            raise CfnError("AlreadyExistsException", f"Stack [{name}] already exists")
        check_capabilities(template, capabilities, self)
        check_parameters(template, parameters)
        stack = Stack(self.new_stack_id(name), name, self.account, self.region, tags=dict(tags),
                      capabilities=list(capabilities), policy=policy or "",
                      termination_protection=termination_protection,
                      rollback_configuration=dict(rollback_configuration or {}))
        stack.root_id = stack.stack_id
        self.stacks[stack.stack_id] = stack
        disabled = disable_rollback or on_failure == "DO_NOTHING"
        operation = Operation("CREATE", disable_rollback=disabled, retain_except_on_create=retain_except_on_create,
                              token=token)
        ok = run(self, stack, template, body, url, parameters, operation)
        if not ok and on_failure == "DELETE":
            self.delete_stack(stack, token="")
        return stack

    def update_stack(self, stack: Stack, template: dict, body: str, url: str, parameters: dict, tags: dict,
                     capabilities: list, disable_rollback: bool, token: str,
                     rollback_configuration: dict | None = None) -> None:
        check_updatable(stack)
        check_capabilities(template, capabilities, self)
        check_parameters(template, parameters)
        if template == stack.template and parameters == stack.parameters and tags == stack.tags:
            raise validation("No updates are to be performed.")
        stack.tags = dict(tags)
        if rollback_configuration is not None:
            stack.rollback_configuration = rollback_configuration      # the stack keeps the last one given
        run(self, stack, template, body, url, parameters, Operation("UPDATE", disable_rollback=disable_rollback,
                                                                     token=token))

    def delete_stack(self, stack: Stack, token: str) -> None:
        if stack.termination_protection:
            raise validation(f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled")
        if stack.status.endswith("_IN_PROGRESS") and stack.status != "REVIEW_IN_PROGRESS":
            raise validation(f"Stack [{stack.name}] is in {stack.status} state and can not be deleted")
        for change_set in [c for c in self.change_sets.values() if c.stack is stack]:
            self.change_sets.pop(change_set.change_set_id, None)
        delete_tree(self, stack, Operation("DELETE", token=token))

    def continue_update_rollback(self, stack: Stack, skip: list[str]) -> None:
        if stack.status != "UPDATE_ROLLBACK_FAILED":
            raise validation(f"Stack {stack.stack_id} is in {stack.status} state and can not continue the rollback")
        stack.set_status("UPDATE_ROLLBACK_COMPLETE")

    def rollback_stack(self, stack: Stack, token: str) -> None:
        if stack.status not in ("CREATE_FAILED", "UPDATE_FAILED") or stack.last_operation is None:
            raise validation(f"Stack {stack.stack_id} is in {stack.status} state and cannot be rolled back")
        operation = stack.last_operation
        operation.token = token
        roll_back(self, stack, operation)


# ---------------------------------------------------------------------------
# checks at the API edge
# ---------------------------------------------------------------------------

def where_of(path: tuple[str, ...]) -> str:
    return "/".join(("root",) + tuple(path))


def check_updatable(stack: Stack, allow_review: bool = False) -> None:
    status = stack.status
    if status == "REVIEW_IN_PROGRESS" and allow_review:
        return
    if status.endswith("_IN_PROGRESS") or status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED",
                                                     "UPDATE_ROLLBACK_FAILED", "CREATE_FAILED",
                                                     "REVIEW_IN_PROGRESS"):
        raise validation(f"Stack:{stack.stack_id} is in {status} state and can not be updated.")


def rollback_disabled(change_set: ChangeSet, requested: bool | None) -> bool:
    """ExecuteChangeSet's DisableRollback, else the change set's DeploymentConfig or OnStackFailure.
    EXPRESS mode without an explicit DisableRollback runs with rollback off, as seen on AWS."""
    if requested is not None:
        return requested
    config = change_set.deployment_config
    if "DisableRollback" in config:
        return bool(config["DisableRollback"])
    if change_set.on_stack_failure:
        return change_set.on_stack_failure == "DO_NOTHING"
    return config.get("Mode") == "EXPRESS"


def check_capabilities(template: dict, capabilities: list, backend: Backend, depth: int = 0) -> None:
    needed = required_capability(template, backend, depth)
    if needed and needed not in capabilities and not (needed == "CAPABILITY_IAM"
                                                       and "CAPABILITY_NAMED_IAM" in capabilities):
        raise CfnError("InsufficientCapabilitiesException", f"Requires capabilities : [{needed}]")


def required_capability(template: dict, backend: Backend, depth: int = 0) -> str | None:
    found = None
    for body in (template.get("Resources") or {}).values():
        kind = body.get("Type")
        if kind in IAM_TYPES:
            name_property = providers.get(kind).name_property
            if name_property and name_property in (body.get("Properties") or {}):
                return "CAPABILITY_NAMED_IAM"
            found = "CAPABILITY_IAM"
        elif kind == NESTED and depth < 5:
            url = (body.get("Properties") or {}).get("TemplateURL")
            child = None
            if isinstance(url, str):
                child = backend.fetch(url)[0]
            elif isinstance(url, dict):
                child = None  # a URL built from parameters: checked when the nested stack is created
            if child:
                nested = required_capability(child, backend, depth + 1)
                if nested == "CAPABILITY_NAMED_IAM":
                    return nested
                found = found or nested
    return found


def check_parameters(template: dict, given: dict) -> None:
    declared = template.get("Parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise validation(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    missing = sorted(name for name, spec in declared.items() if name not in given and "Default" not in spec)
    if missing:
        raise validation(f"Parameters: [{', '.join(missing)}] must have values")
    for name, spec in declared.items():
        value = str(given.get(name, spec.get("Default", "")))
        failure = parameter_failure(name, spec, value)
        if failure:
            raise validation(failure)


def parameter_failure(name: str, spec: dict, value: str) -> str | None:
    constraint = spec.get("ConstraintDescription")

    def fail(text: str) -> str:
        return f"Parameter '{name}' {'failed to satisfy constraint: ' + constraint if constraint else text}"

    kind = spec.get("Type", "String")
    values = [v.strip() for v in value.split(",")] if kind == "CommaDelimitedList" or kind.startswith("List<") \
        else [value]
    for item in values:
        if "AllowedValues" in spec and item not in [str(v) for v in spec["AllowedValues"]]:
            return f"Parameter '{name}' must be one of AllowedValues"
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], item):
            return fail(f"must match pattern {spec['AllowedPattern']}")
        if "MaxLength" in spec and len(item) > int(spec["MaxLength"]):
            return fail(f"must contain at most {spec['MaxLength']} characters")
        if "MinLength" in spec and len(item) < int(spec["MinLength"]):
            return fail(f"must contain at least {spec['MinLength']} characters")
        if kind == "Number":
            try:
                number = float(item)
            except ValueError:
                return f"Parameter '{name}' must be a number"
            if "MinValue" in spec and number < float(spec["MinValue"]):
                return fail(f"must be a number greater than or equal to {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                return fail(f"must be a number less than or equal to {spec['MaxValue']}")
    return None


def check_import(change_set: ChangeSet, result: StackPlan) -> None:
    """An IMPORT change set only brings resources in: nothing else may change."""
    for path, change in result.walk():
        if path:
            raise validation("Resource import is supported for the root stack's resources only")
        if change.action == "Import":
            if change.deletion_policy not in (RETAIN, RETAIN_EXCEPT_ON_CREATE, "Delete") or \
                    "DeletionPolicy" not in json.dumps(change_set.template["Resources"][change.logical_id]):
                raise validation(f"The following resources to import [{change.logical_id}] must have "
                                 "DeletionPolicy attribute specified in the template.")
        elif change.action != "Import":
            raise validation(f"You have modified resources [{change.logical_id}] in your template that are not "
                             "being imported. Update, create or delete operations cannot be executed during import "
                             "operations.")
    missing = set(change_set.resources_to_import) - {c.logical_id for _, c in result.walk() if c.action == "Import"}
    if missing:
        raise validation(f"Resources [{', '.join(sorted(missing))}] to import are not in the template")


def parse_template(body: str, moto_stack) -> dict:
    try:
        return moto_stack.parse_template(body)
    except Exception as exc:
        raise validation(f"Template format error: {exc}") from None


# ---------------------------------------------------------------------------
# running an operation
# ---------------------------------------------------------------------------

def run(backend: Backend, stack: Stack, template: dict, body: str, url: str, parameters: dict,
        operation: Operation) -> bool:
    """Carry an operation out on `stack` (and its nested stacks); True when it succeeded."""
    creating = not stack.template
    try:
        try:
            converge(backend, stack, template, body, url, parameters, operation, creating)
            watch_rollback_triggers(stack, rollback_triggers.alarms_in_alarm_roll_back)
        except Failure:
            raise
        except Exception as exc:  # a defect of this engine or of moto: fail the operation, keep the server up
            import traceback

            traceback.print_exc()
            raise Failure(stack, stack.name, f"Internal failure of the local endpoint: {error_text(exc)}") from None
    except Failure as failure:
        if operation.disable_rollback:
            for touched in operation.touched:
                was_new = operation.snapshots[touched.stack_id].template == {}
                touched.set_status("CREATE_FAILED" if was_new else "UPDATE_FAILED",
                                   failure.reason if touched is stack else "", operation.token)
            stack.last_operation = operation
            return False
        roll_back(backend, stack, operation, reason=failure_summary(failure, creating))
        return False
    for touched, removed in reversed(operation.cleanups):
        cleanup(backend, touched, removed, operation)
    final = "IMPORT_COMPLETE" if operation.kind == "IMPORT" else None
    for touched in reversed(operation.touched):
        was_new = operation.snapshots[touched.stack_id].template == {}
        touched.updated = None if was_new else CLOCK.now()
        touched.set_status(final or ("CREATE_COMPLETE" if was_new else "UPDATE_COMPLETE"), token=operation.token)
    stack.last_operation = None
    return True


def watch_rollback_triggers(stack: Stack, rule) -> None:
    """The root stack's rollback triggers (a nested stack has none of its own): a rule's reason fails the
    whole operation, which rolls back."""
    reason = rule(stack.rollback_configuration, stack.account, stack.region)
    if reason:
        raise Failure(stack, "", reason)      # no resource failed: the stack's reason is the trigger's


def failure_summary(failure: Failure, creating: bool) -> str:
    if not failure.logical_id:
        return failure.reason
    verb = "create" if creating else "update"
    return f"The following resource(s) failed to {verb}: [{failure.logical_id}]. "


def snapshot(stack: Stack) -> Snapshot:
    return Snapshot(stack.template, stack.template_body, stack.template_url, dict(stack.parameters),
                    {k: copy.copy(v) for k, v in stack.resources.items()}, dict(stack.outputs), stack.status)


def evaluator(backend: Backend, stack: Stack, template: dict, parameters: dict) -> Evaluator:
    def resource_value(logical_id: str, attribute: str) -> Any:
        resource = stack.resources.get(logical_id)
        if resource is None or (resource.instance is None and resource.child is None):
            raise TemplateError(f"Template error: resource {logical_id} is not available")
        if attribute == "Ref":
            return resource.physical_id
        if resource.child is not None:
            key = attribute.split(".", 1)[1] if attribute.startswith("Outputs.") else attribute
            if key not in resource.child.outputs:
                raise TemplateError(f"Template error: nested stack {logical_id} has no output {key!r}")
            return resource.child.outputs[key][0]
        try:
            return handler_for(resource.type).attribute(resource.instance, attribute)
        except HandlerError as exc:
            raise TemplateError(f"{exc} ({logical_id})") from None

    return Evaluator(template, parameters, region=stack.region, account=stack.account, stack_name=stack.name,
                     stack_id=stack.stack_id, resource_value=resource_value,
                     availability_zones=backend.availability_zones)


def converge(backend: Backend, stack: Stack, template: dict, body: str, url: str, parameters: dict,
             operation: Operation, creating: bool, path: tuple[str, ...] = ()) -> None:
    """Phase one: everything the new template wants, in dependency order (deletions wait for cleanup)."""
    operation.snapshots.setdefault(stack.stack_id, snapshot(stack))
    operation.touched.append(stack)
    in_progress = "IMPORT_IN_PROGRESS" if operation.kind == "IMPORT" else \
        ("CREATE_IN_PROGRESS" if creating else "UPDATE_IN_PROGRESS")
    stack.set_status(in_progress, "User Initiated" if not stack.parent_id else "", operation.token)
    if not stack.parent_id:
        watch_rollback_triggers(stack, rollback_triggers.missing_triggers_fail_the_operation)
        watch_rollback_triggers(stack, rollback_triggers.alarms_in_alarm_roll_back)
    try:
        check_parameters(template, parameters)
        check_policy_for_removals(stack, template, parameters, backend)
        stack.template, stack.template_body, stack.template_url = template, body, url
        stack.parameters = dict(parameters)
        ev = evaluator(backend, stack, template, parameters)
        wanted = ev.resources()
        order = dependency_order(wanted)
    except (TemplateError, CfnError) as exc:
        raise Failure(stack, stack.name, str(exc)) from None
    for logical_id in order:
        body_of = wanted[logical_id]
        try:
            props = ev.resolved(body_of.get("Properties", {})) or {}
        except TemplateError as exc:
            stack.event(logical_id, body_of["Type"], "", "CREATE_FAILED", str(exc), operation.token)
            raise Failure(stack, logical_id, str(exc)) from None
        current = stack.resources.get(logical_id)
        if current is not None and current.type != body_of["Type"]:
            raise Failure(stack, logical_id, "Update of resource type is not permitted")
        if current is None:
            add(backend, stack, logical_id, body_of, props, operation, path)
        elif current.type == NESTED:
            if differences(current.properties, props):
                update_nested(backend, stack, current, props, operation, path)
        else:
            found = differences(current.properties, props)
            if found:
                change(backend, stack, current, body_of, props, found, operation)
    removed = [stack.resources[k] for k in stack.resources if k not in wanted]
    operation.cleanups.append((stack, removed))
    try:
        stack.outputs = {name: (text(value), (template.get("Outputs") or {})[name].get("Description", ""))
                         for name, value in ev.outputs().items()}
    except TemplateError as exc:
        raise Failure(stack, stack.name, str(exc)) from None


def text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def add(backend: Backend, stack: Stack, logical_id: str, body: dict, props: dict, operation: Operation,
        path: tuple[str, ...]) -> None:
    kind = body["Type"]
    resource = Resource(logical_id, kind, props, created_by=operation.operation_id,
                        deletion_policy=body.get("DeletionPolicy", "Delete"),
                        update_replace_policy=body.get("UpdateReplacePolicy", "Delete"))
    if (where_of(path), logical_id) in operation.imports or (not path and logical_id in operation.resources_to_import):
        adopt(backend, stack, resource, props, operation)
        return
    stack.event(logical_id, kind, "", "CREATE_IN_PROGRESS", "", operation.token)
    if kind == NESTED:
        create_nested(backend, stack, resource, props, operation, path)
        return
    try:
        from . import rules

        rules.before_create(backend, stack, resource, props)
        resource.instance = created_as_caller(stack, logical_id, kind, props)
    except Exception as exc:  # whatever the service said is the resource's failure reason
        reason = error_text(exc)
        stack.event(logical_id, kind, "", "CREATE_FAILED", reason, operation.token)
        raise Failure(stack, logical_id, reason) from None
    resource.status = "CREATE_COMPLETE"
    stack.resources[logical_id] = resource
    stack.event(logical_id, kind, resource.physical_id, "CREATE_COMPLETE", "", operation.token)


def adopt(backend: Backend, stack: Stack, resource: Resource, props: dict, operation: Operation) -> None:
    """Resource import: take over the existing resource as it is."""
    provider = providers.get(resource.type)
    identifier = None
    if resource.logical_id in operation.resources_to_import:
        identifier = next(iter(operation.resources_to_import[resource.logical_id]["ResourceIdentifier"].values()))
    elif provider.importable_by_name:
        identifier = props.get(provider.primary_identifier[0])
    stack.event(resource.logical_id, resource.type, str(identifier or ""), "IMPORT_IN_PROGRESS",
                "Resource import started.", operation.token)
    instance = backend.unowned(resource.type, identifier)
    if instance is None:
        reason = f"Resource of type '{resource.type}' with identifier '{identifier}' was not found or belongs to " \
                 "another stack."
        stack.event(resource.logical_id, resource.type, str(identifier or ""), "IMPORT_FAILED", reason,
                    operation.token)
        raise Failure(stack, resource.logical_id, reason)
    resource.instance = instance
    resource.imported_by, resource.created_by = operation.operation_id, ""
    resource.status = "IMPORT_COMPLETE"
    stack.resources[resource.logical_id] = resource
    stack.event(resource.logical_id, resource.type, resource.physical_id, "IMPORT_COMPLETE",
                "Resource import completed.", operation.token)


def create_nested(backend: Backend, stack: Stack, resource: Resource, props: dict, operation: Operation,
                  path: tuple[str, ...]) -> None:
    name = f"{stack.name}-{resource.logical_id}-{random_suffix()}"
    child = Stack(backend.new_stack_id(name), name, stack.account, stack.region, tags=dict(stack.tags),
                  capabilities=list(stack.capabilities), parent_id=stack.stack_id, root_id=stack.root_id)
    backend.stacks[child.stack_id] = child
    resource.child = child
    stack.resources[resource.logical_id] = resource
    stack.event(resource.logical_id, NESTED, child.stack_id, "CREATE_IN_PROGRESS", "Resource creation Initiated",
                operation.token)
    try:
        as_caller(stack, NESTED, "create", props, child.stack_id)
        template, body = backend.fetch(props["TemplateURL"])
        converge(backend, child, template, body, props["TemplateURL"], nested_parameters(props), operation,
                 creating=True, path=path + (resource.logical_id,))
    except (Failure, CfnError, HandlerError) as exc:
        reason = f"Embedded stack {child.stack_id} was not successfully created: " \
                 f"{exc.reason if isinstance(exc, Failure) else getattr(exc, 'message', str(exc))}"
        resource.status = "CREATE_FAILED"
        stack.event(resource.logical_id, NESTED, child.stack_id, "CREATE_FAILED", reason, operation.token)
        raise Failure(stack, resource.logical_id, reason) from None
    resource.status = "CREATE_COMPLETE"
    stack.event(resource.logical_id, NESTED, child.stack_id, "CREATE_COMPLETE", "", operation.token)


def nested_parameters(props: dict) -> dict[str, str]:
    return {key: text(value) for key, value in (props.get("Parameters") or {}).items()}


def update_nested(backend: Backend, stack: Stack, resource: Resource, props: dict, operation: Operation,
                  path: tuple[str, ...]) -> None:
    child = resource.child
    stack.event(resource.logical_id, NESTED, child.stack_id, "UPDATE_IN_PROGRESS", "", operation.token)
    try:
        as_caller(stack, NESTED, "update", props, child.stack_id)
        # A nested stack that updates (a parameter changed) gets its template from TemplateURL again, the
        # same URL included: what is there now is what it updates to, and an object gone fails the update
        # (aws-resource-cloudformation-stack.html, "TemplateURL").  Test: test_template_retention.py.
        template, body = backend.fetch(props["TemplateURL"])
        converge(backend, child, template, body, props["TemplateURL"], nested_parameters(props), operation,
                 creating=False, path=path + (resource.logical_id,))
    except (Failure, CfnError, HandlerError) as exc:
        state = "UPDATE_FAILED" if operation.disable_rollback else "UPDATE_ROLLBACK_IN_PROGRESS"
        reason = f"Embedded stack {child.stack_id} was not successfully updated. Currently in {state} with " \
                 f"reason: {exc.reason if isinstance(exc, Failure) else getattr(exc, 'message', str(exc))}"
        resource.status = "UPDATE_FAILED"
        stack.event(resource.logical_id, NESTED, child.stack_id, "UPDATE_FAILED", reason, operation.token)
        raise Failure(stack, resource.logical_id, reason) from None
    resource.properties = props
    resource.status = "UPDATE_COMPLETE"
    stack.event(resource.logical_id, NESTED, child.stack_id, "UPDATE_COMPLETE", "", operation.token)


def change(backend: Backend, stack: Stack, current: Resource, body: dict, props: dict, found,
           operation: Operation) -> None:
    kind = current.type
    provider = providers.get(kind)
    replaces = any(provider.replaces_on(d.path) for d in found)
    logical_id = current.logical_id

    def fail(reason: str):
        stack.event(logical_id, kind, current.physical_id, "UPDATE_FAILED", reason, operation.token)
        return Failure(stack, logical_id, reason)

    denied = policy_denies(stack, logical_id, kind, "Update:Replace" if replaces else "Update:Modify")
    if denied:
        raise fail(f"Action denied by stack policy: Statement [#{denied}] does not allow "
                   f"[{'Update:Replace' if replaces else 'Update:Modify'}] for resource [LogicalResourceId/{logical_id}]")
    if not replaces:
        stack.event(logical_id, kind, current.physical_id, "UPDATE_IN_PROGRESS", "", operation.token)
        try:
            as_caller(stack, kind, "update", props, current.physical_id, old=current.properties)
            current.instance = handler_for(kind).update(stack.where, current.instance, kind,
                                                        coerce(kind, current.properties), coerce(kind, props))
        except Exception as exc:
            raise fail(error_text(exc)) from None
        current.properties, current.status = props, "UPDATE_COMPLETE"
        current.deletion_policy = body.get("DeletionPolicy", "Delete")
        current.update_replace_policy = body.get("UpdateReplacePolicy", "Delete")
        stack.event(logical_id, kind, current.physical_id, "UPDATE_COMPLETE", "", operation.token)
        return
    if operation.disable_rollback:
        raise fail(DISABLED_ROLLBACK_REPLACEMENT)
    identity = provider.identity(props)
    if identity is not None and identity == provider.identity(current.properties):
        raise fail(CUSTOM_NAME_REPLACEMENT.format(name="/".join(str(v) for v in identity)))
    stack.event(logical_id, kind, current.physical_id, "UPDATE_IN_PROGRESS",
                "Requested update requires the creation of a new physical resource; hence creating one.",
                operation.token)
    replacement = Resource(logical_id, kind, props, created_by=operation.operation_id,
                           deletion_policy=body.get("DeletionPolicy", "Delete"),
                           update_replace_policy=body.get("UpdateReplacePolicy", "Delete"))
    try:
        from . import rules

        rules.before_create(backend, stack, replacement, props)
        replacement.instance = created_as_caller(stack, logical_id, kind, props)
    except Exception as exc:
        raise fail(error_text(exc)) from None
    replacement.status = "UPDATE_COMPLETE"
    stack.resources[logical_id] = replacement
    operation.cleanups.append((stack, [current]))   # the old half goes in cleanup
    stack.event(logical_id, kind, replacement.physical_id, "UPDATE_COMPLETE", "", operation.token)


def created_as_caller(stack: Stack, logical_id: str, kind: str, props: dict):
    """Create the resource, its create handler's calls authorized as the caller.  The handler's calls after
    the first act on the resource it made (its ID known, its tags on it), so they are asked once it exists;
    if IAM refuses one, the handler fails and what it made goes, as CloudFormation cleans up a failed create."""
    handler = handler_for(kind)
    instance = handler.create(stack.where, logical_id, kind, coerce(kind, props))
    try:
        as_caller(stack, kind, "create", props, handler.physical_id(instance))
    except HandlerError:
        try:
            handler.delete(stack.where, instance, kind, coerce(kind, props))
        except Exception:
            pass
        raise
    return instance


def as_caller(stack: Stack, kind: str, handler: str, props: dict, physical_id: str = "",
              old: dict | None = None) -> None:
    """CloudFormation runs the handler with the caller's credentials: what IAM refuses them fails the
    resource, in the words a handler reports (policy/handlers.py)."""
    from ..policy import enforce, handlers

    provider = providers.get(kind)
    name = props.get(provider.name_property) if provider.name_property else None
    given = props.get("Tags") or []
    tags = {**stack.tags, **(given if isinstance(given, dict) else
                             {t["Key"]: t["Value"] for t in given if isinstance(t, dict) and "Key" in t})}
    try:
        handlers.authorize(kind, handler, props, str(name or physical_id), physical_id, stack.region, stack.account,
                           tags, old)
    except enforce.AccessDenied as denied:
        service = kind.split("::")[1]
        raise HandlerError(f'Resource handler returned message: "{denied.message}" (Service: {service}, '
                           "Status Code: 403)") from None


def error_text(exc: Exception) -> str:
    """What a service error says, in one line."""
    message = getattr(exc, "message", None) or getattr(exc, "description", None) or str(exc)
    code = getattr(exc, "error_type", None) or getattr(exc, "code", None)
    text_value = f"{message}" if not code or str(code) in str(message) else f"{message} (Service: {code})"
    return " ".join(str(text_value).split())


# ---------------------------------------------------------------------------
# stack policies
# ---------------------------------------------------------------------------

def policy_denies(stack: Stack, logical_id: str, resource_type: str, action: str) -> int | None:
    """The 1-based statement number that denies `action` on the resource, if the stack policy does."""
    if not stack.policy:
        return None
    try:
        statements = json.loads(stack.policy).get("Statement", [])
    except ValueError:
        return None
    allowed = False
    for index, statement in enumerate(statements, 1):
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        targets = statement.get("Resource", "*")
        targets = [targets] if isinstance(targets, str) else targets
        if not any(fnmatch.fnmatchcase(action, a) for a in actions):
            continue
        if not any(t == "*" or fnmatch.fnmatchcase(f"LogicalResourceId/{logical_id}", t) for t in targets):
            continue
        if statement.get("Effect") == "Deny":
            return index
        allowed = True
    return None if allowed else len(statements) or 1


def check_policy_for_removals(stack: Stack, template: dict, parameters: dict, backend: Backend) -> None:
    if not stack.policy or not stack.resources:
        return
    wanted = Evaluator(template, parameters, region=stack.region, account=stack.account).resources()
    for logical_id, resource in stack.resources.items():
        if logical_id not in wanted:
            denied = policy_denies(stack, logical_id, resource.type, "Update:Delete")
            if denied:
                raise CfnError("ValidationError", f"Action denied by stack policy: Statement [#{denied}] does not "
                                                  f"allow [Update:Delete] for resource [LogicalResourceId/{logical_id}]")


# ---------------------------------------------------------------------------
# cleanup, rollback, deletion
# ---------------------------------------------------------------------------

def cleanup(backend: Backend, stack: Stack, removed: list[Resource], operation: Operation) -> None:
    """Phase two: removed resources and the old halves of replacements go, unless a policy keeps them."""
    if not removed:
        return
    graph = stack_graph(stack, removed)
    for resource in graph:
        replaced_old = stack.resources.get(resource.logical_id) is not resource
        policy = resource.update_replace_policy if replaced_old else resource.deletion_policy
        if not replaced_old:
            stack.resources.pop(resource.logical_id, None)
        if resource.child is not None:
            delete_tree(backend, resource.child, operation, parent=stack, resource=resource)
            continue
        if policy in (RETAIN, RETAIN_EXCEPT_ON_CREATE):
            stack.event(resource.logical_id, resource.type, resource.physical_id, "DELETE_SKIPPED", "",
                        operation.token)
            continue
        delete_resource(backend, stack, resource, operation, must=False)


def stack_graph(stack: Stack, resources: list[Resource]) -> list[Resource]:
    """`resources` in reverse dependency order (dependents first), by the stack's previous template."""
    snapshot_template = stack.template
    bodies = (snapshot_template.get("Resources") or {})
    known = {r.logical_id: bodies.get(r.logical_id, {"Type": r.type}) for r in resources}
    try:
        order = dependency_order(known)
    except TemplateError:
        order = list(known)
    by_id: dict[str, list[Resource]] = {}
    for resource in resources:
        by_id.setdefault(resource.logical_id, []).append(resource)
    return [r for logical_id in reversed(order) for r in by_id[logical_id]]


def transitive_needs(needs: dict[str, set[str]], logical_id: str) -> set[str]:
    found, todo = set(), list(needs.get(logical_id, ()))
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(needs.get(current, ()))
    return found


def already_gone(exc: Exception) -> bool:
    """A delete that finds nothing to delete succeeded: CloudFormation treats a resource the service no
    longer has as deleted (troubleshooting.html, "Delete stack fails": a resource deleted outside
    CloudFormation is skipped on the next attempt)."""
    text = f"{getattr(exc, 'code', '')} {getattr(exc, 'error_type', '')} {exc}".lower()
    return any(marker in text for marker in ("notfound", "not found", "does not exist", "nosuch"))


def delete_resource(backend: Backend, stack: Stack, resource: Resource, operation: Operation, must: bool) -> bool:
    stack.event(resource.logical_id, resource.type, resource.physical_id, "DELETE_IN_PROGRESS", "", operation.token)
    try:
        if resource.instance is not None:
            as_caller(stack, resource.type, "delete", resource.properties, resource.physical_id)
            try:
                handler_for(resource.type).delete(stack.where, resource.instance, resource.type,
                                                  coerce(resource.type, resource.properties))
            except Exception as exc:
                if not already_gone(exc):
                    raise
    except Exception as exc:
        reason = error_text(exc)
        resource.status, resource.reason = "DELETE_FAILED", reason
        stack.event(resource.logical_id, resource.type, resource.physical_id, "DELETE_FAILED", reason,
                    operation.token)
        if must:
            raise Failure(stack, resource.logical_id, reason) from None
        return False
    stack.event(resource.logical_id, resource.type, resource.physical_id, "DELETE_COMPLETE", "", operation.token)
    return True


def keeps_on_rollback(resource: Resource, operation: Operation) -> bool:
    """A resource the failed operation created survives the rollback only with DeletionPolicy Retain."""
    return resource.deletion_policy == RETAIN and not operation.retain_except_on_create


def roll_back(backend: Backend, stack: Stack, operation: Operation, reason: str = "") -> None:
    snap = operation.snapshots.get(stack.stack_id)
    if snap is None:
        return
    creating = snap.template == {}
    prefix = "IMPORT_" if operation.kind == "IMPORT" and not creating else ("" if creating else "UPDATE_")
    stack.set_status(f"{prefix}ROLLBACK_IN_PROGRESS",
                     reason + ("Rollback requested by user." if reason else ""), operation.token)
    failed = False
    for logical_id, resource in reversed(list(stack.resources.items())):
        previous = snap.resources.get(logical_id)
        if resource.child is not None:
            roll_back(backend, resource.child, operation)
            if previous is None:
                stack.resources.pop(logical_id)
                delete_tree(backend, resource.child, operation, parent=stack, resource=resource)
            continue
        made_here = operation.operation_id in (resource.created_by, resource.imported_by)
        if previous is None or made_here:
            if resource.imported_by == operation.operation_id:
                pass                                     # released as it was: import never changes a resource
            elif keeps_on_rollback(resource, operation):
                stack.event(logical_id, resource.type, resource.physical_id, "DELETE_SKIPPED", "", operation.token)
            else:
                failed |= not delete_resource(backend, stack, resource, operation, must=False)
            if previous is None:
                stack.resources.pop(logical_id, None)
            else:
                stack.resources[logical_id] = previous   # the old half of a replacement is still there
            continue
        elif differences(previous.properties, resource.properties):
            stack.event(logical_id, resource.type, resource.physical_id, "UPDATE_IN_PROGRESS", "", operation.token)
            try:
                resource.instance = handler_for(resource.type).update(
                    stack.where, resource.instance, resource.type, coerce(resource.type, resource.properties),
                    coerce(resource.type, previous.properties))
                resource.properties = previous.properties
                stack.event(logical_id, resource.type, resource.physical_id, "UPDATE_COMPLETE", "", operation.token)
            except Exception as exc:
                failed = True
                stack.event(logical_id, resource.type, resource.physical_id, "UPDATE_FAILED", error_text(exc),
                            operation.token)
    stack.template, stack.template_body, stack.template_url = snap.template, snap.template_body, snap.template_url
    stack.parameters, stack.outputs = snap.parameters, snap.outputs
    stack.set_status(f"{prefix}ROLLBACK_FAILED" if failed else f"{prefix}ROLLBACK_COMPLETE", token=operation.token)
    stack.last_operation = None


def delete_tree(backend: Backend, stack: Stack, operation: Operation, parent: Stack | None = None,
                resource: Resource | None = None) -> bool:
    """Delete a stack and everything in it that no policy retains; True when it is gone."""
    stack.set_status("DELETE_IN_PROGRESS", "User Initiated" if parent is None else "", operation.token)
    if parent is not None:
        parent.event(resource.logical_id, NESTED, stack.stack_id, "DELETE_IN_PROGRESS", "", operation.token)
        try:
            as_caller(parent, NESTED, "delete", resource.properties, stack.stack_id)
        except HandlerError as refused:
            stack.set_status("DELETE_FAILED", str(refused), operation.token)
            parent.event(resource.logical_id, NESTED, stack.stack_id, "DELETE_FAILED", str(refused), operation.token)
            return False
    ok = True
    held: set[str] = set()      # what a resource that failed to delete still needs: CloudFormation keeps it
    needs = dependencies({r.logical_id: (stack.template.get("Resources") or {}).get(r.logical_id, {"Type": r.type})
                          for r in stack.resources.values()})
    for item in stack_graph(stack, list(stack.resources.values())):
        if item.logical_id in held:
            stack.event(item.logical_id, item.type, item.physical_id, "DELETE_SKIPPED",
                        "A resource that depends on it failed to delete", operation.token)
            ok = False
            continue
        if item.child is not None:
            gone = delete_tree(backend, item.child, operation, parent=stack, resource=item)
        elif item.deletion_policy in (RETAIN, RETAIN_EXCEPT_ON_CREATE):
            stack.event(item.logical_id, item.type, item.physical_id, "DELETE_SKIPPED", "", operation.token)
            gone = True
        else:
            gone = delete_resource(backend, stack, item, operation, must=False)
        if gone:
            stack.resources.pop(item.logical_id, None)
        else:
            held |= transitive_needs(needs, item.logical_id)
        ok &= gone
    if not ok:
        stack.set_status("DELETE_FAILED", "The following resource(s) failed to delete: "
                         f"[{', '.join(stack.resources)}]. ", operation.token)
        if parent is not None:
            parent.event(resource.logical_id, NESTED, stack.stack_id, "DELETE_FAILED", "Embedded stack failed",
                         operation.token)
        return False
    stack.set_status("DELETE_COMPLETE", token=operation.token)
    stack.deleted = CLOCK.now()
    backend.stacks.pop(stack.stack_id, None)
    backend.deleted[stack.stack_id] = stack
    if parent is not None:
        parent.event(resource.logical_id, NESTED, stack.stack_id, "DELETE_COMPLETE", "", operation.token)
    return True
