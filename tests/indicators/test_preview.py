"""The rule builder's live preview: an unsaved definition computed by the engine on one
department's rows, equal to what a recompute stores once it is saved; nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

from departments.models import Department
from indicators import stats
from indicators.models import Computation, Extract, IndicatorDefinition, OperationRow, Result
from indicators.registry.importer import import_path
from indicators.services import computations
from indicators.services.definitions import create_department_indicator
from indicators.services.preview import preview_definition
from indicators.services.selectors import current_results
from tests.indicators.indicator_rows import HAND_ROWS, A, write_csv
from tests.indicators.test_definitions import OWN, OWN_COUNTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def computed(tmp_path, db, eager_tasks, django_capture_on_commit_callbacks):
    registry = import_path(write_csv(tmp_path, HAND_ROWS)).extract.registry
    assert computations.recompute(registry, reason="test").status == "done"
    return django_capture_on_commit_callbacks


def draft(department: Department, slug: str) -> IndicatorDefinition:
    return IndicatorDefinition(
        profile="dccg", department=department, kind="proportion", **OWN[slug]
    )


@pytest.mark.parametrize("slug", OWN)
def test_the_preview_counts_the_departments_rows_and_writes_nothing(computed, slug):
    department = Department.objects.get(code=A)
    before = (Result.objects.count(), Computation.objects.count())
    found = preview_definition(department, draft(department, slug), Extract.objects.get())
    assert (Result.objects.count(), Computation.objects.count()) == before
    assert [y.period_start for y in found.years] == [dt.date(2023, 1, 1)]
    year = found.years[0]
    assert (year.numerator, year.denominator, year.missing) == OWN_COUNTS[slug]
    assert found.rows == OperationRow.objects.filter(department=department).count()


@pytest.mark.parametrize("slug", OWN)
def test_the_preview_is_what_the_engine_stores_once_saved(computed, slug):
    department = Department.objects.get(code=A)
    found = preview_definition(department, draft(department, slug), Extract.objects.get())
    with computed(execute=True):
        own = create_department_indicator(department, slug=slug, **OWN[slug])
    stored = current_results(definition=own, department=department, period_type="year")
    assert [
        (r.period_start, r.numerator, r.denominator, r.missing, r.value, r.ci_low, r.ci_high)
        for r in stored.order_by("period_start")
    ] == [
        (y.period_start, y.numerator, y.denominator, y.missing, y.value, y.ci_low, y.ci_high)
        for y in found.years
    ]


def test_a_proportion_pools_its_years_and_a_measure_does_not(computed):
    department = Department.objects.get(code=A)
    proportion = preview_definition(
        department, draft(department, "major-asa-3"), Extract.objects.get()
    )
    total = proportion.total
    assert total is not None and total.period_start is None
    assert total.numerator == sum(y.numerator for y in proportion.years)
    assert total.denominator == sum(y.denominator for y in proportion.years)
    low, high = stats.wilson_interval(total.numerator, total.denominator)
    assert (total.ci_low, total.ci_high) == (float(low), float(high))

    stay = IndicatorDefinition.objects.get(slug="length_of_stay")
    stay.pk = None  # an unsaved copy, as a draft is
    measure = preview_definition(department, stay, Extract.objects.get())
    assert measure.total is None
    assert measure.years and all(y.numerator is None for y in measure.years)
