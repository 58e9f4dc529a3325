"""`automl-cfn stackset`: one environment's stacks in many accounts and regions, through CloudFormation StackSets.

deploy: the templates (generated/, or a release) are hosted in this account's artifacts bucket, which
the organisation may read (organization_id) -> the stack set `<project>-<env>` is created or updated
with the environment's parameters -> new instances are added, grouped by their overrides -> each
operation runs as the targets file's preferences say (one region first, one account at a time, no
failure tolerated by default; region_order holds across operations: stackset_plan.py) and is followed until it
ends; a failed operation stops the rollout.  A service-managed stack set is called as the management account
(SELF) or as a delegated administrator (DELEGATED_ADMIN) on every request (stackset_caller.py).

What StackSets cannot do that `deploy` does is said on every run (LIMITS).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from .. import ui
from ..errors import EXIT_OK, RefusedError, UserError
from ..parameters import parameter_values
from . import artifacts, retention, stackset_plan
from .aws import error_code
from .plan import CAPABILITIES
from .stackset_caller import StackSetsClient, caller_for, describe, find
from .target import Target
from .targets import Targets

RUNNING = ("RUNNING", "QUEUED", "STOPPING")
ADMINISTRATION_ROLE = "AWSCloudFormationStackSetAdministrationRole"
EXECUTION_ROLE = "AWSCloudFormationStackSetExecutionRole"
LIMITS = ("StackSets create no change sets: no resource-level review tree, no guard against replacing or "
          "deleting stateful resources, no EXPRESS mode, no rollback triggers; and a re-created instance cannot "
          "import the resources an earlier one retained (deploy that account with 'automl-cfn deploy', which "
          "adopts them). Review with 'automl-cfn deploy --env ENV' in one account first.")


@dataclass
class Options:
    yes: bool = False
    output: str = "text"
    poll: float = 5.0


def set_name(target: Target) -> str:
    return f"{target.settings.project_name}-{target.settings.environment}"


def instances(sets: StackSetsClient, name: str) -> list[dict]:
    found = []
    for page in sets.get_paginator("list_stack_instances").paginate(StackSetName=name):
        found += page["Summaries"]
    return found


# -- deploy and diff ---------------------------------------------------------------------

@dataclass
class Rollout:
    """What a deploy would do: the set's template and parameters, and per instance its overrides and whether
    it exists."""
    name: str
    template: dict[str, str]                       # {"TemplateURL": ...} or {"TemplateBody": ...}
    parameters: dict[str, str]
    tags: list[dict[str, str]]
    description: str
    existing: dict | None = None
    current: dict[tuple[str, str], dict] = field(default_factory=dict)   # (account or OU, region) -> summary
    wanted: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)   # -> parameter overrides
    sets: StackSetsClient | None = None           # the client as the caller (CallAs), from begin()


def begin(target: Target, targets: Targets) -> StackSetsClient:
    """Who calls, checked before anything is created or uploaded: self-managed needs the administration role
    here; service-managed the management account (SELF) or a registered delegated administrator
    (DELEGATED_ADMIN, which AWS confirms on the first call)."""
    sets = StackSetsClient(target.cfn, caller_for(target, targets))
    if not targets.service_managed:
        require_administration_role(target)
    return sets


def prepare(target: Target, targets: Targets) -> Rollout:
    """The environment's application stacks, as a stack set."""
    settings = target.settings
    if not settings.organization_id:
        raise UserError("stackset needs organization_id in the settings: the instances read their nested templates "
                        "from this account's artifacts bucket, which only the organisation's accounts may read")
    sets = begin(target, targets)
    existing = describe(sets, set_name(target))   # a delegated administrator not registered stops here
    bucket = target.artifacts_bucket
    files = {name: body for name, body in target.files.items() if name != artifacts.ARTIFACTS_TEMPLATE}
    hosted = artifacts.upload(target.aws, bucket, settings.project_name, files)
    parameters = {**target.parameters(), "ExistingVpcCidr": "", "TemplatesBucket": bucket,
                  "TemplatesPrefix": hosted.prefix, "TemplatesRegion": target.aws.region}
    rollout = Rollout(set_name(target), {"TemplateURL": hosted.url("root", target.aws.region)}, parameters,
                      target.tags(), f"automl-cfn {settings.environment} (StackSets)", existing, sets=sets)

    def overrides(account: str, region: str) -> dict[str, str]:
        values = parameter_values(targets.settings_for(settings, account, region))
        return {k: v for k, v in values.items() if parameters.get(k) != v}

    return with_instances(target, targets, rollout, overrides)


