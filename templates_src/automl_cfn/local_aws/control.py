"""The endpoint's own API, under /_automl/ (tests, benchmarks and demos drive it; AWS has no such thing).

  GET  /_automl/requests          {"count": AWS requests served since reset, "throttles", "frozen": objects
                                  left out of garbage collection (server.keep_imports)}
  POST /_automl/requests/reset    zero the counter
  POST /_automl/throttle?action=DescribeStacks&count=3
                                  answer the next 3 such requests with a Throttling error (fault tests)
  POST /_automl/pipes/flush       end every EventBridge Pipes batching window now (delivery/pipes.py)
  POST /_automl/scheduler/fire?name=N[&group=G&account=A&region=R]
                                  invoke one EventBridge schedule now (delivery/scheduler.py)
  POST /_automl/config/deliver[?account=A&region=R]
                                  one AWS Config history delivery of the region's recorder, as its role
                                  (delivery/config.py)
  POST /_automl/credentials?role=ARN&service=S[&source=ARN]
                                  the session service S gets when it assumes the role (ecs-tasks.amazonaws.com
                                  for a task, with the task's ARN as source), if the role's trust policy lets
                                  it (policy/principals.py)
  POST /_automl/accounts/admin-role?account=A
                                  what another account's owner sets up by hand for us: role/admin in account A,
                                  allowed everything, that this endpoint's default account may assume
  POST /_automl/ecs/hold-tasks?on=true|false
                                  keep ECS tasks RUNNING until StopTask, as a container runs until it exits
                                  (containers.py); every reset lets them go
  POST /_automl/ecs/exit?cluster=C&task=ARN&code=N[&account=A&region=R]
                                  the task's essential container exits with code N; ECS stops the task
  POST /_automl/s3/lifecycle?days=N
                                  S3's lifecycle passes of N days at once: what the buckets' rules expire goes
                                  (lifecycle.py)
  GET  /_automl/refusals          every request the policy evaluator refused, with AWS's message
  GET  /_automl/deliveries        every delivery between services, made or refused (delivery/)

A missing or malformed parameter is a 400 that names it; an unknown path a 404; a state-changing path asked
with GET a 405.  Never a 500.
"""

from __future__ import annotations

import re
from typing import Callable

ACCOUNT = re.compile(r"^[0-9]{12}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$")
ANY_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{0,12}:.{1,1024}$")
SERVICE = re.compile(r"^[a-z0-9.-]{1,128}\.amazonaws\.com$")
DEFAULT_ACCOUNT = "123456789012"


class BadRequest(ValueError):
    pass


def required(query: dict, name: str, pattern: re.Pattern | None = None, allowed: str = "") -> str:
    value = query.get(name)
    if value is None or value == "":
        raise BadRequest(f"missing parameter {name}")
    if pattern is not None and not pattern.fullmatch(value):
        raise BadRequest(f"parameter {name}: not {allowed}")
    return value


def optional(query: dict, name: str, default: str, pattern: re.Pattern, allowed: str) -> str:
    value = query.get(name, default)
    if not pattern.fullmatch(value):
        raise BadRequest(f"parameter {name}: not {allowed}")
    return value


def region_of(query: dict) -> str:
    from .handle import REGION

    return optional(query, "region", REGION, re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$"), "a region name")


def account_of(query: dict) -> str:
    return optional(query, "account", DEFAULT_ACCOUNT, ACCOUNT, "a 12-digit account ID")


def flush(query: dict) -> dict:
    from .delivery.pipes import flush as flush_pipes

    return {"started": flush_pipes()}


def fire(query: dict) -> dict:
    from .delivery.scheduler import fire as fire_schedule

    name = required(query, "name", re.compile(r"^[\w.-]{1,64}$"), "a schedule name")
    group = optional(query, "group", "default", re.compile(r"^[\w.-]{1,64}$"), "a schedule group name")
    try:
        return fire_schedule(group, name, account_of(query), region_of(query))
    except LookupError as missing:
        raise BadRequest(str(missing)) from None


def deliver_config(query: dict) -> dict:
    from .delivery.config import deliver

    return deliver(account_of(query), region_of(query))


def credentials(query: dict) -> dict:
    from .policy.principals import service_session

    role = required(query, "role", ROLE_ARN, "an IAM role ARN")
    service = required(query, "service", SERVICE, "a service principal (NAME.amazonaws.com)")
    source = query.get("source", "")
    if source and not ANY_ARN.fullmatch(source):
        raise BadRequest("parameter source: not an ARN")
    key, secret, token, arn = service_session(role, service, source)
    return {"AccessKeyId": key, "SecretAccessKey": secret, "SessionToken": token, "Arn": arn}


def admin_role(query: dict) -> dict:
    from .policy.principals import admin_role as make

    account = required(query, "account", ACCOUNT, "a 12-digit account ID")
    if account == DEFAULT_ACCOUNT:
        raise BadRequest("account: the endpoint's own account needs no admin role (its default credentials are "
                         "its root user)")
    return {"RoleArn": make(account)}


def hold_tasks(query: dict) -> dict:
    from . import containers

    on = optional(query, "on", "true", re.compile(r"^(true|false)$"), "true or false") == "true"
    containers.hold(on)
    return {"held": on}


def exit_task(query: dict) -> dict:
    from . import containers

    cluster = required(query, "cluster", re.compile(r"^[\w:/.-]{1,512}$"), "a cluster name or ARN")
    task = required(query, "task", re.compile(r"^[\w:/.-]{1,512}$"), "a task ARN or ID")
    code = int(required(query, "code", re.compile(r"^[0-9]{1,3}$"), "an exit code, 0 to 255"))
    if code > 255:
        raise BadRequest("parameter code: not an exit code, 0 to 255")
    try:
        return containers.exit_task(account_of(query), region_of(query), cluster, task, code)
    except LookupError as missing:
        raise BadRequest(str(missing)) from None


def lifecycle_days(query: dict) -> dict:
    from . import lifecycle

    days = int(required(query, "days", re.compile(r"^[0-9]{1,5}$"), "a number of days, 0 to 99999"))
    return {"expired": lifecycle.pass_days(days)}


def refusals(query: dict) -> dict:
    from .policy.enforce import refusals as listed

    return {"refusals": listed()}


def deliveries(query: dict) -> dict:
    from .delivery import log

    return {"deliveries": log()}


# path -> (method, handler)
ROUTES: dict[str, tuple[str, Callable[[dict], dict]]] = {
    "/_automl/pipes/flush": ("POST", flush),
    "/_automl/scheduler/fire": ("POST", fire),
    "/_automl/config/deliver": ("POST", deliver_config),
    "/_automl/credentials": ("POST", credentials),
    "/_automl/accounts/admin-role": ("POST", admin_role),
    "/_automl/ecs/hold-tasks": ("POST", hold_tasks),
    "/_automl/ecs/exit": ("POST", exit_task),
    "/_automl/s3/lifecycle": ("POST", lifecycle_days),
    "/_automl/refusals": ("GET", refusals),
    "/_automl/deliveries": ("GET", deliveries),
}


def answer(path: str, method: str, query: dict) -> tuple[int, object] | None:
    """(status, JSON document) for a path of ROUTES; None for the others (the server's own counters)."""
    if path not in ROUTES:
        return None
    wanted, handler = ROUTES[path]
    if method != wanted:
        return 405, {"error": f"{path} takes {wanted}"}
    try:
        return 200, handler(query)
    except BadRequest as problem:
        return 400, {"error": str(problem)}
    except PermissionError as refused:
        return 403, {"error": str(refused)}
