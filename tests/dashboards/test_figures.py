"""The figure builders: plain JSON for plotly.js, Danish notation, every part of an SPC chart."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import translation

from dashboards.figures import common
from dashboards.figures.sparkline import sparkline_figure
from dashboards.figures.spc import spc_figure
from indicators.spc import spc_series

MONTHS = [dt.date(2022 + (m // 12), m % 12 + 1, 1) for m in range(24)]


@pytest.fixture(autouse=True)
def danish():
    with translation.override("da"):
        yield


def p_chart(numerators, denominators=None, **kwargs):
    denominators = denominators or [40] * len(numerators)
    return spc_series(
        MONTHS[: len(numerators)],
        numerators,
        denominators,
        [n / d for n, d in zip(numerators, denominators, strict=True)],
        kind="proportion",
        **kwargs,
    )


def test_numbers_use_the_decimal_comma_in_danish_and_the_point_in_english():
    assert common.number(1234.567, 1) == "1.234,6"
    assert common.number(1234.567, 1, "en") == "1.234,6"  # Danish notation in both languages
    assert common.percent(0.125) == "12,5 %"
    assert common.percent(0.125, language="en") == "12,5%"
    assert common.number(None) == "–" and common.percent(float("nan")) == "–"
    assert common.value_text(6.0, "measure") == "6,0 dage"
    assert common.interval_text(0.1, 0.2) == "95 % KI 10,0–20,0 %"
    assert common.interval_text(None, 0.2) == ""


def test_periods_are_named_in_the_pages_language():
    march = dt.date(2022, 3, 1)
    assert common.period_label(march) == "marts 2022"
    assert common.period_label(march, "month", "en") == "March 2022"
    assert common.period_label(dt.date(2022, 4, 1), "quarter") == "2. kvt. 2022"
    assert common.period_label(dt.date(2022, 4, 1), "quarter", "en") == "Q2 2022"
    assert common.period_label(march, "year") == "2022"
    # The portal's SHORT_DATE_FORMAT (qualityportal/formats), in both languages.
    assert common.date_label(dt.date(2022, 3, 5)) == "05-03-2022"
    assert common.date_label(dt.date(2022, 3, 5), "en") == "05-03-2022"


def test_the_base_layout_carries_the_danish_separators_and_merges_overrides():
    layout = common.base_layout("Titel", "da", xaxis={"type": "date"}, height=300)
    assert layout["separators"] == ",."
    assert layout["title"]["text"] == "Titel"
    assert layout["xaxis"]["type"] == "date" and layout["xaxis"]["gridcolor"]
    assert layout["height"] == 300
    assert common.base_layout("", "en")["separators"] == ",."


def test_the_locale_gives_plotly_danish_month_names():
    locale = common.locale_dictionary()
    assert locale["moduleType"] == "locale" and locale["name"] == "da"
    assert locale["format"]["months"][2] == "marts"
    assert locale["format"]["shortMonths"][9] == "okt"
    assert locale["format"]["decimal"] == ","
    assert common.base_config("da")["locale"] == "da"
    assert common.base_config("en")["locale"] == "en"


def test_an_spc_figure_draws_phases_at_the_change_markers_with_their_labels():
    series = p_chart(
        [12] * 12 + [4] * 12,
        split_dates=[dt.date(2023, 1, 10)],
        labels=["Ny stapler"],
    )
    fig = spc_figure(
        series,
        kind="proportion",
        title="Større komplikation",
        target=0.2,
        national={d: 0.18 for d in MONTHS},
    )
    json.dumps(fig)  # plain JSON, no numpy values
    layout = fig["layout"]
    assert [s["x0"] for s in layout["shapes"]] == ["2022-12-16"]
    texts = [a["text"] for a in layout["annotations"]]
    assert "▼ Ny stapler (jan 2023)" in texts
    assert "Fase 1: centerlinje 30,0 %" in texts
    assert "Fase 2: centerlinje 10,0 %" in texts
    # The centre values are written above the plot, where no point or line crosses them.
    centres = [a for a in layout["annotations"] if a["text"].startswith("Fase ")]
    assert {(a["yref"], a["y"], a["yanchor"]) for a in centres} == {("paper", 1, "bottom")}
    assert centres[0]["x"] == "2022-01-01"  # at the start of its phase
    names = [t.get("name") for t in fig["data"]]
    assert names.count("Kontrolgrænser (3 sigma)") == 4  # upper and lower per phase
    assert "Mål: højst 20,0 %" in names and "Landsplan" in names
    target = next(t for t in fig["data"] if t.get("name") == "Mål: højst 20,0 %")
    assert target["y"] == [20.0, 20.0]  # proportions are drawn in per cent
    points = next(t for t in fig["data"] if t.get("name") == "Månedens værdi")
    assert points["y"][0] == 30.0
    assert "30,0 % (12 af 40)" in points["text"][0]
    assert "Centerlinje 30,0 %" in points["text"][0]
    assert "Fase 2 fra januar 2023: centerlinje 10,0 % (Ny stapler)" in fig["description"]


def test_points_outside_the_limits_are_marked_with_a_symbol_not_only_a_colour():
    series = p_chart([4] * 11 + [30] + [4] * 12)
    assert series.points[11].sigma_signal
    fig = spc_figure(series, kind="proportion", title="X")
    marked = next(t for t in fig["data"] if t.get("name") == "Uden for kontrolgrænserne")
    assert marked["x"] == ["2022-12-01"]
    assert marked["marker"]["symbol"] == "diamond-open"
    # An open symbol is drawn in the marker's colour: transparent would hide it and its legend.
    assert marked["marker"]["color"] == common.COLOURS["signal"]
    points = next(t for t in fig["data"] if t.get("name") == "Månedens værdi")
    assert points["marker"]["symbol"][11] == "diamond"
    assert "Uden for kontrolgrænserne: december 2022." in fig["description"]


def test_a_runs_signal_restyles_the_centre_line_of_its_phase():
    # Twelve points below the centre, twelve above: the longest run exceeds the Anhøj limit.
    series = p_chart([2] * 12 + [8] * 12, chart="run")
    assert series.phases[0].runs_signal
    fig = spc_figure(series, kind="proportion", title="X")
    centre = next(t for t in fig["data"] if t.get("legendgroup") == "cl-runs")
    assert centre["name"] == "Centerlinje, ikke-tilfældig variation"
    assert centre["line"]["dash"] == "dashdot"
    assert "ikke-tilfældig variation (serie-signal)" in fig["description"]


def test_hidden_points_leave_a_gap_and_say_why():
    series = p_chart([3] * 24, [4] * 24)
    fig = spc_figure(series, kind="proportion", title="X", hidden={0, 1})
    points = next(t for t in fig["data"] if t.get("name") == "Månedens værdi")
    assert points["y"][:2] == [None, None] and points["y"][2] == 75.0
    assert "Under 5: vises ikke" in points["text"][0]
    # ... and are marked as hidden at the foot of the plot, never dropped.
    marks = next(t for t in fig["data"] if t.get("meta") == "protected")
    assert marks["x"] == ["2022-01-01", "2022-02-01"] and marks["text"] == ["<5", "<5"]
    assert marks["yaxis"] == "y2" and fig["layout"]["yaxis2"]["range"] == [0, 1]


def test_a_hidden_national_point_is_marked_as_hidden_not_drawn_at_zero():
    series = p_chart([3] * 24, [40] * 24)
    national = {p.period_start: 0.1 for p in series.points}
    hidden = {series.points[5].period_start}
    national[series.points[5].period_start] = None
    fig = spc_figure(
        series, kind="proportion", title="X", national=national, national_hidden=hidden
    )
    line = next(t for t in fig["data"] if t.get("name") == "Landsplan")
    assert line["y"][5] is None and line["y"][4] == 10.0
    marks = next(t for t in fig["data"] if t.get("meta") == "protected")
    assert marks["x"] == [series.points[5].period_start.isoformat()]
    assert marks["name"] == "Landsplan skjult (små tal)"


def test_a_measure_is_drawn_in_days_and_english_when_asked():
    series = spc_series(MONTHS[:6], [None] * 6, [20] * 6, [5, 6, 5, 7, 6, 5], kind="measure")
    with translation.override("en"):
        fig = spc_figure(series, kind="measure", title="Stay", language="en")
    assert fig["layout"]["separators"] == ",."
    assert fig["layout"]["yaxis"]["ticksuffix"] == ""
    points = next(t for t in fig["data"] if t["mode"] == "lines+markers")
    assert points["y"] == [5, 6, 5, 7, 6, 5]
    assert points["text"][0].startswith("<b>January 2022</b>")


def test_a_sparkline_is_static_with_a_text_alternative():
    fig = sparkline_figure(
        [(MONTHS[0], 0.1), (MONTHS[1], None), (MONTHS[2], 0.125)],
        kind="proportion",
        target=0.15,
        title="Større komplikation",
    )
    json.dumps(fig)
    assert fig["config"]["staticPlot"] is True
    line = fig["data"][1]
    assert line["y"] == [10.0, None, 12.5]
    assert fig["data"][-1]["x"] == ["2022-03-01"]  # the latest known value is marked
    assert fig["description"] == (
        "Større komplikation: Udvikling fra 10,0 % (januar 2022) til 12,5 % (marts 2022), "
        "3 perioder."
    )
    assert sparkline_figure([], kind="proportion")["description"] == "Ingen udvikling at vise."
