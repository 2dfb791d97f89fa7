"""The patients behind a number: a department's rows of one period, from the extract the
current results were computed from."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboards.selectors.results import current_computations
from dashboards.selectors.values import Filters, Period
from departments.models import Department
from indicators import engine, rules
from indicators.models import Computation, IndicatorDefinition
from indicators.registry.profiles import get_profile
from indicators.services import currency
from indicators.services.computations import spec_of

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
    the extract that holds the department's current rows."""
    filters = filters or Filters()
    computation = current_computations({definition.profile}).get(definition.profile)
    source = currency.source_of(department, definition.profile)
    if computation is None or source is None:
        return PatientList(period, [], [], 0, computation)
    rows = source.extract.rows.filter(
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
