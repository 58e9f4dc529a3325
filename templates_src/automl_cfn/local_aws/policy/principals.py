"""Who makes a request, and which of their policies apply, read from the endpoint's IAM and STS.

- An access key of an assumed-role session is that session: the role's inline
  and attached policies, its permissions boundary, the session policy given
  to AssumeRole (id_roles_use.html, access_policies.html#policies_session).
- An access key of an IAM user is the user: its inline and attached policies,
  its groups' policies, its boundary.
- A request without a signature is anonymous (AssumeRoleWithWebIdentity is
  one: the token authenticates it, id_roles_providers_oidc.html).
- Any other key is the account's root user: the endpoint's default
  credentials stand for the administrator who deploys from a laptop.

A session whose role was deleted since is refused everything, as AWS
refuses it (id_roles_manage_delete.html: "the role's sessions lose access").

Services that assume a role for their own work (ECS for a task, Pipes,
Scheduler, Step Functions) get a session here only when the role's trust
policy lets that service assume it: `service_session`.

Tests: tests/integration/test_permission_paths.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .evaluation import Decision, Request, Subject, decide
from .language import Caller, Policy

PARTITION = "aws"


@dataclass
class Who:
    caller: Caller
    subject: Subject
    role: object | None = None      # moto's Role of a session
    tags: dict | None = None        # the principal's tags (aws:PrincipalTag/*)
    user_name: str = ""             # aws:username and aws:userid of an IAM user
    user_id: str = ""


def _iam(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account][PARTITION]


def _sts(account: str):
    from moto.sts.models import sts_backends

    return sts_backends[account][PARTITION]


def access_key_of(headers) -> str | None:
    """The access key ID from a SigV4 Authorization header (or a presigned URL's credential)."""
    authorization = headers.get("Authorization") or headers.get("authorization") or ""
    marker = "Credential="
    if marker in authorization:
        return authorization.split(marker, 1)[1].split("/", 1)[0]
    return None


def managed_document(iam, arn: str) -> dict | None:
    """A managed policy's default version (AWS managed ones included), or None if there is no such policy."""
    policy = iam.managed_policies.get(arn)
    if policy is None:
        return None
    version = next((v for v in policy.versions if v.is_default), None)
    return _json(version.document) if version is not None else None


def _json(document) -> dict:
    if isinstance(document, dict):
        return document
    try:
        return json.loads(document or "{}")
    except ValueError:
        from urllib.parse import unquote

        return json.loads(unquote(document))


def _role_policies(iam, role, source: str) -> list[Policy]:
    policies = [Policy.of(_json(doc), f"{source} inline policy {name}") for name, doc in role.policies.items()]
    for arn, managed in role.managed_policies.items():
        document = managed_document(iam, arn)
        if document is not None:
            policies.append(Policy.of(document, f"managed policy {arn}"))
    return policies


def _boundary(iam, arn: str | None) -> Policy | None:
    if not arn:
        return None
    document = managed_document(iam, arn)
    # A boundary that does not exist (deleted since) allows nothing.
    return Policy.of(document or {"Statement": []}, f"permissions boundary {arn}", kind="boundary")


def role_subject(account: str, role, session_policy: str | None = None) -> Subject:
    iam = _iam(account)
    return Subject(identity=_role_policies(iam, role, f"role {role.name}"),
                   boundary=_boundary(iam, role.permissions_boundary_arn),
                   session=Policy.of(_json(session_policy), "session policy", kind="session") if session_policy
                   else None)


def role_by_arn(account: str, arn: str):
    from moto.iam.exceptions import NotFoundException

    try:
        return _iam(account).get_role_by_arn(arn)
    except NotFoundException:
        return None
    except Exception:
        return None


ISSUED_KEY = re.compile(r"^A[SK]IA[A-Z0-9]{16}$")     # the shape of keys IAM and STS issue


class InvalidToken(Exception):
    """Credentials no longer valid (a deleted or inactive access key): AWS answers InvalidClientTokenId."""


def who(account: str, headers) -> Who:
    """The caller of a request signed with `headers`, in the account moto routed it to."""
    key = access_key_of(headers)
    if key is None:
        return Who(Caller("anonymous"), Subject())
    session = _sts(account).get_assumed_role_from_access_key(key)
    if session is not None:
        role = role_by_arn(account, session.role_arn)
        if role is not None and getattr(session, "role_id", role.id) != role.id:
            role = None       # a role made again under the old name: the session was of the one deleted
        if role is None:
            # Deleted role: nothing allows its sessions anything.
            caller = Caller("role-session", account, session.arn, session.role_arn, bounded=True)
            return Who(caller, Subject(boundary=Policy.of({"Statement": []}, "deleted role", kind="boundary")))
        subject = role_subject(account, role, session.policy)
        caller = Caller("role-session", account, session.arn, session.role_arn, bounded=subject.boundary is not None)
        return Who(caller, subject, role, {t["Key"]: t["Value"] for t in role.tags or []})
    iam = _iam(account)
    user = iam.get_user_from_access_key_id(key)
    if user is not None and any(k.access_key_id == key and k.status != "Active" for k in user.access_keys):
        raise InvalidToken(key)
    if user is None and ISSUED_KEY.match(key):
        raise InvalidToken(key)   # issued once, deleted since (the endpoint's own keys are not of this shape)
    if user is not None:
        policies = [Policy.of(_json(doc), f"user {user.name} inline policy {name}")
                    for name, doc in user.policies.items()]
        policies += [Policy.of(managed_document(iam, arn) or {}, f"managed policy {arn}")
                     for arn in user.managed_policies]
        for group in iam.get_groups_for_user(user.name):
            policies += [Policy.of(_json(doc), f"group {group.name} inline policy {name}")
                         for name, doc in group.policies.items()]
            policies += [Policy.of(managed_document(iam, arn) or {}, f"managed policy {arn}")
                         for arn in group.managed_policies]
        return Who(Caller("user", account, user.arn), Subject(identity=policies),   # moto keeps no user boundary
                   user_name=user.name, user_id=user.id)
    return Who(Caller("root", account, f"arn:{PARTITION}:iam::{account}:root"), Subject())


def trust_allows(role, caller: Caller, action: str, context: dict, subject: Subject | None = None) -> Decision:
    """May `caller` (with its policies, `subject`) assume `role` (sts:AssumeRole, sts:AssumeRoleWithWebIdentity
    ...)?  The trust policy must allow it, whoever the caller is (id_roles_terms-and-concepts.html, "trust
    policy"); a session's own session policy still limits it (role chaining)."""
    trust = Policy.of(_json(role.assume_role_policy_document), f"trust policy of role {role.name}", kind="resource")
    request = Request(caller, action, role.arn, context, resource_account=role.account_id)
    return decide(request, subject or Subject(), trust, resource_policy_required=True)


def service_session(role_arn: str, service: str, source_arn: str = "", session_name: str = "") -> tuple:
    """The session `service` gets when it assumes `role_arn` for its work, or the refusal.

    Returns (access key ID, secret, token, session ARN) or raises PermissionError with AWS's message.
    The service passes aws:SourceAccount and aws:SourceArn of the resource it works for
    (confused-deputy.html)."""
    account = role_arn.split(":")[4]
    role = role_by_arn(account, role_arn)
    caller = Caller("service", service=service)
    request = Request(caller, "sts:AssumeRole", role_arn, {})
    if role is None:
        raise PermissionError(f"{service} cannot assume {role_arn}: the role does not exist")
    source_account = source_arn.split(":")[4] if source_arn.count(":") >= 5 and source_arn.split(":")[4] else account
    context = {"aws:SourceAccount": source_account, "aws:PrincipalServiceName": service}
    if source_arn:
        context["aws:SourceArn"] = source_arn
    decision = trust_allows(role, caller, "sts:AssumeRole", context)
    if not decision.allowed:
        raise PermissionError(f"{service} cannot assume {role_arn}: {decision.message(request)}")
    session = _sts(account).assume_role(region_name="us-east-1", role_session_name=session_name or service.split(".")[0],
                                        role_arn=role_arn, policy=None, duration=3600, external_id=None)
    return session.access_key_id, session.secret_access_key, session.session_token, session.arn


DEFAULT_ACCOUNT = "123456789012"
# AdministratorAccess's document, inline: moto loads AWS managed policies only when asked (and slowly, for
# every account it meets).
ADMINISTRATOR_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def admin_role(account: str, trusted: str = DEFAULT_ACCOUNT) -> str:
    """role/admin in `account`, allowed everything, that `trusted`'s principals may assume: the
    cross-account access an account's owner grants by hand (tutorial_cross-account-with-roles.html).
    Made once; its ARN either way."""
    iam = _iam(account)
    arn = f"arn:{PARTITION}:iam::{account}:role/admin"
    if role_by_arn(account, arn) is None:
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:{PARTITION}:iam::{trusted}:root"}, "Action": "sts:AssumeRole"}]}
        iam.create_role("admin", json.dumps(trust), "/", None, "cross-account administrator (tests)", [], None)
        iam.put_role_policy("admin", "AdministratorAccess", json.dumps(ADMINISTRATOR_ACCESS))
    return arn


def oidc_provider(account: str, arn: str) -> list[str] | None:
    """The client IDs (audiences) of an OIDC provider of the account, or None if it has none of that ARN."""
    provider = getattr(_iam(account), "open_id_providers", {}).get(arn)
    return list(getattr(provider, "client_id_list", []) or []) if provider is not None else None
