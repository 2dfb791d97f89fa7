"""A coordinator's settings page: who may open it, indicators and targets that take effect, own
indicators built from rule parts whose live preview equals what the engine then computes,
clear errors in Danish and English that save nothing, change markers, the recompute's state."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from departments.models import AuditEvent, Department, Role
from indicators.models import ChangeMarker, Computation, IndicatorDefinition, Result
from indicators.services.selectors import department_definitions
from tests.departments.people import person
from tests.factories import build_world, kept_for_module

pytestmark = pytest.mark.django_db
A, B = "4202200", "6630220"  # Køge and Vejle in the synthetic extract
URL = f"/departments/{A}/settings/"
GRADES = ["IIIa", "IIIb", "IVa", "IVb", "V"]

OWN = {
    "leak-rectum": {
        "name_da": "Anastomoselækage, rektum",
        "name_en": "Anastomotic leak, rectum",
        "kind": "proportion",
        "population": {
            "all": [
                {"field": "anastomosis", "op": "eq", "value": True},
                {"field": "site", "op": "eq", "value": "rektum"},
            ]
        },
        "missing": {"any": [{"field": "anastomotic_leak", "op": "blank"}]},
        "event": {"all": [{"field": "anastomotic_leak", "op": "eq", "value": True}]},
    },
    "stay-over-7-elective": {
        "name_da": "Liggetid over 7 dage, elektive",
        "name_en": "Stay over 7 days, elective",
        "kind": "proportion",
        "population": {"all": [{"field": "priority", "op": "eq", "value": "elektiv"}]},
        "missing": {"any": [{"field": "discharge_date", "op": "blank"}]},
        "event": {"all": [{"days": ["operation_date", "discharge_date"], "op": "gt", "value": 7}]},
    },
    "major-asa-3": {
        "name_da": "Større komplikation, ASA 3+",
        "name_en": "Major complication, ASA 3+",
        "kind": "proportion",
        "population": {"all": [{"field": "asa", "op": "ge", "value": 3}]},
        "missing": {"any": [{"field": "clavien_dindo", "op": "blank"}]},
        "event": {"all": [{"field": "clavien_dindo", "op": "in", "value": GRADES}]},
    },
    "elective-length-of-stay": {
        "name_da": "Liggetid, elektive",
        "name_en": "Length of stay, elective",
        "kind": "measure",
        "population": {"all": [{"field": "priority", "op": "eq", "value": "elektiv"}]},
        "missing": {"any": []},
        "measure_from": "operation_date",
        "measure_to": "discharge_date",
    },
}


def own_post(parts: dict, **extra) -> dict:
    data = {"action": "own", "own-direction": "lower", "own-target": ""}
    for key, value in parts.items():
        data[f"own-{key}"] = json.dumps(value) if isinstance(value, dict) else value
    data.update(extra)
    return data


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker, tmp_path_factory):
    """The country every test of the module works in, imported and computed once."""
    with kept_for_module(django_db_blocker):
        yield build_world(tmp_path_factory.mktemp("world"), rows=1500, seed=5)


@pytest.fixture
def world(built, db, eager_tasks) -> Computation:
    return built


@pytest.fixture
def coordinator(client, world):
    user = person("koordinator@example.dk", Role.COORDINATOR, Department.objects.get(code=A))
    client.force_login(user)
    return user


def yearly(definition, department) -> list[tuple]:
    rows = Result.objects.filter(
        computation__is_current=True,
        definition=definition,
        department=department,
        period_type="year",
    ).order_by("period_start")
    return [
        (str(r.period_start.year), r.numerator, r.denominator, r.missing, r.value, r.ci_low)
        for r in rows
    ]


# --- who may ---------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_a_clinician_of_a_and_coordinators_of_other_departments_are_refused(client, world):
    department = Department.objects.get(code=A)
    clinician = person("kliniker@example.dk", Role.CLINICIAN, department)
    other = person("vejle@example.dk", Role.COORDINATOR, Department.objects.get(code=B))
    leader = person("ledelse@example.dk", Role.LEADERSHIP)
    marker_post = {"action": "marker_add", "marker-date": "2023-03-01", "marker-label": "X"}
    for user, refused in ((clinician, 403), (other, 404), (leader, 403)):
        client.force_login(user)
        assert client.get(URL).status_code == refused
        assert client.post(URL, marker_post).status_code == refused
        assert client.post(URL + "preview/", own_post(OWN["major-asa-3"])).status_code == refused
        assert client.get(URL + "computation/").status_code == refused
    assert not ChangeMarker.objects.exists()
    # Vejle's coordinator does open Vejle's settings.
    client.force_login(other)
    assert client.get(f"/departments/{B}/settings/").status_code == 200


def test_a_coordinator_sees_the_standard_indicators_and_the_sections(client, coordinator):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Indstillinger: Kirurgisk Afdeling, Køge" in html
    for definition in IndicatorDefinition.objects.filter(department=None, profile="dccg"):
        assert definition.name_da in html
    # Until the department chooses, it follows the standard indicators (all ticked).
    standard = IndicatorDefinition.objects.filter(department=None, profile="dccg").count()
    assert standard == 11 and html.count('type="checkbox" name="ind-follow_') == standard
    assert html.count("checked") >= 7
    assert 'id="rule-schema"' in html and "js/settings.js" in html
    assert "<script>" not in html  # no inline script: data goes by json_script only


def test_the_header_names_the_department_and_marks_the_settings_as_the_page(client, coordinator):
    html = client.get(URL).content.decode()
    top = html[html.index('<header class="topbar">') : html.index("</header>")]
    assert f'href="/departments/{A}/">Kirurgisk Afdeling, Køge</a>' in top
    assert f'<a href="{URL}" aria-current="page">Indstillinger</a>' in top


def test_an_empty_post_saves_nothing_and_says_so(client, coordinator):
    response = client.post(URL, {})
    assert response.status_code == 200
    assert "Ukendt handling" in response.content.decode()


# --- indicators, order and targets -------------------------------------------------------------


def test_a_coordinator_chooses_orders_and_sets_targets_and_sees_them_take_effect(
    client, coordinator, django_capture_on_commit_callbacks
):
    department = Department.objects.get(code=A)
    slugs = ["mortality_30d", "major_complication", "length_of_stay"]
    chosen = {d.slug: d for d in IndicatorDefinition.objects.filter(slug__in=slugs)}
    data = {"action": "indicators"}
    for position, slug in enumerate(slugs, start=1):
        pk = chosen[slug].pk
        data[f"ind-follow_{pk}"] = "on"
        data[f"ind-position_{pk}"] = str(position)
    data[f"ind-target_{chosen['mortality_30d'].pk}"] = "2,5"  # percent, Danish decimal comma
    data[f"ind-target_{chosen['length_of_stay'].pk}"] = "6"  # days
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data)
    assert response.status_code == 302
    assert response["Location"].startswith(URL + "?computation=")

    assert department_definitions(department) == [
        (chosen["mortality_30d"], 0.025),
        (chosen["major_complication"], None),
        (chosen["length_of_stay"], 6.0),
    ]
    # The recompute ran: the department's results carry its targets.
    current = Computation.objects.get(is_current=True)
    assert current.scope["departments"] == [department.pk]
    mortality = Result.objects.filter(
        computation=current, definition=chosen["mortality_30d"], department=department
    )
    assert mortality and {r.target for r in mortality} == {0.025}
    assert all(r.target_status in ("met", "not_met", "not_shown") for r in mortality)
    stay = Result.objects.filter(
        computation=current, definition=chosen["length_of_stay"], department=department
    )
    assert {r.target for r in stay} == {6.0}

    page = client.get(response["Location"]).content.decode()
    assert "Afdelingens indikatorer og mål er gemt." in page
    assert 'value="2,5"' in page and 'value="6"' in page
    order = re.findall(r'<tr data-definition="([\w-]+)">', page)
    assert order[:3] == slugs
    event = AuditEvent.objects.get(action="target_changed")
    assert event.department == department and event.user == coordinator
    assert event.detail["order"] == slugs
    assert event.detail["targets"]["mortality_30d"] == [None, 0.025]


def test_a_target_that_is_not_a_percentage_is_refused(client, coordinator):
    definition = IndicatorDefinition.objects.get(slug="mortality_30d")
    data = {
        "action": "indicators",
        f"ind-follow_{definition.pk}": "on",
        f"ind-position_{definition.pk}": "1",
        f"ind-target_{definition.pk}": "120",
    }
    response = client.post(URL, data)
    assert response.status_code == 200
    assert "Et mål for en andel er en procent mellem 0 og 100." in response.content.decode()
    assert not Department.objects.get(code=A).indicator_choices.exists()
    data[f"ind-target_{definition.pk}"] = "fem"
    html = client.post(URL, data).content.decode()
    assert "Skriv målet som et tal" in html


# --- own indicators from rule parts -----------------------------------------------------------


@pytest.mark.parametrize("name", list(OWN))
def test_an_own_indicator_built_from_rule_parts_previews_what_the_engine_then_computes(
    client, coordinator, django_capture_on_commit_callbacks, name
):
    department = Department.objects.get(code=A)
    parts = OWN[name]
    preview = client.post(URL + "preview/", own_post(parts)).json()
    assert preview["ok"], preview
    assert preview["periods"] and preview["headline"].startswith("2024: ")
    assert not IndicatorDefinition.objects.filter(department=department).exists()  # nothing saved

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, own_post(parts))
    assert response.status_code == 302, response.content.decode()[:2000]
    own = IndicatorDefinition.objects.get(department=department)
    assert (own.name_da, own.kind) == (parts["name_da"], parts["kind"])
    stored = yearly(own, department)
    shown = [
        (p["period"], p["numerator"], p["denominator"], p["missing"], p["value"], p["ci_low"])
        for p in preview["periods"]
    ]
    assert shown == stored  # the live preview's numbers are the engine's, to the last bit
    # The department follows it after the standard indicators it followed until now.
    followed = department_definitions(department)
    standard = IndicatorDefinition.objects.filter(department=None, profile="dccg").count()
    assert followed[-1] == (own, None) and len(followed) == standard + 1

    page = client.get(response["Location"]).content.decode()
    assert parts["name_da"] in page and "er oprettet og følges af afdelingen" in page
    event = AuditEvent.objects.get(action="definition_changed")
    assert event.target == f"definition:{own.slug}" and event.department == department
    assert event.detail["created"]["population"] == parts["population"]


def test_the_preview_of_a_proportion_adds_up_its_years(client, coordinator):
    preview = client.post(URL + "preview/", own_post(OWN["major-asa-3"])).json()
    total = preview["total"]
    assert total["numerator"] == sum(p["numerator"] for p in preview["periods"])
    assert total["denominator"] == sum(p["denominator"] for p in preview["periods"])
    assert re.fullmatch(r"\d+,\d %", total["value_text"])


INVALID = [
    (
        {"population": {"all": [{"field": "asa", "op": "ge", "value": "3"}]}},
        "Betingelse 1: ASA-score sammenlignes med et tal, ikke '3'.",
        # ("Condition 1:" once the English catalogue has the word; the rule's text is English now)
        "ASA score is compared with a number, not '3'.",
    ),
    (
        {"event": {"all": [{"field": "site", "op": "eq", "value": "tyktarm"}]}},
        "'tyktarm' er ikke en gyldig værdi for Lokalisation; brug én af: 'kolon', 'rektum'.",
        "'tyktarm' is not a valid value for Tumour site; use one of: 'kolon', 'rektum'.",
    ),
    (
        {"missing": {"any": [{"field": "cpr", "op": "blank"}]}},
        "Ukendt felt 'cpr'",
        "Unknown field 'cpr'",
    ),
    (
        {"event": {"all": [{"days": ["operation_date", "site"], "op": "gt", "value": 7}]}},
        "'site' er ikke et datofelt.",
        "'site' is not a date field.",
    ),
]


@pytest.mark.parametrize(("change", "danish", "english"), INVALID)
def test_invalid_rules_give_clear_errors_in_danish_and_english_and_save_nothing(
    client, coordinator, django_capture_on_commit_callbacks, change, danish, english
):
    parts = {**OWN["major-asa-3"], **change}
    before = Computation.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(URL, own_post(parts))
        preview = client.post(URL + "preview/", own_post(parts)).json()
    assert response.status_code == 200
    assert danish in response.content.decode().replace("&#x27;", "'")
    assert not preview["ok"]
    assert any(danish in m for messages in preview["errors"].values() for m in messages)

    client.cookies["django_language"] = "en"
    response = client.post(URL, own_post(parts))
    assert english in response.content.decode().replace("&#x27;", "'")
    preview = client.post(URL + "preview/", own_post(parts)).json()
    assert any(english in m for messages in preview["errors"].values() for m in messages)

    assert not IndicatorDefinition.objects.filter(department__isnull=False).exists()
    assert Computation.objects.count() == before and not callbacks
    assert not AuditEvent.objects.filter(action="definition_changed").exists()


def test_a_proportion_needs_an_event_and_readable_json(client, coordinator):
    parts = {**OWN["major-asa-3"], "event": {"all": []}}
    html = client.post(URL, own_post(parts)).content.decode()
    assert "Angiv hændelsen (tælleren): mindst én betingelse." in html
    html = client.post(URL, own_post(OWN["major-asa-3"], **{"own-population": "{asa"})).content
    assert "Reglen kunne ikke læses (ugyldig JSON)." in html.decode()
    assert not IndicatorDefinition.objects.filter(department__isnull=False).exists()


def test_an_own_indicator_is_removed(client, coordinator, django_capture_on_commit_callbacks):
    department = Department.objects.get(code=A)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, own_post(OWN["leak-rectum"]))
        own = IndicatorDefinition.objects.get(department=department)
        response = client.post(URL, {"action": "own_deactivate", "definition": own.pk})
    assert response.status_code == 302
    own.refresh_from_db()
    assert not own.is_active
    assert not Result.objects.filter(computation__is_current=True, definition=own).exists()
    standard = IndicatorDefinition.objects.get(slug="major_complication")
    assert (
        client.post(URL, {"action": "own_deactivate", "definition": standard.pk}).status_code == 404
    )


# --- change markers ---------------------------------------------------------------------------


def test_change_markers_are_added_and_removed(
    client, coordinator, django_capture_on_commit_callbacks
):
    department = Department.objects.get(code=A)
    major = IndicatorDefinition.objects.get(slug="major_complication")
    data = {
        "action": "marker_add",
        "marker-date": "2022-03-01",
        "marker-label": "Ny stapler",
        "marker-note": "Alle rektumresektioner",
        "marker-definitions": [str(major.pk)],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, data)
    assert response.status_code == 302
    marker = ChangeMarker.objects.get(department=department)
    assert (marker.date, marker.label, list(marker.definitions.all())) == (
        dt.date(2022, 3, 1),
        "Ny stapler",
        [major],
    )
    page = client.get(URL).content.decode()
    assert "Ny stapler" in page and "01-03-2022" in page and "Større komplikation" in page
    added = AuditEvent.objects.get(action="marker_changed")
    assert added.detail["added"]["definitions"] == ["major_complication"]

    # Another department's marker cannot be deleted from here.
    vejle = ChangeMarker.objects.create(
        department=Department.objects.get(code=B), date=dt.date(2022, 1, 1), label="Vejle"
    )
    assert client.post(URL, {"action": "marker_delete", "marker": vejle.pk}).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"action": "marker_delete", "marker": marker.pk})
    assert response.status_code == 302
    assert not ChangeMarker.objects.filter(department=department).exists()
    assert ChangeMarker.objects.filter(pk=vejle.pk).exists()
    assert "Ingen ændringsmarkører endnu." in client.get(URL).content.decode()
    deleted = AuditEvent.objects.filter(action="marker_changed").order_by("-pk").first()
    assert deleted.detail["deleted"]["label"] == "Ny stapler"


def test_a_marker_needs_a_date_and_a_label(client, coordinator):
    html = client.post(URL, {"action": "marker_add"}).content.decode()
    assert html.count('class="errorlist') >= 2
    assert not ChangeMarker.objects.exists()


# --- following the recompute ----------------------------------------------------------------


def test_after_saving_the_page_follows_the_queued_recompute(
    client, coordinator, django_capture_on_commit_callbacks
):
    definition = IndicatorDefinition.objects.get(slug="mortality_30d")
    data = {
        "action": "indicators",
        f"ind-follow_{definition.pk}": "on",
        f"ind-position_{definition.pk}": "1",
        f"ind-target_{definition.pk}": "3",
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(URL, data)
    queued = Computation.objects.order_by("-pk").first()
    assert response["Location"] == f"{URL}?computation={queued.pk}#indikatorer"
    page = client.get(response["Location"]).content.decode()
    assert 'id="computation-state"' in page and 'data-finished="0"' in page
    assert "I kø" in page
    state = client.get(f"{URL}computation/?id={queued.pk}").json()
    assert (state["status"], state["finished"]) == ("queued", False)

    for callback in callbacks:  # the worker picks it up
        callback()
    state = client.get(f"{URL}computation/?id={queued.pk}").json()
    assert state["status"] == "done" and state["finished"] and state["progress"] == 100
    assert state["message"] == "Resultaterne er opdateret."


# --- an own indicator read, edited and versioned ----------------------------------------------


def test_a_saved_rule_is_read_in_words_edited_as_a_new_version_and_recomputed(
    client, coordinator, django_capture_on_commit_callbacks
):
    department = Department.objects.get(code=A)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, own_post(OWN["major-asa-3"]))
    own = IndicatorDefinition.objects.get(department=department)
    page_url = f"{URL}own/{own.slug}/"
    assert f'href="{page_url}"' in client.get(URL).content.decode()
    page = client.get(page_url).content.decode()
    assert "alle operationer hvor ASA-score er mindst 3" in page
    assert "Clavien-Dindo er en af IIIa, IIIb, IVa, IVb, V" in page
    english = client.get(page_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "all operations where ASA score is at least 3" in english
    before = yearly(own, department)

    # Only the worst grades now, and a target: version 2, recomputed; version 1 kept.
    worst = {"all": [{"field": "clavien_dindo", "op": "in", "value": ["IVa", "IVb", "V"]}]}
    parts = {**OWN["major-asa-3"], "event": worst}
    preview = client.post(URL + "preview/", own_post(parts)).json()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page_url, own_post(parts, **{"own-target": "5"}))
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.event, own.default_target) == (worst, 0.05)
    after = yearly(own, department)
    assert after != before
    assert after == [
        (p["period"], p["numerator"], p["denominator"], p["missing"], p["value"], p["ci_low"])
        for p in preview["periods"]
    ]
    assert [v.number for v in own.versions.all()] == [2, 1]
    assert own.versions.get(number=1).rules["event"] == OWN["major-asa-3"]["event"]
    page = client.get(page_url).content.decode()
    assert "Version 2 er gemt" in page
    assert page.count("data-version=") == 2
    assert "Clavien-Dindo er en af IVa, IVb, V" in page and "IIIa, IIIb, IVa" in page
    assert "højst 5,0 %" in page
    event = AuditEvent.objects.filter(action="definition_changed").latest("pk")
    assert event.detail["version"] == 2
    assert event.detail["changed"]["event"] == [OWN["major-asa-3"]["event"], worst]

    # Saving the same again is no new version; a broken rule saves nothing.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(page_url, own_post(parts, **{"own-target": "5"}))
        bad = {**parts, "population": {"all": [{"field": "asa", "op": "ge", "value": "3"}]}}
        response = client.post(page_url, own_post(bad))
    assert response.status_code == 200 and "sammenlignes med et tal" in response.content.decode()
    assert own.versions.count() == 2 and not callbacks


def test_only_the_departments_coordinators_open_its_own_indicator_and_never_a_standard_one(
    client, coordinator, django_capture_on_commit_callbacks
):
    department = Department.objects.get(code=A)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, own_post(OWN["leak-rectum"]))
    own = IndicatorDefinition.objects.get(department=department)
    assert client.get(f"{URL}own/major_complication/").status_code == 404
    other = person("vejle@example.dk", Role.COORDINATOR, Department.objects.get(code=B))
    clinician = person("kliniker@example.dk", Role.CLINICIAN, department)
    for user, refused in ((other, 404), (clinician, 403)):
        client.force_login(user)
        assert client.get(f"{URL}own/{own.slug}/").status_code == refused
        response = client.post(f"{URL}own/{own.slug}/", own_post(OWN["major-asa-3"]))
        assert response.status_code == refused
    assert own.versions.count() == 1
