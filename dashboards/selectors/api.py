"""The API's results: a computation's results for the departments the caller may see."""

from __future__ import annotations

from django.db.models import F, Q

from dashboards.selectors.values import Period
from indicators.models import Computation, IndicatorDefinition, Result
from indicators.services.selectors import RESULT_FIELDS

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
        # The pool of the standard indicators; a department's own indicator has none.
        where |= Q(department__isnull=True, definition__department__isnull=True)
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
    ).values("department_id", "definition_id", *API_VALUES, **API_FIELDS)
