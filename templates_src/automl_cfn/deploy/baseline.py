"""`automl-cfn baseline`: the account baseline (AWS Config) in this account and region, and its verdicts.

deploy: read generated/account/baseline.json -> look for a configuration recorder the account already
has (one per region: if there is one, the baseline uses it and creates none) -> change set -> review ->
confirm -> execute -> wait.  The home region (config_home_region, else aws_region) is the one whose recorder
records the global IAM types; every deploy passes it (HomeRegion).
status: each rule's compliance for this environment's resources (the physical IDs of its stacks).

Organisation-wide: `automl-cfn stackset` rolls application stacks out; the baseline is one stack per
account and region, deployed here in each (or as a StackSet of its own template; see README).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from .. import synth, ui
from ..errors import EXIT_OK, AwsError, RefusedError, UserError
from .cfn import NoChanges, describe, wait, wait_for_change_set
from .states import SUCCESS, in_progress
from .target import Target

STACK_NAME = "automl-cfn-baseline"
TEMPLATE = "baseline"
RECORDER = "ConfigRecorder"
COMPLIANCE = ("COMPLIANT", "NON_COMPLIANT")


@dataclass
class Options:
    yes: bool = False
    rules_as: str = "rules"
    output: str = "text"
    poll: float = 3.0


def template(target: Target) -> str:
    documents = synth.read_account_documents(target.project_dir / "generated")
    if TEMPLATE not in documents:
        raise UserError("generated/account/baseline.json not found: run 'make templates' (automl-cfn templates) first")
    return json.dumps(documents[TEMPLATE], sort_keys=True)


def home_region(target: Target) -> str:
    """The home region, checked: a Region where AWS Config can record the global IAM types (an explicit
    config_home_region was checked with the settings; aws_region stands in for an empty one)."""
    from ..settings import check_home_region

    settings = target.settings
    where = "config_home_region" if settings.config_home_region else \
        "aws_region (config_home_region is empty, so the environment's region records the global IAM types)"
    check_home_region(settings.home_region, settings.aws_region, where)
    return settings.home_region


def our_recorder(cfn, stack: dict | None) -> str:
    if stack is None:
        return ""
    for resource in cfn.describe_stack_resources(StackName=STACK_NAME)["StackResources"]:
        if resource["LogicalResourceId"] == RECORDER:
            return resource.get("PhysicalResourceId", "")
    return ""


def deploy(target: Target, options: Options) -> int:
    body = template(target)   # bad input before any request
    home = home_region(target)
    cfn, config = target.cfn, target.aws.client("config")
    stack = describe(cfn, STACK_NAME)
    if stack is not None and in_progress(stack["StackStatus"]):
        raise AwsError(f"{STACK_NAME} is {stack['StackStatus']}; wait for it (aws cloudformation describe-stacks "
                       f"--stack-name {STACK_NAME})")
    if stack is not None and stack["StackStatus"] not in SUCCESS:
        raise AwsError(f"{STACK_NAME} is {stack['StackStatus']}; see its events and delete it before deploying again")
    mine = our_recorder(cfn, stack)
    others = [r for r in config.describe_configuration_recorders().get("ConfigurationRecorders", [])
              if r["name"] != mine]
    create = not others
    where = f"account {target.account}, region {target.aws.region}"
    if others:
        ui.info(f"AWS Config already records in {where} (recorder {others[0]['name']}): the baseline adds its rules "
                "and uses that recorder (CreateRecorder=false)")
        missing = missing_types(others[0], json.loads(body), target.aws.region, home)
        if missing:
            ui.info(f"  that recorder does not record {', '.join(missing)}: rules on those types will find nothing")
    request = dict(StackName=STACK_NAME, ChangeSetName=f"automl-cfn-baseline-{uuid.uuid4().hex[:8]}",
                   ChangeSetType="CREATE" if stack is None else "UPDATE", TemplateBody=body,
                   Capabilities=["CAPABILITY_IAM"], Tags=[{"Key": "ManagedBy", "Value": "automl-cfn"}],
                   Parameters=[{"ParameterKey": "CreateRecorder", "ParameterValue": "true" if create else "false"},
                               {"ParameterKey": "RulesAs", "ParameterValue": options.rules_as},
                               {"ParameterKey": "HomeRegion", "ParameterValue": home}])
    change_set = cfn.create_change_set(**request)["Id"]
    try:
        status = wait_for_change_set(cfn, change_set, options.poll)
    except NoChanges:
        cfn.delete_change_set(ChangeSetName=change_set)
        ui.out().print(f"No changes: {STACK_NAME} in {where} is up to date.")
        return EXIT_OK
    except AwsError:
        cfn.delete_change_set(ChangeSetName=change_set)
        raise
    rows = [[c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"],
             c["ResourceChange"]["ResourceType"]] for c in status.get("Changes", [])]
    records = "records" if target.aws.region == home else f"leaves to {home}"
    ui.out().print(f"Account baseline {STACK_NAME} in {where}"
                   f" ({'creates a recorder' if create else 'uses the existing recorder'}, rules as {options.rules_as};"
                   f" {records} the global IAM types)")
    ui.table(["Action", "Resource", "Type"], rows)
    if not ui.confirm(f"Execute the baseline change set in {where}?", options.yes, "pass --yes to deploy it"):
        cfn.delete_change_set(ChangeSetName=change_set)
        raise RefusedError("not executed; the change set was deleted")
    cfn.execute_change_set(ChangeSetName=change_set)
    final = wait(cfn, STACK_NAME, poll=options.poll)
    if final["StackStatus"] not in SUCCESS:
        raise AwsError(f"{STACK_NAME} is {final['StackStatus']}: {final.get('StackStatusReason') or 'see its events'}")
    ui.out().print(f"{STACK_NAME}: {final['StackStatus']}")
    return EXIT_OK


def missing_types(recorder: dict, document: dict, region: str, home: str) -> list[str]:
    """The types the baseline would record in this region that the account's own recorder does not."""
    from ..evaluate import Evaluation

    group = recorder.get("recordingGroup") or {}
    if group.get("allSupported"):
        return []
    ours = Evaluation(document, {"CreateRecorder": "true", "HomeRegion": home}, region=region).resources()
    wanted = ours[RECORDER]["Properties"]["RecordingGroup"]["ResourceTypes"]
    return sorted(set(wanted) - set(group.get("resourceTypes") or []))


