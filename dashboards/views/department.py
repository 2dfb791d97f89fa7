"""A department's dashboard: one tile per indicator it follows, and the recompute status. A
tile is built once for what it shows (dashboards.cache) and then comes from the cache."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from dashboards import cache, selectors
from dashboards.figures.common import locale_dictionary
from dashboards.figures.sparkline import sparkline_figure
from departments import access
from departments.models import Department, Role
from indicators.models import CurrentRows
from indicators.registry import catalog
from indicators.services import currency
from indicators.services.disclosure import threshold
from qualityportal.formatting import (
    ci_label,
    count_text,
    interval_text,
    period_label,
    value_text,
    window_label,
)
from qualityportal.formatting import current_language as language

# --- shared by the department's pages ---------------------------------------------------------

SLUG = re.compile(r"[a-z][a-z0-9_]{1,39}")


@dataclass(frozen=True)
class PageQuery:
    """What the filter form asks for; anything unreadable falls back to the default."""

    period_type: str = "month"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    filters: selectors.Filters = field(default_factory=selectors.Filters)
    chart: str = ""
    # No period type asked for: the dashboard's tiles show the department's summary window.
    summary: bool = False
    # The registry of the indicator page's slug, where two registries share one.
    registry: str = ""

    @classmethod
    def from_request(cls, request) -> PageQuery:
        get = request.GET
        period_type = get.get("period_type", "")
        site, urgency = get.get("site", ""), get.get("urgency", "")
        date_from = selectors.parse_month(get.get("from"))
        date_to = selectors.parse_month(get.get("to"))
        if date_from and date_to and date_from > date_to:
            date_from, date_to = date_to, date_from
        return cls(
            period_type=period_type if period_type in selectors.PERIOD_TYPES else "month",
            date_from=date_from,
            date_to=date_to,
            filters=selectors.Filters(
                site=site if site in selectors.SITES else "",
                urgency=urgency if urgency in selectors.URGENCIES else "",
            ),
            chart=get.get("chart", "") if get.get("chart") in ("run", "p") else "",
            summary=period_type not in selectors.PERIOD_TYPES,
            registry=registry if SLUG.fullmatch(registry := get.get("registry", "")) else "",
        )

    def params(self, *, period_type: bool = True, chart: bool = False) -> dict[str, str]:
        found = {
            "period_type": self.period_type if period_type and not self.summary else "",
            "from": f"{self.date_from:%Y-%m}" if self.date_from else "",
            "to": f"{self.date_to:%Y-%m}" if self.date_to else "",
            **self.filters.as_dict(),
            "chart": self.chart if chart else "",
            "registry": self.registry,
        }
        return {k: v for k, v in found.items() if v}

    def query_string(self, **kwargs) -> str:
        params = self.params(**kwargs)
        return "?" + urlencode(params) if params else ""


# The extract's values for tumour site and urgency, as the pages name them (filters, patients).
SITE_LABELS = {"kolon": gettext_lazy("Kolon"), "rektum": gettext_lazy("Rektum")}
URGENCY_LABELS = {"elektiv": gettext_lazy("Elektiv"), "akut": gettext_lazy("Akut")}


def value_label(value: str, labels: dict) -> str:
    """A coded value by its label in the page's language; an unknown code as it is."""
    return str(labels.get(value, value))


def settings_url(user, department: Department) -> str:
    """The department's settings page, for those who may coordinate it; else empty."""
    # Without a coordinator role anywhere (already read for the header) there is no need to ask.
    if Role.COORDINATOR not in access.roles_of(user):
        return ""
    if not access.can(user, "coordinate", department):
        return ""
    return reverse("department_settings", args=[department.code])


def _filter_choices() -> dict:
    return {
        "sites": [(code, str(label)) for code, label in SITE_LABELS.items()],
        "urgencies": [(code, str(label)) for code, label in URGENCY_LABELS.items()],
    }


def _has_dccg_filters(registry: str) -> bool:
    fields = {c.field for c in catalog.profile(registry).columns}
    return {"site", "priority"} <= fields


def _sources(department: Department, registry: str | None) -> list[dict]:
    rows = CurrentRows.objects.filter(department=department).select_related("extract", "registry")
    if registry:
        rows = rows.filter(registry__slug=registry)
    found = list(rows.order_by("registry_id"))
    lang = translation.get_language() or "da"
    return [
        {
            "source": row,
            "registry": row.registry.display_name(lang) if len(found) > 1 else "",
        }
        for row in found
    ]


