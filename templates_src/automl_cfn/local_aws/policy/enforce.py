"""The endpoint asks IAM before it serves a request, as AWS does.

`install()` puts `authorize` where moto checks access before every action of
every service (its ActionAuthenticatorMixin, which moto leaves switched off
and, switched on, evaluates identity policies on `*` only).  For each
request, `authorize`:

1. finds the caller (principals.who): a role session, a user, anonymous, or
   the account's root user;
2. asks requests.asks what the request needs: the action, the resource's
   ARN, its condition keys, the resource's policy, and the customer key the
   service will use on the caller's behalf;
3. decides each with evaluation.decide, the key use included (the key
   policy must allow, kms:ViaService set to the calling service);
4. answers AccessDenied with AWS's message when anything is refused.

The root user (the endpoint's default credentials) is allowed what AWS
allows it: everything but an explicit deny in a resource policy and a key
that does not trust the account.

AWS's own calls between services (EventBridge delivering to a queue, a pipe
reading one) do not come through here: local_aws/delivery/ asks
`check` directly, as the service principal or the service's role.

Every refusal is kept (`REFUSALS`, served at GET /_automl/refusals) so that a
test can show what AWS would have said where no client sees it.

Tests: tests/integration/test_permission_paths.py.
"""

from __future__ import annotations

import base64
import contextvars
import json
import threading
import time
from collections import deque
from datetime import datetime, timezone
from typing import Any

from . import principals, requests, resources
from .evaluation import Decision, Request, Subject, decide
from .language import Caller, Policy

REFUSALS: deque = deque(maxlen=1000)
# Who acts now: the caller of the API request being served, or the caller of the stack operation whose
# resource handlers run (CloudFormation acts as that caller: handlers.running_as sets it).
REQUEST_CALLER: contextvars.ContextVar = contextvars.ContextVar("request_caller", default=None)
STACK_CALLER: contextvars.ContextVar = contextvars.ContextVar("stack_operation_caller", default=None)
_LOCK = threading.Lock()
INSECURE_TRANSPORT_HEADER = "x-automl-transport"   # a test says "this request came over plain HTTP"
JSON_PROTOCOL_SERVICES = {"scheduler", "pipes"}      # REST-JSON: no X-Amz-Target header


class AccessDenied(Exception):
    def __init__(self, message: str, code: str = "AccessDenied", status: int = 403):
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


# The bucket owner's root user may always read, replace and delete the bucket policy, whatever it says, so a
# policy can never lock the account out of its own bucket (AmazonS3/latest/API/API_DeleteBucketPolicy.html).
OWNER_ALWAYS = {"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"}


def refuse(request: Request, decision: Decision, channel: str = "api") -> AccessDenied:
    message = decision.message(request)
    with _LOCK:
        REFUSALS.append({"time": time.time(), "channel": channel, "caller": request.caller.arn or
                         request.caller.service, "action": request.action, "resource": request.resource,
                         "message": message})
    return AccessDenied(message)


def refusals() -> list[dict]:
    with _LOCK:
        return list(REFUSALS)


def reset() -> None:
    with _LOCK:
        REFUSALS.clear()


# ---------------------------------------------------------------------------
# the request context
# ---------------------------------------------------------------------------

def global_context(caller: Caller, region: str, secure: bool = True, tags: dict | None = None,
                   user: tuple[str, str] = ("", "")) -> dict[str, Any]:
    """The global condition keys every request carries (reference_policies_condition-keys.html)."""
    now = datetime.now(timezone.utc)
    context: dict[str, Any] = {
        "aws:SecureTransport": "true" if secure else "false",
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "aws:EpochTime": str(int(now.timestamp())),
        "aws:RequestedRegion": region, "aws:SourceIp": "127.0.0.1",
    }
    if user[0]:
        context["aws:username"], context["aws:userid"] = user
    if caller.kind == "role-session":
        context["aws:userid"] = f"{caller.role_arn.rsplit('/', 1)[-1]}:{caller.arn.rsplit('/', 1)[-1]}"
    if caller.kind in ("root", "user", "role-session"):
        context["aws:PrincipalAccount"] = caller.account
        context["aws:PrincipalArn"] = caller.role_arn if caller.kind == "role-session" else caller.arn
        context["aws:PrincipalType"] = {"root": "Account", "user": "User", "role-session": "AssumedRole"}[caller.kind]
        org = organization_of(caller.account)
        if org:
            context["aws:PrincipalOrgID"] = org
        for key, value in (tags or {}).items():
            context[f"aws:PrincipalTag/{key}"] = value
    if caller.kind == "service":
        context["aws:PrincipalServiceName"] = caller.service
    return context


def organization_of(account: str) -> str:
    try:
        from ..strict.s3_access import organization_of as lookup

        return lookup(account)
    except Exception:
        return ""


