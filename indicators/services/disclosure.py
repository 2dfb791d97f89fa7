"""The national pool as one viewer may see it: the one place results beyond a viewer's scope
are shaped before any page, figure, file or API answer sees them.

Departments in the viewer's scope (``departments.access.exact_scope``) are shown exactly, so no
rule applies to them. ``ALL`` is the pool of every department; what it adds beyond the scope is
protected by :func:`indicators.disclosure.protect_pool`. Department-defined indicators have no
pool at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import Sum

from indicators.disclosure import Key, exact_pool, protect_pool
from indicators.models import Computation, Result
from indicators.rules import rule_fields

POOL_FIELDS = (
    "definition_id", "period_type", "period_start", "numerator", "denominator", "missing",
    "value", "ci_low", "ci_high", "mean", "q1", "q3", "target", "target_status",
)  # fmt: skip


def threshold() -> int:
    return int(settings.SMALL_NUMBER_THRESHOLD)


def pool_as_seen(computation: Computation, scope: Iterable[int]) -> dict[Key, dict]:
    """Every ``ALL`` result of the computation's standard indicators, keyed by (definition id,
    period type, period start), as a viewer who sees ``scope`` (department ids) exactly may see
    it (two queries)."""
    scope = sorted(set(scope))
    pool = list(
        Result.objects.filter(
            computation=computation,
            department__isnull=True,
            definition__department__isnull=True,
        ).values(*POOL_FIELDS, "definition__event")
    )
    # Numerators that count the same fields may be sums of one another (a leak after colon or
    # rectal cancer, and after either): they are hidden together.
    links = {r["definition_id"]: frozenset(rule_fields(r["definition__event"])) for r in pool}
    for row in pool:
        del row["definition__event"]
    known_rows = (
        Result.objects.filter(
            computation=computation,
            department_id__in=scope,
            definition__department__isnull=True,
        )
        .values("definition_id", "period_type", "period_start")
        .annotate(n=Sum("numerator"), d=Sum("denominator"))
    )
    known = {
        (r["definition_id"], r["period_type"], r["period_start"]): (r["n"] or 0, r["d"] or 0)
        for r in known_rows
    }
    if all(
        known.get(key, (0, 0)) == (row["numerator"] or 0, row["denominator"])
        for key, row in ((_key(r), r) for r in pool)
    ):
        return exact_pool(pool)  # the scope is the whole pool
    return protect_pool(pool, known, threshold=threshold(), links=links)


def _key(row: dict) -> Key:
    return row["definition_id"], row["period_type"], row["period_start"]
