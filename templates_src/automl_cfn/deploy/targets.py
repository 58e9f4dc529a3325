"""The targets file of `automl-cfn stackset`: where one environment's stacks go.

    accounts: ["111111111111", "222222222222"]     # self-managed permissions, or:
    organizational_units: [ou-ab12-cdef3456]       # service-managed, new accounts deployed automatically
    regions: [us-east-1, eu-west-1]
    call_as: DELEGATED_ADMIN                       # optional, service-managed only: SELF from the management
                                                   # account, DELEGATED_ADMIN from a registered member (detected)
    overrides:                                     # optional: settings per account or per region
      "222222222222": {az_count: 3}
      eu-west-1: {nat_gateways: single}
    preferences:                                   # optional: safe defaults below
      region_order: [us-east-1]                    # default: the first region alone, then the rest
      region_concurrency: sequential               # or parallel
      max_concurrent_accounts: 1
      failure_tolerance: 0
      concurrency_mode: strict                     # or soft

Read as hostile input (settings.read_yaml_mapping); every override is a
setting, validated as the environment's settings are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..settings import REGION_RE, Settings, SettingsError, read_yaml_mapping, with_overrides

ACCOUNT = re.compile(r"\d{12}")
EXAMPLE_ACCOUNT = "111111111111"   # an account ID in messages
OU = re.compile(r"ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32}")
KEYS = ("accounts", "organizational_units", "regions", "call_as", "overrides", "preferences")
CALL_AS = ("DELEGATED_ADMIN", "SELF")   # botocore's CallAs
PREFERENCES = {"region_order": list, "region_concurrency": str, "max_concurrent_accounts": int,
               "failure_tolerance": int, "concurrency_mode": str}
# What an override may not change: it names the stacks, or is fixed for the environment's life.
NOT_OVERRIDABLE = ("project_name", "environment", "aws_region", "adopted_names", "organization_id", "images",
                   "config_home_region")


@dataclass(frozen=True)
class Targets:
    accounts: tuple[str, ...]
    organizational_units: tuple[str, ...]
    regions: tuple[str, ...]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)   # account or region -> settings
    preferences: dict[str, Any] = field(default_factory=dict)
    call_as: str = ""     # SELF or DELEGATED_ADMIN as the file says; "" to detect (deploy/stackset_caller.py)

    @property
    def service_managed(self) -> bool:
        return bool(self.organizational_units)

    def operation_preferences(self) -> dict[str, Any]:
        """OperationPreferences: one region first, one account at a time, no failure tolerated, unless the
        file says otherwise."""
        given = self.preferences
        order = given.get("region_order") or list(self.regions[:1])
        return {
            "RegionConcurrencyType": given.get("region_concurrency", "sequential").upper(),
            "RegionOrder": order + [r for r in self.regions if r not in order],
            "MaxConcurrentCount": given.get("max_concurrent_accounts", 1),
            "FailureToleranceCount": given.get("failure_tolerance", 0),
            "ConcurrencyMode": {"strict": "STRICT_FAILURE_TOLERANCE", "soft": "SOFT_FAILURE_TOLERANCE"}[
                given.get("concurrency_mode", "strict")],
        }

    def changes_for(self, account: str, region: str) -> dict[str, Any]:
        """This account's and this region's overrides (the account's win)."""
        return {**self.overrides.get(region, {}), **self.overrides.get(account, {})}

    def settings_for(self, settings: Settings, account: str, region: str, extra: tuple[str, ...] = ()) -> Settings:
        """The environment's settings with the overrides that are settings (`extra` names the others)."""
        changes = {k: v for k, v in self.changes_for(account, region).items() if k not in extra}
        return with_overrides(settings, **changes) if changes else settings


def load_targets(path: Path, settings: Settings, extra: dict[str, type] | None = None) -> Targets:
    """The targets file, checked.  `extra` names overrides that are not settings (the baseline's
    create_recorder: bool), with their types."""
    shown = str(path)
    data = read_yaml_mapping(path, shown, "targets file",
                             "a mapping with accounts: or organizational_units:, and regions:")
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if unknown:
        raise UserError(f"{shown}: unknown key {unknown[0]!r}; allowed: {', '.join(KEYS)}")
    accounts = _strings(data, "accounts", shown)
    units = _strings(data, "organizational_units", shown)
    if bool(accounts) == bool(units):
        raise UserError(f"{shown}: give either accounts: (12-digit IDs, self-managed) or organizational_units: "
                        "(ou-..., service-managed), not both or neither")
    for account in accounts:
        if not ACCOUNT.fullmatch(account):
            raise UserError(f"{shown}: accounts: {account[:40]!r} is not a 12-digit AWS account ID (quote it in YAML)")
    for unit in units:
        if not OU.fullmatch(unit):
            raise UserError(f"{shown}: organizational_units: {unit[:40]!r} is not an OU ID (ou-xxxx-xxxxxxxx) or a "
                            "root ID (r-xxxx)")
    regions = _strings(data, "regions", shown)
    if not regions:
        raise UserError(f"{shown}: regions: must list at least one region, such as us-east-1")
    for region in regions:
        if not REGION_RE.fullmatch(region):
            raise UserError(f"{shown}: regions: {region[:40]!r} is not a region name such as us-east-1")
    for name, values in (("accounts", accounts), ("organizational_units", units), ("regions", regions)):
        if len(set(values)) != len(values):
            raise UserError(f"{shown}: {name}: lists {sorted(v for v in values if values.count(v) > 1)[0]} twice")
    call_as = _call_as(data.get("call_as"), bool(units), shown)
    overrides = _overrides(data.get("overrides"), accounts, regions, settings, shown, extra or {})
    preferences = _preferences(data.get("preferences"), regions, shown)
    return Targets(tuple(accounts), tuple(units), tuple(regions), overrides, preferences, call_as)


def _call_as(value, service_managed: bool, shown: str) -> str:
    """How StackSets are called: CallAs goes with service-managed stack sets only (API_CreateStackSet)."""
    if value is None:
        return ""
    if value not in CALL_AS:
        raise UserError(f"{shown}: call_as: {str(value)[:40]!r} is not allowed; allowed: {', '.join(CALL_AS)}")
    if value == "DELEGATED_ADMIN" and not service_managed:
        raise UserError(f"{shown}: call_as: DELEGATED_ADMIN goes with organizational_units: (service-managed); "
                        "self-managed stack sets (accounts:) are called as SELF")
    return value


def _strings(data: dict, key: str, shown: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{shown}: {key}: expected a list of strings (quote account IDs), got "
                        f"{type(value).__name__ if not isinstance(value, list) else 'a list with non-strings'}")
    return list(value)


def _overrides(value, accounts: list[str], regions: list[str], settings: Settings, shown: str,
               extra: dict[str, type]) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{shown}: overrides: expected a mapping of account or region to settings")
    result = {}
    for key, changes in value.items():
        if not isinstance(key, str):   # YAML reads unquoted digits as a number (with a leading 0, in octal)
            raise UserError(f"{shown}: overrides: {str(key)[:40]} is not a string; a key is a listed account ID or "
                            f"region: quote account IDs, such as \"{EXAMPLE_ACCOUNT}\" (YAML reads digits as a number)")
        if key not in accounts and key not in regions:
            raise UserError(f"{shown}: overrides: {key[:40]!r} is neither a listed account nor a listed region")
        if not isinstance(changes, dict) or not changes:
            raise UserError(f"{shown}: overrides: {key}: expected a mapping of settings, such as az_count: 3")
        for name in changes:
            if not isinstance(name, str):
                raise UserError(f"{shown}: overrides: {key}: {str(name)[:40]} is not a setting name (a string, "
                                "such as az_count)")
            if name in NOT_OVERRIDABLE:
                raise UserError(f"{shown}: overrides: {key}: {name} cannot differ between instances (it names the "
                                "stacks or is fixed for the environment's life)")
            if name in extra and type(changes[name]) is not extra[name]:
                raise UserError(f"{shown}: overrides: {key}: {name}: expected {extra[name].__name__}")
        try:   # each override that is a setting is validated as one
            with_overrides(settings, **{k: v for k, v in changes.items() if k not in extra})
        except SettingsError as exc:
            raise UserError(f"{shown}: overrides: {key}: {exc}") from None
        result[key] = dict(changes)
    return result


def _preferences(value, regions: list[str], shown: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{shown}: preferences: expected a mapping")
    for name, given in value.items():
        kind = PREFERENCES.get(name)
        if kind is None:
            raise UserError(f"{shown}: preferences: unknown key {str(name)[:40]!r}; allowed: {', '.join(PREFERENCES)}")
        if not isinstance(given, kind) or isinstance(given, bool):
            raise UserError(f"{shown}: preferences: {name}: expected {kind.__name__}")
    order = value.get("region_order", [])
    if any(r not in regions for r in order):
        raise UserError(f"{shown}: preferences: region_order may list only the regions under regions:")
    repeated = [r for r in order if order.count(r) > 1]
    if repeated:
        raise UserError(f"{shown}: preferences: region_order: lists {repeated[0]} twice; each region once, in the "
                        "order the rollout takes them")
    if value.get("region_concurrency", "sequential") not in ("sequential", "parallel"):
        raise UserError(f"{shown}: preferences: region_concurrency: allowed: sequential, parallel")
    if value.get("concurrency_mode", "strict") not in ("strict", "soft"):
        raise UserError(f"{shown}: preferences: concurrency_mode: allowed: strict, soft")
    tolerance, concurrent = value.get("failure_tolerance", 0), value.get("max_concurrent_accounts", 1)
    if not 0 <= tolerance <= 1000 or not 1 <= concurrent <= 1000:
        raise UserError(f"{shown}: preferences: failure_tolerance from 0, max_concurrent_accounts from 1 (at most 1000)")
    if value.get("concurrency_mode", "strict") == "strict" and concurrent > tolerance + 1:
        raise UserError(f"{shown}: preferences: max_concurrent_accounts ({concurrent}) may be at most "
                        f"failure_tolerance + 1 ({tolerance + 1}) in strict mode; raise the tolerance or use "
                        "concurrency_mode: soft")
    return dict(value)
