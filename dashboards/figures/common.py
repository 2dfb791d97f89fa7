"""Plotly layout basics shared by every figure: fonts, colours, margins and the locale.

Figures are plain JSON-able dicts (``{"data": [...], "layout": {...}, "config": {...}}``) built
on the server and drawn by plotly.js (static/js/charts.js). This module keeps its API small,
since other figure builders import it: :func:`base_layout`, :func:`base_config`,
:func:`figure`, :data:`COLOURS`, :func:`locale_dictionary`; and, from qualityportal.formatting
(re-exported here), the numbers and labels: :func:`number`, :func:`percent`, :func:`value_text`,
:func:`range_text`, :func:`interval_text`, :func:`ci_label`, :func:`month_label`,
:func:`period_label`, :func:`window_label`, :func:`date_label`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from qualityportal.formatting import (  # noqa: F401 - re-exported for the figure builders
    MONTHS_DA,
    MONTHS_DA_SHORT,
    MONTHS_EN,
    MONTHS_EN_SHORT,
    ci_label,
    count_text,
    date_label,
    interval_text,
    is_danish,
    month_label,
    number,
    percent,
    percent_sign,
    period_label,
    range_text,
    value_text,
    window_label,
)

FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'

# One palette for every chart; status colours match static/css/portal.css (never used alone:
# every status also has words or a marker shape).
COLOURS: dict[str, str] = {
    "ink": "#1d2733",
    "muted": "#5b6775",
    "grid": "#e3e8ee",
    "line": "#d8dee6",
    "brand": "#0b4f8a",
    "series": "#0b4f8a",
    "centre": "#2f7d32",
    "limit": "#8a96a3",
    "target": "#b06000",
    "national": "#6a3d9a",
    "signal": "#b3261e",
    "ok": "#1b7a3a",
    "bad": "#b3261e",
    "warn": "#8a5a00",
    "low": "#2b6cb0",  # below the funnel's limits: cool, apart from the warm "above"
    "very_low": "#1a365d",
    "phase": "#5b6775",
    "band": "rgba(11, 79, 138, 0.08)",
}

DAYS_DA = ["søndag", "mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag"]
DAYS_DA_SHORT = ["søn", "man", "tir", "ons", "tor", "fre", "lør"]


def separators(language: str | None) -> str:
    """Plotly's ``separators``: decimal mark then thousands mark. Numbers keep the Danish
    notation in both languages (as the portal's number formats do), so a figure reads the same
    whichever language a colleague chose; only words change."""
    return ",."


def locale_dictionary() -> dict[str, Any]:
    """The Danish plotly locale (registered by charts.js as ``Plotly.register``'s ``da``)."""
    return {
        "moduleType": "locale",
        "name": "da",
        "dictionary": {
            "Download plot as a png": "Hent diagrammet som PNG",
            "Zoom": "Zoom",
            "Pan": "Panorér",
            "Reset axes": "Nulstil akser",
            "Autoscale": "Tilpas akser",
            "Zoom in": "Zoom ind",
            "Zoom out": "Zoom ud",
            "Show closest data on hover": "Vis nærmeste punkt",
            "Compare data on hover": "Sammenlign punkter",
            "Toggle Spike Lines": "Hjælpelinjer til/fra",
            "Double-click to zoom back out": "Dobbeltklik for at zoome ud",
        },
        "format": {
            "days": DAYS_DA,
            "shortDays": DAYS_DA_SHORT,
            "months": MONTHS_DA,
            "shortMonths": MONTHS_DA_SHORT,
            "date": "%d-%m-%Y",  # SHORT_DATE_FORMAT in qualityportal/formats
            "decimal": ",",
            "thousands": ".",
        },
    }


def base_layout(title: str = "", language: str | None = "da", **overrides: Any) -> dict:
    """A plotly layout with the portal's fonts, margins, colours and number notation.

    ``overrides`` are merged one level deep into the dicts they name (``xaxis={"type":
    "date"}`` keeps the default grid colour), and replace anything else.
    """
    layout: dict[str, Any] = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        "separators": separators(language),
        "font": {"family": FONT_FAMILY, "size": 12, "color": COLOURS["ink"]},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "margin": {"l": 56, "r": 24, "t": 48 if title else 16, "b": 48},
        "hovermode": "closest",
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
        "showlegend": True,
        "legend": {"orientation": "h", "x": 0, "y": -0.18, "font": {"size": 11}},
        "xaxis": {
            "gridcolor": COLOURS["grid"],
            "linecolor": COLOURS["line"],
            "zeroline": False,
            "automargin": True,
        },
        "yaxis": {
            "gridcolor": COLOURS["grid"],
            "linecolor": COLOURS["line"],
            "zeroline": False,
            "automargin": True,
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def base_config(language: str | None = "da", *, filename: str = "kvalitetsportal") -> dict:
    """The plotly config: the page's locale, PNG export named ``filename``, no plotly logo."""
    return {
        "locale": "da" if is_danish(language) else "en",
        "displaylogo": False,
        "responsive": True,
        "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
    }


def figure(
    data: list[dict],
    layout: dict,
    *,
    language: str | None = "da",
    filename: str = "kvalitetsportal",
    description: str = "",
) -> dict:
    """The dict handed to the page: plotly's data, layout, config and a text alternative."""
    return {
        "data": data,
        "layout": layout,
        "config": base_config(language, filename=filename),
        "description": description or _("Diagram"),
    }


# A hidden result is marked on an axis of its own at the foot of the plot: never drawn at a
# value, never left out as if the period had no operations.
PROTECTED_AXIS = {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True}


def protected_trace(
    xs: list[str], name: str, label: str | None = None, details: list[str] | None = None
) -> dict:
    """Markers, labelled ``label``, for the periods ``xs`` whose value is hidden because it
    would reveal a small number (indicators.disclosure); ``details`` names what is hidden at
    each point, for the hover."""
    from indicators.disclosure import small_label
    from indicators.services.disclosure import threshold

    label = label or small_label(threshold())
    hover = _("skjult: ville afsløre et lille tal")
    if details is not None:
        hover = "%{customdata}: " + hover
    return {
        "type": "scatter",
        "mode": "markers+text",
        "x": xs,
        "y": [0.03] * len(xs),
        "yaxis": "y2",
        "name": name,
        "text": [label] * len(xs),
        "textposition": "top center",
        "textfont": {"size": 10, "color": COLOURS["ink"]},
        "marker": {
            "symbol": "x-thin-open",
            "size": 9,
            "color": COLOURS["ink"],
            "line": {"width": 1.5},
        },
        "cliponaxis": False,
        "meta": "protected",
        "hovertemplate": "%{x|%b %Y}: " + hover + "<extra>" + name + "</extra>",
    } | ({"customdata": details} if details is not None else {})
