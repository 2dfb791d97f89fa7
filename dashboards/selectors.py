"""Page-level reads for a department's pages: each page's data in a fixed number of queries.

The dashboard reads every followed indicator's results in one query (the department's) and one
more (the national pool), whatever the number of indicators or periods. With a tumour-site or
urgency filter the department's results are computed on demand from its rows of the current
extract by ``engine.compute_results`` (nothing is written).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from django.db.models import F, Q
from django.http import Http404

from departments.models import Department
from indicators import engine, rules, stats
from indicators.models import (
    ChangeMarker,
    Computation,
    DepartmentIndicator,
    IndicatorDefinition,
    Result,
)
from indicators.registry.profiles import get_profile
from indicators.services.computations import spec_of
from indicators.services.rows import read_rows
from indicators.services.selectors import RESULT_FIELDS, department_definitions
from indicators.spc import SpcError, SpcSeries, spc_series

PERIOD_TYPES = ("month", "quarter", "year")
MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}
SITES = ("kolon", "rektum")
URGENCIES = ("elektiv", "akut")
_CELL_FIELDS = (
    "definition_id", "period_type", "period_start", "numerator", "denominator", "missing",
    "value", "ci_low", "ci_high", "target", "target_status",
)  # fmt: skip


# --- small values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Subgroups the department's results are computed for on demand ("" = all)."""

    site: str = ""
    urgency: str = ""

    @property
    def active(self) -> bool:
        return bool(self.site or self.urgency)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in (("site", self.site), ("urgency", self.urgency)) if v}


@dataclass(frozen=True)
class Period:
    period_type: str
    start: dt.date

    @property
    def end(self) -> dt.date:
        """The first day after the period."""
        return add_months(self.start, MONTHS_IN[self.period_type])

    @property
    def code(self) -> str:
        if self.period_type == "year":
            return str(self.start.year)
        if self.period_type == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m}"


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month(text: str | None) -> dt.date | None:
    """ "2022-03" (or a full date) as the month's first day; None for anything else."""
    try:
        year, month = (int(part) for part in (text or "").strip().split("-")[:2])
        return dt.date(year, month, 1)
    except ValueError:
        return None


