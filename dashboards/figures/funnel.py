"""A funnel plot as a plain plotly figure: each department's proportion against its denominator,
inside the 95 % and 99.8 % limits around the national proportion (indicators.funnel).

Outside a department small numbers are hidden (indicators.disclosure): a department whose
numerator or denominator is 1 to 4 has no point at its proportion, which its position would give
away. It is drawn as an open triangle along the bottom edge (at its denominator when that may be
shown) whose hover text says "<5" and that the proportion is hidden, and its position against
the limits is not told either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from dashboards.figures.common import COLOURS, base_layout, figure
from indicators.funnel import METHOD_DA, METHOD_EN, funnel_from_counts
from qualityportal.formatting import (
    ci_label,
    count_text,
    is_danish,
    percent,
    percent_sign,
    range_text,
)


@dataclass(frozen=True)
class FunnelRow:
    """One department in the funnel: exact counts (for the limits) and the row as shown."""

    code: str
    name: str
    place: str  # hospital (and region), for the hover text
    url: str
    numerator: int
    denominator: int
    shown: dict  # numerator, denominator, value, ci_low, ci_high after suppression

    @property
    def hidden(self) -> bool:
        return self.shown.get("value") is None


OUTSIDE = {
    "within": "within",
    "above_95": "outside_95",
    "below_95": "outside_95",
    "above_998": "outside_998",
    "below_998": "outside_998",
}


def position_label(position: str) -> str:
    return {
        "within": _("inden for grænserne"),
        "above_95": _("over 95 %%-grænsen") % {},
        "below_95": _("under 95 %%-grænsen") % {},
        "above_998": _("over 99,8 %%-grænsen") % {},
        "below_998": _("under 99,8 %%-grænsen") % {},
    }.get(position, "")


def method_text(language: str | None) -> str:
    return METHOD_DA if is_danish(language) else METHOD_EN


def funnel_figure(
    *,
    name: str,
    period: str,
    national: tuple[int, int],
    rows: Sequence[FunnelRow],
    language: str | None = "da",
    filename: str = "tragtplot",
) -> tuple[dict, list[dict]] | None:
    """(the figure, the table beneath it) or None when there is no national denominator.

    The limits come from the exact counts in scope (so the curve reaches the largest
    denominator that may be shown); only the points that may be shown are placed by their
    proportion.
    """
    national_numerator, national_denominator = national
    if not national_denominator:
        return None
    counted = [r for r in rows if r.denominator > 0]
    # A denominator of 1 to 4 may not be shown, so it places nothing: not even the curve's end.
    placed = [r for r in counted if r.shown.get("denominator") != "<5"]
    funnel = funnel_from_counts(
        [r.code for r in placed],
        [r.numerator for r in placed],
        [r.denominator for r in placed],
        national_numerator,
        national_denominator,
    )
    position = {p.key: p.position for p in funnel.points}
    p0 = funnel.p0
    data = _limit_traces(funnel, p0, language)
    table = []
    # High and low apart: a triangle pointing the way, warm above and cool below the limits, and
    # an outlier labelled with its department's name on the plot itself.
    for group, (label, symbol, colour) in _groups().items():
        members = [r for r in counted if not r.hidden and position[r.code] == group]
        if members:
            trace = _point_trace(members, position, label, symbol, colour, language)
            if group != "within":
                trace["mode"] = "markers+text"
                trace["text"] = [_short(r.name) for r in members]
                trace["textposition"] = (
                    "top center" if group.startswith("above") else "bottom center"
                )
                trace["textfont"] = {"size": 10, "color": colour}
            data.append(trace)
    hidden = [r for r in rows if r.hidden and r.denominator > 0]
    if hidden:
        data.append(_hidden_trace(hidden, language))
    for r in sorted(counted, key=lambda r: r.name):
        table.append(
            {
                "name": r.name,
                "code": r.code,
                "url": r.url,
                "numerator": count_text(r.shown.get("numerator"), language),
                "denominator": count_text(r.shown.get("denominator"), language),
                "value": percent(r.shown["value"], 1, language) if not r.hidden else "–",
                "position": position_label(position[r.code]) if not r.hidden else _("skjult"),
                "position_key": position[r.code] if not r.hidden else "",
            }
        )
    shown_values = [r.shown["value"] for r in counted if not r.hidden]
    top = max([*shown_values, p0]) * 100
    largest = max([r.denominator for r in placed] or [10])
    suffix = percent_sign(language)
    title = f"{name} · {period}"
    yaxis = {"title": {"text": _("Andel")}, "ticksuffix": suffix, "range": [0, max(top * 1.35, 1)]}
    xaxis = {
        "title": {"text": _("Antal operationer (nævner)")},
        "range": [0, largest * 1.08],
        "rangemode": "tozero",
    }
    strip = {}
    if hidden:
        # The hidden departments get a strip of their own under the plot, so a triangle there
        # can never be read as a proportion near 0 %.
        yaxis["domain"] = [0.16, 1]
        xaxis["anchor"] = "y2"
        strip = {
            "yaxis2": {
                "domain": [0, 0.09],
                "range": [0, 1],
                "tickvals": [0.5],
                "ticktext": ["<5"],
                "showgrid": False,
                "zeroline": False,
                "fixedrange": True,
                "linecolor": COLOURS["line"],
            }
        }
    layout = base_layout(
        title,
        language,
        height=420,
        xaxis=xaxis,
        yaxis=yaxis,
        legend={"orientation": "h", "x": 0, "y": -0.25, "font": {"size": 11}},
        margin={"l": 56, "r": 16, "t": 48, "b": 56},
        **strip,
    )
    description = _describe(name, period, p0, counted, position, hidden, language)
    return (
        figure(data, layout, language=language, filename=filename, description=description),
        table,
    )


def _limit_traces(funnel, p0: float, language) -> list[dict]:
    x = funnel.curve_n
    traces = []
    styles = {
        0.998: (_("99,8 %%-grænser") % {}, "dash", COLOURS["limit"]),
        0.95: (_("95 %%-grænser") % {}, "dot", COLOURS["limit"]),
    }
    for level, (label, dash, colour) in styles.items():
        lower, upper = funnel.curve[level]
        for i, values in enumerate((upper, lower)):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": label,
                    "legendgroup": str(level),
                    "showlegend": i == 0,
                    "x": x,
                    "y": [round(v * 100, 4) for v in values],
                    "line": {"color": colour, "dash": dash, "width": 1.5},
                    "hoverinfo": "skip",
                }
            )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": _("Landsandel %(value)s") % {"value": percent(p0, 1, language)},
            "x": [0, x[-1]],
            "y": [round(p0 * 100, 4)] * 2,
            "line": {"color": COLOURS["national"], "width": 1.5},
            "hoverinfo": "skip",
        }
    )
    return traces


def _groups() -> dict[str, tuple[str, str, str]]:
    return {
        "within": (_("Inden for grænserne"), "circle", COLOURS["brand"]),
        "above_95": (_("Over 95 %%-grænsen (højt)") % {}, "triangle-up", COLOURS["warn"]),
        "above_998": (_("Over 99,8 %%-grænsen (højt)") % {}, "triangle-up", COLOURS["bad"]),
        "below_95": (_("Under 95 %%-grænsen (lavt)") % {}, "triangle-down", COLOURS["low"]),
        "below_998": (
            _("Under 99,8 %%-grænsen (lavt)") % {},
            "triangle-down",
            COLOURS["very_low"],
        ),
    }


def _short(name: str) -> str:
    """A department's name short enough to stand beside its point."""
    return name if len(name) <= 28 else name[:27] + "…"


