"""Leadership's overview: the departments in their scope (grouped by region and hospital) x the
standard indicators, with the latest value, interval and target status; a funnel plot per
proportion; the national trend. The departments in the leader's scope are shown exactly; the
national pool comes as the leader may see it (indicators.services.disclosure), in the table, the
charts and the hover texts alike.

The page costs a fixed number of queries, however many departments, indicators and periods:
the departments in scope, the definitions, the periods, one period's results, the trend. The
matrix and the charts are built once per computation, period, language and set of departments
in scope, and then come from the cache (dashboards.cache), as the periods do: the page then
reads only the departments in scope, the current computation and the definitions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, json_script
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dashboards import cache
from dashboards.figures.common import locale_dictionary
from dashboards.figures.funnel import FunnelRow, funnel_figure, method_text
from dashboards.figures.pathways import pathway_figure
from dashboards.figures.trend import TrendSeries, trend_figure
from dashboards.forms_settings import language
from dashboards.selectors.national import national_results
from dashboards.selectors.pathways import pathway_times
from dashboards.selectors.results import markers_for, markers_of_departments, spc_of
from dashboards.views.department import mdc_icons
from departments import access, audit
from departments.models import AuditAction, Department
from indicators import mdc
from indicators.models import Computation, CurrentRows, IndicatorDefinition, Result
from indicators.registry import catalog
from indicators.services.disclosure import threshold
from indicators.spc import SpcError
from qualityportal import csvsafe
from qualityportal.formatting import count_text, number, period_label, range_text, value_text

PERIOD_TYPES = ("year", "quarter")
JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}
FIELDS = (
    "definition_id",
    "department_id",
    "period_start",
    "numerator",
    "denominator",
    "missing",
    "value",
    "ci_low",
    "ci_high",
    "target",
    "target_status",
)


def department_url(code: str) -> str:
    """The department's aggregated pages (dashboards/urls_department.py)."""
    return reverse("department_dashboard", args=[code])


def indicator_url(code: str, definition: IndicatorDefinition) -> str:
    """The department's page of the indicator, naming its registry (a slug is unique only
    within one)."""
    url = reverse("indicator_detail", args=[code, definition.slug])
    return f"{url}?registry={definition.profile}"


@dataclass
class Section:
    """One registry on the overview: its departments shown (after the region and hospital
    filters) and the whole scope the national figures are protected against."""

    slug: str
    name: str
    computation: Computation | None
    definitions: list[IndicatorDefinition]
    departments: list[Department]
    scope_ids: list[int]
    prefix: str  # for the ids of its elements when several registries share the page


@login_required
@require_GET
def overview(request):
    """Every registry with rows in the leader's scope, or the one ``?registry=`` names, on one
    page. The queries are the same however many registries: the scope, which registries it
    has rows in, the registries' current computations and their definitions; each registry's
    matrix and charts then come from the cache (built, a few queries each)."""
    if not access.sees_overview(request.user):
        raise PermissionDenied(_("Overblikket er for ledelsen."))
    lang = language()
    sections, places, entries, chosen = _sections(request, lang)
    asked = request.GET.get("period", "")
    if request.GET.get("format") == "csv":
        return overview_csv(request, sections, asked, lang, chosen)
    shown = [_section_context(section, asked, lang) for section in sections]
    periods: dict[str, dict] = {}
    for section in shown:
        for p in section["periods"]:
            periods.setdefault(p["key"], p)
    period = next((s["period"] for s in shown if s["period"]), None)
    context = {
        "sections": shown,
        "single": len(shown) == 1,
        "registry": chosen,
        "places": places,
        "periods": sorted(periods.values(), key=_period_order),
        "period": period if len(shown) == 1 else {"key": asked} if asked in periods else None,
        "departments": sorted({d for s in sections for d in s.departments}, key=lambda d: d.pk),
        "figures_script": _figures_script([s["figures_json"] for s in shown]),
        "locale": locale_dictionary(),
        "lang": lang,
        "summary": [row for s in shown for row in s["summary"]],
        "registry_choices": [
            {"slug": e.slug, "name": e.name(lang), "current": e.slug == chosen} for e in entries
        ],
    }
    context["regions"] = sorted({_region_name(d) for d in context["departments"]})
    return render(request, "dashboards/overview.html", context)


