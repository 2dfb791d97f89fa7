"""The run chart / p-chart of one indicator as a plotly figure (a plain dict).

Points, the centre line of each phase (dashed red where the runs analysis finds non-random
variation), the limits of a p-chart, the phase boundaries labelled with their change markers,
each phase's centre written above the chart, the target and the national line, and the points
outside the limits marked with their own symbol (never colour alone). Proportions are drawn in
per cent.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping, Sequence
from itertools import groupby

from django.utils.translation import gettext as _

from dashboards.figures.common import (
    COLOURS,
    PROTECTED_AXIS,
    base_layout,
    figure,
    month_label,
    number,
    percent_sign,
    protected_trace,
    value_text,
)
from indicators.spc import SpcSeries

# Height in pixels of one row of labels above the plot (the phase centre, the change marker).
PHASE_LABEL_ROW = 16


def _finite(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _midpoint(a: dt.date, b: dt.date) -> str:
    return (a + (b - a) / 2).isoformat()


def spc_figure(
    series: SpcSeries,
    *,
    kind: str,
    title: str,
    language: str = "da",
    target: float | None = None,
    lower_is_better: bool = True,
    national: Mapping[dt.date, float | None] | None = None,
    national_hidden: Collection[dt.date] = (),
    hidden: Collection[int] = (),
    links: Sequence[str] | None = None,
    filename: str = "spc",
) -> dict:
    """The chart; ``hidden`` are point indices whose value may not be shown (small numbers)."""
    scale = 100.0 if kind == "proportion" else 1.0
    unit = percent_sign(language) if kind == "proportion" else ""

    def y(value: float | None) -> float | None:
        return round(value * scale, 6) if _finite(value) else None

    points = series.points
    xs = [p.period_start.isoformat() for p in points]
    data: list[dict] = []
    shapes: list[dict] = []
    annotations: list[dict] = []
    legend_once: set[str] = set()

    def shown(group: str) -> bool:
        first = group not in legend_once
        legend_once.add(group)
        return first

    phases = [list(group) for _, group in groupby(enumerate(points), key=lambda ip: ip[1].phase)]
    for number_in_order, (phase, members) in enumerate(zip(series.phases, phases, strict=True)):
        idx = [i for i, _p in members]
        px = [xs[i] for i in idx]
        if series.chart == "p":
            for key, name in (("ucl", _("Øvre kontrolgrænse")), ("lcl", _("Nedre kontrolgrænse"))):
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "x": px,
                        "y": [y(getattr(points[i], key)) for i in idx],
                        "name": _("Kontrolgrænser (3 sigma)"),
                        "legendgroup": "limits",
                        "showlegend": shown("limits"),
                        "line": {
                            "color": COLOURS["limit"],
                            "width": 1.2,
                            "shape": "hvh",
                        },
                        "hoverinfo": "skip",
                        "meta": name,
                    }
                )
        runs = phase.runs_signal
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [px[0], px[-1]] if len(px) > 1 else px,
                "y": [y(phase.cl)] * min(len(px), 2),
                "name": _("Centerlinje, ikke-tilfældig variation")
                if runs
                else _("Centerlinje (median)")
                if series.chart == "run"
                else _("Centerlinje (gennemsnit)"),
                "legendgroup": "cl-runs" if runs else "cl",
                "showlegend": shown("cl-runs" if runs else "cl"),
                "line": {
                    "color": COLOURS["signal"] if runs else COLOURS["centre"],
                    "width": 2,
                    "dash": "dashdot" if runs else "solid",
                },
                "hoverinfo": "skip",
            }
        )
        centre_text = _("Fase %(n)s: centerlinje %(value)s") % {
            "n": number_in_order + 1,
            "value": value_text(phase.cl, kind, language),
        }
        if runs:
            centre_text += " · " + _("serie-signal")
        # Written just above the plot at the start of its phase, not on the line: there the
        # points and lines crossing it made it unreadable, and a background would hide data.
        # A phase that starts late in the series is labelled from its end, to stay in the chart.
        late = idx[0] > len(points) * 2 / 3 and len(px) > 1
        annotations.append(
            {
                "x": px[-1] if late else px[0],
                "y": 1,
                "xref": "x",
                "yref": "paper",
                "xanchor": "right" if late else "left",
                "yanchor": "bottom",
                "text": centre_text,
                "showarrow": False,
                "font": {"size": 11, "color": COLOURS["signal"] if runs else COLOURS["centre"]},
            }
        )
        if number_in_order:
            boundary = _midpoint(points[idx[0] - 1].period_start, points[idx[0]].period_start)
            shapes.append(
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": boundary,
                    "x1": boundary,
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": COLOURS["phase"], "width": 1.5, "dash": "dot"},
                }
            )
            label = " · ".join(phase.labels) or _("Ny fase")
            annotations.append(
                {
                    "x": boundary,
                    "y": 1,
                    "xref": "x",
                    "yref": "paper",
                    "yanchor": "bottom",
                    "xanchor": "left",
                    "yshift": PHASE_LABEL_ROW,  # a row above the centre line labels
                    "text": f"▼ {label} ({month_label(phase.start, language, short=True)})",
                    "showarrow": False,
                    "font": {"size": 11, "color": COLOURS["ink"]},
                }
            )

    if national:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": xs,
                "y": [y(national.get(p.period_start)) for p in points],
                "name": _("Landsplan"),
                "line": {"color": COLOURS["national"], "width": 1.5, "dash": "dot"},
                # A hidden national month is a gap, not a line drawn through a guess.
                "connectgaps": not national_hidden,
                "hovertemplate": "%{x|%b %Y}: %{y:.1f}"
                + unit
                + "<extra>"
                + _("Landsplan")
                + "</extra>",
            }
        )
    protected = [p.period_start.isoformat() for p in points if p.period_start in national_hidden]
    if protected:
        data.append(protected_trace(protected, _("Landsplan skjult (små tal)")))
    if _finite(target) and xs:
        word = _("højst") if lower_is_better else _("mindst")
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [xs[0], xs[-1]],
                "y": [y(target)] * 2,
                "name": _("Mål: %(word)s %(value)s")
                % {"word": word, "value": value_text(target, kind, language)},
                "line": {"color": COLOURS["target"], "width": 2, "dash": "longdash"},
                "hoverinfo": "skip",
            }
        )

    values, texts, colours, symbols = [], [], [], []
    for i, p in enumerate(points):
        hide = i in hidden
        values.append(None if hide else y(p.value))
        colours.append(COLOURS["signal"] if p.sigma_signal and not hide else COLOURS["series"])
        symbols.append("diamond" if p.sigma_signal and not hide else "circle")
        texts.append(_hover(p, kind, series.chart, language, hide))
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": xs,
            "y": values,
            "name": _("Månedens værdi"),
            "line": {"color": COLOURS["series"], "width": 1.5},
            "marker": {"color": colours, "symbol": symbols, "size": 7},
            "text": texts,
            "hovertemplate": "%{text}<extra></extra>",
        }
        # Each month's patients, one click away (only for those who may see them).
        | ({"customdata": list(links)} if links else {})
    )
    if hidden:
        data.append(protected_trace([xs[i] for i in sorted(hidden)], _("Skjult (små tal)")))
    outside = [i for i, p in enumerate(points) if p.sigma_signal and i not in hidden]
    if outside:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [xs[i] for i in outside],
                "y": [values[i] for i in outside],
                "name": _("Uden for kontrolgrænserne"),
                # An open symbol is drawn in the marker's colour (the line sets only its width),
                # which is also what the legend shows.
                "marker": {
                    "color": COLOURS["signal"],
                    "size": 15,
                    "symbol": "diamond-open",
                    "line": {"color": COLOURS["signal"], "width": 2},
                },
                "hoverinfo": "skip",
            }
        )

    layout = base_layout(
        title,
        language,
        shapes=shapes,
        annotations=annotations,
        margin={"t": 72 + PHASE_LABEL_ROW},
        xaxis={"type": "date", "tickformat": "%b %Y", "hoverformat": "%B %Y"},
        yaxis={"rangemode": "tozero", "ticksuffix": unit, "title": {"text": _y_title(kind)}},
        yaxis2=PROTECTED_AXIS,
        height=440,
    )
    description = describe(series, kind=kind, title=title, language=language, hidden=hidden)
    return figure(data, layout, language=language, filename=filename, description=description)


def _y_title(kind: str) -> str:
    return _("Andel") if kind == "proportion" else _("Median, dage")


def _hover(point, kind: str, chart: str, language: str, hide: bool) -> str:
    lines = [f"<b>{month_label(point.period_start, language)}</b>"]
    if hide:
        lines.append(_("Under 5: vises ikke"))
        return "<br>".join(lines)
    value = value_text(point.value, kind, language)
    if kind == "proportion" and point.numerator is not None:
        value += " " + _("(%(num)s af %(den)s)") % {
            "num": number(point.numerator, 0, language),
            "den": number(point.denominator, 0, language),
        }
    else:
        value += " " + _("(n = %(n)s)") % {"n": number(point.denominator, 0, language)}
    lines.append(value)
    lines.append(_("Centerlinje %(value)s") % {"value": value_text(point.cl, kind, language)})
    if chart == "p" and _finite(point.lcl):
        limits = f"{value_text(point.lcl, kind, language)}–{value_text(point.ucl, kind, language)}"
        lines.append(_("Kontrolgrænser %(limits)s") % {"limits": limits})
    if point.sigma_signal:
        lines.append("<b>" + _("Uden for kontrolgrænserne") + "</b>")
    return "<br>".join(lines)


def describe(
    series: SpcSeries, *, kind: str, title: str, language: str, hidden: Collection[int] = ()
) -> str:
    """The chart in words, for screen readers (aria-label) and as the chart's caption."""
    if not series.points:
        return _("%(title)s: ingen data.") % {"title": title}
    chart = _("p-kort") if series.chart == "p" else _("Seriediagram")
    parts = [
        _("%(chart)s for %(title)s, %(first)s til %(last)s, %(n)s måneder.")
        % {
            "chart": chart,
            "title": title,
            "first": month_label(series.points[0].period_start, language),
            "last": month_label(series.points[-1].period_start, language),
            "n": len(series.points),
        }
    ]
    for k, phase in enumerate(series.phases, start=1):
        text = _("Fase %(n)s fra %(start)s: centerlinje %(value)s") % {
            "n": k,
            "start": month_label(phase.start, language),
            "value": value_text(phase.cl, kind, language),
        }
        if phase.labels:
            text += " (" + ", ".join(phase.labels) + ")"
        text += "; " + (
            _("ikke-tilfældig variation (serie-signal)")
            if phase.runs_signal
            else _("ingen serie-signal")
        )
        parts.append(text + ".")
    outside = [
        month_label(p.period_start, language)
        for i, p in enumerate(series.points)
        if p.sigma_signal and i not in hidden
    ]
    if outside:
        parts.append(_("Uden for kontrolgrænserne: %(months)s.") % {"months": ", ".join(outside)})
    elif series.chart == "p":
        parts.append(_("Ingen punkter uden for kontrolgrænserne."))
    return " ".join(parts)
