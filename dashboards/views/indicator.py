"""One indicator of a department in time: the SPC chart, the periods, before/after, CSV."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dashboards import selectors
from dashboards.figures.spc import spc_figure
from dashboards.views.department import (
    PageQuery,
    count_text,
    language,
    national_cell,
    page_context,
    shown_cell,
    target_text,
)
from departments import access, audit
from departments.models import AuditAction
from qualityportal import csvsafe
from qualityportal.formatting import (
    csv_cell,
    interval_text,
    month_label,
    range_text,
    value_text,
    window_label,
)


def _history(request, code: str, slug: str):
    department = access.get_department_for(request.user, code, "aggregate")
    query = PageQuery.from_request(request)
    definition, target = selectors.indicator_for(department, slug, query.registry or None)
    chart = query.chart if definition.kind == "proportion" else "run"
    history = selectors.indicator_history(
        department,
        definition,
        target,
        date_from=query.date_from,
        date_to=query.date_to,
        filters=query.filters,
        chart=chart or None,
        scope=access.exact_scope(request.user),
    )
    exact = access.can(request.user, "patients", department)
    return department, query, history, exact


def _rows(history: selectors.History, exact: bool) -> list[dict]:
    """One row per month: the result as the viewer may see it and its SPC values."""
    points = history.spc.points if history.spc else [None] * len(history.monthly)
    rows = []
    for cell, point in zip(history.monthly, points, strict=True):
        national = history.national.get(cell.period_start)
        rows.append(
            {
                "cell": cell,
                "shown": shown_cell(cell),
                "point": point,
                "national": national_cell(national),
            }
        )
    return rows


def _pooled_context(pooled: selectors.Pooled | None, kind: str, exact: bool, lang: str):
    if pooled is None:
        return None
    shown = shown_cell(
        selectors.Cell(
            "month",
            pooled.start,
            pooled.numerator,
            pooled.denominator,
            0,
            pooled.value,
            pooled.ci_low,
            pooled.ci_high,
            None,
            None,
        )
    )
    return {
        "months": window_label(pooled.start, pooled.end, lang, short=False),
        "n_months": pooled.months,
        "value": value_text(shown["value"], kind, lang),
        "interval": interval_text(shown["ci_low"], shown["ci_high"], kind, lang),
        "numerator": count_text(shown["numerator"], lang),
        "denominator": count_text(shown["denominator"], lang),
        "measure_note": kind != "proportion",
    }


@login_required
@require_GET
def indicator_detail(request, code: str, slug: str):
    department, query, history, exact = _history(request, code, slug)
    definition, lang = history.definition, language()
    kind, name = definition.kind, definition.name(lang)
    rows = _rows(history, exact)
    patients = reverse("indicator_patients", args=[department.code, definition.slug])
    links = [
        f"{patients}?"
        + urlencode({"period": f"{row['cell'].period_start:%Y-%m}", **query.filters.as_dict()})
        for row in rows
    ]
    figure = None
    if history.spc is not None:
        figure = spc_figure(
            history.spc,
            kind=kind,
            title=f"{name} · {department}",
            language=lang,
            target=history.target,
            lower_is_better=definition.lower_is_better,
            national={d: row["value"] for d, row in history.national.items()},
            national_hidden={d for d, row in history.national.items() if row["protected"]},
            links=links if exact else None,
            filename=f"{department.code}-{definition.slug}",
        )
    base = reverse("indicator_detail", args=[department.code, definition.slug])
    table = []
    for row, link in zip(rows, links, strict=True):
        cell, shown, point, national = row["cell"], row["shown"], row["point"], row["national"]
        limits = ""
        if point is not None and history.spc.chart == "p":
            limits = range_text(point.lcl, point.ucl, kind, lang)
        table.append(
            {
                "period": month_label(cell.period_start, lang),
                "numerator": count_text(shown["numerator"], lang),
                "denominator": count_text(shown["denominator"], lang),
                "missing": count_text(shown["missing"], lang),
                "value": value_text(shown["value"], kind, lang),
                "interval": range_text(shown["ci_low"], shown["ci_high"], kind, lang),
                "cl": value_text(point.cl, kind, lang) if point else "",
                "limits": limits,
                "signal": bool(point and point.sigma_signal),
                "national": _national_text(national, kind, lang),
                "patients_url": link if exact else "",
            }
        )
    context = page_context(request, department, query, definition.profile) | {
        "definition": definition,
        "name": name,
        "description": definition.description_en
        if lang == "en" and definition.description_en
        else definition.description_da,
        "target": target_text(history.target, definition, lang),
        "history": history,
        "figure": figure,
        "table": table,
        "exact": exact,
        "before": _pooled_context(history.before, kind, exact, lang),
        "after": _pooled_context(history.after, kind, exact, lang),
        "chart_choices": [("p", _("p-kort")), ("run", _("Seriediagram"))]
        if kind == "proportion"
        else [("run", _("Seriediagram"))],
        "chart": history.spc.chart if history.spc else "",
        "spc_error": (history.spc_error.en if lang == "en" else history.spc_error.da)
        if history.spc_error
        else "",
        "csv_url": reverse("indicator_csv", args=[department.code, definition.slug])
        + query.query_string(period_type=False, chart=True),
        "base_url": base,
        "dashboard_url": reverse("department_dashboard", args=[department.code])
        + query.query_string(),
    }
    return render(request, "dashboards/indicator.html", context)


def _national_text(national: dict | None, kind: str, lang: str) -> str:
    if national is None:
        return "–"
    return _("skjult") if national["suppressed"] else value_text(national["value"], kind, lang)


def _national_csv(national: dict | None, lang: str) -> str:
    if national is None:
        return ""
    return _("skjult") if national["suppressed"] else csv_cell(national["value"], lang)


@login_required
@require_GET
def indicator_csv(request, code: str, slug: str):
    """The chart's data as CSV (semicolon and decimal comma in Danish, for Excel)."""
    department, query, history, exact = _history(request, code, slug)
    lang = language()
    rows = _rows(history, exact)
    audit.record(
        request,
        AuditAction.EXPORT,
        department=department,
        target=f"{history.definition.slug}.csv",
        detail={
            "indicator": history.definition.slug,
            "rows": len(rows),
            "exact": exact,
            **query.params(period_type=False, chart=True),
        },
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{department.code}-{history.definition.slug}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response.write("\ufeff")  # so Excel opens it as UTF-8
    writer = csvsafe.writer(response, delimiter=";" if lang == "da" else ",")
    writer.writerow(
        [
            _("afdeling"), _("indikator"), _("maaned"), _("taeller"), _("naevner"),
            _("mangler"), _("vaerdi"), _("ki_nedre"), _("ki_oevre"), _("fase"),
            _("centerlinje"), _("nedre_graense"), _("oevre_graense"), _("uden_for_graenser"),
            _("landsplan"),
        ]
    )  # fmt: skip
    for row in rows:
        cell, shown, point, national = row["cell"], row["shown"], row["point"], row["national"]
        spc = [point.phase + 1, point.cl, point.lcl, point.ucl] if point else ["", "", "", ""]
        writer.writerow(
            [
                department.code,
                history.definition.slug,
                f"{cell.period_start:%Y-%m}",
                *(
                    csv_cell(shown[k], lang)
                    for k in ("numerator", "denominator", "missing", "value", "ci_low", "ci_high")
                ),
                *(csv_cell(v, lang) for v in spc),
                "" if point is None else int(point.sigma_signal),
                _national_csv(national, lang),
            ]
        )
    return response
