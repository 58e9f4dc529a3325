"""The review of a change set: one tree per stack, + add, ~ modify, - remove.

Built from describe_change_set (nested change sets included), rendered as a
coloured tree on a TTY, plain text otherwise, JSON for machines and Markdown
for pull-request comments.  `risky_changes` finds changes that would replace
or remove a stateful resource, which the deploy refuses unless allowed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

# Resources that hold data: replacing or removing them loses it.
# A KMS key or a secret too: losing the key loses everything encrypted with it.
STATEFUL_TYPES = {"AWS::S3::Bucket", "AWS::ECR::Repository", "AWS::Logs::LogGroup", "AWS::KMS::Key",
                  "AWS::SecretsManager::Secret"}
NESTED_STACK = "AWS::CloudFormation::Stack"
SYMBOLS = {"Add": "+", "Modify": "~", "Remove": "-", "Import": "<", "Dynamic": "?"}
COLOURS = {"Add": "green", "Modify": "yellow", "Remove": "red", "Import": "cyan", "Dynamic": "magenta"}


@dataclass
class ResourceChange:
    action: str                  # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str = ""        # True | False | Conditional | ""
    physical_id: str = ""
    details: list[str] = field(default_factory=list)   # e.g. "Properties.Cpu (ParameterReference)"
    nested: "StackReview | None" = None

    @property
    def replaces(self) -> bool:
        return self.replacement in ("True", "Conditional")


@dataclass
class ParameterChange:
    name: str
    old: str | None
    new: str


@dataclass
class StackReview:
    stack_name: str
    change_set_type: str = "UPDATE"          # CREATE | UPDATE
    changes: list[ResourceChange] = field(default_factory=list)
    parameters: list[ParameterChange] = field(default_factory=list)
    cost: dict | None = None                 # {"before": x, "after": y} when known
    account: str = ""
    region: str = ""
    adoption: list[str] = field(default_factory=list)     # retained resources brought back
    prediction: list[str] = field(default_factory=list)   # replacements predicted from the provider schemas
    validation: list[str] = field(default_factory=list)   # CloudFormation's pre-deployment validation findings
    rollback: list[str] = field(default_factory=list)     # the stack's rollback triggers

    def count(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for change in self.walk():
            counts[change.action] = counts.get(change.action, 0) + 1
        return counts

    def walk(self):
        """Every resource change, nested ones included, depth first."""
        for change in self.changes:
            yield change
            if change.nested:
                yield from change.nested.walk()

    def walk_with_path(self, path: tuple[str, ...] = ()):
        for change in self.changes:
            yield path, change
            if change.nested:
                yield from change.nested.walk_with_path(path + (change.logical_id,))

    @property
    def empty(self) -> bool:
        return not self.changes and not self.parameters


# ---------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------

def from_change_set(cfn, change_set_id: str, stack_name: str, describe=None,
                    change_set_type: str = "UPDATE") -> StackReview:
    """Read a change set (paginated) and the nested change sets it points to."""
    describe = describe or (lambda **kw: cfn.describe_change_set(**kw))
    pages, token = [], None
    while True:
        kwargs = {"ChangeSetName": change_set_id}
        if token:
            kwargs["NextToken"] = token
        page = describe(**kwargs)
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            break
    first = pages[0]
    review = StackReview(stack_name=stack_name or first.get("StackName", ""), change_set_type=change_set_type)
    for page in pages:
        for item in page.get("Changes", []):
            rc = item.get("ResourceChange", {})
            change = ResourceChange(
                action=rc.get("Action", "Modify"),
                logical_id=rc.get("LogicalResourceId", "?"),
                resource_type=rc.get("ResourceType", "?"),
                replacement=str(rc.get("Replacement", "") or ""),
                physical_id=rc.get("PhysicalResourceId", "") or "",
                details=[describe_detail(d) for d in rc.get("Details", [])],
            )
            nested_id = rc.get("ChangeSetId")
            if nested_id and change.resource_type == NESTED_STACK:
                change.nested = from_change_set(cfn, nested_id, change.logical_id, describe)
            review.changes.append(change)
    review.changes.sort(key=lambda c: ("Remove", "Modify", "Add").index(c.action) if c.action in (
        "Remove", "Modify", "Add") else 3)
    return review


def describe_detail(detail: dict) -> str:
    target = detail.get("Target", {})
    where = ".".join(p for p in (target.get("Attribute"), target.get("Name")) if p)
    why = detail.get("ChangeSource") or detail.get("Evaluation") or ""
    recreate = target.get("RequiresRecreation")
    flag = " [recreates]" if recreate == "Always" else (" [may recreate]" if recreate == "Conditionally" else "")
    return f"{where} ({why}){flag}" if why else f"{where}{flag}"


def parameter_changes(old: dict[str, str] | None, new: dict[str, str]) -> list[ParameterChange]:
    """Parameters whose value differs from the deployed stack's (templates bucket/prefix are noise)."""
    old = old or {}
    ignored = {"TemplatesBucket", "TemplatesPrefix"}
    return [ParameterChange(k, old.get(k), v) for k, v in new.items() if k not in ignored and old.get(k) != v]


