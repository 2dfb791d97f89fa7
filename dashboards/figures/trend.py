"""The national trend: every standard proportion for ALL (the pool of every department), by
quarter, as one plotly figure; and the period labels the overview uses.

Plain dicts only (no graph_objects): the figure is handed to the page with json_script and drawn
by plotly.js. The rows arrive as the viewer may see them (indicators.services.disclosure): a
point whose proportion is hidden leaves a gap in its line and is marked "<5" at the foot of the
plot, never drawn at a guessed height and never dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from dashboards.figures.common import COLOURS, PROTECTED_AXIS, base_layout, figure, protected_trace
from qualityportal.formatting import (
    ci_label,
    count_text,
    percent,
    percent_sign,
    period_label,
    range_text,
)

# Colour-blind-safe (Okabe-Ito), one per indicator; the legend and hover name each line too.
LINE_COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot", "solid"]


@dataclass
class TrendSeries:
    """One indicator's national results, oldest first; rows as shown (suppressed)."""

    name: str
    starts: list[dt.date] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)


def trend_figure(
    series: Sequence[TrendSeries], language: str | None = "da", *, period_type: str = "quarter"
) -> dict:
    """Lines of the national proportion per period, one per indicator, with hover texts that
    carry the interval and the counts."""
    data = []
    latest = []
    protected_x, protected_names = [], []
    for index, line in enumerate(series):
        x, y, texts = [], [], []
        for start, row in zip(line.starts, line.rows, strict=True):
            value = row.get("value")
            label = period_label(start, period_type, language)
            x.append(start.isoformat())
            y.append(None if value is None else round(value * 100, 4))
            texts.append(_hover(line.name, label, row, language))
            if value is None and row.get("protected"):
                protected_x.append(start.isoformat())
                protected_names.append(line.name)
        data.append(line_trace(line.name, x, y, texts, index))
        if line.rows and line.rows[-1].get("value") is not None:
            latest.append(f"{line.name} {percent(line.rows[-1]['value'], 1, language)}")
    if protected_x:
        data.append(protected_trace(protected_x, _("Skjult (små tal)"), details=protected_names))
    title = _("Landsresultat pr. kvartal")
    suffix = percent_sign(language)
    layout = base_layout(
        title,
        language,
        height=420,
        hovermode="closest",
        xaxis={"type": "date", "dtick": "M12", "tickformat": "%Y", "title": {"text": _("År")}},
        yaxis={
            "title": {"text": _("Andel af operationerne")},
            "ticksuffix": suffix,
            "rangemode": "tozero",
        },
        legend={"orientation": "h", "x": 0, "y": -0.22, "font": {"size": 11}},
        yaxis2=PROTECTED_AXIS,
    )
    starts = [s for line in series for s in line.starts]
    if starts:
        first, last = min(starts), max(starts)
        description = _(
            "Linjediagram over landsresultatet for %(count)s indikatorer pr. kvartal fra "
            "%(first)s til %(last)s. Seneste kvartal: %(latest)s."
        ) % {
            "count": len(series),
            "first": period_label(first, period_type, language),
            "last": period_label(last, period_type, language),
            "latest": "; ".join(latest) or "–",
        }
    else:
        description = _("Der er endnu ingen landsresultater at vise.")
    return figure(
        data,
        layout,
        language=language,
        filename="landsresultat-kvartaler",
        description=description.replace(" %", "\u00a0%"),
    )


def line_trace(name: str, x: list, y: list, texts: list[str], index: int) -> dict:
    """One line of a trend chart: its colour and dash by ``index`` (never colour alone), gaps
    where a value is missing, the hover text as given."""
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": x,
        "y": y,
        "text": texts,
        "hovertemplate": "%{text}<extra></extra>",
        "connectgaps": False,
        "line": {
            "color": LINE_COLOURS[index % len(LINE_COLOURS)],
            "dash": DASHES[index % len(DASHES)],
            "width": 2,
        },
        "marker": {"size": 5},
    }


def _hover(name: str, label: str, row: dict, language: str | None) -> str:
    value = row.get("value")
    if value is None:
        shown = _("skjult (små tal)") if _is_hidden(row) else "–"
    else:
        shown = percent(value, 1, language)
        interval = range_text(row.get("ci_low"), row.get("ci_high"), "proportion", language)
        if interval:
            shown = f"{shown} ({ci_label(language)} {interval})"
    counts = _("%(numerator)s af %(denominator)s operationer") % {
        "numerator": count_text(row.get("numerator"), language),
        "denominator": count_text(row.get("denominator"), language),
    }
    return f"<b>{name}</b><br>{label}: {shown}<br>{counts}"


def _is_hidden(row: dict) -> bool:
    return bool(row.get("protected"))


__all__ = [
    "COLOURS",
    "TrendSeries",
    "ci_label",
    "count_text",
    "period_label",
    "trend_figure",
]
