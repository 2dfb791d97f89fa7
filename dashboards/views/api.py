"""``/api/v1/results``: the current results as JSON, under the pages' permissions.

    GET /api/v1/results?department=CODE|ALL&indicator=SLUG&period=month|quarter|year|2022-03
        |2022-Q1|2022&limit=1000&offset=0

A user sees the departments their access allows (``departments.access``), exactly, and the
national pool (ALL) as the user may see it (``indicators.services.disclosure``: a count that
would reveal a small number beyond the user's scope is "<5" or null, with whatever it would give
back, and the row says ``"protected": true``). Every answer is audited as an export.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboards import selectors
from dashboards.selectors.national import national_results
from departments import access, audit
from departments.models import AuditAction, Department
from indicators.models import IndicatorDefinition
from indicators.registry import catalog
from indicators.services.selectors import current_computation

PARAMETERS = frozenset({"department", "indicator", "period", "registry", "limit", "offset"})
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10000
# The fields of a pooled row that the viewer's view of the pool decides.
API_POOLED = (
    "numerator", "denominator", "missing", "value", "ci_low", "ci_high", "mean", "q1", "q3",
    "target_status", "protected",
)  # fmt: skip


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _int(text: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(text), low), high)
    except (TypeError, ValueError):
        return default


def _record(row: dict) -> dict:
    out = {key: row[key] for key in selectors.API_FIELDS}
    out["department_code"] = out["department_code"] or "ALL"
    for key in selectors.API_VALUES:
        value = row[key]
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


@never_cache
@require_GET
def results(request):
    user = request.user
    if not user.is_authenticated:
        return _error(401, "not_authenticated", "Log in first.")
    if not access.can(user, "aggregate"):
        return _error(403, "forbidden", "No department's results are open to you.")
    get = request.GET
    unknown = sorted(set(get) - PARAMETERS)
    if unknown:
        # A misspelt filter must not quietly answer for everything.
        return _error(
            400,
            "unknown_parameter",
            f"Unknown parameter(s): {', '.join(unknown)}. Known: {', '.join(sorted(PARAMETERS))}.",
        )
    visible = access.departments_for(user, "aggregate")
    code = get.get("department", "").strip()
    departments, include_all, department = visible, True, None
    if code.upper() == "ALL":
        departments = Department.objects.none()
    elif code:
        try:
            department = access.get_department_for(user, code, "aggregate")
        except (Http404, PermissionDenied):
            return _error(404, "unknown_department", f"No department {code!r}.")
        departments, include_all = visible.filter(pk=department.pk), False
    definition = None
    asked_registry = get.get("registry", "").strip()
    if asked_registry and asked_registry not in catalog.slugs():
        return _error(404, "unknown_registry", f"No registry {asked_registry!r}.")
    if slug := get.get("indicator", "").strip():
        # A slug is unique within its registry: with registry= it names exactly one.
        definitions = IndicatorDefinition.objects.filter(slug=slug, is_active=True)
        if asked_registry:
            definitions = definitions.filter(profile=asked_registry)
        definition = definitions.order_by("pk").first()
        if definition is None or (
            definition.department_id is not None
            and not visible.filter(pk=definition.department_id).exists()
        ):
            return _error(404, "unknown_indicator", f"No indicator {slug!r}.")
    period_text = get.get("period", "").strip()
    period_type, period = None, None
    if period_text in selectors.PERIOD_TYPES:
        period_type = period_text
    elif period_text:
        period = selectors.parse_period(period_text)
        if period is None:
            return _error(
                400, "bad_period", "period: month, quarter, year, YYYY-MM, YYYY-Qn, YYYY."
            )
    limit = _int(get.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int(get.get("offset"), 0, 0, 10**9)
    registry = definition.profile if definition else (asked_registry or "dccg")
    computation = current_computation(registry)
    answer = {"computation": None, "count": 0, "limit": limit, "offset": offset, "next": None}
    rows: list[dict] = []
    if computation is not None:
        query = selectors.api_results(
            computation,
            departments,
            include_all=include_all,
            definition=definition,
            period=period,
            period_type=period_type,
        )
        answer["count"] = query.count()
        pool = national_results(computation, access.exact_scope(user)) if include_all else {}
        for row in query[offset : offset + limit]:
            if row["department_id"] is None:
                key = (row["definition_id"], row["period_type"], row["period_start"])
                if key not in pool:
                    continue
                row = row | {k: pool[key][k] for k in API_POOLED}
            rows.append(_record(row) | {"protected": bool(row.get("protected"))})
        answer["computation"] = {
            "id": computation.pk,
            "finished_at": computation.finished_at.isoformat() if computation.finished_at else None,
            "extract_id": computation.extract_id,
        }
        if offset + limit < answer["count"]:
            following = get.copy()
            following["offset"] = str(offset + limit)
            following["limit"] = str(limit)
            answer["next"] = request.build_absolute_uri("?" + following.urlencode())
    audit.record(
        request,
        AuditAction.EXPORT,
        department=department,
        target="api/v1/results",
        detail={"query": {k: get.get(k) for k in sorted(get)}, "rows": len(rows)},
    )
    answer["results"] = rows
    return JsonResponse(answer, json_dumps_params={"ensure_ascii": False})
