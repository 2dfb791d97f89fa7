"""Recomputing: the service and task against the real PostgreSQL — every result, partial
recomputes, the atomic swap, failures and repeated deliveries."""

from __future__ import annotations

import math

import pandas as pd
import psycopg
import pytest
from django.db import connection

from departments.models import Department
from indicators import engine
from indicators.models import Computation, Extract, IndicatorDefinition, Registry, Result
from indicators.registry.importer import import_path
from indicators.services import computations, definitions
from indicators.services.rows import Source, _read_plain, _read_postgres, read_rows
from indicators.tasks import queue_recompute, recompute_task
from tests.indicators.indicator_rows import (
    FIELDS,
    HAND_ROWS,
    A,
    B,
    ensure_standard_definitions,
    frame,
    write_csv,
)

pytestmark = pytest.mark.django_db
NUMBERS = ["numerator", "denominator", "missing", "value", "ci_low", "ci_high", "mean", "q1", "q3",
           "target"]  # fmt: skip
VALUES = ["definition__slug", "department__code", "period_type", "period_start", *NUMBERS,
          "target_status"]  # fmt: skip
S = Computation.Status


def results(computation: Computation) -> set[tuple]:
    rows = Result.objects.filter(computation=computation).values_list(*VALUES)
    # NaN never reaches the table (it is NULL), so plain tuple equality is exact.
    return set(rows)


@pytest.fixture
def extract(tmp_path, db) -> Extract:
    return import_path(write_csv(tmp_path, HAND_ROWS)).extract


@pytest.fixture
def registry(extract) -> Registry:
    return extract.registry


@pytest.fixture
def first(registry) -> Computation:
    computation = computations.recompute(registry, reason="test")
    assert computation.status == S.DONE, computation.error_en
    return computation


def definition(slug: str) -> IndicatorDefinition:
    return IndicatorDefinition.objects.get(slug=slug)


def test_the_standard_definitions_are_there_as_indicators_md_says(db):
    standard = IndicatorDefinition.objects.filter(department=None, profile="dccg")
    standard = standard.order_by("position")
    assert [(d.slug, d.name_da, d.name_en, d.kind) for d in standard] == [
        ("major_complication", "Større komplikation", "Major complication", "proportion"),
        ("anastomotic_leak", "Anastomoselækage", "Anastomotic leak", "proportion"),
        (
            "reoperation_30d",
            "Reoperation inden for 30 dage",
            "Reoperation within 30 days",
            "proportion",
        ),
        ("mortality_30d", "30-dages dødelighed", "30-day mortality", "proportion"),
        ("prolonged_stay", "Forlænget indlæggelse", "Prolonged stay", "proportion"),
        (
            "readmission_30d",
            "Genindlæggelse inden for 30 dage",
            "Readmission within 30 days",
            "proportion",
        ),
        ("length_of_stay", "Postoperativ liggetid", "Postoperative length of stay", "measure"),
        (
            "anastomotic_leak_colon",
            "Anastomoselækage efter koloncancer",
            "Anastomotic leak after colon cancer surgery",
            "proportion",
        ),
        (
            "anastomotic_leak_rectum",
            "Anastomoselækage efter rektumcancer",
            "Anastomotic leak after rectal cancer surgery",
            "proportion",
        ),
        (
            "mortality_30d_elective",
            "30-dages dødelighed efter elektiv operation",
            "30-day mortality after elective surgery",
            "proportion",
        ),
        (
            "mortality_90d_elective",
            "90-dages dødelighed efter elektiv operation",
            "90-day mortality after elective surgery",
            "proportion",
        ),
    ]
    # DCCG's published standards are the default targets; the seven of 0003 have none.
    targets = {
        "anastomotic_leak_colon": 0.03,
        "anastomotic_leak_rectum": 0.10,
        "mortality_30d_elective": 0.02,
        "mortality_90d_elective": 0.03,
    }
    for d in standard:
        assert (d.direction, d.default_target, d.min_denominator, d.is_active) == (
            "lower",
            targets.get(d.slug),
            5,
            True,
        )
        assert d.rule_errors() == {}
    assert definition("anastomotic_leak_rectum").population == {
        "all": [
            {"field": "anastomosis", "op": "eq", "value": True},
            {"field": "site", "op": "eq", "value": "rektum"},
        ]
    }
    assert definition("mortality_90d_elective").event == {
        "days": ["operation_date", "death_date"],
        "op": "le",
        "value": 90,
    }
    assert definition("prolonged_stay").event["op"] == "gt"
    assert definition("readmission_30d").event == {
        "days": ["discharge_date", "readmission_date"],
        "op": "le",
        "value": 30,
    }


