"""Changing what is measured: a department's own indicators, its choice and targets, change
markers; each saved change recomputes only what it touches."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from departments.models import Department
from indicators.models import Computation, DepartmentIndicator, IndicatorDefinition, Result
from indicators.registry.importer import import_path
from indicators.services import computations
from indicators.services.definitions import (
    add_change_marker,
    choose_indicators,
    create_department_indicator,
    deactivate_definition,
    delete_change_marker,
)
from indicators.services.selectors import change_markers, current_results, department_definitions
from tests.indicators.indicator_rows import HAND_ROWS, A, B, write_csv

pytestmark = pytest.mark.django_db
GRADES = ["IIIa", "IIIb", "IVa", "IVb", "V"]


@pytest.fixture
def computed(tmp_path, db, eager_tasks, django_capture_on_commit_callbacks):
    registry = import_path(write_csv(tmp_path, HAND_ROWS)).extract.registry
    assert computations.recompute(registry, reason="test").status == "done"
    return django_capture_on_commit_callbacks


def standard(slug: str) -> IndicatorDefinition:
    return IndicatorDefinition.objects.get(slug=slug)


def yearly(definition, department) -> tuple:
    result = current_results(
        definition=definition,
        department=department,
        period_type="year",
        period_start=dt.date(2023, 1, 1),
    ).get()
    return (result.numerator, result.denominator, result.missing)


OWN = {
    "leak-rectum": dict(
        name_da="Anastomoselækage, rektum",
        name_en="Anastomotic leak, rectum",
        population={
            "all": [
                {"field": "anastomosis", "op": "eq", "value": True},
                {"field": "site", "op": "eq", "value": "rektum"},
            ]
        },
        missing={"field": "anastomotic_leak", "op": "blank"},
        event={"field": "anastomotic_leak", "op": "eq", "value": True},
    ),
    "stay-over-7-elective": dict(
        name_da="Liggetid over 7 dage, elektive",
        name_en="Stay over 7 days, elective",
        population={"field": "priority", "op": "eq", "value": "elektiv"},
        missing={"field": "discharge_date", "op": "blank"},
        event={"days": ["operation_date", "discharge_date"], "op": "gt", "value": 7},
    ),
    "major-asa-3": dict(
        name_da="Større komplikation, ASA 3+",
        name_en="Major complication, ASA 3+",
        population={"field": "asa", "op": "ge", "value": 3},
        missing={"field": "clavien_dindo", "op": "blank"},
        event={"field": "clavien_dindo", "op": "in", "value": GRADES},
    ),
}
# (department A, ALL) in 2023, counted by hand from HAND_ROWS
OWN_COUNTS = {
    "leak-rectum": (1, 1, 1),
    "stay-over-7-elective": (1, 3, 0),
    "major-asa-3": (2, 3, 1),
}


@pytest.mark.parametrize("slug", OWN)
def test_a_coordinator_builds_an_own_indicator_from_rule_parts(computed, slug):
    department = Department.objects.get(code=A)
    with computed(execute=True):
        own = create_department_indicator(department, slug=slug, **OWN[slug])
    current = Computation.objects.get(is_current=True)
    assert current.scope == {"definitions": [own.pk]} and current.reason.endswith(slug)
    assert yearly(own, department) == OWN_COUNTS[slug]
    # No other department and no national pool (docs/privacy.md).
    assert not current_results(definition=own, department=Department.objects.get(code=B))
    assert not current_results(definition=own, department=None)
    # Followed by its department, after the standard indicators it already followed.
    followed = department_definitions(department)
    assert followed[-1] == (own, None)
    assert [d for d, _ in followed[:-1]] == list(
        IndicatorDefinition.objects.filter(department__isnull=True, profile="dccg").order_by(
            "position", "slug"
        )
    )


def test_an_own_indicator_gets_a_unique_slug_and_refuses_bad_rules(computed):
    department = Department.objects.get(code=A)
    with computed(execute=True):
        first = create_department_indicator(department, **OWN["major-asa-3"])
        second = create_department_indicator(department, **OWN["major-asa-3"])
    assert first.slug == f"{A}-stoerre-komplikation-asa-3" and second.slug == f"{first.slug}-2"
    bad = {**OWN["major-asa-3"], "population": {"field": "asa", "op": "ge", "value": "3"}}
    with pytest.raises(ValidationError) as refused:
        create_department_indicator(department, **bad)
    assert "population" in refused.value.message_dict


def test_choosing_indicators_orders_them_and_recomputes_only_changed_targets(computed):
    department = Department.objects.get(code=A)
    mortality, stay = standard("mortality_30d"), standard("length_of_stay")
    before = Computation.objects.get(is_current=True)
    with computed(execute=True):
        choose_indicators(department, [stay, (mortality, 0.1)])
    assert department_definitions(department) == [(stay, None), (mortality, 0.1)]
    after = Computation.objects.get(is_current=True)
    assert after.scope == {"departments": [department.pk], "definitions": [mortality.pk]}
    with computed(execute=True):
        choose_indicators(department, [(mortality, 0.1)])  # same target: nothing to recompute
    assert Computation.objects.get(is_current=True) == after != before
    assert list(DepartmentIndicator.objects.values_list("definition__slug", flat=True)) == [
        "mortality_30d"
    ]


def test_change_markers_concern_their_indicators_and_recompute_the_department(computed):
    department = Department.objects.get(code=A)
    major = standard("major_complication")
    with computed(execute=True):
        everything = add_change_marker(department, date=dt.date(2023, 2, 1), label="ERAS-forløb")
        stapler = add_change_marker(
            department, date=dt.date(2023, 2, 15), label="Ny stapler", definitions=[major]
        )
    current = Computation.objects.get(is_current=True)
    assert current.scope == {"departments": [department.pk], "definitions": [major.pk]}
    assert change_markers(department, major) == [everything, stapler]
    assert change_markers(department, standard("mortality_30d")) == [everything]
    assert change_markers(None, major) == []
    with computed(execute=True):
        delete_change_marker(stapler)
    assert change_markers(department, major) == [everything]


def test_a_deactivated_definition_leaves_the_current_results(computed):
    leak = standard("anastomotic_leak")
    with computed(execute=True):
        deactivate_definition(leak)
    assert not Result.objects.filter(computation__is_current=True, definition=leak).exists()
    assert Result.objects.filter(computation__is_current=True).exists()


def test_a_first_target_keeps_every_standard_indicator_followed(tmp_path):
    from departments.models import Department
    from indicators.models import IndicatorDefinition
    from indicators.services import definitions as services
    from indicators.services.selectors import department_definitions

    import_path(write_csv(tmp_path, HAND_ROWS))
    department = Department.objects.order_by("code").first()
    major = IndicatorDefinition.objects.get(slug="major_complication")
    services.set_target(department, major, 0.15)
    followed = department_definitions(department)
    standard = IndicatorDefinition.objects.filter(
        department__isnull=True, is_active=True, profile="dccg"
    )
    assert [d.slug for d, _ in followed] == [d.slug for d in standard.order_by("position", "slug")]
    assert dict((d.slug, t) for d, t in followed)["major_complication"] == 0.15
