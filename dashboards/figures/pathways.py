"""The run chart of a package's pathway times: the share within the standard time per quarter,
one line per region or hospital, with the standard's target as a dashed line if the profile
sets one. Plain dicts for plotly.js (json_script)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from dashboards.figures.common import base_layout, figure
from dashboards.figures.trend import line_trace
from qualityportal.formatting import percent, percent_sign, period_label


def pathway_figure(package, language: str | None, slug: str, target: float | None = None) -> dict:
    data = []
    for index, group in enumerate(package.groups):
        x, y, texts = [], [], []
        for quarter in package.quarters:
            cell = package.cells.get((group, quarter))
            x.append(quarter.isoformat())
            share = None if cell is None or cell.share is None else cell.share
            y.append(None if share is None else round(share * 100, 4))
            label = period_label(quarter, "quarter", language)
            shown = "–" if share is None else percent(share, 1, language)
            count = 0 if cell is None else cell.treated
            texts.append(f"<b>{group}</b><br>{label}: {shown} ({count})")
        data.append(line_trace(group, x, y, texts, index))
    shapes = []
    if target is not None:
        shapes.append(
            {
                "type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                "y0": target * 100, "y1": target * 100,
                "line": {"dash": "dash", "color": "#8a5a00", "width": 1.5},
            }
        )  # fmt: skip
    title = _("%(package)s: forløb inden for standardforløbstiden pr. kvartal") % {
        "package": package.name
    }
    layout = base_layout(
        title,
        language,
        height=360,
        hovermode="closest",
        shapes=shapes,
        xaxis={
            "type": "date",
            "dtick": "M3",
            "tickformat": "%Y-%m",
            "title": {"text": _("Kvartal")},
        },
        yaxis={
            "title": {"text": _("Andel inden for standardforløbstiden")},
            "ticksuffix": percent_sign(language),
            "range": [0, 100],
        },
        legend={"orientation": "h", "x": 0, "y": -0.25, "font": {"size": 11}},
    )
    description = _(
        "Andelen af %(package)s-forløb inden for standardforløbstiden pr. kvartal, én linje pr. "
        "gruppe (%(groups)s)."
    ) % {"package": package.name, "groups": ", ".join(package.groups)}
    return figure(
        data, layout, language=language, filename=f"forloebstider-{slug}", description=description
    )
