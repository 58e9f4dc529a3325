"""The StackSets operations of one rollout, in the order the targets file's region_order asks for.

One operation carries one set of parameter overrides to every account x region it names, so instances
with different overrides need operations of their own.  Regions in sequence must follow region_order across
all of them: each region is finished, by every operation that reaches it, before the next one starts (an
override group per operation would run a later region of one group before the first region of the next).
Within a region: instances whose overrides change or that a failed operation left behind are updated first,
then a change of the set itself reaches its instances, then new instances are created (they take the set's
template as it is by then).  Adjacent operations of one kind on the same targets and overrides merge, so a
rollout without overrides stays one operation.  With regions in parallel, order does not matter and each
override group is one operation over all its regions.
"""

from __future__ import annotations

from dataclasses import dataclass

UPDATE_INSTANCES, UPDATE_SET, CREATE_INSTANCES = "update", "update set", "create"
KINDS = (UPDATE_INSTANCES, UPDATE_SET, CREATE_INSTANCES)   # their order within a region

Key = tuple[str, str]   # (account or OU, region)


@dataclass(frozen=True)
class Step:
    """One StackSets operation: its kind, the overrides it sets, its accounts (or OUs) and its regions in order."""
    kind: str
    overrides: tuple[tuple[str, str], ...]
    where: tuple[str, ...]
    regions: tuple[str, ...]


def plan(work: dict[str, dict[Key, dict[str, str]]], region_order: list[str], parallel: bool) -> list[Step]:
    """`work` gives, per kind, each instance to reach and its overrides (empty for UPDATE_SET)."""
    rank = {region: index for index, region in enumerate(region_order)}
    units: list[tuple[tuple, Step]] = []
    for kind_rank, kind in enumerate(KINDS):
        wheres: dict[tuple, dict[str, list[str]]] = {}      # overrides -> region -> accounts or OUs
        for (where, region), overrides in work.get(kind, {}).items():
            wheres.setdefault(tuple(sorted(overrides.items())), {}).setdefault(region, []).append(where)
        groups = sorted({(overrides, tuple(sorted(found))) for overrides, by_region in wheres.items()
                         for found in by_region.values()})
        for overrides, by_region in wheres.items():
            for region, found in by_region.items():
                step = Step(kind, overrides, tuple(sorted(found)), (region,))
                group = groups.index((overrides, step.where))
                order = (kind_rank, group, rank[region]) if parallel else (rank[region], kind_rank, group)
                units.append((order, step))
    steps: list[Step] = []
    for _, step in sorted(units, key=lambda unit: unit[0]):
        last = steps[-1] if steps else None
        if last and (last.kind, last.overrides, last.where) == (step.kind, step.overrides, step.where):
            steps[-1] = Step(last.kind, last.overrides, last.where, last.regions + step.regions)
        else:
            steps.append(step)
    return steps


def instances_made(outcomes: list[tuple[str, list[dict]]]) -> tuple[int, int]:
    """(created, updated): distinct account x region pairs that operations of each kind left SUCCEEDED, from
    their results (an OU's accounts counted one by one)."""
    created = {(r["Account"], r["Region"]) for kind, results in outcomes if kind == CREATE_INSTANCES
               for r in results if r["Status"] == "SUCCEEDED"}
    updated = {(r["Account"], r["Region"]) for kind, results in outcomes if kind != CREATE_INSTANCES
               for r in results if r["Status"] == "SUCCEEDED"} - created
    return len(created), len(updated)