def test_recompute_writes_every_result_exactly_as_the_engine_computes_it(first, extract):
    ids = {code: Department.objects.get(code=code).pk for code in (A, B)}
    dccg = IndicatorDefinition.objects.filter(profile="dccg").order_by("pk")
    specs = [computations.spec_of(d) for d in dccg]
    expected = engine.compute_results(frame(HAND_ROWS, ids), specs)
    stored = pd.DataFrame.from_records(
        Result.objects.filter(computation=first).values(*engine.RESULT_COLUMNS)
    )
    assert first.is_current and first.extract == extract and first.result_count == len(expected)
    key = ["definition_id", "department_id", "period_type", "period_start"]
    expected["department_id"] = expected["department_id"].astype(object)
    stored["period_start"] = pd.to_datetime(stored["period_start"])
    merged = expected.merge(stored, on=key, how="outer", suffixes=("", "_db"), indicator=True)
    assert (merged["_merge"] == "both").all()
    for name in NUMBERS:
        for want, got in zip(merged[name], merged[f"{name}_db"], strict=True):
            if pd.isna(want):
                assert got is None or (isinstance(got, float) and math.isnan(got))
            else:
                assert want == got  # bit for bit: floats go through COPY as repr()
    assert set(first.timings) >= {"read", "compute", "write", "rows"}


def test_rows_read_with_copy_equal_rows_read_with_plain_sql(extract, postgres):
    names = sorted(FIELDS)
    table = "registry_dccg"
    fast = _read_postgres(table, extract.pk, names, FIELDS, None)
    plain = _read_plain(table, extract.pk, names, FIELDS, None)
    pd.testing.assert_frame_equal(fast, plain, check_categorical=True)
    source = Source.of("dccg")
    first_department = [fast.department_id.iloc[0]]
    one = read_rows(source, extract.pk, ["site"], department_ids=first_department)
    assert len(one) == len(fast[fast.department_id == fast.department_id.iloc[0]])


def test_results_written_without_copy_equal_those_written_with_it(first, registry, postgres):
    other = computations.create_computation(registry, reason="bulk")
    table = pd.DataFrame.from_records(
        Result.objects.filter(computation=first).values(*computations._RESULT_FIELDS[1:])
    ).assign(computation_id=other.pk)[computations._RESULT_FIELDS]
    computations._insert_rows(table)
    assert results(other) == results(first)


def test_a_target_change_recomputes_only_that_department_and_indicator(
    first, django_capture_on_commit_callbacks, eager_tasks
):
    dept, major = Department.objects.get(code=A), definition("major_complication")
    with django_capture_on_commit_callbacks(execute=True):
        definitions.set_target(dept, major, 0.05)
    second = Computation.objects.get(is_current=True)
    assert second.pk != first.pk and second.base == first
    assert second.scope == {"departments": [dept.pk], "definitions": [major.pk]}
    assert second.timings["rows"] == 6  # only department A's rows were read
    changed = results(second) - results(first)
    assert changed and {(r[0], r[1]) for r in changed} == {("major_complication", A)}
    assert all(r[-2] == 0.05 for r in changed)
    assert len(results(second)) == len(results(first))
    quarter = Result.objects.get(
        computation=second, department=dept, definition=major, period_type="quarter"
    )
    assert quarter.target_status == "not_met"  # 3/5, interval wholly above 5 %


def test_a_definition_change_recomputes_that_definition_everywhere(
    first, django_capture_on_commit_callbacks, eager_tasks
):
    major = definition("major_complication")
    major.event = {"field": "clavien_dindo", "op": "eq", "value": "V"}
    with django_capture_on_commit_callbacks(execute=True):
        definitions.save_definition(major)
    second = Computation.objects.get(is_current=True)
    assert second.scope == {"definitions": [major.pk]}
    changed = results(second) - results(first)
    assert {r[0] for r in changed} == {"major_complication"}
    assert {r[1] for r in changed} == {A, B, None}
    year = Result.objects.get(
        computation=second,
        definition=major,
        department=None,
        period_type="year",
        period_start="2023-01-01",
    )
    assert (year.numerator, year.denominator) == (1, 7)


