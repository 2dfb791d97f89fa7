"""The rule builder's live preview: an unsaved definition computed on one department's rows of an
extract, by the engine and with the spec a recompute uses, so saving the definition gives these
very numbers. Nothing is written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pandas as pd

from departments.models import Department
from indicators import engine, stats
from indicators.models import Extract, IndicatorDefinition
from indicators.services.computations import spec_of
from indicators.services.rows import Source, read_rows


@dataclass(frozen=True)
class PreviewRow:
    """One year's result (or, for ``Preview.total``, every year pooled)."""

    period_start: dt.date | None  # None: the pool of every year
    numerator: int | None  # None for measures
    denominator: int
    missing: int
    value: float | None
    ci_low: float | None
    ci_high: float | None
    target_status: str | None


@dataclass(frozen=True)
class Preview:
    rows: int  # the department's operation rows read
    years: list[PreviewRow]  # oldest first
    total: PreviewRow | None  # proportions only: every year's operations together


def preview_definition(
    department: Department, definition: IndicatorDefinition, extract: Extract
) -> Preview:
    """Yearly results of an unsaved ``definition`` for ``department`` on ``extract``'s rows.

    Reads only the department's rows and the fields the rules use.
    """
    spec = dataclasses.replace(spec_of(definition), id=0, department_id=department.pk)
    rows = read_rows(
        Source.of(definition.profile),
        extract.pk,
        engine.needed_fields([spec]),
        department_ids=[department.pk],
    )
    frame = engine.compute_results(rows, [spec], {}, departments=[department.pk], include_all=False)
    years = frame[frame["period_type"] == "year"].sort_values("period_start")
    found = [_row(record) for record in years.to_dict("records")]
    total = None
    if definition.kind == IndicatorDefinition.Kind.PROPORTION and found:
        total = _pooled(found)
    return Preview(rows=len(rows), years=found, total=total)


def _pooled(years: list[PreviewRow]) -> PreviewRow:
    numerator = sum(y.numerator or 0 for y in years)
    denominator = sum(y.denominator for y in years)
    low, high = stats.wilson_interval(numerator, denominator)
    return PreviewRow(
        period_start=None,
        numerator=numerator,
        denominator=denominator,
        missing=sum(y.missing for y in years),
        value=_float(stats.proportion(numerator, denominator)),
        ci_low=_float(low),
        ci_high=_float(high),
        target_status=None,
    )


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _row(record: dict) -> PreviewRow:
    status = record.get("target_status")
    return PreviewRow(
        period_start=pd.Timestamp(record["period_start"]).date(),
        numerator=_int(record.get("numerator")),
        denominator=int(record["denominator"]),
        missing=int(record["missing"]),
        value=_float(record["value"]),
        ci_low=_float(record["ci_low"]),
        ci_high=_float(record["ci_high"]),
        target_status=status if isinstance(status, str) else None,
    )