def request_tags(response) -> dict[str, str]:
    """aws:RequestTag/* from the request's Tags, in whichever shape the service takes them."""
    tags = requests.param(response, "Tags") or requests.param(response, "tags") or []
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    result = {}
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, dict):
            key = tag.get("Key", tag.get("key", tag.get("TagKey")))
            value = tag.get("Value", tag.get("value", tag.get("TagValue", "")))
            if key is not None:
                result[str(key)] = str(value)
    return result


# ---------------------------------------------------------------------------
# one decision, with the key the service uses for the caller
# ---------------------------------------------------------------------------

def check(caller: Caller, subject: Subject, ask: requests.Ask, region: str, context: dict,
          channel: str = "api") -> None:
    """Raise AccessDenied unless `caller` may do `ask`, and use each key it implies."""
    full = {**context, **ask.context}
    if ask.resource_account:
        full.setdefault("aws:ResourceAccount", ask.resource_account)
    if not any(key.startswith("aws:ResourceTag/") for key in full):
        full.update({f"aws:ResourceTag/{k}": v for k, v in resources.tags_of(ask.resource).items()})
    request = Request(caller, ask.action, ask.resource, full, ask.resource_account)
    decision = decide(request, subject, ask.resource_policy, resource_policy_required=ask.policy_required)
    if not decision.allowed:
        raise refuse(request, decision, channel)
    for use in ask.key_uses:
        check_key_use(caller, subject, use, region, context, ask.resource_account or caller.account, channel)


def check_key_use(caller: Caller, subject: Subject, use: requests.KeyUse, region: str, context: dict,
                  account: str, channel: str) -> None:
    """The service calls KMS for the caller: the key policy must allow it (and, for a principal of the
    account, an identity policy where the key policy hands over to IAM).  kms/latest/developerguide/
    conditions-kms.html#conditions-kms-via-service."""
    key = resources.kms_key(region, use.key, account)
    if key is None:
        return   # a key that does not exist fails in the service itself
    full = dict(context)
    if caller.kind != "service":
        full["kms:ViaService"] = f"{use.service}.{region}.amazonaws.com"
        full["aws:CalledVia"] = [f"{use.service}.amazonaws.com"]
        full["aws:ViaAWSService"] = "true"
    full["kms:CallerAccount"] = caller.account or key.account
    for name, value in use.encryption_context.items():
        full[f"kms:EncryptionContext:{name}"] = value
    full["kms:EncryptionContextKeys"] = sorted(use.encryption_context)
    full.update({f"aws:ResourceTag/{k}": v for k, v in resources.tags_of(key.arn).items()})
    request = Request(caller, use.action, key.arn, full, key.account)
    decision = decide(request, subject, key.policy, resource_policy_required=True)
    if not decision.allowed:
        raise refuse(request, decision, channel)


# ---------------------------------------------------------------------------
# the hook
# ---------------------------------------------------------------------------

def signing_service(headers) -> str:
    authorization = headers.get("Authorization") or headers.get("authorization") or ""
    if "Credential=" in authorization:
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            return scope[3]
    return ""


def operation_of(response) -> str:
    try:
        return response._get_action() or ""
    except Exception:
        return ""


def authorize(response, s3_request: bool, resource: str) -> None:
    """Allow the request or raise the service's AccessDenied."""
    headers = response.headers
    account, region = response.current_account, response.region
    service = signing_service(headers) or getattr(response, "service_name", "") or ""
    if s3_request:
        service = "s3"
    operation = "" if s3_request else operation_of(response)
    if service == "sts" and operation in ("GetCallerIdentity",):
        return   # always allowed, even under an explicit deny (id_credentials_temp_request.html)
    try:
        who = principals.who(account, headers)
    except principals.InvalidToken:
        raise AccessDenied("The security token included in the request is invalid.", "InvalidClientTokenId") \
            from None
    REQUEST_CALLER.set((who.caller, who.subject, global_context(who.caller, region, True, who.tags,
                                                                (who.user_name, who.user_id))))
    if service == "sts" and operation.startswith("AssumeRole"):
        return assume(response, who, operation, region)
    secure = str(headers.get(INSECURE_TRANSPORT_HEADER, "")).lower() != "http"
    context = global_context(who.caller, region, secure, who.tags, (who.user_name, who.user_id))
    tags = requests.s3_tags(headers) if s3_request else request_tags(response)
    if tags:
        context["aws:TagKeys"] = sorted(tags)
        context.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
    for ask in requests.asks(response, service, operation, account, region, resource):
        if who.caller.kind == "root" and not ask.resource_policy and not ask.key_uses:
            continue   # the root user: nothing to deny it
        if who.caller.kind == "root" and ask.action in OWNER_ALWAYS and ask.resource_account in ("", account):
            continue
        check(who.caller, who.subject, ask, region, context)


def acting(account: str, region: str) -> tuple[Caller, Subject, dict]:
    """Who acts now: the stack operation's caller, else the request's, else the account's root user."""
    found = STACK_CALLER.get() or REQUEST_CALLER.get()
    if found is not None:
        return found
    root = Caller("root", account, f"arn:aws:iam::{account}:root")
    return root, Subject(), global_context(root, region)


