"""The patients behind a number, for the department's own clinicians and coordinators.

Every view is audited (``patients_viewed``); leadership is refused (403) by the access
selector's ``"patients"`` need.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dashboards import selectors
from dashboards.views.department import (
    SITE_LABELS,
    URGENCY_LABELS,
    PageQuery,
    language,
    page_context,
    value_label,
)
from departments import access, audit
from departments.models import AuditAction
from indicators.registry import catalog, storage
from indicators.registry.ncsp import procedure_text
from qualityportal.formatting import number, period_label, window_label

PSEUDONYM_SHOWN = 8  # enough to tell rows apart in a review, too short to look anything up


def _row(record: dict, lang: str) -> dict:
    """One operation as the table shows it; days stay dates for the template's date format."""
    return {
        "line": record["line"],
        "pseudonym": record["pseudonym"][:PSEUDONYM_SHOWN],
        "admission": record.get("admission_date"),
        "operation": record.get("operation_date"),
        "discharge": record.get("discharge_date"),
        "procedure": record["procedure_code"],
        "procedure_text": procedure_text(record["procedure_code"], lang) or "",
        "site": value_label(record.get("site") or "", SITE_LABELS),
        "priority": value_label(record.get("priority") or "", URGENCY_LABELS),
        "grade": record.get("clavien_dindo") or "",
        "reoperation": record.get("reoperation_date"),
        "readmission": record.get("readmission_date"),
        "death": record.get("death_date"),
        "measure": number(record["measure"], 0, lang) if "measure" in record else "",
    }


def _table(registry: str, listing, lang: str) -> dict:
    """The rows as the patients table shows them: DCCG's operations with their own columns
    (procedure texts, grades), any other registry's with its profile's fields and labels."""
    if registry == "dccg":
        return {
            "events": [_row(r, lang) for r in listing.events],
            "missing": [_row(r, lang) for r in listing.missing],
            "columns": None,
        }
    columns = _generic_columns(registry, lang)
    return {
        "events": [_generic_row(r, columns, lang) for r in listing.events],
        "missing": [_generic_row(r, columns, lang) for r in listing.missing],
        "columns": [label for _f, label, _k in columns],
    }


def _generic_columns(registry: str, lang: str) -> list[tuple[str, str, str]]:
    """(field, label, family) of every stored field of a registry without a table of its own."""
    profile = catalog.profile(registry)
    labels = {c.field: (c.label_en if lang == "en" else c.label_da) for c in profile.columns}
    return [(c.field, labels[c.field], c.family) for c in storage.stored_columns(profile)]


def _generic_row(record: dict, columns, lang: str) -> dict:
    cells = []
    for field, _label, family in columns:
        value = record.get(field)
        if family == "boolean" and value is not None:
            value = _("ja") if value else _("nej")
        elif family == "number" and value is not None:
            value = number(value, 0 if float(value).is_integer() else 1, lang)
        cells.append({"value": value, "date": family == "date"})
    return {
        "pseudonym": record["pseudonym"][:PSEUDONYM_SHOWN],
        "cells": cells,
        "measure": number(record["measure"], 0, lang) if "measure" in record else "",
    }


@never_cache
@login_required
@require_GET
def indicator_patients(request, code: str, slug: str):
    department = access.get_department_for(request.user, code, "patients")
    query = PageQuery.from_request(request)
    definition, _target = selectors.indicator_for(department, slug, query.registry or None)
    period = selectors.parse_period(request.GET.get("period"))
    if period is None:
        messages.error(request, _("Vælg en periode (ÅÅÅÅ-MM) for at se patienterne."))
        return redirect("indicator_detail", code=department.code, slug=definition.slug)
    listing = selectors.patient_rows(department, definition, period, query.filters)
    audit.record(
        request,
        AuditAction.PATIENTS_VIEWED,
        department=department,
        target=f"{definition.slug}/{period.code}",
        detail={
            "indicator": definition.slug,
            "period": period.code,
            "events": len(listing.events),
            "missing": len(listing.missing),
            **query.filters.as_dict(),
        },
    )
    lang = language()
    context = page_context(request, department, query, definition.profile) | {
        "definition": definition,
        "name": definition.name(lang),
        "period": period,
        "period_text": (
            window_label(period.start, period.last_month, lang)
            if period.period_type == "window"
            else period_label(period.start, period.period_type, lang)
        ),
        "listing": listing,
        **_table(definition.profile, listing, lang),
        "is_measure": definition.kind == "measure",
        "back_params": query.query_string(period_type=False),
    }
    return render(request, "dashboards/patients.html", context)