def parse_period(text: str | None) -> Period | None:
    """ "2022-03" (month), "2022-Q1" (quarter) or "2022" (year); None if it is none of them."""
    text = (text or "").strip().upper()
    try:
        if len(text) == 4 and text.isdigit():
            return Period("year", dt.date(int(text), 1, 1))
        if len(text) == 7 and text[4:6] == "-Q" and text[6] in "1234":
            return Period("quarter", dt.date(int(text[:4]), 3 * int(text[6]) - 2, 1))
        if len(text) == 7 and text[4] == "-":
            return Period("month", dt.date(int(text[:4]), int(text[5:]), 1))
    except ValueError:
        return None
    return None


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _plain(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


@dataclass(frozen=True)
class Cell:
    """One result (stored, or computed on demand) as the pages show it."""

    period_type: str
    period_start: dt.date
    numerator: int | None
    denominator: int
    missing: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    target: float | None
    target_status: str | None

    @property
    def period(self) -> Period:
        return Period(self.period_type, self.period_start)

    def overlaps(self, date_from: dt.date | None, date_to: dt.date | None) -> bool:
        last_day = self.period.end - dt.timedelta(days=1)
        return (date_from is None or last_day >= date_from) and (
            date_to is None or self.period_start <= date_to
        )


def _cells_by_key(records: Iterable[dict]) -> dict[tuple[int, str], list[Cell]]:
    found: dict[tuple[int, str], list[Cell]] = defaultdict(list)
    for r in records:
        start = r["period_start"]
        if not isinstance(start, dt.date) or isinstance(start, dt.datetime):
            start = pd.Timestamp(start).date()
        cell = Cell(
            period_type=r["period_type"],
            period_start=start,
            numerator=_plain(r["numerator"]),
            denominator=int(r["denominator"]),
            missing=int(r["missing"]),
            **{k: _plain(r[k]) for k in ("value", "ci_low", "ci_high", "target", "target_status")},
        )
        found[(int(r["definition_id"]), cell.period_type)].append(cell)
    for cells in found.values():
        cells.sort(key=lambda c: c.period_start)
    return found


# --- what a department follows ----------------------------------------------------------------


def followed_indicators(department: Department) -> list[tuple[IndicatorDefinition, float | None]]:
    """The department's indicators in its order with its targets; a department that has not
    chosen yet follows every active standard indicator at its default target."""
    chosen = department_definitions(department)
    if chosen:
        return chosen
    standard = IndicatorDefinition.objects.filter(department__isnull=True, is_active=True)
    return [(d, d.default_target) for d in standard.order_by("position", "slug")]


def indicator_for(department: Department, slug: str) -> tuple[IndicatorDefinition, float | None]:
    """A standard indicator or the department's own, with the department's target; else 404."""
    definition = (
        IndicatorDefinition.objects.filter(slug=slug, is_active=True)
        .filter(Q(department__isnull=True) | Q(department=department))
        .first()
    )
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


# --- results ----------------------------------------------------------------------------------


def _stored_cells(
    computations: dict[str, Computation],
    definitions: Sequence[IndicatorDefinition],
    department: Department | None,
    period_types: Iterable[str],
) -> dict[tuple[int, str], list[Cell]]:
    """Stored results of the department (None: ALL), every definition in one query."""
    if not computations or not definitions:
        return {}
    results = Result.objects.filter(
        computation__in=list(computations.values()),
        definition__in=list(definitions),
        period_type__in=list(period_types),
    )
    if department is None:
        results = results.filter(department__isnull=True)
    else:
        results = results.filter(department=department)
    return _cells_by_key(results.values(*_CELL_FIELDS))


def computed_cells(
    computations: dict[str, Computation],
    follows: Sequence[tuple[IndicatorDefinition, float | None]],
    department: Department,
    filters: Filters,
) -> dict[tuple[int, str], list[Cell]]:
    """The department's results for the filtered rows, computed now from the current extract
    (one read per registry; nothing is written)."""
    found: dict[tuple[int, str], list[Cell]] = {}
    for profile, computation in computations.items():
        definitions = [d for d, _ in follows if d.profile == profile]
        if not definitions or computation.extract_id is None:
            continue
        specs = [spec_of(d) for d in definitions]
        fields = rules.fields_for_profile(get_profile(profile))
        wanted = engine.needed_fields(specs) | {"site", "priority"}
        rows = read_rows(
            computation.extract_id,
            wanted & set(fields),
            fields,
            department_ids=[department.pk],
        )
        if filters.site:
            rows = rows[(rows["site"] == filters.site).to_numpy()]
        if filters.urgency:
            rows = rows[(rows["priority"] == filters.urgency).to_numpy()]
        targets = {(department.pk, d.pk): t for d, t in follows if t is not None}
        frame = engine.compute_results(
            rows.reset_index(drop=True),
            specs,
            targets,
            departments=[department.pk],
            include_all=False,
        )
        found.update(_cells_by_key(frame.to_dict("records")))
    return found


def _markers(department: Department) -> list[ChangeMarker]:
    """The department's change markers by date, each with its definitions (two queries)."""
    markers = ChangeMarker.objects.filter(department=department).prefetch_related("definitions")
    return list(markers.order_by("date", "pk"))


def markers_for(markers: Sequence[ChangeMarker], definition: IndicatorDefinition) -> list:
    """The markers that concern the definition (those naming none concern every one)."""
    found = []
    for marker in markers:
        ids = {d.pk for d in marker.definitions.all()}
        if not ids or definition.pk in ids:
            found.append(marker)
    return found


def spc_of(
    definition: IndicatorDefinition,
    monthly: Sequence[Cell],
    markers: Sequence[ChangeMarker],
    chart: str | None = None,
) -> SpcSeries:
    """The SPC chart of a monthly series, phased at the markers (pure; raises SpcError)."""
    if not monthly:
        raise SpcError("Der er ingen måneder at vise.", "There are no months to show.")
    return spc_series(
        [c.period_start for c in monthly],
        [c.numerator for c in monthly],
        [c.denominator for c in monthly],
        [math.nan if c.value is None else c.value for c in monthly],
        kind=definition.kind,
        chart=chart,
        split_dates=[m.date for m in markers],
        labels=[m.label for m in markers],
    )


@dataclass(frozen=True)
class Signal:
    """The SPC verdict in the latest phase: points outside the limits, non-random runs."""

    chart: str
    outside: int
    runs: bool

    @property
    def any(self) -> bool:
        return bool(self.outside or self.runs)


def latest_signal(series: SpcSeries) -> Signal:
    last = series.points[-1].phase
    outside = sum(1 for p in series.points if p.phase == last and p.sigma_signal)
    return Signal(series.chart, outside, bool(series.phases[-1].runs_signal))


# --- the dashboard ----------------------------------------------------------------------------


@dataclass
class Tile:
    definition: IndicatorDefinition
    target: float | None
    series: list[Cell]
    latest: Cell | None
    national: Cell | None
    signal: Signal | None


@dataclass
class Dashboard:
    department: Department
    period_type: str
    date_from: dt.date | None
    date_to: dt.date | None
    filters: Filters
    tiles: list[Tile] = field(default_factory=list)
    computation: Computation | None = None
    running: Computation | None = None


def department_dashboard(
    department: Department,
    *,
    period_type: str = "month",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    filters: Filters | None = None,
) -> Dashboard:
    """Every tile of the department's dashboard (queries: definitions, computations, the
    department's results, the national ones, the change markers; none per indicator)."""
    filters = filters or Filters()
    follows = followed_indicators(department)
    profiles = {d.profile for d, _ in follows} or {"dccg"}
    computations = current_computations(profiles)
    board = Dashboard(department, period_type, date_from, date_to, filters)
    board.running = running_computation(profiles)
    board.computation = next(iter(computations.values()), None)
    definitions = [d for d, _ in follows]
    if filters.active:
        own = computed_cells(computations, follows, department, filters)
        national: dict = {}
    else:
        own = _stored_cells(computations, definitions, department, {period_type, "month"})
        national = _stored_cells(computations, definitions, None, {period_type})
    markers = _markers(department) if follows else []
    for definition, target in follows:
        series = [
            c for c in own.get((definition.pk, period_type), []) if c.overlaps(date_from, date_to)
        ]
        latest = series[-1] if series else None
        same = [
            c
            for c in national.get((definition.pk, period_type), [])
            if latest and c.period_start == latest.period_start
        ]
        monthly = [
            c for c in own.get((definition.pk, "month"), []) if c.overlaps(date_from, date_to)
        ]
        signal = None
        if len(monthly) >= 2:
            try:
                chart = spc_of(definition, monthly, markers_for(markers, definition))
                signal = latest_signal(chart)
            except (SpcError, ValueError):
                signal = None
        board.tiles.append(
            Tile(definition, target, series, latest, same[0] if same else None, signal)
        )
    return board


# --- one indicator in time --------------------------------------------------------------------


@dataclass(frozen=True)
class Pooled:
    """A phase's pooled result: all its operations together."""

    start: dt.date
    end: dt.date  # the phase's last month
    months: int
    numerator: int | None
    denominator: int
    value: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass
class History:
    definition: IndicatorDefinition
    target: float | None
    monthly: list[Cell]
    national: dict[dt.date, Cell]
    markers: list[ChangeMarker]
    spc: SpcSeries | None
    spc_error: SpcError | None
    before: Pooled | None = None
    after: Pooled | None = None
    marker: ChangeMarker | None = None  # the latest marker that split the series
    computation: Computation | None = None


def _pooled(definition: IndicatorDefinition, cells: Sequence[Cell], centre: float) -> Pooled:
    denominator = sum(c.denominator for c in cells)
    numerator = value = low = high = None
    if definition.kind == IndicatorDefinition.Kind.PROPORTION:
        numerator = sum(c.numerator or 0 for c in cells)
        if denominator:
            value = numerator / denominator
            lows, highs = stats.wilson_interval(numerator, denominator)
            low, high = float(lows), float(highs)
    else:
        value = None if math.isnan(centre) else centre  # the median of the monthly medians
    return Pooled(
        cells[0].period_start, cells[-1].period_start, len(cells), numerator, denominator,
        value, low, high,
    )  # fmt: skip


def indicator_history(
    department: Department,
    definition: IndicatorDefinition,
    target: float | None,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    filters: Filters | None = None,
    chart: str | None = None,
) -> History:
    """The monthly series, its SPC chart phased at the change markers, the national line and
    the before/after of the latest marker."""
    filters = filters or Filters()
    computations = current_computations({definition.profile})
    if filters.active:
        own = computed_cells(computations, [(definition, target)], department, filters)
        national: dict = {}
    else:
        own = _stored_cells(computations, [definition], department, {"month"})
        national = _stored_cells(computations, [definition], None, {"month"})
    monthly = [c for c in own.get((definition.pk, "month"), []) if c.overlaps(date_from, date_to)]
    markers = markers_for(_markers(department), definition)
    history = History(
        definition,
        target,
        monthly,
        {c.period_start: c for c in national.get((definition.pk, "month"), [])},
        markers,
        None,
        None,
        computation=computations.get(definition.profile),
    )
    try:
        history.spc = spc_of(definition, monthly, markers, chart)
    except SpcError as exc:
        history.spc_error = exc
        return history
    points, phases = history.spc.points, history.spc.phases
    if len(phases) >= 2:
        # The latest change that split the series: its phase against the one before it.
        start = phases[-1].start
        index = next(i for i, p in enumerate(points) if p.period_start == start)
        previous = points[index - 1].phase
        before = [c for c, p in zip(monthly, points, strict=True) if p.phase == previous]
        history.before = _pooled(definition, before, phases[-2].cl)
        history.after = _pooled(definition, monthly[index:], phases[-1].cl)
        history.marker = next(
            (m for m in reversed(markers) if m.date.replace(day=1) <= start), None
        )
    return history


# --- the patients behind a number -------------------------------------------------------------

PATIENT_COLUMNS = (
    "pseudonym", "admission_date", "operation_date", "discharge_date", "procedure_code",
    "site", "priority", "clavien_dindo", "anastomosis", "anastomotic_leak",
    "reoperation_date", "readmission_date", "death_date",
)  # fmt: skip


@dataclass
class PatientList:
    period: Period
    events: list[dict]  # in the numerator (proportions) or the denominator (measures)
    missing: list[dict]
    denominator: int
    computation: Computation | None


def patient_rows(
    department: Department,
    definition: IndicatorDefinition,
    period: Period,
    filters: Filters | None = None,
) -> PatientList:
    """The department's rows of the period behind the number: events and missing ones, from
    the extract the current results were computed from."""
    filters = filters or Filters()
    computation = current_computations({definition.profile}).get(definition.profile)
    if computation is None or computation.extract_id is None:
        return PatientList(period, [], [], 0, computation)
    rows = computation.extract.rows.filter(
        department=department,
        operation_date__gte=period.start,
        operation_date__lt=period.end,
    )
    if filters.site:
        rows = rows.filter(site=filters.site)
    if filters.urgency:
        rows = rows.filter(priority=filters.urgency)
    fields = rules.fields_for_profile(get_profile(definition.profile))
    needed = sorted(engine.needed_fields([spec_of(definition)]) & set(fields))
    columns = list(dict.fromkeys([*PATIENT_COLUMNS, *needed]))
    records = list(rows.order_by("operation_date", "line").values("line", *columns))
    if not records:
        return PatientList(period, [], [], 0, computation)
    frame = rules.prepare_frame(pd.DataFrame.from_records(records)[needed], fields)
    population = rules.evaluate(definition.population, frame)
    missing = population & rules.evaluate(definition.missing, frame)
    if definition.kind == IndicatorDefinition.Kind.MEASURE:
        values = rules.measure_values(definition.measure, frame)
        missing |= population & pd.isna(values)
        counted = population & ~missing
        events = [dict(records[i], measure=float(values[i])) for i in counted.nonzero()[0]]
        events.sort(key=lambda r: -r["measure"])
    else:
        counted = population & ~missing
        event = counted & rules.evaluate(definition.event, frame)
        events = [records[i] for i in event.nonzero()[0]]
    return PatientList(
        period,
        events,
        [records[i] for i in missing.nonzero()[0]],
        int(counted.sum()),
        computation,
    )


# --- the API ----------------------------------------------------------------------------------

API_FIELDS = {
    "department_code": F("department__code"),
    "indicator": F("definition__slug"),
}
API_VALUES = RESULT_FIELDS  # the fields of export_results


def api_results(
    computation: Computation,
    departments,
    *,
    include_all: bool,
    definition: IndicatorDefinition | None,
    period: Period | None,
    period_type: str | None,
):
    """Results of the computation for ``departments`` (a queryset the caller scoped by access)
    and, with ``include_all``, the national pool; ordered as export_results orders them."""
    results = Result.objects.filter(computation=computation)
    where = Q(department__in=departments)
    if include_all:
        where |= Q(department__isnull=True)
    results = results.filter(where).filter(
        Q(definition__department__isnull=True) | Q(definition__department__in=departments)
    )
    if definition is not None:
        results = results.filter(definition=definition)
    if period is not None:
        results = results.filter(period_type=period.period_type, period_start=period.start)
    elif period_type:
        results = results.filter(period_type=period_type)
    return results.order_by(
        F("department__code").asc(nulls_first=True),
        "definition__position",
        "definition__slug",
        "period_type",
        "period_start",
    ).values("department_id", *API_VALUES, **API_FIELDS)
