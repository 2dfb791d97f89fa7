"""The audit log for administrators: read it, filter it, export it. Nothing here changes it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from departments import access, audit
from departments.forms import AuditFilterForm
from departments.models import AuditAction

PAGE_SIZE = 50


@login_required
@require_GET
def audit_list(request):
    access.require_admin(request.user)
    form = AuditFilterForm(request.GET or None)
    events = audit.events(form.filters())
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    rows = [{"event": event, "detail": detail_lines(event.detail)} for event in page]
    return render(
        request,
        "departments/audit_list.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )


def detail_lines(detail: dict | None) -> list[tuple[str, str]]:
    """An event's detail as (key, text) lines to read, not JSON; empty values are left out."""
    return [
        (str(key), _plain(value)) for key, value in sorted((detail or {}).items()) if _has(value)
    ]


def _has(value) -> bool:
    return value not in (None, "", [], {})


def _plain(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_plain(item)}" for key, item in value.items() if _has(item))
    if isinstance(value, list | tuple):
        return "; ".join(_plain(item) for item in value)
    return str(value)


@login_required
@require_GET
def audit_export(request):
    access.require_admin(request.user)
    filters = AuditFilterForm(request.GET or None).filters()
    # The export is itself audited, before it is sent: who took a copy, of what.
    audit.record(request, AuditAction.EXPORT, target="audit.csv", detail=filters.as_dict())
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        audit.csv_lines(audit.events(filters)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="adgangslog-{stamp}.csv"'
    return response
