"""export_spc and the SPC builder: qicharts2's reference values through the command, phases at
change markers, run charts of a measure, and clear refusals."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from departments.models import Department, Hospital
from indicators.models import ChangeMarker, Computation, IndicatorDefinition, Registry, Result
from indicators.registry import synthetic
from indicators.registry.importer import import_path
from indicators.services import computations
from indicators.services.definitions import add_change_marker
from indicators.spc import spc_series, split_indices

pytestmark = pytest.mark.django_db
REFERENCE = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "spc-examples.json").read_text()
)
TOL = 1e-9  # the reference has 12 decimals


def months(n: int, first: dt.date = dt.date(2020, 1, 1)) -> list[dt.date]:
    return [
        dt.date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
        for i in range(n)
    ]


def export_spc(*args: str) -> dict:
    out = io.StringIO()
    call_command("export_spc", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def department() -> Department:
    hospital = Hospital.objects.create(code="9999", name="Testsygehus")
    return Department.objects.create(code="9999001", name="Testafdeling", hospital=hospital)


@pytest.fixture
def computation() -> Computation:
    registry = Registry.objects.get(slug="dccg")
    return Computation.objects.create(registry=registry, status="done", is_current=True)


def store_series(computation, department, slug, numerators, denominators, values=None):
    definition = IndicatorDefinition.objects.get(slug=slug)
    Result.objects.bulk_create(
        Result(
            computation=computation,
            definition=definition,
            department=department,
            period_type="month",
            period_start=start,
            numerator=None if values else x,
            denominator=n,
            missing=0,
            value=values[i] if values else (x / n if n else None),
        )
        for i, (start, x, n) in enumerate(
            zip(months(len(denominators)), numerators, denominators, strict=True)
        )
    )
    return definition


def close(actual, expected) -> bool:
    if expected is None:
        return actual is None
    return actual is not None and abs(actual - expected) <= TOL


@pytest.mark.parametrize("series", REFERENCE, ids=lambda s: f"{s['name']}-{s['chart']}")
def test_export_spc_reproduces_qicharts2(series, computation, department):
    store_series(
        computation, department, "major_complication", series["numerator"], series["denominator"]
    )
    args = [
        "--department",
        department.code,
        "--indicator",
        "major_complication",
        "--chart",
        series["chart"],
    ]
    starts = months(len(series["denominator"]))
    if series["part"]:
        args += ["--split", starts[series["part"]].isoformat()]
    if series["freeze"]:
        args += ["--freeze", str(series["freeze"])]
    chart = export_spc(*args)
    points = chart["points"]
    assert [p["period_start"] for p in points] == [s.isoformat() for s in starts]
    for i, point in enumerate(points):
        assert close(point["cl"], series["cl"][i]), i
        assert close(point["lcl"], series["lcl"][i]), i
        assert close(point["ucl"], series["ucl"][i]), i
        assert point["sigma_signal"] == series["sigma_signal"][i], i
        assert point["numerator"] == series["numerator"][i]
        assert point["denominator"] == series["denominator"][i]
        assert point["phase"] == (1 if series["part"] and i >= series["part"] else 0)
    expected = series["phases"]
    assert len(chart["phases"]) == len(expected["cl"])
    for k, phase in enumerate(chart["phases"]):
        assert close(phase["cl"], expected["cl"][k])
        for name in (
            "n_useful",
            "longest_run",
            "longest_run_max",
            "n_crossings",
            "n_crossings_min",
            "runs_signal",
        ):
            assert phase[name] == expected[name][k], (name, k)
    assert set(chart) == {"points", "phases"}
    assert set(points[0]) == {
        "period_start",
        "value",
        "numerator",
        "denominator",
        "cl",
        "lcl",
        "ucl",
        "phase",
        "sigma_signal",
    }
    assert set(chart["phases"][0]) == {
        "start",
        "cl",
        "n_useful",
        "longest_run",
        "longest_run_max",
        "n_crossings",
        "n_crossings_min",
        "runs_signal",
    }


def test_change_markers_split_the_chart_and_split_replaces_them(computation, department):
    series = next(s for s in REFERENCE if s["name"] == "shift_split_at_15" and s["chart"] == "p")
    definition = store_series(
        computation, department, "major_complication", series["numerator"], series["denominator"]
    )
    starts = months(30)
    other = IndicatorDefinition.objects.get(slug="mortality_30d")
    marker = ChangeMarker.objects.create(
        department=department, date=starts[15] + dt.timedelta(9), label="Ny stapler"
    )
    ChangeMarker.objects.create(department=department, date=starts[20], label="Kun dødelighed")
    ChangeMarker.objects.get(label="Kun dødelighed").definitions.add(other)
    args = ["--department", department.code, "--indicator", "major_complication"]
    chart = export_spc(*args)  # a p-chart by default for a proportion
    assert [p["start"] for p in chart["phases"]] == [starts[0].isoformat(), starts[15].isoformat()]
    assert abs(chart["phases"][1]["cl"] - series["phases"]["cl"][1]) < TOL
    assert chart["points"][0]["lcl"] is not None
    assert len(export_spc(*args, "--split")["phases"]) == 1  # no dates: no phases
    assert len(export_spc(*args, "--split", "2021-03-01", "2021-06-15")["phases"]) == 3
    from indicators.spc import build_spc

    built = build_spc(definition, department)
    assert built.phases[1].labels == (marker.label,)


def test_splits_are_month_points_and_outside_dates_are_dropped():
    starts = months(6)
    dates = [
        dt.date(2019, 5, 1),
        starts[0],
        starts[2] + dt.timedelta(20),
        starts[2],
        dt.date(2030, 1, 1),
    ]
    assert split_indices(starts, dates) == [2]


def test_a_measure_gets_a_run_chart_of_its_monthly_medians(computation, department):
    medians = [5.0, 6.0, 5.5, 7.0, 6.0, 4.0, 4.5, 4.0, 3.5, 4.0]
    store_series(computation, department, "length_of_stay", [None] * 10, [20] * 10, medians)
    chart = export_spc(
        "--department",
        department.code,
        "--indicator",
        "length_of_stay",
        "--split",
        months(10)[5].isoformat(),
    )
    assert [p["value"] for p in chart["points"]] == medians
    assert all(p["numerator"] is None and p["lcl"] is None for p in chart["points"])
    assert [ph["cl"] for ph in chart["phases"]] == [6.0, 4.0]
    assert chart["phases"][1]["n_useful"] == 2  # the three points on the median are not useful
    with pytest.raises(CommandError, match="p-chart needs a proportion"):
        export_spc("--department", department.code, "--indicator", "length_of_stay", "--chart", "p")


def test_refusals_are_clear(computation, department):
    with pytest.raises(CommandError, match="Unknown department"):
        export_spc("--department", "0000000", "--indicator", "major_complication")
    with pytest.raises(CommandError, match="Unknown indicator"):
        export_spc("--department", department.code, "--indicator", "nope")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        export_spc(
            "--department",
            department.code,
            "--indicator",
            "major_complication",
            "--split",
            "01-03-2022",
        )
    with pytest.raises(CommandError, match="freeze must be at least 1"):
        export_spc(
            "--department", department.code, "--indicator", "major_complication", "--freeze", "0"
        )
    Computation.objects.update(is_current=False)
    with pytest.raises(CommandError, match="No results yet"):
        export_spc("--department", department.code, "--indicator", "major_complication")


def test_an_empty_series_prints_empty_lists(computation, department):
    chart = export_spc("--department", department.code, "--indicator", "anastomotic_leak")
    assert chart == {"points": [], "phases": []}


def test_the_synthetic_change_shows_as_a_lower_second_phase(tmp_path):
    path = tmp_path / "synthetic.csv"
    synthetic.write_extract(synthetic.generate_frame(30_000, seed=11), path)
    registry = import_path(path).extract.registry
    assert computations.recompute(registry, reason="test").status == "done"
    department = Department.objects.get(code=synthetic.CHANGE_DEPARTMENT)
    major = IndicatorDefinition.objects.get(slug="major_complication")
    add_change_marker(
        department, date=synthetic.CHANGE_DATE, label=synthetic.CHANGE_LABEL, definitions=[major]
    )
    chart = export_spc("--department", department.code, "--indicator", "major_complication")
    before, after = chart["phases"]
    assert after["start"] == synthetic.CHANGE_DATE.isoformat()
    assert after["cl"] < before["cl"] * 0.75
    national = export_spc("--department", "ALL", "--indicator", "major_complication")
    assert len(national["phases"]) == 1 and len(national["points"]) == len(chart["points"])


def test_the_pure_builder_refuses_an_unknown_chart():
    with pytest.raises(ValueError, match="Unknown chart type"):
        spc_series([dt.date(2020, 1, 1)], [1], [2], [0.5], kind="proportion", chart="xbar")
