"""Which deployed settings came from --var rather than the settings file.

The rule (README, "Lifecycle"): the settings file is the source of truth, and
a deploy never silently undoes what an earlier `--var` (or `release --tag`)
deployed.  After each successful deploy, `records/<stack>.json` in the
artifacts bucket lists the parameters whose deployed value differs from the
settings file's because of `--var`.  A later deploy that would change such a
parameter back without being asked (no `--var` for it now, and the file
still disagrees) is refused before any change set: put the value in the
settings file, repeat the `--var`, or pass `--reset` to return to the file.
"""

from __future__ import annotations

import json

from ..errors import RefusedError
from ..model import title
from ..parameters import PARAMETER_NAMES, PARAMETERS, parameter_values
from ..settings import Settings
from .aws import error_code


def key_for(stack_name: str) -> str:
    return f"records/{stack_name}.json"


def setting_of(parameter: str) -> str:
    """ImageTag -> image_tag, ImageTagMutability -> image_tag_immutable: the name people type."""
    spec = PARAMETERS.get(parameter)
    return spec.setting if spec and spec.setting else parameter


def speaks_for_setting(parameter: str) -> bool:
    """False for a parameter derived from a setting that has a parameter of its own (ApiKeyPreviousSecret
    from api_key_secret): that one is checked, and it holds the value the user typed."""
    spec = PARAMETERS.get(parameter)
    if spec is None or not spec.setting:
        return True
    own = PARAMETER_NAMES.get(spec.setting, title(spec.setting))
    return own == parameter or own not in PARAMETERS


def set_by_var(settings: Settings, file_settings: Settings) -> dict[str, str]:
    """Parameters whose value comes from --var (it differs from the settings file's)."""
    given, from_file = parameter_values(settings), parameter_values(file_settings)
    return {name: value for name, value in given.items() if from_file.get(name) != value}


def read(s3, bucket: str, stack_name: str) -> dict[str, str]:
    try:
        body = s3.get_object(Bucket=bucket, Key=key_for(stack_name))["Body"].read()
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return {}
        raise
    try:
        return dict(json.loads(body).get("set_by_var", {}))
    except (ValueError, AttributeError):
        return {}


def write(s3, bucket: str, stack_name: str, values: dict[str, str]) -> None:
    body = json.dumps({"stack": stack_name, "set_by_var": values}, sort_keys=True, indent=1).encode()
    s3.put_object(Bucket=bucket, Key=key_for(stack_name), Body=body, ContentType="application/json")


def check_no_silent_undo(recorded: dict[str, str], deployed: dict[str, str], settings: Settings,
                         file_settings: Settings, source: str, var_names: frozenset[str] = frozenset()) -> None:
    """Refuse to revert a value an earlier --var deployed when nobody asked for it now."""
    wanted = parameter_values(settings)
    now_by_var = set_by_var(settings, file_settings)
    for parameter, value in recorded.items():
        if parameter not in PARAMETERS or parameter in now_by_var or setting_of(parameter) in var_names \
                or not speaks_for_setting(parameter):
            continue
        if deployed.get(parameter) == value and wanted.get(parameter) != value:
            spec = PARAMETERS[parameter]
            name, shown, asked = setting_of(parameter), spec.as_setting(value), spec.as_setting(wanted.get(parameter))
            raise RefusedError(
                f"{name} is {shown!r} in the deployed stack (set by an earlier --var or release) but {asked!r} in "
                f"{source}; a deploy never reverts it silently: add it to {source}, repeat --var {name}={shown}, "
                f"or pass --reset to return to {source}")
