"""A tile's sparkline: the trend of one indicator as a tiny static plotly figure."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from django.utils.translation import gettext as _

from dashboards.figures.common import COLOURS, base_layout, figure, period_label, value_text


def _finite(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def sparkline_figure(
    points: Sequence[tuple[dt.date, float | None]],
    *,
    kind: str,
    period_type: str = "month",
    language: str = "da",
    target: float | None = None,
    title: str = "",
) -> dict:
    """``points`` are (period start, value) oldest first; hidden values are None (a gap)."""
    scale = 100.0 if kind == "proportion" else 1.0
    xs = [start.isoformat() for start, _value in points]
    ys = [round(v * scale, 6) if _finite(v) else None for _start, v in points]
    data: list[dict] = []
    if _finite(target) and xs:
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [xs[0], xs[-1]],
                "y": [target * scale] * 2,
                "line": {"color": COLOURS["target"], "width": 1, "dash": "dot"},
                "hoverinfo": "skip",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "x": xs,
            "y": ys,
            "line": {"color": COLOURS["series"], "width": 1.5},
            "connectgaps": False,
            "hoverinfo": "skip",
        }
    )
    known = [i for i, v in enumerate(ys) if v is not None]
    if known:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [xs[known[-1]]],
                "y": [ys[known[-1]]],
                "marker": {"color": COLOURS["series"], "size": 6},
                "hoverinfo": "skip",
            }
        )
    layout = base_layout(
        "",
        language,
        height=56,
        margin={"l": 2, "r": 6, "t": 4, "b": 4},
        showlegend=False,
        xaxis={"visible": False, "fixedrange": True},
        yaxis={"visible": False, "fixedrange": True, "rangemode": "tozero"},
        hovermode=False,
    )
    result = figure(
        data,
        layout,
        language=language,
        description=_describe(points, kind, period_type, language, title),
    )
    result["config"] = {"staticPlot": True, "displayModeBar": False, "responsive": True}
    return result


def _describe(points, kind: str, period_type: str, language: str, title: str) -> str:
    known = [(start, v) for start, v in points if _finite(v)]
    if not known:
        return _("Ingen udvikling at vise.")
    (first, a), (last, b) = known[0], known[-1]
    text = _("Udvikling fra %(a)s (%(first)s) til %(b)s (%(last)s), %(n)s perioder.") % {
        "a": value_text(a, kind, language),
        "first": period_label(first, period_type, language),
        "b": value_text(b, kind, language),
        "last": period_label(last, period_type, language),
        "n": len(points),
    }
    return f"{title}: {text}" if title else text