# ---------------------------------------------------------------------------
# the stateful guard
# ---------------------------------------------------------------------------

@dataclass
class Risk:
    path: str
    logical_id: str
    resource_type: str
    reason: str


def risky_changes(review: StackReview, stateful_ids: set[str], retained_ids: set[str] = frozenset(),
                  nested_holding: set[str] = frozenset()) -> list[Risk]:
    """Changes that would replace or remove a stateful resource.

    `stateful_ids` holds logical IDs known (from our templates) to be
    stateful, including ones inside nested stacks the change set cannot see
    into.  Removing a resource in `retained_ids` loses nothing (its
    DeletionPolicy keeps it, and a later deploy adopts it again); a nested
    stack in `nested_holding` holds stateful resources that are not all
    retained, so removing it would lose them.
    """
    risks = []
    for path, change in review.walk_with_path((review.stack_name,)):
        stateful = change.resource_type in STATEFUL_TYPES or change.logical_id in stateful_ids
        if change.action == "Remove" and change.logical_id in retained_ids:
            continue
        if change.action == "Remove" and change.resource_type == NESTED_STACK and \
                change.logical_id not in nested_holding:
            continue
        if change.action == "Remove" and (stateful or change.resource_type == NESTED_STACK):
            reason = "would be removed" + (" with the stateful resources inside it"
                                           if change.resource_type == NESTED_STACK else "")
            risks.append(Risk("/".join(path), change.logical_id, change.resource_type, reason))
        elif change.action == "Modify" and stateful and change.replaces:
            reason = "would be replaced" if change.replacement == "True" else "may be replaced"
            risks.append(Risk("/".join(path), change.logical_id, change.resource_type, reason))
    return risks


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------

def summary(review: StackReview) -> str:
    counts = review.count()
    parts = [f"{counts.get(a, 0)} to {verb}" for a, verb in (("Add", "add"), ("Modify", "change"),
                                                                ("Remove", "remove")) if counts.get(a)]
    replaces = sum(1 for c in review.walk() if c.replaces)
    if replaces:
        parts.append(f"{replaces} replacement{'s' if replaces > 1 else ''}")
    if review.parameters:
        parts.append(f"{len(review.parameters)} parameter{'s' if len(review.parameters) > 1 else ''} changed")
    return ", ".join(parts) or "no changes"


