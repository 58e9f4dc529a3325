"""checks/skips.yaml: the checkov findings accepted, each for named environments and a reason.

`make scan` (scan.py) applies them to what each environment deploys and
fails on a skip that covers nothing where it claims to; `make templates`
copies them into docs/SECURITY.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import UserError

SKIPS_FILE = "checks/skips.yaml"
ALL = "all"                       # a skip for every environment
FIELDS = ("check", "resources", "environments", "reason")


@dataclass(frozen=True)
class Skip:
    check: str
    resources: tuple[str, ...]
    environments: tuple[str, ...]
    reason: str

    def covers(self, check: str, resource: str, environment: str) -> bool:
        return (check == self.check and resource in self.resources
                and (ALL in self.environments or environment in self.environments))


def load_skips(project: Path) -> list[Skip]:
    try:
        entries = yaml.safe_load((project / SKIPS_FILE).read_text()) or []
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{SKIPS_FILE}: cannot be read ({exc})") from None
    if not isinstance(entries, list):
        raise UserError(f"{SKIPS_FILE}: expected a list of skips")
    skips = []
    for number, entry in enumerate(entries, 1):
        entry = entry if isinstance(entry, dict) else {}
        missing = [k for k in FIELDS if not entry.get(k)]
        if missing:
            raise UserError(f"{SKIPS_FILE}: entry {number} lacks {', '.join(missing)}; each skip names the check, "
                            "the resources, the environments (or all) and the reason")
        listed = {k: entry[k] if isinstance(entry[k], list) else [entry[k]] for k in ("resources", "environments")}
        skips.append(Skip(str(entry["check"]), tuple(map(str, listed["resources"])),
                          tuple(map(str, listed["environments"])), " ".join(str(entry["reason"]).split())))
    return skips


def markdown(skips: list[Skip]) -> str:
    lines = ["| Check | Resources | Environments | Reason |", "| --- | --- | --- | --- |"]
    for skip in skips:
        resources = ", ".join(f"`{r}`" for r in skip.resources)
        lines.append(f"| {skip.check} | {resources} | {', '.join(skip.environments)} | {skip.reason} |")
    return "\n".join(lines)