def _sections(request, lang: str) -> tuple[list[Section], dict, list, str]:
    """(the registries shown, the place filters, the registries to choose from, the one
    chosen or "" for all): five queries, however many registries."""
    scope = access.departments_for(request.user, "aggregate")
    in_scope = list(scope)
    rows_of: dict[str, set[int]] = defaultdict(set)
    for slug, department_id in CurrentRows.objects.filter(department__in=scope).values_list(
        "registry__slug", "department_id"
    ):
        rows_of[slug].add(department_id)
    entries = [e for e in catalog.entries() if e.slug in rows_of]  # as installed
    asked = request.GET.get("registry", "")
    chosen = asked if asked in rows_of else ""
    picked = [e for e in entries if e.slug == chosen] or entries
    # A department with no current rows in a registry drops out of its overview.
    with_rows = set().union(*(rows_of[e.slug] for e in picked)) if picked else set()
    places = _places(
        [d for d in in_scope if d.pk in with_rows],
        request.GET.get("region", ""),
        request.GET.get("hospital", ""),
    )
    # "No departments in your area" only where there are departments elsewhere.
    places["in_scope"] = len(in_scope) or not Department.objects.exists()
    slugs = [e.slug for e in picked]
    computations = {
        c.registry.slug: c
        for c in Computation.objects.filter(is_current=True, registry__slug__in=slugs)
        .select_related("registry", "extract")
    }  # fmt: skip
    definitions: dict[str, list[IndicatorDefinition]] = defaultdict(list)
    for definition in IndicatorDefinition.objects.filter(
        department__isnull=True, is_active=True, profile__in=slugs
    ).order_by("position", "pk"):
        definitions[definition.profile].append(definition)
    several = len(picked) > 1
    sections = [
        Section(
            slug=e.slug,
            name=e.name(lang),
            computation=computations.get(e.slug),
            definitions=definitions[e.slug],
            departments=[d for d in places["departments"] if d.pk in rows_of[e.slug]],
            # What the leader sees exactly is the whole scope, however the page is narrowed:
            # the national figures are protected against that (a narrower "scope" would let
            # the difference of two pages give a hidden count back).
            scope_ids=sorted(d.pk for d in in_scope if d.pk in rows_of[e.slug]),
            prefix=f"{e.slug}-" if several else "",
        )
        for e in picked
    ]
    return sections, places, entries, chosen


def _figures_json(figures: dict) -> str:
    """The members of the figures' JSON object, escaped as ``json_script`` escapes them, without
    the braces: kept in the cache with the HTML, and joined on the page without another pass
    over hundreds of kilobytes of figures."""
    if not figures:
        return ""
    return json.dumps(figures, cls=DjangoJSONEncoder).translate(JSON_SCRIPT_ESCAPES)[1:-1]


def _figures_script(members: list[str]) -> str:
    joined = ",".join(m for m in members if m)
    if not joined:
        return ""
    return format_html(
        '<script id="overview-figures" type="application/json">{}</script>',
        mark_safe("{" + joined + "}"),  # noqa: S308 -- escaped by _figures_json
    )


def _period_order(period: dict) -> tuple:
    key = period["key"]
    return (1, -int(key[:4]), -int(key[-1])) if "-Q" in key else (0, -int(key), 0)


def _places(departments: list[Department], region: str, hospital: str) -> dict:
    """The leader's departments narrowed to a region and/or hospital of their scope (a code
    outside it narrows nothing), with the choices the page offers."""
    regions = sorted(
        {
            (d.hospital.region.code, d.hospital.region.name)
            for d in departments
            if d.hospital.region
        },
        key=lambda r: r[1],
    )
    region = region if region in {code for code, _name in regions} else ""
    if region:
        departments = [
            d for d in departments if d.hospital.region and d.hospital.region.code == region
        ]
    hospitals = sorted({(d.hospital.code, d.hospital.name or d.hospital.code) for d in departments},
                       key=lambda h: h[1])  # fmt: skip
    hospital = hospital if hospital in {code for code, _name in hospitals} else ""
    if hospital:
        departments = [d for d in departments if d.hospital.code == hospital]
    return {
        "departments": departments,
        "regions": regions if len(regions) > 1 else [],
        "hospitals": hospitals if len(hospitals) > 1 or hospital else [],
        "region": region,
        "hospital": hospital,
    }


