"""What a department follows, its results (stored, or computed on demand for a filter), its
change markers and the SPC chart of a monthly series: the reads every department page shares."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db.models import Q
from django.http import Http404

from dashboards.selectors.values import CELL_FIELDS, Cell, Filters, cells_by_key, frame_cells
from departments.models import Department
from indicators import engine
from indicators.models import (
    ChangeMarker,
    Computation,
    CurrentRows,
    DepartmentIndicator,
    IndicatorDefinition,
    Registry,
    Result,
)
from indicators.services import currency
from indicators.services.computations import spec_of
from indicators.services.rows import Source, read_rows
from indicators.services.selectors import department_definitions
from indicators.spc import SpcError, SpcSeries, spc_of_results

EPOCH = dt.date(1970, 1, 1)  # day numbers of the rows count from here (indicators.services.rows)

# --- what a department follows ----------------------------------------------------------------


def followed_indicators(department: Department) -> list[tuple[IndicatorDefinition, float | None]]:
    """The department's indicators with its targets, registry by registry: of each registry it
    has current rows in (or has chosen indicators of), what it chose in its order, or, where it
    has not chosen yet, every active standard indicator of that registry at its default target.
    A department with no rows anywhere sees the registries that have rows at all."""
    chosen = department_definitions(department)
    registries = department_registries(department) | {d.profile for d, _ in chosen}
    if not registries:
        registries = set(CurrentRows.objects.values_list("registry__slug", flat=True))
    followed = []
    for slug in registry_order(registries) if len(registries) > 1 else registries:
        mine = [(d, t) for d, t in chosen if d.profile == slug]
        if not mine:
            standard = IndicatorDefinition.objects.filter(
                profile=slug, department__isnull=True, is_active=True
            )
            mine = [(d, d.default_target) for d in standard.order_by("position", "slug")]
        followed += mine
    return followed


def department_registries(department: Department) -> set[str]:
    """The registries the department has current rows in."""
    rows = CurrentRows.objects.filter(department=department)
    return set(rows.values_list("registry__slug", flat=True))


def registry_order(slugs: Iterable[str]) -> list[str]:
    """The order registries are shown in: as they were installed (DCCG first)."""
    installed = {slug: pk for pk, slug in Registry.objects.values_list("pk", "slug")}
    return sorted(set(slugs), key=lambda slug: (installed.get(slug, 10**9), slug))


def indicator_for(
    department: Department, slug: str, registry: str | None = None
) -> tuple[IndicatorDefinition, float | None]:
    """A standard indicator or the department's own, with the department's target; else 404.

    A slug is unique within its registry; where two registries share one, ``registry`` (the
    pages' ``?registry=``) chooses, else the registry installed first."""
    found = IndicatorDefinition.objects.filter(slug=slug, is_active=True).filter(
        Q(department__isnull=True) | Q(department=department)
    )
    if registry:
        found = found.filter(profile=registry)
    definition = found.order_by("pk").first()
    if definition is None:
        raise Http404("No such indicator")
    choice = DepartmentIndicator.objects.filter(department=department, definition=definition)
    own = choice.values_list("target", flat=True).first()
    return definition, own if own is not None else definition.default_target


def current_computations(profiles: Iterable[str]) -> dict[str, Computation]:
    query = Computation.objects.filter(is_current=True, registry__slug__in=set(profiles))
    return {c.registry.slug: c for c in query.select_related("registry", "extract")}


def running_computation(profiles: Iterable[str]) -> Computation | None:
    """The newest queued or running computation of the registries (None: nothing under way)."""
    under_way = Computation.objects.filter(
        registry__slug__in=set(profiles),
        status__in=[Computation.Status.QUEUED, Computation.Status.RUNNING],
    )
    return under_way.order_by("-created_at", "-pk").first()


def computation_states(
    profiles: Iterable[str],
) -> tuple[dict[str, Computation], Computation | None]:
    """:func:`current_computations` (without their extracts) and :func:`running_computation`,
    in one query."""
    under_way = [Computation.Status.QUEUED, Computation.Status.RUNNING]
    query = Computation.objects.filter(registry__slug__in=set(profiles)).filter(
        Q(is_current=True) | Q(status__in=under_way)
    )
    current, running = {}, None
    for computation in query.select_related("registry").order_by("-created_at", "-pk"):
        if computation.is_current:
            current[computation.registry.slug] = computation
        elif running is None:
            running = computation
    return current, running


# --- results ----------------------------------------------------------------------------------


def stored_cells(
    computations: dict[str, Computation],
    definitions: Sequence[IndicatorDefinition],
    department: Department | None,
    period_types: Iterable[str],
    *,
    starts: Iterable[dt.date] | None = None,
) -> dict[tuple[int, str], list[Cell]]:
    """Stored results of the department (None: ALL), every definition in one query; with
    ``starts``, only the periods that begin on those days."""
    if not computations or not definitions:
        return {}
    results = Result.objects.filter(
        computation__in=list(computations.values()),
        definition__in=list(definitions),
        period_type__in=list(period_types),
    )
    if starts is not None:
        results = results.filter(period_start__in=sorted(set(starts)))
    if department is None:
        results = results.filter(department__isnull=True)
    else:
        results = results.filter(department=department)
    return cells_by_key(results.values_list(*CELL_FIELDS))


def computed_cells(
    computations: dict[str, Computation],
    follows: Sequence[tuple[IndicatorDefinition, float | None]],
    department: Department,
    filters: Filters,
    *,
    window: tuple[dt.date, dt.date] | None = None,
) -> dict[tuple[int, str], list[Cell]]:
    """The department's results for the filtered rows, computed now from the extract that holds
    its current rows (one read per registry; nothing is written).

    With ``window`` (first day, first day after) only the rows operated in it count, as one
    period of type ``"window"`` (the tile's year to date or last 12 months)."""
    found: dict[tuple[int, str], list[Cell]] = {}
    for profile in computations:
        definitions = [d for d, _ in follows if d.profile == profile]
        source = currency.source_of(department, profile)
        if not definitions or source is None:
            continue
        specs = [spec_of(d) for d in definitions]
        rows_of = Source.of(profile)
        wanted = engine.needed_fields(specs) | {"site", "priority"}
        rows = read_rows(
            rows_of,
            source.extract_id,
            wanted & set(rows_of.fields),
            department_ids=[department.pk],
        )
        # The site and urgency filters are DCCG's; a registry without those fields has none.
        if filters.site and "site" in rows:
            rows = rows[(rows["site"] == filters.site).to_numpy()]
        if filters.urgency and "priority" in rows:
            rows = rows[(rows["priority"] == filters.urgency).to_numpy()]
        if window is not None:
            first, after = (np.float64((day - EPOCH).days) for day in window)
            day = rows[engine.PERIOD].to_numpy(dtype=float)
            rows = rows[(day >= first) & (day < after)]
        targets = {(department.pk, d.pk): t for d, t in follows if t is not None}
        frame = engine.compute_results(
            rows.reset_index(drop=True),
            specs,
            targets,
            departments=[department.pk],
            include_all=False,
            period_types=("window",) if window is not None else engine.PERIOD_TYPES,
        )
        found.update(frame_cells(frame))
    return found


# --- change markers and the SPC ---------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    """A change marker as the pages show it and the SPC splits at it."""

    pk: int
    date: dt.date
    label: str
    note: str
    definition_ids: frozenset[int]  # empty: it concerns every indicator

    def concerns(self, definition: IndicatorDefinition) -> bool:
        return not self.definition_ids or definition.pk in self.definition_ids


def department_markers(department: Department) -> list[Marker]:
    """The department's change markers by date, each with its definitions (one query)."""
    return markers_of_departments([department.pk]).get(department.pk, [])


def markers_of_departments(department_ids: Iterable[int]) -> dict[int, list[Marker]]:
    """Each department's change markers by date, each with its definitions (one query)."""
    rows = (
        ChangeMarker.objects.filter(department_id__in=list(department_ids))
        .order_by("date", "pk")
        .values_list("department_id", "pk", "date", "label", "note", "definitions")
    )
    found: dict[int, tuple[int, dt.date, str, str]] = {}
    ids: dict[int, set[int]] = defaultdict(set)
    for department_id, pk, date, label, note, definition_id in rows:
        found.setdefault(pk, (department_id, date, label, note))
        if definition_id is not None:
            ids[pk].add(definition_id)
    by_department: dict[int, list[Marker]] = defaultdict(list)
    for pk, (department_id, *rest) in found.items():
        by_department[department_id].append(Marker(pk, *rest, frozenset(ids[pk])))
    return dict(by_department)


def markers_for(markers: Sequence[Marker], definition: IndicatorDefinition) -> list[Marker]:
    """The markers that concern the definition (those naming none concern every one)."""
    return [m for m in markers if m.concerns(definition)]


def spc_of(
    definition: IndicatorDefinition,
    monthly: Sequence[Cell],
    markers: Sequence[Marker],
    chart: str | None = None,
) -> SpcSeries:
    """The SPC chart of a monthly series, phased at the markers (pure; raises SpcError)."""
    if not monthly:
        raise SpcError("Der er ingen måneder at vise.", "There are no months to show.")
    return spc_of_results(
        monthly,
        kind=definition.kind,
        chart=chart,
        split_dates=[m.date for m in markers],
        labels=[m.label for m in markers],
    )
