"""The permissions boundary of every role the stacks create (`<project>-<env>-boundary`).

A role's effective permissions are what both its own policies and its boundary allow
(docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).  The CI may write any policy
onto the environment's roles, so the boundary is what caps them:

- it allows the actions the templates' role policies allow, in every configuration (needs.role_actions),
  and those of the AWS managed policies the roles attach (their documents as AWS publishes them, from
  the copy moto ships, extracted into data/iam_reference.json);
- by the environment's names where the project names the resource (buckets, queues, state machines, log
  groups, task definitions...), with the literal ARNs the role policies name besides (the EventBridge
  rule Step Functions manages for its ECS integration), else on "*" (keys and secrets the settings may
  name from outside);
- iam:PassRole only of the environment's roles, only to the services that trust them;
- it denies every IAM write but PassRole: no role it bounds can make a role, change a policy or a
  boundary, whatever its own policies say.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Mapping

from . import reference
from .needs import Needs
from .scoping import Scope, statements

PASS_ROLE = "iam:PassRole"
IAM_WRITES = ("Write", "Permissions management", "Tagging")


def boundary_document(needs: Needs, scope: Scope) -> dict:
    managed = {a for arn in needs.managed_policies for a in reference.managed_actions(arn.rsplit("/", 1)[-1])}
    allowed = (needs.role_actions | managed) - {PASS_ROLE}
    role = scope.arn("iam", f"role/{scope.prefix}-*", region="")
    result = statements(allowed, scope, sid_prefix="Boundary", boundary=True)
    for statement in result:
        if statement["Resource"] != "*":
            literal = {general(arn, scope) for action in statement["Action"] for arn in needs.role_arns.get(action, ())}
            statement["Resource"] += sorted(arn for arn in literal
                                            if not any(fnmatchcase(arn, p) for p in statement["Resource"]))
    if PASS_ROLE in needs.role_actions:
        result.append({"Sid": "BoundaryPassTheProjectsRoles", "Effect": "Allow", "Action": [PASS_ROLE],
                       "Resource": [role], "Condition": {"StringEquals": {"iam:PassedToService":
                                                                          sorted(needs.passed_to)}}})
    result.append({"Sid": "BoundaryNoIamWrites", "Effect": "Deny", "Action": iam_writes_but_pass_role(),
                   "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": result}


def general(arn: str, scope: Scope) -> str:
    """A literal ARN a role policy names (an AWS-managed rule), in any region of the scope's account."""
    parts = arn.split(":", 5)
    return ":".join(["arn", scope.partition, parts[2], "*" if parts[3] else "", scope.account if parts[4] else "",
                     parts[5]])


def iam_writes_but_pass_role() -> list[str]:
    """Every IAM write (Write, Permissions management, Tagging) except PassRole, as verb wildcards
    (`iam:Create*`) where every action with that verb is a write, else one by one."""
    everything = reference.actions_of("iam")
    writes = {a for a in everything if reference.access_level(a) in IAM_WRITES} - {PASS_ROLE}
    by_verb: dict[str, set[str]] = {}
    for action in everything:
        by_verb.setdefault(verb(action), set()).add(action)
    result = set()
    for name, actions in by_verb.items():
        if actions <= writes:
            result.add(f"iam:{name}*")
        else:
            result |= actions & writes
    return sorted(result)


def verb(action: str) -> str:
    """iam:CreateRole -> Create."""
    return re.match(r"[A-Z][a-z]*", action.split(":", 1)[1]).group(0)


def managed_policy_actions(documents: Mapping[str, dict]) -> dict[str, list[str]]:
    """The AWS managed policies the templates attach -> the actions their documents allow (extraction
    only: moto ships AWS's published documents)."""
    import json

    from moto.iam.aws_managed_policies import aws_managed_policies_data

    published = json.loads(aws_managed_policies_data)
    names = set()
    for document in documents.values():
        for body in document.get("Resources", {}).values():
            for arn in body.get("Properties", {}).get("ManagedPolicyArns", []) if body["Type"] == "AWS::IAM::Role" \
                    else []:
                text = arn.get("Fn::Sub", "") if isinstance(arn, dict) else arn
                names.add(text.rsplit("/", 1)[-1])
    result = {}
    for name in sorted(names):
        actions = set()
        for statement in published[name]["Document"]["Statement"]:
            if statement["Effect"] == "Allow":
                listed = statement["Action"]
                actions |= set([listed] if isinstance(listed, str) else listed)
        result[name] = sorted(actions)
    return result