def with_instances(target: Target, targets: Targets, rollout: Rollout, overrides) -> Rollout:
    """The rollout with the stack set's current instances (and their overrides), and the wanted ones:
    `overrides(account, region)` gives each its parameter overrides (account is empty for an OU)."""
    if rollout.sets is None:
        rollout.sets = begin(target, targets)
    sets, name = rollout.sets, rollout.name
    rollout.existing = describe(sets, name)
    for summary in instances(sets, name) if rollout.existing else []:
        key = summary.get("OrganizationalUnitId") if targets.service_managed else summary["Account"]
        detail = sets.describe_stack_instance(StackSetName=name, StackInstanceAccount=summary["Account"],
                                             StackInstanceRegion=summary["Region"])["StackInstance"]
        summary["_overrides"] = {p["ParameterKey"]: p.get("ParameterValue", "")
                                 for p in detail.get("ParameterOverrides") or []}
        seen = rollout.current.get((key, summary["Region"]))
        if seen is None or seen.get("Status") == "CURRENT":   # an OU's accounts: one left behind marks it
            rollout.current[(key, summary["Region"])] = summary
    for where in targets.organizational_units or targets.accounts:
        for region in targets.regions:
            rollout.wanted[(where, region)] = overrides("" if targets.service_managed else where, region)
    return rollout


def require_administration_role(target: Target) -> None:
    try:
        target.aws.client("iam").get_role(RoleName=ADMINISTRATION_ROLE)
    except Exception as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        raise RefusedError(f"self-managed StackSets need the role {ADMINISTRATION_ROLE} in this account "
                           f"({target.account}), and {EXECUTION_ROLE} in every target account trusting it (AWS's "
                           "StackSets role templates create both); or target organizational_units instead") from None


def changed_parameters(rollout: Rollout) -> list[str]:
    """The set-level parameters this rollout changes (the template's bytes show in TemplatesPrefix)."""
    if rollout.existing is None:
        return []
    deployed = {p["ParameterKey"]: p.get("ParameterValue", "") for p in rollout.existing.get("Parameters", [])}
    return sorted(k for k, v in rollout.parameters.items() if deployed.get(k) != v)


def review(target: Target, rollout: Rollout, output: str) -> list[list[str]]:
    changed = changed_parameters(rollout)
    rows = []
    for (where, region), overrides in sorted(rollout.wanted.items()):
        summary = rollout.current.get((where, region))
        action = "create" if summary is None else (
            "update" if changed or overrides_changed(summary, overrides) or summary.get("Status") != "CURRENT"
            else "unchanged")   # an instance a failed or cancelled operation left OUTDATED is tried again
        if action == "update" and not changed and summary.get("Status") == "CURRENT":
            action = "update overrides"
        rows.append([where, region, action, ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())) or "-",
                     (summary or {}).get("Status", "")])
    leftover = [[w, r, "left as it is (not in the targets file)", "-", s.get("Status", "")]
                for (w, r), s in sorted(rollout.current.items()) if (w, r) not in rollout.wanted]
    caller = rollout.sets.caller if rollout.sets else None
    if output == "json":
        print(json.dumps({"stack_set": rollout.name, "account": target.account, "region": target.aws.region,
                          "call_as": caller.call_as if caller and caller.call_as else None,
                          "management_account": caller.management if caller and caller.call_as else None,
                          "new": rollout.existing is None, "changed_parameters": changed,
                          "instances": [dict(zip(("target", "region", "action", "overrides", "status"), row))
                                        for row in rows + leftover], "limits": LIMITS}, indent=2))
        return rows
    state = "new stack set" if rollout.existing is None else (
        f"parameters changing: {', '.join(changed)}" if changed else "set parameters unchanged")
    ui.out().print(f"Stack set {rollout.name} in account {target.account}, region {target.aws.region} ({state})")
    if caller and caller.explain():
        ui.out().print(f"  {caller.explain()}")
    ui.table(["Target", "Region", "Action", "Overrides", "Status"], rows + leftover)
    ui.info(f"Note: {LIMITS}")
    return rows