@login_required
@require_GET
def pathways(request):
    """Cancer pathway times (kræftpakke) for the leader's scope (dashboards.selectors.pathways):
    per package, region or hospital and quarter."""
    if not access.sees_overview(request.user):
        raise PermissionDenied(_("Overblikket er for ledelsen."))
    lang = language()
    by = request.GET.get("group", "region")
    by = by if by in ("region", "hospital") else "region"
    scope = list(
        access.departments_for(request.user, "aggregate").select_related("hospital__region")
    )
    packages = pathway_times(scope, by)
    if request.GET.get("format") == "csv":
        return _pathways_csv(request, packages, by, lang)
    figures = {}
    shown = []
    for index, package in enumerate(packages):
        slug = f"pathway-{index}"
        latest = package.quarters[-8:]
        figures[slug] = pathway_figure(package, lang, slug)
        shown.append(
            {
                "id": slug,
                "package": package,
                "quarters": [
                    {"start": q, "label": period_label(q, "quarter", lang)} for q in latest
                ],
                "latest_label": period_label(package.quarters[-1], "quarter", lang),
                "rows": [
                    {
                        "group": group,
                        "cells": [
                            _pathway_cell(package.cells.get((group, q)), lang) for q in latest
                        ],
                        "latest": _pathway_cell(
                            package.cells.get((group, package.quarters[-1])), lang
                        ),
                    }
                    for group in package.groups
                ],
                "figure": figures[slug],
            }
        )
    context = {
        "packages": shown,
        "by": by,
        "figures_script": json_script(figures, "overview-figures") if figures else "",
        "locale": locale_dictionary(),
        "lang": lang,
    }
    return render(request, "dashboards/overview_pathways.html", context)


def _pathways_csv(request, packages, by: str, lang: str) -> HttpResponse:
    """Every quarter of every package and group shown, one row each, with the numbers of the
    page (and the quartiles of each step); audited as an export."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # so Excel opens it as UTF-8
    writer = csvsafe.writer(response, delimiter=";" if lang == "da" else ",")
    steps = ("henvisning_foerste_fremmoede", "foerste_fremmoede_beslutning",
             "beslutning_behandling")  # fmt: skip
    writer.writerow(
        [_("pakke"), _("region") if by == "region" else _("sygehus"), _("kvartal"),
         _("standardforloebstid_dage"), _("forloeb"), _("behandlet"), _("inden_for"),
         _("andel"), _("interval"),
         *(f"{step}_{q}" for step in steps for q in ("q1", "median", "q3"))]
    )  # fmt: skip
    rows = 0
    for package in packages:
        days = package.standard.days if package.standard else ""
        for group in package.groups:
            for quarter in package.quarters:
                cell = package.cells.get((group, quarter))
                if cell is None:
                    continue
                shown = _pathway_cell(cell, lang)
                quartiles = [
                    "" if q is None else number(v, 1, lang)
                    for q in cell.quartiles
                    for v in (q if q is not None else (None, None, None))
                ]
                writer.writerow(
                    [package.name, group, period_label(quarter, "quarter", lang), days,
                     cell.pathways, cell.treated, cell.within, shown["share"],
                     shown["interval"], *quartiles]
                )  # fmt: skip
                rows += 1
    name = f"forloebstider-{by}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    audit.record(request, AuditAction.EXPORT, target=name, detail={"group": by, "rows": rows})
    return response


def _pathway_cell(cell, lang: str) -> dict | None:
    if cell is None:
        return None
    steps = [
        "–"
        if q is None
        else f"{number(q[1], 0, lang)} ({number(q[0], 0, lang)}–{number(q[2], 0, lang)})"
        for q in cell.quartiles
    ]
    return {
        "pathways": count_text(cell.pathways, lang),
        "treated": count_text(cell.treated, lang),
        "within": count_text(cell.within, lang),
        "share": "–" if cell.share is None else value_text(cell.share, "proportion", lang),
        "interval": range_text(cell.ci_low, cell.ci_high, "proportion", lang),
        "steps": steps,
    }


def overview_csv(
    request, sections: list[Section], asked: str, lang: str, chosen: str
) -> HttpResponse:
    """The matrices as shown, one row per registry, department and indicator, then each
    registry's national rows as the leader may see them; audited as an export."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.write("\ufeff")  # so Excel opens it as UTF-8
    writer = csvsafe.writer(response, delimiter=";" if lang == "da" else ",")
    writer.writerow(
        [_("register"), _("region"), _("sygehus"), _("afdeling_kode"), _("afdeling"),
         _("indikator"), _("periode"), _("vaerdi"), _("interval"), _("taeller_naevner"),
         _("maal"), _("afviger")]
    )  # fmt: skip
    rows = 0
    keys = []
    for section in sections:
        computation, definitions = section.computation, section.definitions
        periods = _periods(computation) if computation is not None else []
        period = next((p for p in periods if p.key == asked), None) or _default_period(periods)
        if period is None or not definitions or not section.departments:
            continue
        keys.append(period.key)
        context, _figures = _overview_data(section, period, lang)
        label = context["period"]["label"]
        for group in context["groups"]:
            for hospital in group["hospitals"]:
                for row in hospital["rows"]:
                    department = row["department"]
                    for definition, cell in zip(definitions, row["cells"], strict=True):
                        if cell["empty"]:
                            continue
                        outlier = cell["outlier"]
                        writer.writerow(
                            [section.slug, group["name"], hospital["name"], department.code,
                             department.name, definition.name(lang), label, cell["value"],
                             cell["interval"], cell["counts"], cell["status_label"],
                             outlier["label"] if outlier else ""]
                        )  # fmt: skip
                        rows += 1
        for column in context["columns"]:
            writer.writerow(
                [section.slug, "", "", "ALL", _("Landsplan"), column["name"], label,
                 column["national"], "", "", "", ""]
            )  # fmt: skip
    what = chosen or (sections[0].slug if len(sections) == 1 else "alle")
    key = asked if asked and asked in keys else (keys[0] if len(set(keys)) == 1 else "seneste")
    name = f"overblik-{what}-{key if keys else 'tom'}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    audit.record(
        request,
        AuditAction.EXPORT,
        target=name,
        detail={"registry": chosen or [s.slug for s in sections], "period": asked or None,
                "rows": rows},
    )  # fmt: skip
    return response


