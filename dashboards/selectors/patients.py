"""The patients behind a number: a department's rows of one period, from the extract the
current results were computed from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.db import connection

from dashboards.selectors.results import current_computations
from dashboards.selectors.values import Filters, Period
from departments.models import Department
from indicators import engine, rules
from indicators.models import Computation, IndicatorDefinition
from indicators.registry import catalog, storage
from indicators.registry.profiles import Profile
from indicators.services import currency
from indicators.services.computations import spec_of

PATIENT_COLUMNS = (
    "pseudonym", "admission_date", "operation_date", "discharge_date", "procedure_code",
    "site", "priority", "clavien_dindo", "anastomosis", "anastomotic_leak",
    "reoperation_date", "readmission_date", "death_date",
)  # fmt: skip


def registry_rows(
    table: str,
    profile: Profile,
    extract_id: int,
    department_id: int,
    period: Period,
    filters: Filters,
) -> list[dict]:
    """The department's rows of the period (by the profile's period date), every stored field
    with its value as Python reads it (dates as dates), in date and line order."""
    quote = connection.ops.quote_name
    stored = storage.stored_columns(profile)
    period_field = storage.period_field(profile)
    columns = ["line", "pseudonym", *(c.field for c in stored)]
    where = ["extract_id = %s", "department_id = %s", f"{quote(period_field)} >= %s",
             f"{quote(period_field)} < %s"]  # fmt: skip
    params: list = [int(extract_id), int(department_id), period.start, period.end]
    # The site and urgency filters are DCCG's fields; another registry has none to filter.
    for name, value in (("site", filters.site), ("priority", filters.urgency)):
        if value and name in {c.field for c in stored}:
            where.append(f"{quote(name)} = %s")
            params.append(value)
    query = (  # identifiers quoted and checked (storage), values as parameters
        f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table)} "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY {quote(period_field)}, line"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    kinds = {c.field: c.family for c in stored}
    records = []
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        for name, value in record.items():  # SQLite gives dates as text, booleans as 0/1
            if value is None:
                continue
            if kinds.get(name) == "date" and isinstance(value, str):
                record[name] = dt.date.fromisoformat(value)
            elif kinds.get(name) == "boolean" and not isinstance(value, bool):
                record[name] = bool(value)
        records.append(record)
    return records


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
    registry = source.registry
    profile = catalog.profile(registry.slug)
    fields = rules.fields_for_profile(profile)
    needed = sorted(engine.needed_fields([spec_of(definition)]) & set(fields))
    records = registry_rows(
        registry.row_table, profile, source.extract_id, department.pk, period, filters
    )
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
