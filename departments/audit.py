"""The audit log: one call, :func:`record`, for every audited action, and the reads admins need.

Audited (``AuditAction``): ``login``, ``login_failed``, ``logout``, ``patients_viewed`` (every
view of a patient list), ``export`` (any file or API answer made from the portal's data,
including the audit log's own export), ``download`` (a file the portal keeps, e.g. refused
rows), ``upload`` and ``rollback`` of extracts, ``definition_changed``, ``target_changed``,
``marker_changed``, ``role_changed``, ``feed_token_changed`` (a feed token made or revoked)
and ``feed_token_used`` (each use of one: indicators.services.feed_tokens).

A record is never changed or deleted (a PostgreSQL trigger refuses it). Callers must never put a
CPR number in ``target`` or ``detail``: name things by id, pseudonym or file name.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from departments.models import AuditAction, AuditEvent, Department
from qualityportal import csvsafe

USER_AGENT_MAX = 300
TARGET_MAX = 500


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or the proxy's entry in X-Forwarded-For if trusted.

    The portal sits behind one trusted proxy. That proxy appends the address it saw to
    X-Forwarded-For, so only the last entry is the proxy's word; anything before it came from
    the client and could be made up.
    """
    if request is None:
        return None
    raw = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "AUDIT_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        entries = [item.strip() for item in forwarded.split(",") if item.strip()]
        if entries:
            raw = entries[-1]
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def record(
    request,
    action: AuditAction | str,
    *,
    department: Department | None = None,
    target: str = "",
    detail: dict | None = None,
    user=None,
    email: str = "",
) -> AuditEvent:
    """Write one audit record: who (``user``, default the request's), when, what, where from.

    ``request`` may be None for work outside a request (management commands, tasks); the
    record then has no address and says so in ``detail["via"]`` if the caller gives one.
    ``email`` overrides the e-mail snapshot (a failed login names the address tried).
    """
    action = AuditAction(action)  # an unknown action is a bug: fail loudly, not silently
    if user is None and request is not None:
        request_user = getattr(request, "user", None)
        if request_user is not None and request_user.is_authenticated:
            user = request_user
    meta = request.META if request is not None else {}
    return AuditEvent.objects.create(
        user=user if user is not None and user.pk else None,
        user_email=(email or (user.email if user is not None else ""))[:254],
        action=action,
        department=department,
        department_code=department.code if department is not None else "",
        target=str(target)[:TARGET_MAX],
        detail=detail or {},
        ip_address=client_ip(request),
        user_agent=meta.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX],
    )


@dataclass(frozen=True)
class AuditFilter:
    """What an admin narrows the log to; every field optional."""

    user: str = ""  # part of the e-mail address
    action: str = ""
    department: str = ""  # department code
    date_from: date | None = None
    date_to: date | None = None  # inclusive

    def as_dict(self) -> dict:
        return {
            "user": self.user,
            "action": self.action,
            "department": self.department,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def events(filters: AuditFilter | None = None) -> QuerySet[AuditEvent]:
    """Audit records, newest first, narrowed by ``filters`` (dates in the portal's time zone)."""
    filters = filters or AuditFilter()
    qs = AuditEvent.objects.all()
    if filters.user:
        qs = qs.filter(user_email__icontains=filters.user.strip())
    if filters.action:
        qs = qs.filter(action=filters.action)
    if filters.department:
        qs = qs.filter(department_code=filters.department.strip())
    if filters.date_from:
        qs = qs.filter(created_at__gte=_start_of(filters.date_from))
    if filters.date_to:
        qs = qs.filter(created_at__lt=_start_of(filters.date_to + timedelta(days=1)))
    return qs.order_by("-created_at", "-pk")


CSV_COLUMNS = [
    "id",
    "created_at",
    "user_email",
    "action",
    "department_code",
    "target",
    "detail",
    "ip_address",
    "user_agent",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(queryset: QuerySet[AuditEvent]) -> Iterator[str]:
    """The records as semicolon-separated lines (UTF-8 with BOM, for Excel), streamed."""
    # User agents, targets and e-mail addresses are user input: no cell may run as a formula.
    writer = csvsafe.writer(_Echo(), delimiter=";")
    yield "\ufeff"
    yield writer.writerow(CSV_COLUMNS)
    for event in queryset.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                event.pk,
                timezone.localtime(event.created_at).isoformat(),
                event.user_email,
                event.action,
                event.department_code,
                event.target,
                event.detail_text,
                event.ip_address or "",
                event.user_agent,
            ]
        )