def page_context(
    request, department: Department, query: PageQuery, registry: str | None = None
) -> dict:
    """What every department page shows around its content: the switcher, the form and where
    its numbers come from (the extract of each registry, or of the page's ``registry``)."""
    # A department left with no current rows drops out of the list.
    others = currency.with_current_rows(
        Department.objects.filter(pk__in=access.exact_scope(request.user))
    ).order_by("name", "code")
    return {
        "department": department,
        "sources": _sources(department, registry),
        "switch_departments": list(others),
        "settings_url": settings_url(request.user, department),
        "query": query,
        "period_types": [
            ("month", _("Måned")),
            ("quarter", _("Kvartal")),
            ("year", _("År")),
        ],
        "current_period": query.period_type,
        # The tumour site and urgency filters are DCCG's fields: a page of another registry's
        # indicator has none to offer.
        **(_filter_choices() if registry is None or _has_dccg_filters(registry) else {}),
        "filter_labels": _filter_labels(query.filters),
        "plotly_locale": locale_dictionary(),
        "ci_label": ci_label(language()),
    }


def _filter_labels(filters: selectors.Filters) -> list[str]:
    labels = []
    if filters.site:
        labels.append(_("Tumorlokalisation: %(v)s") % {"v": value_label(filters.site, SITE_LABELS)})
    if filters.urgency:
        labels.append(_("Prioritet: %(v)s") % {"v": value_label(filters.urgency, URGENCY_LABELS)})
    return labels


STATUS_TEXT = {
    "met": ("✓", gettext_lazy("Målet er opfyldt")),
    "not_met": ("✗", gettext_lazy("Målet er ikke opfyldt")),
    "not_shown": ("≈", gettext_lazy("Ikke påvist forskel fra målet")),
}


def status_words(status: str | None, target: float | None) -> tuple[str, str, str]:
    """(css key, symbol, words) for a target status; never colour alone."""
    if target is None:
        return "none", "–", _("Intet mål")
    if status not in STATUS_TEXT:
        return "none", "?", _("Ingen vurdering")
    symbol, words = STATUS_TEXT[status]
    return status.replace("_", "-"), symbol, str(words)


def target_text(target: float | None, definition, lang: str) -> str:
    """ "Mål: højst 15,0 %"; the registry's published standard says so, as the default target
    every department has until it sets its own."""
    if target is None:
        return ""
    word = _("højst") if definition.lower_is_better else _("mindst")
    values = {"word": word, "value": value_text(target, definition.kind, lang)}
    if definition.is_standard and target == definition.default_target:
        return _("Mål (landsstandard): %(word)s %(value)s") % values
    return _("Mål: %(word)s %(value)s") % values


def shown_cell(cell: selectors.Cell) -> dict:
    """A department's own result as its pages show it: exactly, since only viewers whose
    scope contains the department reach them (departments.access.get_department_for)."""
    row = {
        "numerator": cell.numerator,
        "denominator": cell.denominator,
        "missing": cell.missing,
        "value": cell.value,
        "ci_low": cell.ci_low,
        "ci_high": cell.ci_high,
    }
    return row


def national_cell(row: dict | None) -> dict | None:
    """The pool's result as the viewer may see it (indicators.services.disclosure), with the
    keys of :func:`shown_cell`."""
    if row is None:
        return None
    return {
        "numerator": row["numerator"],
        "denominator": row["denominator"],
        "missing": row["missing"],
        "value": row["value"],
        "ci_low": row["ci_low"],
        "ci_high": row["ci_high"],
        "suppressed": row["protected"],
    }


# --- the dashboard ----------------------------------------------------------------------------