# --- what the page shows ----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    type: str
    start: dt.date

    @property
    def key(self) -> str:
        if self.type == "year":
            return str(self.start.year)
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"


def _section_context(section: Section, asked: str, lang: str) -> dict:
    """One registry's part of the page: its periods, the period shown, and its matrix, outliers
    and charts (as HTML, their figures and a summary row per indicator), built once for everyone
    who sees the same departments and then from the cache."""
    computation, definitions, departments = (
        section.computation, section.definitions, section.departments
    )  # fmt: skip
    context = {
        "slug": section.slug,
        "name": section.name,
        "prefix": section.prefix,
        "departments": departments,
        "computation": computation,
        "periods": [],
        "period": None,
        "results": "",
        "figures_json": "",
        "summary": [],
    }
    if computation is None or not definitions or not departments:
        return context
    stamp = cache.stamp(computation)
    periods = cache.get_or_build(cache.key("periods", stamp), lambda: _periods(computation))
    period = next((p for p in periods if p.key == asked), None) or _default_period(periods)
    context["periods"] = [
        {"key": p.key, "label": _period_text(p, computation, lang)} for p in periods
    ]
    if period is None:
        return context
    context["period"] = {"key": period.key, "label": _period_text(period, computation, lang)}
    name = cache.key(
        "overview-2",  # what is kept changed: the HTML, the figures' JSON, the summary
        stamp,
        (period.type, period.start),
        lang,
        threshold(),
        section.prefix,
        tuple(
            (d.pk, d.slug, d.kind, d.name_da, d.name_en, d.direction, d.position)
            for d in definitions
        ),
        tuple(
            (d.pk, d.code, d.name, d.hospital.code, d.hospital.name, _region_name(d))
            for d in sorted(departments, key=lambda d: d.pk)
        ),
        tuple(section.scope_ids),  # the national figures are protected for the whole scope
    )
    return context | cache.get_or_build(name, lambda: _matrix_and_charts(section, period, lang))


