"""``/api/v1/results``: the export_results fields as JSON, under the pages' permissions and
small-number rule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from departments.models import AuditEvent, Department, Role
from indicators.models import Result
from tests.departments.people import A, B, person
from tests.factories import kept_for_module, load_extract

pytestmark = pytest.mark.django_db
URL = reverse("api_results")
FIELDS = {
    "department_code", "indicator", "period_type", "period_start", "numerator", "denominator",
    "missing", "value", "ci_low", "ci_high", "mean", "q1", "q3", "target", "target_status",
}  # fmt: skip


@pytest.fixture(scope="module")
def data(django_db_setup, django_db_blocker, tmp_path_factory):
    """The extract every test of the module asks about, imported and computed once."""
    with kept_for_module(django_db_blocker):
        yield load_extract(tmp_path_factory.mktemp("extract"), rows=3000)


@pytest.fixture
def koege(data, db) -> Department:
    return Department.objects.get(code=A)


@pytest.fixture
def clinician(koege):
    return person("kliniker@example.dk", Role.CLINICIAN, koege)


def get(client, **params):
    return client.get(URL, params)


def stored(code, slug, period_type, start) -> Result:
    return Result.objects.get(
        computation__is_current=True,
        department__code=code,
        definition__slug=slug,
        period_type=period_type,
        period_start=start,
    )


def small(row: dict) -> bool:
    return any(isinstance(row[k], int) and 0 < row[k] < 5 for k in ("numerator", "denominator"))


def test_an_anonymous_caller_is_told_to_log_in(client, data, db):
    response = get(client)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_a_user_without_department_access_is_refused(client, data, db):
    client.force_login(person("admin@example.dk", Role.ADMIN))
    assert get(client).status_code == 403


def test_a_clinician_gets_their_departments_exact_numbers_and_the_national_pool(client, clinician):
    client.force_login(clinician)
    answer = get(client, indicator="major_complication", period="month").json()
    rows = answer["results"]
    assert {r["department_code"] for r in rows} == {"ALL", A}
    assert set(rows[0]) == FIELDS | {"protected"}
    assert rows[0]["department_code"] == "ALL"  # ALL first, as export_results orders them
    own = next(r for r in rows if r["department_code"] == A and r["period_start"] == "2024-12-01")
    exact = stored(A, "major_complication", "month", dt.date(2024, 12, 1))
    assert own["numerator"] == exact.numerator and own["denominator"] == exact.denominator
    assert own["value"] == exact.value and own["ci_low"] == exact.ci_low
    assert answer["count"] == len(rows) and answer["next"] is None
    assert answer["computation"]["id"] == exact.computation_id


def test_a_specific_department_and_period(client, clinician):
    client.force_login(clinician)
    rows = get(client, department=A, period="2022-Q1").json()["results"]
    assert {(r["department_code"], r["period_type"], r["period_start"]) for r in rows} == {
        (A, "quarter", "2022-01-01")
    }
    # A row per standard indicator whose population has operations in the quarter.
    expected = set(
        Result.objects.filter(
            computation__is_current=True,
            department__code=A,
            period_type="quarter",
            period_start=dt.date(2022, 1, 1),
        ).values_list("definition__slug", flat=True)
    )
    assert len(expected) >= 7 and {r["indicator"] for r in rows} == expected
    national = get(client, department="ALL", period="2022").json()["results"]
    assert {r["department_code"] for r in national} == {"ALL"}
    assert {r["period_type"] for r in national} == {"year"}


def test_leadership_sees_its_scope_exactly_and_the_pool_as_protected(client, koege):
    leader = person("ledelse@example.dk", Role.LEADERSHIP, koege.hospital.region)
    client.force_login(leader)
    rows = get(client, indicator="mortality_30d", period="month").json()["results"]
    codes = {r["department_code"] for r in rows}
    region = set(
        Department.objects.filter(hospital__region=koege.hospital.region).values_list(
            "code", flat=True
        )
    )
    assert codes - {"ALL"} <= region and A in codes and B not in codes
    own = [r for r in rows if r["department_code"] != "ALL"]
    assert any(small(r) for r in own), "a month of a small department has fewer than 5 deaths"
    for row in own:
        exact = stored(row["department_code"], "mortality_30d", "month", row["period_start"])
        assert (row["numerator"], row["denominator"]) == (exact.numerator, exact.denominator)
        assert row["protected"] is False
    # The pool beyond the region: what is hidden carries nothing derived from it.
    for row in rows:
        if row["protected"]:
            assert row["value"] is None and row["ci_low"] is None and row["target_status"] is None


def test_a_measure_hides_its_summaries_where_its_pooled_denominator_is_hidden(client, clinician):
    client.force_login(clinician)
    rows = get(client, department="ALL", indicator="length_of_stay", period="month").json()
    hidden = [r for r in rows["results"] if r["protected"]]
    for row in hidden:
        assert row["numerator"] is None and row["denominator"] in ("<5", None)
        assert row["value"] is None and row["mean"] is None and row["q1"] is None


def test_it_rejects_departments_outside_the_users_access(client, clinician):
    client.force_login(clinician)
    assert get(client, department=B).status_code == 404
    assert get(client, department="9999999").status_code == 404


def test_unknown_indicator_and_unreadable_period_are_refused(client, clinician):
    client.force_login(clinician)
    assert get(client, indicator="findes-ikke").status_code == 404
    response = get(client, period="marts")
    assert response.status_code == 400 and response.json()["error"] == "bad_period"


def test_long_answers_come_in_pages(client, clinician):
    client.force_login(clinician)
    first = get(client, department=A, period="month", limit=100).json()
    assert len(first["results"]) == 100 and first["count"] > 100
    assert "offset=100" in first["next"]
    second = client.get(first["next"]).json()
    assert second["offset"] == 100
    assert second["results"][0] != first["results"][0]


def test_every_answer_is_audited_as_an_export(client, clinician):
    client.force_login(clinician)
    get(client, department=A, indicator="major_complication")
    event = AuditEvent.objects.get(action="export")
    assert event.department_code == A and event.target == "api/v1/results"
    assert event.detail["query"] == {"department": A, "indicator": "major_complication"}
    assert event.detail["rows"] > 0


def test_an_answer_carries_the_fields_of_export_results_in_their_order(client, clinician):
    from io import StringIO

    from django.core.management import call_command

    client.force_login(clinician)
    row = get(client, department=A, indicator="major_complication").json()["results"][0]
    out = StringIO()
    call_command("export_results", "--department", A, "--period", "year", stdout=out)
    header = out.getvalue().splitlines()[0].split(",")
    # ... and whether the row is protected (only a pooled row can be: docs/privacy.md).
    assert list(row) == [*header, "protected"]


def test_an_unknown_parameter_is_refused_not_ignored(client, clinician):
    client.force_login(clinician)
    response = get(client, period_type="year")
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "unknown_parameter" and "period_type" in answer["message"]
    assert "period" in answer["message"]  # and it says what is known