def _tile(tile: selectors.Tile, board, query: PageQuery, exact: bool, lang: str) -> dict:
    definition = tile.definition
    kind, name = definition.kind, definition.name(lang)
    url = reverse("indicator_detail", args=[board.department.code, definition.slug])
    # A slug is unique within its registry: with several registries on the board, the links
    # name theirs, and two equal slugs get figures of their own.
    several = len({d.profile for d, _target in board.follows}) > 1
    registry = {"registry": definition.profile} if several else {}
    slugs = [d.slug for d, _target in board.follows]
    figure = definition.slug
    if slugs.count(definition.slug) > 1:
        figure = f"{definition.profile}-{definition.slug}"
    params = query.params(period_type=False) | registry
    found = {
        "slug": definition.slug,
        "name": name,
        "url": url + ("?" + urlencode(params) if params else ""),
        "kind": kind,
        "target": target_text(tile.target, definition, lang),
        "figure_id": f"spark-{figure}",
    }
    latest = tile.latest
    if latest is not None:
        shown = shown_cell(latest)
        status = status_words(latest.target_status, tile.target)
        period = selectors.window(*tile.window) if tile.window is not None else latest.period
        found.update(
            period=_shown_period(tile, board, lang),
            value=value_text(shown["value"], kind, lang),
            interval=interval_text(shown["ci_low"], shown["ci_high"], kind, lang),
            numerator=count_text(shown["numerator"], lang),
            denominator=count_text(shown["denominator"], lang),
            missing=count_text(shown["missing"], lang),
            small=latest.denominator < definition.min_denominator,
            # One click to the operations behind the number, for those who may see them.
            patients_url=(
                reverse("indicator_patients", args=[board.department.code, definition.slug])
                + "?"
                + urlencode({"period": period.code, **query.filters.as_dict(), **registry})
                if exact
                else ""
            ),
            status_key=status[0],
            status_symbol=status[1],
            status_text=status[2],
        )
    if tile.national is not None:
        national = national_cell(tile.national)
        found["national"] = value_text(national["value"], kind, lang)
        found["national_suppressed"] = national["suppressed"]
        found["national_interval"] = interval_text(
            national["ci_low"], national["ci_high"], kind, lang
        )
    found |= mdc_icons(tile.variation, tile.assurance, tile.caution, lang)
    points = [(c.period_start, c.value) for c in tile.series]
    found["figure"] = sparkline_figure(
        points,
        kind=kind,
        period_type=board.period_type,
        language=lang,
        target=tile.target,
        title=name,
    )
    return found


# The icons of NHS England's "Making Data Count": a letter in a circle, never colour alone.
VERDICT_TITLES = {
    "improvement": gettext_lazy("Forbedring"),
    "concern": gettext_lazy("Bekymring"),
    "common": gettext_lazy("Almindelig variation"),
    "pass": gettext_lazy("Når målet"),
    "fail": gettext_lazy("Når ikke målet"),
    "inconsistent": gettext_lazy("Skiftevis"),
}


def mdc_icons(variation, assurance, caution, lang: str) -> dict:
    """The Making Data Count icons as a page shows them (letters in circles, their titles and
    the rule in words), with the caution of a short series: the tile's and the overview's."""
    found: dict = {}
    for key, verdict in (("variation", variation), ("assurance", assurance)):
        if verdict is not None:
            found[key] = {
                "kind": verdict.kind,
                "letter": _verdict_letter(verdict),
                "title": str(VERDICT_TITLES[verdict.kind]),
                "words": verdict.words(lang),
            }
    found["mdc"] = [found[key] for key in ("variation", "assurance") if key in found]
    found["caution"] = caution.words(lang) if caution is not None and found["mdc"] else ""
    return found


def _verdict_letter(verdict) -> str:
    if verdict.kind in ("improvement", "concern"):
        return _("H") if verdict.high else _("L")
    return {"common": "~", "pass": _("B"), "fail": _("D"), "inconsistent": "?"}[verdict.kind]


def _shown_period(tile: selectors.Tile, board, lang: str) -> str:
    """What the tile's number covers: "Seneste 12 måneder: dec. 2025 – nov. 2026"."""
    if tile.window is None:
        return period_label(tile.latest.period_start, board.period_type, lang)
    name = Department.Summary(board.summary).label
    return f"{name}: {window_label(*tile.window, lang)}"


def _status(computation) -> dict:
    if computation is None:
        return {"running": False}
    return {
        "running": True,
        "id": computation.pk,
        "status": computation.status,
        "status_label": computation.get_status_display(),
        "progress": computation.progress,
    }