def assume(response, who: principals.Who, operation: str, region: str) -> None:
    """sts:AssumeRole* : the role must exist and its trust policy allow the caller (id_roles_use_permissions-
    to-switch.html); across accounts the caller's own policies must allow it too."""
    role_arn = requests.param(response, "RoleArn") or ""
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    role = principals.role_by_arn(account, role_arn) if account else None
    action = f"sts:{operation}"
    caller = who.caller
    context = global_context(caller, region, True, who.tags)
    if operation == "AssumeRoleWithWebIdentity":
        caller, claims = web_identity(response, account)
        context.update(claims)
    external = requests.param(response, "ExternalId")
    if external:
        context["sts:ExternalId"] = external
    request = Request(caller, action, role_arn, context, account)
    if role is None:
        raise refuse(request, Decision(False, "because the role does not exist"))
    decision = principals.trust_allows(role, caller, action, context, who.subject)
    if not decision.allowed:
        raise refuse(request, decision)


MAX_TOKEN = 20_000   # characters (botocore: WebIdentityToken, max 20000)


def web_identity(response, account: str) -> tuple[Caller, dict]:
    """The OIDC token's issuer must be an identity provider of the account, its audience one of the
    provider's client IDs, and it must not have expired (id_roles_providers_create_oidc.html,
    API_AssumeRoleWithWebIdentity.html: InvalidIdentityToken, ExpiredTokenException).  Its claims become
    condition keys (`<provider>:aud`, `:sub`: reference_policies_iam-condition-keys.html#condition-keys-wif).
    The token's signature is not checked: the endpoint has no provider keys to check it with."""
    import time

    token = requests.param(response, "WebIdentityToken") or ""
    if not isinstance(token, str) or len(token) > MAX_TOKEN:
        raise AccessDenied("The web identity token is too long", "ValidationError", 400)
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError, RecursionError):
        claims = None
    if not isinstance(claims, dict):
        raise AccessDenied("The web identity token is not a valid JWT", "InvalidIdentityToken", 400)
    issuer = str(claims.get("iss", "")).removeprefix("https://")
    provider = f"arn:aws:iam::{account}:oidc-provider/{issuer}"
    known = principals.oidc_provider(account, provider)
    if known is None:
        raise AccessDenied(f"No OpenIDConnect provider found in your account for https://{issuer}",
                           "InvalidIdentityToken", 400)
    audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
    if not set(map(str, audiences)) & set(known):
        raise AccessDenied("Incorrect token audience", "InvalidIdentityToken", 400)
    expires = claims.get("exp")
    if isinstance(expires, (int, float)) and expires < time.time():
        raise AccessDenied("Token expired", "ExpiredTokenException", 400)
    context: dict[str, Any] = {}
    for name in ("aud", "sub", "amr", "oaud"):
        if name in claims:
            context[f"{issuer}:{name}"] = claims[name]
    return Caller("federated", account, provider=provider, arn=provider), context


def install() -> None:
    """Authorize every request of every service (moto's hook, switched on for all)."""
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import JsonRESTError, _RESTError
    from moto.s3.exceptions import S3ClientError

    class QueryAccessDenied(_RESTError):
        code = 403

    def _authenticate_and_authorize_action(self, iam_request_cls, resource: str = "*") -> None:
        s3_request = iam_request_cls.__name__.startswith("S3")
        try:
            authorize(self, s3_request, resource)
        except AccessDenied as denied:
            if s3_request:
                raise S3ClientError(denied.code, denied.message) from None
            if self.headers.get("X-Amz-Target") or signing_service(self.headers) in JSON_PROTOCOL_SERVICES:
                code = "AccessDeniedException" if denied.code == "AccessDenied" else denied.code
                error = JsonRESTError(code, denied.message)
                error.code = 400
                raise error from None
            error = QueryAccessDenied(denied.code, denied.message)
            error.code = denied.status
            raise error from None

    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_and_authorize_action
    sessions_remember_their_role()
    buckets_leave_their_policy_to_the_evaluator()


def sessions_remember_their_role() -> None:
    """A session belongs to the role it was made for, not to a role later made under the same name: AWS ties
    it to the role's unique ID.  moto keeps only the ARN; each new session keeps the ID here (principals.who
    compares it)."""
    from moto.iam.models import iam_backends
    from moto.sts import models

    original = models.STSBackend.assume_role

    def assume_role(self, region_name, role_session_name, role_arn, *args, **kwargs):
        session = original(self, region_name, role_session_name, role_arn, *args, **kwargs)
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
        try:
            session.role_id = iam_backends[account]["aws"].get_role_by_arn(role_arn).id
        except Exception:
            pass
        return session

    models.STSBackend.assume_role = assume_role


def buckets_leave_their_policy_to_the_evaluator() -> None:
    """moto judged object requests by the bucket policy a second time, ignoring its Principal and answering a
    bare 403: the evaluator judges every request by it already."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    FakeBucket.get_permission = lambda self, action, resource: PermissionResult.NEUTRAL
