"""Reads of the current results, for the exports, the SPC and funnel builders and the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet

from departments.models import Department
from indicators.models import ChangeMarker, Computation, IndicatorDefinition, Registry, Result

ANY: Any = object()  # "no filter" where None already means ALL

# The fields of a result as export_results and the API give them, after the department's code
# and the indicator's slug: one list, so the two cannot drift apart.
RESULT_FIELDS: tuple[str, ...] = (
    "period_type", "period_start", "numerator", "denominator", "missing", "value", "ci_low",
    "ci_high", "mean", "q1", "q3", "target", "target_status",
)  # fmt: skip


def current_computation(registry: Registry | str = "dccg") -> Computation | None:
    """The registry's current computation (None before the first one is done)."""
    query = Computation.objects.filter(is_current=True).select_related("registry", "extract")
    if isinstance(registry, Registry):
        return query.filter(registry=registry).first()
    return query.filter(registry__slug=registry).first()


def current_results(
    *,
    registry: Registry | str = "dccg",
    computation: Computation | None = None,
    definition: IndicatorDefinition | Any = ANY,
    department: Department | Any | None = ANY,
    period_type: str | None = None,
    period_start: dt.date | None = None,
) -> QuerySet[Result]:
    """Results of the current (or the given) computation; ``department=None`` is ALL."""
    computation = computation or current_computation(registry)
    if computation is None:
        return Result.objects.none()
    results = Result.objects.filter(computation=computation)
    if definition is not ANY:
        results = results.filter(definition=definition)
    if department is not ANY:
        results = results.filter(department=department)
    if period_type is not None:
        results = results.filter(period_type=period_type)
    if period_start is not None:
        results = results.filter(period_start=period_start)
    return results


def monthly_series(
    definition: IndicatorDefinition,
    department: Department | None,
    *,
    computation: Computation | None = None,
) -> list[Result]:
    """The department's (None: ALL) monthly results of a definition, oldest first."""
    results = current_results(
        registry=definition.profile,
        computation=computation,
        definition=definition,
        department=department,
        period_type=Result.PeriodType.MONTH,
    )
    return list(results.order_by("period_start"))


def change_markers(
    department: Department | None, definition: IndicatorDefinition
) -> list[ChangeMarker]:
    """The department's change markers that concern the definition (those naming no
    definition concern all of them), by date. ALL has none."""
    if department is None:
        return []
    markers = ChangeMarker.objects.filter(department=department).filter(
        Q(definitions__isnull=True) | Q(definitions=definition)
    )
    return list(markers.distinct().order_by("date", "pk"))


def department_definitions(
    department: Department,
) -> list[tuple[IndicatorDefinition, float | None]]:
    """The indicators a department follows, in its order, with its effective target."""
    choices = department.indicator_choices.select_related("definition").filter(
        definition__is_active=True
    )
    return [(choice.definition, choice.effective_target) for choice in choices]