def overrides_changed(summary: dict, overrides: dict[str, str]) -> bool:
    given = summary.get("_overrides")
    return given is not None and given != overrides


def diff(target: Target, targets: Targets, options: Options) -> int:
    review(target, prepare(target, targets), options.output)
    return EXIT_OK


def deploy(target: Target, targets: Targets, options: Options) -> int:
    return roll_out(target, targets, prepare(target, targets), options)


def roll_out(target: Target, targets: Targets, rollout: Rollout, options: Options) -> int:
    """Create or update the stack set, then its instances, following each operation to its end."""
    rows = review(target, rollout, options.output)
    if all(row[2] == "unchanged" for row in rows) and rollout.existing is not None:
        ui.out().print(f"No changes: {rollout.name} and its instances are up to date.")
        return EXIT_OK
    where = "OU" if targets.service_managed else "account"
    if not ui.confirm(f"Roll {rollout.name} out to {len(rows)} {where} x region targets?", options.yes,
                      "pass --yes to roll out without a prompt"):
        raise RefusedError("nothing was rolled out")
    sets = rollout.sets
    common = dict(**rollout.template, Capabilities=CAPABILITIES,
                  Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in rollout.parameters.items()],
                  Tags=rollout.tags, Description=rollout.description)
    if rollout.existing is None:
        request = dict(StackSetName=rollout.name, **common)
        if targets.service_managed:
            request.update(PermissionModel="SERVICE_MANAGED",
                           AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": True})
        else:
            request.update(PermissionModel="SELF_MANAGED",
                           AdministrationRoleARN=f"arn:aws:iam::{target.account}:role/{ADMINISTRATION_ROLE}",
                           ExecutionRoleName=EXECUTION_ROLE)
        sets.create_stack_set(**request)
    preferences = targets.operation_preferences()
    outcomes: list[tuple[str, list[dict]]] = []
    for step in stackset_plan.plan(work(rollout, dict(zip(sorted(rollout.wanted), (row[2] for row in rows)))),
                                   preferences["RegionOrder"], preferences["RegionConcurrencyType"] == "PARALLEL"):
        request = dict(StackSetName=rollout.name, Regions=list(step.regions),
                       OperationPreferences={**preferences, "RegionOrder": list(step.regions)},
                       **placement(targets, list(step.where)))
        if step.kind == stackset_plan.UPDATE_SET:
            started = sets.update_stack_set(**request, **common)
        else:
            request["ParameterOverrides"] = [{"ParameterKey": k, "ParameterValue": v} for k, v in step.overrides]
            call = sets.create_stack_instances if step.kind == stackset_plan.CREATE_INSTANCES else \
                sets.update_stack_instances
            started = call(**request)
        ok, results = follow(sets, rollout.name, started["OperationId"], step.kind, options)
        outcomes.append((step.kind, results))
        if not ok:
            created, updated = stackset_plan.instances_made(outcomes)
            ui.info(f"{rollout.name}: {created + updated} instances rolled out before it stopped "
                    f"({created} created, {updated} updated)")
            return 1
    created, updated = stackset_plan.instances_made(outcomes)
    ui.out().print(f"{rollout.name}: rolled out to {created + updated} instances ({created} created, {updated} "
                   "updated)")
    keep_template_sets(target, rollout.parameters)
    return EXIT_OK


def work(rollout: Rollout, actions: dict[tuple[str, str], str]) -> dict[str, dict]:
    """Per kind of operation, the instances it reaches and their overrides.  Instances whose overrides change,
    or that a failed operation left behind, are updated with their overrides; an override dropped from the
    targets file is set back to the set's value (StackSets keeps overrides an update does not mention).  A
    change of the set itself goes to every instance the targets file names."""
    redo = [key for key, action in actions.items() if action == "update overrides" or (
        action == "update" and (overrides_changed(rollout.current[key], rollout.wanted[key])
                                or rollout.current[key].get("Status") != "CURRENT"))]
    set_changed = rollout.existing is not None and any(a == "update" for a in actions.values()) and bool(
        changed_parameters(rollout))
    return {
        stackset_plan.UPDATE_INSTANCES: {key: {**{k: rollout.parameters.get(k, "")
                                                  for k in rollout.current[key].get("_overrides", {})},
                                               **rollout.wanted[key]} for key in redo},
        stackset_plan.UPDATE_SET: {key: {} for key in rollout.current if key in rollout.wanted} if set_changed else {},
        stackset_plan.CREATE_INSTANCES: {key: rollout.wanted[key] for key, a in actions.items() if a == "create"},
    }


def placement(targets: Targets, where: list[str]) -> dict:
    if targets.service_managed:
        return {"DeploymentTargets": {"OrganizationalUnitIds": where}}
    return {"Accounts": where}


def follow(sets: StackSetsClient, name: str, operation_id: str, what: str,
           options: Options) -> tuple[bool, list[dict]]:
    """Wait for the operation, showing progress; print each instance's result.  (succeeded, the results)."""
    started, shown = time.monotonic(), set()
    while True:
        operation = sets.describe_stack_set_operation(StackSetName=name, OperationId=operation_id)["StackSetOperation"]
        results = operation_results(sets, name, operation_id)
        if operation["Status"] not in RUNNING:
            break
        # Live: each instance as it finishes, then the operation's state.
        for result in results:
            key = (result["Account"], result["Region"], result["Status"])
            if key not in shown and result["Status"] not in ("PENDING", "RUNNING"):
                shown.add(key)
                ui.info(f"  {result['Account']} {result['Region']}: {result['Status']} {result.get('StatusReason') or ''}")
        ui.info(f"  {what} {operation_id}: {operation['Status']} ({int(time.monotonic() - started)} s)")
        time.sleep(options.poll)
    ui.table(["Account", "Region", "Result", "Reason"],
             [[r["Account"], r["Region"], r["Status"], r.get("StatusReason") or ""] for r in results],
             title=f"{what} {operation_id}: {operation['Status']}")
    if operation["Status"] != "SUCCEEDED":
        failed = [r for r in results if r["Status"] == "FAILED"]
        ui.info(f"{name}: the {what} stopped ({operation.get('StatusReason') or operation['Status']}); "
                f"{len(failed)} failed, {sum(r['Status'] == 'CANCELLED' for r in results)} cancelled. "
                "Nothing after it was started; see 'automl-cfn stackset status'.")
        return False, results
    return True, results


# -- status, drift, destroy ----------------------------------------------------------------

def operation_results(sets: StackSetsClient, name: str, operation_id: str) -> list[dict]:
    results = []
    for page in sets.get_paginator("list_stack_set_operation_results").paginate(StackSetName=name,
                                                                             OperationId=operation_id):
        results += page["Summaries"]
    return results


def status(target: Target, options: Options, watch: bool = False) -> int:
    name = set_name(target)
    sets, found = find(target, name)
    if found is None:
        raise UserError(f"stack set {name} does not exist in account {target.account}, region {target.aws.region}; "
                        "create it with 'automl-cfn stackset deploy'")
    operations = sets.list_stack_set_operations(StackSetName=name)["Summaries"]
    running = [o for o in operations if o["Status"] in RUNNING]
    if watch and running:
        follow(sets, name, running[0]["OperationId"], running[0]["Action"].lower(), options)
        operations = sets.list_stack_set_operations(StackSetName=name)["Summaries"]
    listed = instances(sets, name)
    caller = sets.caller
    if options.output == "json":
        print(json.dumps({"stack_set": name, "account": target.account, "region": target.aws.region,
                          "permission_model": found.get("PermissionModel"), "call_as": caller.call_as or None,
                          "instances": listed, "last_operation": operations[0] if operations else None},
                         indent=2, default=str))
    else:
        last = operations[0] if operations else None
        ui.out().print(f"Stack set {name} ({found.get('PermissionModel')}) in account {target.account}, region "
                       f"{target.aws.region}; last operation: "
                       + (f"{last['Action']} {last['Status']}" if last else "none"))
        if caller.explain():
            ui.out().print(f"  {caller.explain()}")
        ui.table(["Account", "Region", "Status", "Detail", "Drift", "Reason"],
                 [[i["Account"], i["Region"], i["Status"], i.get("StackInstanceStatus", {}).get("DetailedStatus", ""),
                   i.get("DriftStatus", ""), i.get("StatusReason") or ""] for i in listed])
    return EXIT_OK if all(i["Status"] == "CURRENT" for i in listed) else 1


def drift(target: Target, options: Options) -> int:
    name = set_name(target)
    sets, found = find(target, name)
    if found is None:
        raise UserError(f"stack set {name} does not exist in account {target.account}, region {target.aws.region}")
    operation = sets.detect_stack_set_drift(StackSetName=name)["OperationId"]
    follow(sets, name, operation, "drift detection", options)
    listed = instances(sets, name)
    ui.table(["Account", "Region", "Drift"], [[i["Account"], i["Region"], i.get("DriftStatus", "")] for i in listed])
    return EXIT_OK if all(i.get("DriftStatus") == "IN_SYNC" for i in listed) else 1


def destroy(target: Target, options: Options) -> int:
    """Delete every instance (their stacks go; buckets, repositories, logs, keys and secrets stay, as
    their DeletionPolicy says), then the stack set."""
    name = set_name(target)
    sets, found = find(target, name)
    if found is None:
        ui.out().print(f"stack set {name} does not exist in account {target.account}, region {target.aws.region}: "
                       "nothing to destroy")
        return EXIT_OK
    listed = instances(sets, name)
    if not ui.confirm(f"Delete {len(listed)} instances of {name} and the stack set (data is retained in each "
                      "account)?", options.yes, "pass --yes to destroy without a prompt"):
        raise RefusedError(f"{name} was not deleted")
    if listed:
        regions = sorted({i["Region"] for i in listed})
        request = dict(StackSetName=name, Regions=regions, RetainStacks=False,
                       OperationPreferences={"RegionConcurrencyType": "SEQUENTIAL", "MaxConcurrentCount": 1,
                                             "FailureToleranceCount": 0})
        if found.get("PermissionModel") == "SERVICE_MANAGED":
            request["DeploymentTargets"] = {"OrganizationalUnitIds": sorted(
                {i["OrganizationalUnitId"] for i in listed if i.get("OrganizationalUnitId")})}
        else:
            request["Accounts"] = sorted({i["Account"] for i in listed})
        ok, _ = follow(sets, name, sets.delete_stack_instances(**request)["OperationId"], "delete", options)
        if not ok:
            return 1
    sets.delete_stack_set(StackSetName=name)
    keep_template_sets(target, retention.parameters_of(found))
    ui.out().print(f"{name}: instances and stack set deleted; each account keeps its data (buckets, repositories, "
                   "log groups, keys, secrets)")
    return EXIT_OK


def keep_template_sets(target: Target, parameters: dict[str, str]) -> None:
    """Accounts that join the organisation later read the set's nested templates with no release to put them
    back: keep every set a stack set names, and give the others back to expiry (deploy/retention.py)."""
    if parameters.get("TemplatesBucket"):
        retention.keep_for_stack_sets(target.aws, parameters["TemplatesBucket"], target.settings.project_name)