def _point_trace(members, position, label, symbol, colour, language) -> dict:
    texts = []
    for r in members:
        interval = range_text(r.shown.get("ci_low"), r.shown.get("ci_high"), "proportion", language)
        texts.append(
            f"<b>{r.name}</b><br>{r.place}<br>"
            f"{_('Andel')}: {percent(r.shown['value'], 1, language)}"
            + (f" ({ci_label(language)} {interval})" if interval else "")
            + "<br>"
            + _("%(numerator)s af %(denominator)s operationer")
            % {
                "numerator": count_text(r.shown.get("numerator"), language),
                "denominator": count_text(r.shown.get("denominator"), language),
            }
            + f"<br>{position_label(position[r.code]).capitalize()}"
        )
    return {
        "type": "scatter",
        "mode": "markers",
        "name": label,
        "x": [r.denominator for r in members],
        "y": [round(r.shown["value"] * 100, 4) for r in members],
        "text": texts,
        "hovertext": texts,
        "customdata": [r.url for r in members],
        "hovertemplate": "%{hovertext}<extra></extra>",
        "marker": {"symbol": symbol, "size": 11, "color": colour, "line": {"width": 1}},
    }


def _hidden_trace(hidden, language) -> dict:
    texts = []
    x = []
    for r in hidden:
        small_denominator = r.shown.get("denominator") == "<5"
        x.append(0 if small_denominator else r.denominator)
        counts = _("%(numerator)s af %(denominator)s operationer") % {
            "numerator": count_text(r.shown.get("numerator"), language),
            "denominator": count_text(r.shown.get("denominator"), language),
        }
        texts.append(
            f"<b>{r.name}</b><br>{r.place}<br>{counts}<br>"
            + _("Andel og interval skjult: færre end 5.")
        )
    return {
        "type": "scatter",
        "mode": "markers",
        "name": _("Færre end 5 (andel skjult)"),
        "x": x,
        "y": [0.5] * len(hidden),
        "yaxis": "y2",
        "text": texts,
        "customdata": [r.url for r in hidden],
        "hovertemplate": "%{text}<extra></extra>",
        "marker": {"symbol": "triangle-up-open", "size": 10, "color": COLOURS["muted"]},
    }


def _describe(name, period, p0, counted, position, hidden, language) -> str:
    def names(*positions: str) -> str:
        found = [r.name for r in counted if not r.hidden and position[r.code] in positions]
        return ", ".join(found) if found else _("ingen")

    text = _(
        "Tragtplot af %(name)s, %(period)s: %(count)s afdelinger mod landsandelen %(p0)s. "
        "Over 99,8 %%-grænsen: %(above)s. Under 99,8 %%-grænsen: %(below)s. "
        "Uden for 95 %%-grænsen i øvrigt: %(outside)s."
    ) % {
        "name": name,
        "period": period,
        "count": len(counted),
        "p0": percent(p0, 1, language),
        "above": names("above_998"),
        "below": names("below_998"),
        "outside": names("above_95", "below_95"),
    }
    if hidden:
        text += " " + _("%(count)s afdelinger har færre end 5 og vises uden andel.") % {
            "count": len(hidden)
        }
    return text.replace(" %", "\u00a0%")