def _matrix_and_charts(section: Section, period: Period, lang: str) -> dict:
    """The matrix, a funnel per proportion, the outliers and the national trend, as HTML; their
    figures; a summary row per indicator."""
    context, figures = _overview_data(section, period, lang)
    if section.prefix:
        # With every registry on the page: the matrices and outliers; each registry's funnels
        # and trend are on its own page (a link), which keeps the page light.
        context["charts"], figures = False, {}
        context["registry_url"] = (
            f"{reverse('overview')}?registry={section.slug}&period={period.key}"
        )
    else:
        context["charts"] = True
    return {
        "results": render_to_string("dashboards/overview_results.html", context),
        "figures_json": _figures_json(figures),
        "summary": context["summary"],
    }


def _overview_data(section: Section, period: Period, lang: str):
    """(the page's context, its figures) for one registry and period: the scope's results, the
    pool and the scope's sums, the monthly results and markers for the icons."""
    computation, definitions, departments = (
        section.computation, section.definitions, section.departments
    )  # fmt: skip
    prefix = section.prefix
    rows = _period_results(computation, definitions, departments, period)
    pool = national_results(computation, section.scope_ids)
    national = {
        d.pk: pool[key] for d in definitions if (key := (d.pk, period.type, period.start)) in pool
    }
    by_cell = {(r["department_id"], r["definition_id"]): r for r in rows}
    icons = _icons(computation, definitions, departments, by_cell, lang)
    context = {
        "prefix": prefix,
        "registry": section.name,
        "period": {"key": period.key, "label": _period_text(period, computation, lang)},
        "method": method_text(lang),
        "columns": [_column(d, national.get(d.pk), lang) for d in definitions],
        "funnels": [],
        "outliers": [],
    }
    figures: dict[str, dict] = {}
    flags: dict[tuple[str, int], dict] = {}
    for definition in definitions:
        if definition.kind != IndicatorDefinition.Kind.PROPORTION:
            continue
        funnel = _funnel(definition, departments, by_cell, by_cell, national, period, lang)
        if funnel is None:
            continue
        figure_id = f"{prefix}funnel-{definition.slug}"
        figures[figure_id] = funnel[0]
        context["funnels"].append(
            {
                "id": figure_id,
                "name": definition.name(lang),
                "title": funnel[0]["layout"]["title"]["text"],
                "description": funnel[0]["description"],
                "table": funnel[1],
            }
        )
        for row in funnel[1]:
            if row["position_key"] in ("", "within"):
                continue
            high = row["position_key"].startswith("above")
            flag = {
                "high": high,
                "symbol": "▲" if high else "▼",
                "label": row["position"],
                # Whether high is good depends on the indicator's direction.
                "concern": high == definition.lower_is_better,
            }
            flags[(row["code"], definition.pk)] = flag
            context["outliers"].append(
                flag
                | {
                    "indicator": definition.name(lang),
                    "department": row["name"],
                    "url": indicator_url(row["code"], definition),
                    "value": row["value"],
                    "counts": f"{row['numerator']}/{row['denominator']}",
                }
            )
    context["outliers"].sort(key=lambda o: (not o["concern"], o["indicator"], o["department"]))
    context["groups"] = _groups(departments, definitions, by_cell, lang, flags, icons)
    context["summary"] = _summary(section, definitions, context, by_cell, flags, icons)
    trend = trend_figure(_trend(pool, definitions, lang), lang)
    figures[f"{prefix}trend"] = trend
    context["trend"] = {"id": f"{prefix}trend", "description": trend["description"]}
    return context, figures


def _summary(section: Section, definitions, context, by_cell, flags, icons) -> list[dict]:
    """Per indicator, the three questions across the departments shown: how many meet the
    target, how many are outliers once chance is accounted for, where the latest point is a
    special cause."""
    found = []
    codes = {d.pk: d.code for d in section.departments}
    for definition, column in zip(definitions, context["columns"], strict=True):
        cells = [
            (pk, row) for (pk, definition_id), row in by_cell.items()
            if definition_id == definition.pk and pk in codes
        ]  # fmt: skip
        statuses = [row.get("target_status") for _pk, row in cells]
        outliers = [flags.get((codes[pk], definition.pk)) for pk, _row in cells]
        variation = [
            next((v["kind"] for v in icons.get((pk, definition.pk), {}).get("mdc", [])
                  if v["kind"] in ("improvement", "concern", "common")), None)
            for pk, _row in cells
        ]  # fmt: skip
        found.append(
            {
                "registry": section.name,
                "registry_slug": section.slug,
                "indicator": column["name"],
                "better": column["better"],
                "national": column["national"],
                "departments": len(cells),
                "met": statuses.count("met"),
                "not_met": statuses.count("not_met"),
                "not_shown": statuses.count("not_shown"),
                "with_target": sum(1 for s in statuses if s in ("met", "not_met", "not_shown")),
                "outliers_concern": sum(1 for o in outliers if o and o["concern"]),
                "outliers_better": sum(1 for o in outliers if o and not o["concern"]),
                "improvement": variation.count("improvement"),
                "concern": variation.count("concern"),
                "anchor": f"#{section.prefix}matrix-title",
            }
        )
    return found