def _tile_key(board: selectors.Dashboard, definition, target, exact: bool, lang: str):
    """The cache key of everything a tile is built from, the current computation first (None:
    nothing computed yet, nothing worth keeping). The markers are those that phase its SPC."""
    computation = board.computations.get(definition.profile)
    if computation is None:
        return None
    markers = tuple(
        (m.date, tuple(sorted(m.definition_ids)))
        for m in selectors.markers_for(board.markers, definition)
    )
    return cache.key(
        "tile",
        cache.stamp(computation),
        (board.department.pk, board.department.code),
        (board.period_type, board.summary, board.date_from, board.date_to),
        (board.filters.site, board.filters.urgency),
        exact,
        tuple(sorted(board.scope)),  # the national result is shown as this scope may see it
        threshold(),
        lang,
        (definition.pk, definition.slug, definition.kind, definition.name_da, definition.name_en),
        (definition.direction, definition.min_denominator, target),
        # The rules, for a filter computes the results from the rows with them.
        json.dumps(
            [definition.population, definition.missing, definition.event, definition.measure],
            sort_keys=True,
        ),
        markers,
    )


def _tiles(board: selectors.Dashboard, query: PageQuery, exact: bool, lang: str) -> list[str]:
    """Each tile's HTML; built (two queries for all) only if not cached."""
    follows = {definition.pk: (definition, target) for definition, target in board.follows}

    def build(pks: list[int]) -> dict[int, str]:
        tiles = selectors.dashboard_tiles(board, [follows[pk] for pk in pks])
        return {
            t.definition.pk: render_to_string(
                "dashboards/_tile.html", {"tile": _tile(t, board, query, exact, lang)}
            )
            for t in tiles
        }

    names = {pk: _tile_key(board, d, target, exact, lang) for pk, (d, target) in follows.items()}
    found = cache.get_or_build_many(names, build)
    return [found[pk] for pk in follows]


def _tile_groups(board: selectors.Dashboard, tiles: list[str], lang: str) -> list[dict]:
    """The tiles registry by registry (``followed_indicators`` gives them in that order)."""
    if len({definition.profile for definition, _target in board.follows}) > 1:
        names = {e.slug: e.name(lang) for e in catalog.entries()}
    else:
        names = {}  # one registry: the page needs no heading for it
    groups: list[dict] = []
    for (definition, _target), html in zip(board.follows, tiles, strict=True):
        if not groups or groups[-1]["slug"] != definition.profile:
            slug = definition.profile
            # The site and urgency filters are DCCG's fields: another registry's tiles are
            # unfiltered, and say so.
            unfiltered = bool(board.filters.as_dict()) and not _has_dccg_filters(slug)
            groups.append(
                {"slug": slug, "name": names.get(slug, slug), "tiles": [], "unfiltered": unfiltered}
            )
        groups[-1]["tiles"].append(html)
    return groups


@login_required
@require_GET
def department_dashboard(request, code: str):
    department = access.get_department_for(request.user, code, "aggregate")
    exact = access.can(request.user, "patients", department)
    query = PageQuery.from_request(request)
    board = selectors.department_dashboard(
        department,
        period_type=query.period_type,
        date_from=query.date_from,
        date_to=query.date_to,
        filters=query.filters,
        with_tiles=False,
        scope=access.exact_scope(request.user),
        summary=department.tile_summary if query.summary else "",
    )
    lang = language()
    context = page_context(request, department, query)
    # The summary the department chose comes first, and is what the tiles show unless asked.
    context["period_types"].insert(0, ("", department.get_tile_summary_display()))
    if query.summary:
        context["current_period"] = ""
    context |= {
        "board": board,
        "exact": exact,
        "tiles": (tiles := _tiles(board, query, exact, lang)),
        "tile_groups": _tile_groups(board, tiles, lang),
        "running": _status(board.running),
        "current_id": board.computation.pk if board.computation else "",
    }
    return render(request, "dashboards/department.html", context)


@login_required
@require_GET
def department_status(request, code: str):
    """Whether a recompute is under way, for the dashboard's "Beregner…" line."""
    department = access.get_department_for(request.user, code, "aggregate")
    profiles = {d.profile for d, _t in selectors.followed_indicators(department)} or {"dccg"}
    current, running = selectors.computation_states(profiles)
    state = _status(running)
    state["current_id"] = next(iter(current.values())).pk if current else None
    return JsonResponse(state)


@login_required
@require_GET
def department_switch(request):
    """The header's switcher: to the department chosen, or the list of those one may open."""
    code = request.GET.get("code", "").strip()
    if code:
        department = access.get_department_for(request.user, code, "aggregate")
        return redirect("department_dashboard", code=department.code)
    departments = currency.with_current_rows(
        access.departments_for(request.user, "aggregate")
    ).order_by("name", "code")
    return render(
        request,
        "dashboards/department_list.html",
        {"departments": departments, "switch_departments": departments},
    )