def test_an_invalid_definition_is_refused_before_it_is_saved(first):
    major = definition("major_complication")
    major.event = {"field": "clavien_dindo", "op": "eq", "value": "VI"}
    before = Computation.objects.count()
    with pytest.raises(Exception, match="VI"):
        definitions.save_definition(major)
    assert definition("major_complication").event["op"] == "in"
    assert Computation.objects.count() == before


def test_a_failed_computation_leaves_the_previous_results_current(first, registry, postgres):
    before = results(first)
    # A rule broken behind the service's back (say, by hand in the database).
    IndicatorDefinition.objects.filter(slug="anastomotic_leak").update(
        event={"field": "leakage", "op": "eq", "value": True}
    )
    failed = computations.recompute(registry, reason="test")
    assert failed.status == S.FAILED and failed.progress == 100 and not failed.is_current
    assert "anastomotic_leak.event.field" in failed.error_en and "leakage" in failed.error_da
    assert Computation.objects.get(is_current=True) == first
    assert results(first) == before
    assert not Result.objects.filter(computation=failed).exists()


def test_a_failure_while_writing_rolls_back_the_whole_computation(
    first, registry, monkeypatch, postgres
):
    before = results(first)

    def broken_copy(*args):
        raise psycopg.errors.DiskFull("no space left")

    monkeypatch.setattr(computations, "_copy_results", broken_copy)
    failed = computations.recompute(
        registry, reason="t", departments=[first.results.first().department_id]
    )
    # A failure that may pass goes back to the queue (beat sends it again), three times at most.
    assert failed.status == S.QUEUED and failed.attempts == 1 and "DiskFull" in failed.error_en
    assert not Result.objects.filter(computation=failed).exists()  # its COPY was rolled back
    assert Computation.objects.get(is_current=True) == first and results(first) == before
    assert computations.run_computation(failed.pk).status == S.QUEUED
    last = computations.run_computation(failed.pk)
    assert last.status == S.FAILED and last.attempts == 3 and last.progress == 100
    assert Computation.objects.get(is_current=True) == first and results(first) == before


def test_a_failed_recompute_is_retried_and_then_succeeds(first, registry, monkeypatch, postgres):
    real_copy, calls = computations._copy_results, []

    def flaky_copy(*args):
        calls.append(1)
        if len(calls) == 1:
            raise psycopg.errors.AdminShutdown("the server restarted")
        return real_copy(*args)

    monkeypatch.setattr(computations, "_copy_results", flaky_copy)
    department = first.results.exclude(department=None).first().department_id
    retried = computations.recompute(registry, reason="t", departments=[department])
    assert retried.status == S.QUEUED
    done = computations.run_computation(retried.pk)  # as beat's requeue_stale would send it
    assert done.status == S.DONE and done.is_current and done.attempts == 1


def test_a_computation_delivered_twice_changes_nothing(
    registry, django_capture_on_commit_callbacks, eager_tasks, postgres
):
    before = Computation.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queued = queue_recompute(registry.pk, reason="import")
        assert Computation.objects.get(pk=queued.pk).status == S.QUEUED  # not before commit
    assert len(callbacks) == 1
    done = Computation.objects.get(pk=queued.pk)
    assert done.status == S.DONE and done.is_current
    ids = set(Result.objects.filter(computation=done).values_list("pk", flat=True))
    again = recompute_task.apply(args=[queued.pk]).get()
    assert again == {"computation": queued.pk, "status": "done"}
    computations.run_computation(queued.pk)
    assert Computation.objects.get(pk=queued.pk).finished_at == done.finished_at
    assert set(Result.objects.filter(computation=done).values_list("pk", flat=True)) == ids
    assert Computation.objects.count() == before + 1


def test_a_running_computation_is_not_claimed_twice_unless_it_is_stale(registry):
    running = computations.create_computation(registry, reason="t")
    Computation.objects.filter(pk=running.pk).update(
        status=S.RUNNING, started_at=running.created_at
    )
    assert computations.run_computation(running.pk).status == S.RUNNING
    long_ago = running.created_at - pd.Timedelta(hours=3)
    Computation.objects.filter(pk=running.pk).update(started_at=long_ago)
    assert computations.run_computation(running.pk).status == S.DONE