def _region_name(department: Department) -> str:
    region = department.hospital.region
    return region.name if region else _("Uden region")


def _periods(computation: Computation) -> list[Period]:
    """Years, then quarters, newest first, that have a national result."""
    found = (
        Result.objects.filter(
            computation=computation, department__isnull=True, period_type__in=PERIOD_TYPES
        )
        .values_list("period_type", "period_start")
        .distinct()
    )
    periods = [Period(kind, start) for kind, start in found]
    return sorted(periods, key=lambda p: (PERIOD_TYPES.index(p.type), -p.start.toordinal()))


def _default_period(periods: list[Period]) -> Period | None:
    return periods[0] if periods else None


def _period_text(period: Period, computation: Computation, lang: str) -> str:
    return period_label(period.start, period.type, lang)


def _period_results(computation, definitions, departments, period: Period) -> list[dict]:
    """One query: the period's results of every definition for the departments."""
    return list(
        Result.objects.filter(
            computation=computation,
            definition_id__in=[d.pk for d in definitions],
            period_type=period.type,
            period_start=period.start,
        )
        .filter(department_id__in=[d.pk for d in departments])
        .values(*FIELDS)
    )


# --- the matrix -------------------------------------------------------------------------------


def _column(definition: IndicatorDefinition, national: dict | None, lang: str) -> dict:
    is_proportion = definition.kind == IndicatorDefinition.Kind.PROPORTION
    shown = national
    return {
        "definition": definition,
        "name": definition.name(lang),
        "unit": "%" if is_proportion else _("dage, median"),
        "better": _("lavere er bedre") if definition.lower_is_better else _("højere er bedre"),
        "national": _national_text(shown, is_proportion, lang),
    }


def _national_text(row: dict | None, is_proportion: bool, lang: str) -> str:
    if row is None:
        return "–"
    if row["protected"] and row.get("value") is None:
        return _("skjult")
    return _value_text(row, is_proportion, lang)


def _value_text(row: dict, is_proportion: bool, lang: str) -> str:
    """Without a unit for a measure: its column's heading says "dage, median"."""
    return value_text(row.get("value"), "proportion" if is_proportion else None, lang)


STATUS_SYMBOL = {"met": "✓", "not_met": "✗", "not_shown": "≈"}


def _cell(definition, department: Department, row: dict | None, lang: str) -> dict:
    is_proportion = definition.kind == IndicatorDefinition.Kind.PROPORTION
    url = indicator_url(department.code, definition)
    if row is None:
        return {"empty": True, "sort": "", "url": url}
    value = row.get("value")
    if is_proportion:
        counts = f"{count_text(row['numerator'], lang)}/{count_text(row['denominator'], lang)}"
    else:
        counts = f"n={count_text(row['denominator'], lang)}"
    status = row.get("target_status")
    labels = dict(Result.TargetStatus.choices)
    return {
        "empty": False,
        "url": url,
        "value": _value_text(row, is_proportion, lang),
        "interval": range_text(
            row.get("ci_low"), row.get("ci_high"), "proportion" if is_proportion else None, lang
        ),
        "counts": counts,
        "hidden": value is None and any(row.get(k) == "<5" for k in ("numerator", "denominator")),
        "status": status or "",
        "status_symbol": STATUS_SYMBOL.get(status, ""),
        "status_label": str(labels[status]) if status in labels else "",
        "sort": repr(float(value)) if value is not None else "",
    }


