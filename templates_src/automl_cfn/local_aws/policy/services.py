"""Calls that AWS services make themselves, authorized as AWS authorizes them.

Two ways a service acts for a resource of the account:

- as its service principal (events.amazonaws.com delivering to a queue,
  cloudwatch.amazonaws.com publishing an alarm): only resource policies can
  allow it, the key policy included, and it passes aws:SourceArn and
  aws:SourceAccount of the resource it acts for (confused-deputy.html);
- as a role it assumes (a pipe's, a schedule's, a task's): the role's trust
  policy must let the service assume it, with the same source keys, and then
  the role's own policies decide, as for any session
  (id_roles_terms-and-concepts.html, "service role").

Tests: tests/integration/test_permission_paths.py.
"""

from __future__ import annotations

from . import enforce, principals
from .evaluation import Request, Subject
from .language import Caller
from .requests import Ask


def source_context(service: str, account: str, source_arn: str) -> dict:
    context = {"aws:SourceAccount": account, "aws:PrincipalServiceName": service}
    if source_arn:
        context["aws:SourceArn"] = source_arn
    # SNS's default topic policy still names the older key (sns-access-policy-use-cases.html).
    context["AWS:SourceOwner"] = account
    return context


def as_service(service: str, account: str, region: str, source_arn: str, asks: list[Ask], channel: str) -> None:
    """Raise AccessDenied unless the resources' policies let `service` do every ask for `source_arn`."""
    caller = Caller("service", service=service)
    context = {**enforce.global_context(caller, region), **source_context(service, account, source_arn)}
    for ask in asks:
        enforce.check(caller, Subject(), ask, region, context, channel)


def assumed_role(role_arn: str, service: str, region: str, source_arn: str, channel: str) -> tuple[Caller, Subject,
                                                                                                      dict]:
    """The session `service` gets for `role_arn`, or AccessDenied when the role's trust policy refuses it."""
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    role = principals.role_by_arn(account, role_arn) if account else None
    service_caller = Caller("service", service=service)
    context = source_context(service, account, source_arn)
    request = Request(service_caller, "sts:AssumeRole", role_arn, context, account)
    if role is None:
        from .evaluation import Decision

        raise enforce.refuse(request, Decision(False, "because the role does not exist"), channel)
    decision = principals.trust_allows(role, service_caller, "sts:AssumeRole", context)
    if not decision.allowed:
        raise enforce.refuse(request, decision, channel)
    session = f"arn:aws:sts::{account}:assumed-role/{role.name}/{service.split('.')[0]}"
    caller = Caller("role-session", account, session, role_arn)
    tags = {t["Key"]: t["Value"] for t in role.tags or []}
    return caller, principals.role_subject(account, role), enforce.global_context(caller, region, True, tags)


def as_role(role_arn: str, service: str, region: str, source_arn: str, asks: list[Ask], channel: str) -> None:
    """Raise AccessDenied unless `service` may assume `role_arn` and the role may do every ask."""
    caller, subject, context = assumed_role(role_arn, service, region, source_arn, channel)
    for ask in asks:
        enforce.check(caller, subject, ask, region, context, channel)