def test_a_partial_recompute_after_a_new_extract_recomputes_everything(first, tmp_path):
    newer = import_path(write_csv(tmp_path, HAND_ROWS[:5], "newer.csv")).extract
    dept = Department.objects.get(code=A)
    second = computations.recompute(newer.registry, reason="target", departments=[dept])
    assert second.status == S.DONE and second.extract == newer and second.scope == {}
    assert second.base is None
    # The new extract holds only A's rows: B keeps its own, from the first extract.
    assert second.sources == [
        [first.extract_id, [Department.objects.get(code=B).pk]],
        [newer.pk, [dept.pk]],
    ]
    b_rows = ("definition_id", "period_type", "period_start", "numerator", "denominator")
    assert set(
        Result.objects.filter(computation=second, department__code=B).values_list(*b_rows)
    ) == set(Result.objects.filter(computation=first, department__code=B).values_list(*b_rows))


def test_no_current_extract_fails_with_a_clear_message(db):
    registry = Registry.objects.get(slug="dccg")
    failed = computations.recompute(registry, reason="t")
    assert failed.status == S.FAILED
    assert "no current extract" in failed.error_en and "intet aktuelt udtræk" in failed.error_da


def test_old_results_are_pruned_but_the_previous_current_is_kept(first, registry):
    second = computations.recompute(registry, reason="again")
    assert Result.objects.filter(computation=first).exists()
    third = computations.recompute(registry, reason="again")
    assert not Result.objects.filter(computation=first).exists()
    assert Result.objects.filter(computation=second).exists()
    assert results(third) == results(second)


def test_changes_made_while_computing_are_computed_under_the_lock(first, registry, monkeypatch):
    real = computations._compute
    calls = []

    def compute_then_change(*args):
        calls.append(1)
        frame_ = real(*args)
        if len(calls) == 1:  # a coordinator sets a target while the first pass runs
            dept = Department.objects.get(code=A)
            dept.indicator_choices.create(definition=definition("mortality_30d"), target=0.5)
        return frame_

    monkeypatch.setattr(computations, "_compute", compute_then_change)
    second = computations.recompute(registry, reason="t")
    assert len(calls) == 2 and second.timings["again"] is True
    assert Result.objects.filter(computation=second, target=0.5).exists()


@pytest.mark.django_db(transaction=True)
def test_readers_never_see_half_a_computation(tmp_path, postgres, monkeypatch):
    ensure_standard_definitions()
    extract = import_path(write_csv(tmp_path, HAND_ROWS)).extract
    first = computations.recompute(extract.registry, reason="first")
    seen = {}
    real_write = computations._write_results
    settings = connection.settings_dict

    def write_and_look_from_outside(computation_id, frame_):
        written = real_write(computation_id, frame_)
        with psycopg.connect(
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
            user=settings["USER"],
            dbname=settings["NAME"],
            password=settings["PASSWORD"] or None,
        ) as other:
            table = Result._meta.db_table
            seen["new"] = other.execute(
                f"SELECT count(*) FROM {table} WHERE computation_id = %s",  # noqa: S608
                [computation_id],
            ).fetchone()[0]
            seen["current"] = other.execute(
                f"SELECT id FROM {Computation._meta.db_table} WHERE is_current"  # noqa: S608
            ).fetchone()[0]
        seen["written"] = written
        return written

    monkeypatch.setattr(computations, "_write_results", write_and_look_from_outside)
    second = computations.recompute(extract.registry, reason="second")
    assert seen["written"] > 0 and seen["new"] == 0 and seen["current"] == first.pk
    assert second.is_current and second.result_count == first.result_count


def test_a_late_prune_never_takes_the_results_of_a_newer_computation(first, registry, monkeypatch):
    """Two workers: the second computation commits, and before it prunes, a third commits and
    becomes current; the second's prune, running late, must keep the third's results."""
    real_prune, held_back = computations._prune, []
    monkeypatch.setattr(computations, "_prune", lambda *a, **k: held_back.append((a, k)))
    second = computations.recompute(registry, reason="a")
    monkeypatch.setattr(computations, "_prune", real_prune)
    third = computations.recompute(registry, reason="b")
    ((args, kwargs),) = held_back
    real_prune(*args, **kwargs)
    third.refresh_from_db()
    assert third.is_current
    assert Result.objects.filter(computation=third).count() == third.result_count > 0
    assert results(third) == results(second)