def render_text(review: StackReview, colour: bool) -> str:
    """The tree, with rich markup when `colour`, else plain text."""
    from rich.markup import escape

    def paint(text: str, style: str) -> str:
        return f"[{style}]{escape(text)}[/]" if colour else text

    def plain(text: str) -> str:     # data in an unpainted line: never markup
        return escape(text) if colour else text

    lines = [paint(f"{review.stack_name} ({review.change_set_type.lower()}): {summary(review)}", "bold")]
    if review.account or review.region:
        lines.append(plain(f"  target: account {review.account or '?'}, region {review.region or '?'}"))
    if review.adoption:
        lines.append("  retained resources adopted, not created:")
        lines.extend(paint(line, "cyan") for line in review.adoption)
    if review.parameters:
        lines.append("  parameters:")
        for p in review.parameters:
            old = "(new)" if p.old is None else repr(p.old)
            lines.append(f"    {paint('~', 'yellow')} {plain(f'{p.name}: {old} -> {p.new!r}')}")

    def tree(changes: list[ResourceChange], indent: str) -> None:
        for index, change in enumerate(changes):
            last = index == len(changes) - 1
            branch = "└─ " if last else "├─ "
            symbol = SYMBOLS.get(change.action, "?")
            flags = ""
            if change.replacement == "True":
                flags = " " + paint("[REPLACE]", "bold red")
            elif change.replacement == "Conditional":
                flags = " " + paint("[may replace]", "red")
            head = f"{symbol} {change.logical_id}"
            lines.append(f"{indent}{branch}{paint(head, COLOURS.get(change.action, 'white'))} "
                         f"{paint(change.resource_type, 'dim')}{flags}")
            child_indent = indent + ("   " if last else "│  ")
            for detail in change.details[:8]:
                lines.append(f"{child_indent}  {paint(detail, 'dim')}")
            if len(change.details) > 8:
                lines.append(f"{child_indent}  {paint(f'... {len(change.details) - 8} more', 'dim')}")
            if change.nested and change.nested.changes:
                tree(change.nested.changes, child_indent)

    tree(review.changes, "  ")
    if review.prediction:
        lines.append("  predicted from the provider schemas:")
        lines.extend(paint(line, "red" if "refuses" in line else "yellow") for line in review.prediction)
    if review.validation:
        lines.append("  CloudFormation pre-deployment validation:")
        lines.extend(paint(line, "red") for line in review.validation)
    lines.extend(plain(line) for line in review.rollback)
    if review.cost:
        lines.append(f"  monthly cost estimate: ${review.cost['before']:,.2f} -> ${review.cost['after']:,.2f}")
    return "\n".join(lines)


def to_json(review: StackReview) -> str:
    data = asdict(review)
    data["summary"] = summary(review)
    return json.dumps(data, indent=2)


def to_markdown(review: StackReview, risks: list[Risk] | None = None) -> str:
    """For a pull-request comment: summary, parameter table, change table."""
    out = [f"### CloudFormation change set for `{review.stack_name}`", "", f"**{summary(review)}**", ""]
    if review.account or review.region:
        out += [f"Target: account `{review.account}`, region `{review.region}`", ""]
    if review.adoption:
        out += ["Retained resources adopted, not created:", ""] + [f"- {line.strip()}" for line in review.adoption]
        out.append("")
    if review.prediction:
        out += ["Predicted from the provider schemas:", ""] + [f"- {line.strip()}" for line in review.prediction]
        out.append("")
    if review.rollback:
        out += [f"- {line.strip()}" for line in review.rollback] + [""]
    if review.validation:
        out += ["CloudFormation pre-deployment validation:", ""] + [f"- {line.strip()}" for line in review.validation]
        out.append("")
    if review.parameters:
        out += ["| Parameter | Old | New |", "|---|---|---|"]
        out += [f"| `{p.name}` | {'' if p.old is None else f'`{p.old}`'} | `{p.new}` |" for p in review.parameters]
        out.append("")
    rows = list(review.walk_with_path((review.stack_name,)))
    if rows:
        out += ["| | Resource | Type | Stack | Replacement |", "|---|---|---|---|---|"]
        for path, change in rows:
            out.append(f"| {SYMBOLS.get(change.action, '?')} | `{change.logical_id}` | {change.resource_type} | "
                       f"{'/'.join(path)} | {change.replacement or ''} |")
        out.append("")
    if risks:
        out.append("**Refused without `--allow-replace`:**")
        out += [f"- `{r.logical_id}` ({r.resource_type}) {r.reason}" for r in risks]
        out.append("")
    if review.cost:
        out.append(f"Monthly cost estimate: ${review.cost['before']:,.2f} → ${review.cost['after']:,.2f}")
    return "\n".join(out)