def _icons(computation, definitions, departments, by_cell: dict, lang: str) -> dict:
    """The Making Data Count icons of each cell shown: its department's monthly SPC read at the
    latest point (variation) and against the cell's target (assurance), with the change
    markers that split it; two queries for the whole matrix."""
    monthly: dict[tuple[int, int], list] = defaultdict(list)
    rows = (
        Result.objects.filter(
            computation=computation,
            period_type="month",
            department_id__in=[d.pk for d in departments],
            definition_id__in=[d.pk for d in definitions],
        )
        .order_by("period_start")
        .values_list(
            "department_id", "definition_id", "period_start", "numerator", "denominator", "value"
        )
    )
    for department_id, definition_id, start, numerator, denominator, value in rows:
        monthly[(department_id, definition_id)].append(
            SimpleNamespace(
                period_start=start, numerator=numerator, denominator=denominator, value=value
            )
        )
    markers = markers_of_departments([d.pk for d in departments])
    found = {}
    for (department_id, definition_id), series in monthly.items():
        row = by_cell.get((department_id, definition_id))
        if row is None or len(series) < 2:
            continue
        definition = next(d for d in definitions if d.pk == definition_id)
        try:
            chart = spc_of(
                definition, series, markers_for(markers.get(department_id, []), definition)
            )
        except (SpcError, ValueError):
            continue
        found[(department_id, definition_id)] = mdc_icons(
            mdc.variation(chart, definition.lower_is_better),
            mdc.assurance(chart, row.get("target"), definition.lower_is_better),
            mdc.caution(chart),
            lang,
        )
    return found


def _groups(
    departments, definitions, by_cell: dict, lang: str, flags: dict, icons: dict | None = None
) -> list[dict]:
    """Regions, their hospitals, their departments (each with one cell per definition)."""
    tree: dict[str, dict[str, list[Department]]] = defaultdict(lambda: defaultdict(list))
    for department in departments:
        hospital = department.hospital
        tree[_region_name(department)][hospital.name or hospital.code].append(department)
    groups, order = [], 0
    for region in sorted(tree):
        hospitals = []
        for hospital in sorted(tree[region]):
            rows = []
            for department in sorted(tree[region][hospital], key=lambda d: (d.name, d.code)):
                cells = [
                    _cell(d, department, by_cell.get((department.pk, d.pk)), lang)
                    | {"outlier": flags.get((department.code, d.pk))}
                    | (icons or {}).get((department.pk, d.pk), {})
                    for d in definitions
                ]
                rows.append(
                    {
                        "department": department,
                        "url": department_url(department.code),
                        "order": order,
                        "cells": cells,
                    }
                )
                order += 1
            hospitals.append({"name": hospital, "rows": rows})
        groups.append({"name": region, "hospitals": hospitals})
    return groups


# --- the charts -------------------------------------------------------------------------------


def _funnel(definition, departments, exact, by_cell, national, period: Period, lang: str):
    total = national.get(definition.pk)
    # The limits need the national proportion: none while the viewer may not see its counts.
    if total is None or not isinstance(total["denominator"], int) or not total["denominator"]:
        return None
    if not isinstance(total["numerator"], int):
        return None
    rows = []
    for department in departments:
        key = (department.pk, definition.pk)
        if key not in exact:
            continue
        hospital = department.hospital
        rows.append(
            FunnelRow(
                code=department.code,
                name=department.name or department.code,
                place=f"{hospital.name or hospital.code} · {_region_name(department)}",
                url=department_url(department.code),
                numerator=exact[key]["numerator"] or 0,
                denominator=exact[key]["denominator"],
                shown=by_cell[key],
            )
        )
    return funnel_figure(
        name=definition.name(lang),
        period=period_label(period.start, period.type, lang),
        national=(total["numerator"] or 0, total["denominator"]),
        rows=rows,
        language=lang,
        filename=f"tragtplot-{definition.slug}-{period.key}",
    )


def _trend(pool: dict, definitions, lang: str) -> list[TrendSeries]:
    """The national quarterly results of every standard proportion, as the viewer may see
    them."""
    proportions = [d for d in definitions if d.kind == IndicatorDefinition.Kind.PROPORTION]
    series = {d.pk: TrendSeries(d.name(lang)) for d in proportions}
    for (pk, kind, start), row in sorted(pool.items(), key=lambda item: item[0][2]):
        if kind == "quarter" and pk in series:
            series[pk].starts.append(start)
            series[pk].rows.append(row)
    return list(series.values())
