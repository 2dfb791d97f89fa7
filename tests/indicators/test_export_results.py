"""export_results and recompute: the exact CSV and JSON a hand-made extract gives."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from departments.models import Department
from indicators.models import Result
from indicators.registry.importer import import_path
from indicators.services.definitions import create_department_indicator, set_target
from tests.indicators.indicator_rows import HAND_ROWS, A, B, write_csv

pytestmark = pytest.mark.django_db
HEADER = (
    "department_code,indicator,period_type,period_start,numerator,denominator,missing,value,"
    "ci_low,ci_high"
)


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def export(*args: str) -> list[dict]:
    text, _ = run("export_results", *args)
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def computed(tmp_path, db):
    import_path(write_csv(tmp_path, HAND_ROWS))
    summary, _ = run("recompute")
    return summary


def test_recompute_prints_a_summary(computed):
    assert "dccg: beregning #" in computed and "done" in computed
    assert "11 indikatorer/indicators, 2 afdelinger/departments + ALL" in computed
    assert "(9 rækker/rows)" in computed


def test_recompute_without_an_extract_says_so(db):
    assert "No current extract" in run("recompute")[0]


def test_the_header_and_one_row_per_result(computed):
    text, _ = run("export_results")
    assert text.startswith(HEADER + ",mean,q1,q3,target,target_status\n")
    rows = export()
    assert len(rows) == Result.objects.count()
    assert {r["department_code"] for r in rows} == {"ALL", A, B}
    assert {r["period_type"] for r in rows} == {"month", "quarter", "year"}
    assert rows[0]["department_code"] == "ALL"  # ALL first, then departments by code


def test_hand_counted_rows_exactly(computed):
    rows = {
        (r["department_code"], r["indicator"], r["period_type"], r["period_start"]): r
        for r in export()
    }
    jan = rows[(A, "major_complication", "month", "2023-01-01")]
    assert (jan["numerator"], jan["denominator"], jan["missing"], jan["value"]) == (
        "1",
        "3",
        "1",
        repr(1 / 3),
    )
    assert round(float(jan["ci_low"]), 4) == 0.0615 and round(float(jan["ci_high"]), 4) == 0.7923
    assert (jan["mean"], jan["q1"], jan["q3"], jan["target"], jan["target_status"]) == ("",) * 5
    stay = rows[("ALL", "length_of_stay", "year", "2023-01-01")]
    assert stay == {
        "department_code": "ALL",
        "indicator": "length_of_stay",
        "period_type": "year",
        "period_start": "2023-01-01",
        "numerator": "",
        "denominator": "7",
        "missing": "1",
        "value": "10.0",
        "ci_low": "3.0",
        "ci_high": "15.0",
        "mean": repr(62 / 7),
        "q1": "6.0",
        "q3": "11.0",
        "target": "",
        "target_status": "",
    }
    readmission = rows[(A, "readmission_30d", "quarter", "2023-01-01")]
    assert (readmission["numerator"], readmission["denominator"], readmission["missing"]) == (
        "2",
        "4",
        "1",
    )
    assert (B, "anastomotic_leak", "month", "2023-04-01") not in rows  # no one in the population


def test_floats_are_written_at_full_precision(computed):
    stored = {
        r.pk: r
        for r in Result.objects.filter(ci_low__isnull=False).select_related("definition")[:50]
    }
    by_key = {
        (r["indicator"], r["department_code"], r["period_type"], r["period_start"]): r
        for r in export()
    }
    for result in stored.values():
        code = result.department.code if result.department else "ALL"
        row = by_key[
            (result.definition.slug, code, result.period_type, result.period_start.isoformat())
        ]
        assert row["ci_low"] == repr(result.ci_low) and float(row["ci_low"]) == result.ci_low
        assert row["ci_high"] == repr(result.ci_high)


def test_filters(computed):
    years = export("--period", "year")
    assert years and {r["period_type"] for r in years} == {"year"}
    national = export("--department", "ALL", "--indicator", "mortality_30d")
    assert {(r["department_code"], r["indicator"]) for r in national} == {("ALL", "mortality_30d")}
    assert {r["department_code"] for r in export("--department", B)} == {B}
    with pytest.raises(CommandError, match="Unknown department"):
        export("--department", "0000000")
    with pytest.raises(CommandError, match="Unknown indicator"):
        export("--indicator", "nope")


def test_json_holds_the_same_as_csv(computed):
    text, _ = run("export_results", "--format", "json", "--period", "quarter")
    data = json.loads(text)
    rows = export("--period", "quarter")
    assert len(data) == len(rows)
    first = data[0]
    assert list(first) == [*HEADER.split(","), "mean", "q1", "q3", "target", "target_status"]
    assert str(first["denominator"]) == rows[0]["denominator"]
    measure = next(r for r in data if r["indicator"] == "length_of_stay")
    assert measure["numerator"] is None and isinstance(measure["value"], float)


def test_targets_and_own_indicators_are_exported(
    computed, eager_tasks, django_capture_on_commit_callbacks
):
    department = Department.objects.get(code=A)
    with django_capture_on_commit_callbacks(execute=True):
        set_target(department, Result.objects.first().definition, 0.5)
        create_department_indicator(
            department,
            name_da="Lækage efter rektumkirurgi",
            name_en="Leak after rectal surgery",
            slug="leak-rectum",
            population={
                "all": [
                    {"field": "anastomosis", "op": "eq", "value": True},
                    {"field": "site", "op": "eq", "value": "rektum"},
                ]
            },
            missing={"field": "anastomotic_leak", "op": "blank"},
            event={"field": "anastomotic_leak", "op": "eq", "value": True},
        )
    own = export("--indicator", "leak-rectum", "--period", "year")
    # A department's own indicator: its department only, no national pool (docs/privacy.md).
    assert [(r["department_code"], r["numerator"], r["denominator"]) for r in own] == [
        (A, "1", "1"),
    ]
    first = Result.objects.first().definition.slug
    targeted = [r for r in export("--department", A) if r["target"]]
    assert {r["target"] for r in targeted if r["indicator"] == first} == {"0.5"}
    # The others carry DCCG's published standards, where one is set.
    standards = {"anastomotic_leak_colon": "0.03", "mortality_30d_elective": "0.02"}
    for slug, target in standards.items():
        assert {r["target"] for r in targeted if r["indicator"] == slug} <= {target}
    assert {r["target_status"] for r in targeted} <= {"met", "not_met", "not_shown"}


def test_no_results_yet_gives_the_header_only_and_a_note(db):
    text, err = run("export_results")
    assert text.strip().split(",")[:10] == HEADER.split(",") and "No computed results" in err


def test_results_of_an_older_extract_come_with_a_warning(computed, tmp_path):
    import_path(write_csv(tmp_path, HAND_ROWS[:3], "newer.csv"))
    _, err = run("export_results")
    assert "earlier extract" in err
