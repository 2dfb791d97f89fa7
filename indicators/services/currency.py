"""Which rows are current: per department, the rows of the extract that last held it.

An extract replaces the current rows of exactly the departments it holds (extract-format.md);
the others keep theirs. Making an extract current (an import, a roll-back, a confirmation) goes
through :func:`apply` under the registry's lock, called by the importer's doors
(``indicators.registry.importer``). Everything that reads current rows asks :func:`sources`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from departments.models import Department
from indicators.models import CurrentRows, Extract, ExtractDepartment, Registry

# An extract that would leave a department with less than this share of its current rows waits
# for a coordinator's confirmation.
KEEP_AT_LEAST = 0.5


@dataclass(frozen=True)
class Change:
    """What making an extract current does to one department's rows."""

    department: Department
    before: int  # current rows now (0: none)
    after: int
    before_extract_id: int | None

    @property
    def drops_too_much(self) -> bool:
        return self.after < self.before * KEEP_AT_LEAST

    def as_dict(self) -> dict:
        return {
            "department": self.department.code,
            "before": self.before,
            "after": self.after,
            "before_extract": self.before_extract_id,
        }


def changes(extract: Extract) -> list[Change]:
    """Per department the extract holds: its current rows now and after (by department)."""
    held = ExtractDepartment.objects.filter(extract=extract).select_related("department")
    now = {
        c.department_id: c
        for c in CurrentRows.objects.filter(
            registry_id=extract.registry_id, department__in=[h.department_id for h in held]
        )
    }
    found = [
        Change(
            h.department,
            now[h.department_id].rows if h.department_id in now else 0,
            h.rows,
            now[h.department_id].extract_id if h.department_id in now else None,
        )
        for h in held
    ]
    return sorted(found, key=lambda c: c.department.code)


def apply(extract: Extract) -> None:
    """Make the extract's rows current for every department it holds (the caller holds the
    registry's lock and is inside a transaction)."""
    now = timezone.now()
    for held in ExtractDepartment.objects.filter(extract=extract):
        CurrentRows.objects.update_or_create(
            registry_id=extract.registry_id,
            department_id=held.department_id,
            defaults={"extract": extract, "rows": held.rows, "since": now},
        )
    Extract.objects.filter(registry_id=extract.registry_id, is_current=True).exclude(
        pk=extract.pk
    ).update(is_current=False)
    Extract.objects.filter(pk=extract.pk).update(
        is_current=True, made_current_at=now, awaiting_confirmation=False
    )


def sources(registry: Registry | int) -> list[list]:
    """The current rows as [[extract id, [department ids]], ...], both sorted: what a
    computation read, and what it compares to know whether it is still current."""
    by_extract: dict[int, list[int]] = {}
    rows = CurrentRows.objects.filter(registry=registry).values_list("extract_id", "department_id")
    for extract_id, department_id in rows:
        by_extract.setdefault(extract_id, []).append(department_id)
    return [[e, sorted(d)] for e, d in sorted(by_extract.items())]


def restrict(found: list[list], department_ids: Collection[int] | None) -> list[list]:
    """``sources`` narrowed to some departments (None: all)."""
    if department_ids is None:
        return found
    wanted = set(department_ids)
    narrowed = [[e, [d for d in ds if d in wanted]] for e, ds in found]
    return [[e, ds] for e, ds in narrowed if ds]


def source_of(department: Department, registry_slug: str = "dccg") -> CurrentRows | None:
    """Where the department's current rows come from (None: it has none)."""
    return (
        CurrentRows.objects.filter(registry__slug=registry_slug, department=department)
        .select_related("extract")
        .first()
    )


def with_current_rows(departments, registry_slug: str | None = None):
    """``departments`` (a queryset) narrowed to those with current rows in some registry (or in
    ``registry_slug``): a department left with none drops out of the lists."""
    where = Q(registry__slug=registry_slug) if registry_slug else Q()
    return departments.filter(pk__in=CurrentRows.objects.filter(where).values("department_id"))