# -- organisation-wide ---------------------------------------------------------------------

EXTRA_OVERRIDES = {"create_recorder": bool}   # per account or region in the targets file


def roll_out(target: Target, targets, options: Options) -> int:
    """The baseline as a stack set of its own (`automl-cfn-baseline`) through the StackSets path: a recorder in
    every target unless its overrides say `create_recorder: false` (an account that already records)."""
    from . import stackset

    home = home_region(target)
    if home not in targets.regions:
        ui.info(f"none of the target regions is the home region {home}: this rollout records the global IAM types "
                f"nowhere (deploy the baseline in {home} too, or set config_home_region to a target region)")
    sets = stackset.begin(target, targets)   # who calls (CallAs), checked before anything is made
    parameters = {"CreateRecorder": "true", "RulesAs": options.rules_as, "HomeRegion": home}
    rollout = stackset.Rollout(STACK_NAME, {"TemplateBody": template(target)}, parameters,
                               [{"Key": "ManagedBy", "Value": "automl-cfn"}], "automl-cfn account baseline", sets=sets)

    def overrides(account: str, region: str) -> dict[str, str]:
        create = targets.changes_for(account, region).get("create_recorder", True)
        return {} if create else {"CreateRecorder": "false"}

    stackset.with_instances(target, targets, rollout, overrides)
    return stackset.roll_out(target, targets, rollout, stackset.Options(yes=options.yes, output=options.output))


# -- compliance ------------------------------------------------------------------------

def environment_resources(target: Target) -> set[str]:
    """Physical IDs of every resource in the environment's stacks (and their short forms: an ARN's last part)."""
    cfn = target.cfn
    if describe(cfn, target.name) is None:
        raise UserError(f"{target.name} is not deployed in account {target.account}, region {target.aws.region}")
    found, pending = set(), [target.name]
    while pending:
        stack = pending.pop()
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
            for resource in page["StackResourceSummaries"]:
                physical = resource.get("PhysicalResourceId") or ""
                if resource["ResourceType"] == "AWS::CloudFormation::Stack" and physical:
                    pending.append(physical)
                    continue
                found |= {physical, physical.rsplit("/", 1)[-1], physical.rsplit(":", 1)[-1]}
    return {p for p in found if p}


def status(target: Target, options: Options) -> int:
    cfn, config = target.cfn, target.aws.client("config")
    if describe(cfn, STACK_NAME) is None:
        raise UserError(f"the account baseline is not deployed in account {target.account}, region "
                        f"{target.aws.region}: run 'automl-cfn baseline deploy'")
    from ..config_rules import RULES
    from ..stacks.baseline import RULE_PREFIX

    mine = environment_resources(target)
    deployed = {}   # identifier -> rule name (one by one, or in the pack with the name AWS Config gives it)
    for page in config.get_paginator("describe_config_rules").paginate():
        for rule in page["ConfigRules"]:
            if rule["ConfigRuleName"].startswith(RULE_PREFIX):
                deployed[rule["Source"]["SourceIdentifier"]] = rule["ConfigRuleName"]
    rows, verdicts = [], {}
    for identifier, (control, _) in RULES.items():
        name = deployed.get(identifier)
        if name is None:
            rows.append([identifier, control, "not deployed here", "", ""])
            continue
        results = []
        for page in config.get_paginator("get_compliance_details_by_config_rule").paginate(
                ConfigRuleName=name, ComplianceTypes=list(COMPLIANCE)):
            results += page["EvaluationResults"]
        ours = [r for r in results if r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"] in mine]
        failing = sorted(r["EvaluationResultIdentifier"]["EvaluationResultQualifier"]["ResourceId"] for r in ours
                         if r["ComplianceType"] == "NON_COMPLIANT")
        passing = sum(r["ComplianceType"] == "COMPLIANT" for r in ours)
        verdicts[name] = {"control": control, "compliant": passing, "non_compliant": failing}
        rows.append([name, control, str(passing), str(len(failing)), ", ".join(failing[:3])
                     + (f" (+{len(failing) - 3})" if len(failing) > 3 else "")])
    if options.output == "json":
        print(json.dumps({"environment": target.settings.environment, "account": target.account,
                          "region": target.aws.region, "rules": verdicts}, indent=2))
    else:
        ui.out().print(f"AWS Config verdicts on {target.name}'s resources, account {target.account}, region "
                       f"{target.aws.region}")
        ui.table(["Rule", "Control", "Compliant", "Non-compliant", "Failing"], rows)
    return 1 if any(v["non_compliant"] for v in verdicts.values()) else EXIT_OK
