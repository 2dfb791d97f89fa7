"""Registries as data: a profile file and one command add a registry (profile-format.md).

Installing, upgrading and refusing with ``add_registry``; the kræftpakke registry from generated
data to the dashboard and the patient list; a second registry never showing in the first's
results, pages or patient lists; and a random profile's results equal to a row-by-row count.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from departments.models import AuditEvent, Department
from indicators.models import (
    Computation,
    IndicatorDefinition,
    Registry,
    RegistryProfile,
    Result,
)
from indicators.registry import storage, synthetic_profiles
from indicators.registry.importer import import_path
from indicators.registry.profile_file import load_profile_data, shipped
from indicators.services.registries import install_profile
from tests.factories import load_extract, settle
from tests.indicators.test_synthetic_profiles import random_profiles

pytestmark = pytest.mark.django_db

SMALL = """
format = 1
slug = "hofte"
version = {version}
name_da = "Hoftebrud"
name_en = "Hip fracture"
key = ["cpr", "indl"]
period = "indl"
hospital_code = "sgh"
department_code = "afd"
[[columns]]
name = "cpr"
kind = "cpr"
[[columns]]
name = "sgh"
kind = "code"
length = 4
required = true
[[columns]]
name = "afd"
kind = "code"
length = 7
required = true
[[columns]]
name = "indl"
kind = "date"
required = true
[[columns]]
name = "opr"
kind = "{opr_kind}"
{extra_column}
[[indicators]]
slug = "opereret"
name_da = "Opereret"
name_en = "Operated"
kind = "proportion"
population = {{ all = [] }}
missing = {{ any = [] }}
event = {{ field = "opr", op = "not_blank" }}
better = "higher"
{extra_indicator}
"""


def small(tmp_path: Path, version: int = 1, opr_kind: str = "date", extra_column: str = "",
          extra_indicator: str = "") -> Path:  # fmt: skip
    path = tmp_path / f"hofte-{version}-{opr_kind}-{len(extra_column)}-{len(extra_indicator)}.toml"
    path.write_text(
        SMALL.format(
            version=version, opr_kind=opr_kind, extra_column=extra_column,
            extra_indicator=extra_indicator,
        ),
        encoding="utf-8",
    )  # fmt: skip
    return path


def asa_at_least(slug: str, value: int) -> str:
    """A standard indicator on the ``asa`` column a test adds: the share with at least
    ``value``, a blank ASA counted as missing."""
    return f"""
[[indicators]]
slug = "{slug}"
name_da = "ASA mindst {value}"
name_en = "ASA at least {value}"
kind = "proportion"
population = {{ all = [] }}
missing = {{ field = "asa", op = "blank" }}
event = {{ field = "asa", op = "ge", value = {value} }}
better = "lower"
"""


def add_registry(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("add_registry", str(path), stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue(), err.getvalue()


def state() -> tuple:
    """Everything an install may change, to show that a refused one changed none of it."""
    with connection.cursor() as cursor:
        tables = sorted(connection.introspection.table_names(cursor))
    return (
        list(Registry.objects.order_by("pk").values_list("slug", "version", "row_table")),
        RegistryProfile.objects.count(),
        list(
            IndicatorDefinition.objects.order_by("pk").values_list("profile", "slug", "is_active")
        ),
        [t for t in tables if t.startswith("registry_")],
        AuditEvent.objects.count(),
    )


# --- install, upgrade, refuse ---------------------------------------------------------------------


def test_migrate_installs_the_shipped_profiles():
    installed = {r.slug: r for r in Registry.objects.all()}
    assert installed["dccg"].version == shipped("dccg").version
    assert installed["dccg"].row_table == "registry_dccg"
    assert installed["kraeftpakke"].row_table == "registry_kraeftpakke"
    for slug in ("dccg", "kraeftpakke"):
        spec = shipped(slug)
        profile = RegistryProfile.objects.get(registry__slug=slug, version=spec.version)
        assert profile.digest == spec.digest
        # The expected delivery interval is the file's (indicators.services.deliveries).
        assert installed[slug].expected_every_days == spec.expected_every_days
        kept = {i.slug for i in shipped(slug).indicators}
        active = IndicatorDefinition.objects.filter(profile=slug, department=None, is_active=True)
        assert set(active.values_list("slug", flat=True)) == kept
    # DCCG's table, older than profiles as files, has exactly the columns dccg.toml gives.
    columns = storage.existing_columns("registry_dccg")
    assert set(columns) == set(storage.column_names(shipped("dccg").profile()))
    for column in storage.stored_columns(shipped("dccg").profile()):
        assert columns[column.field] == column.family, column.field


def test_a_new_registry_installs_with_one_command_and_again_changes_nothing(tmp_path):
    path = small(tmp_path)
    code, out, err = add_registry(path)
    assert (code, err) == (0, "")
    assert out.strip().startswith("hofte version 1:") and "installed" in out
    assert len(out.strip().splitlines()) == 1
    registry = Registry.objects.get(slug="hofte")
    assert (registry.version, registry.row_table, registry.name_en) == (
        1,
        "registry_hofte",
        "Hip fracture",
    )
    assert set(storage.existing_columns("registry_hofte")) == {
        "id", "extract_id", "line", "pseudonym", "department_id", "indl", "opr", "extra",
    }  # fmt: skip
    assert IndicatorDefinition.objects.get(profile="hofte", slug="opereret").direction == "higher"
    before = state()
    code, out, _err = add_registry(path)
    assert code == 0 and "unchanged" in out
    assert state() == before


def test_a_refused_profile_changes_nothing_and_says_where_in_both_languages(tmp_path):
    before = state()
    bad = (
        small(tmp_path)
        .read_text()
        .replace('kind = "date"\n\n[[indicators]]', 'kind = "dato"\n\n[[indicators]]')
    )
    path = tmp_path / "bad.toml"
    path.write_text(bad.replace('op = "not_blank"', 'op = "bigger"'), encoding="utf-8")
    code, out, err = add_registry(path)
    assert code == 1 and out == ""
    # The kind is wrong, so the rule that uses the column is refused too, at its own place.
    assert "columns[4].kind" in err and "indicators[0].event" in err
    assert "skal være én af" in err and "must be one of" in err
    assert state() == before
    # A reserved field name is refused too (it would clash with the table's own columns).
    reserved = small(tmp_path, extra_column='[[columns]]\nname = "line"\nkind = "int"')
    code, _out, err = add_registry(reserved)
    assert code == 1 and "columns[5].name" in err and "reserved" in err
    assert state() == before


def test_a_changed_file_needs_a_higher_version_and_an_upgrade_recomputes(tmp_path):
    assert add_registry(small(tmp_path))[0] == 0
    # Same version, other contents: refused, nothing changed.
    before = state()
    extra = '[[columns]]\nname = "asa"\nkind = "int"\nlow = 1\nhigh = 5'
    code, _out, err = add_registry(small(tmp_path, version=1, extra_column=extra))
    assert code == 1 and "version" in err and "higher" in err
    assert state() == before
    # Data, computed.
    csv = tmp_path / "hofte.csv"
    csv.write_text(
        "cpr;sgh;afd;indl;opr\n"
        + "".join(
            f"0101{50 + i:02d}1234;6630;6630220;0{1 + i % 9}-03-2024;"
            f"{'' if i % 3 else '05-03-2024'}\n"
            for i in range(12)
        ),
        encoding="utf-8",
    )
    extract = import_path(csv, profile_slug="hofte").extract
    assert extract.status == "done" and extract.rows_imported == 12, extract.message_en
    first = settle()
    assert first.registry.slug == "hofte"
    # A higher version adds a column and an indicator and retires one: upgraded, recomputed.
    new_indicator = asa_at_least("asa_hoej", 3)
    upgraded = small(tmp_path, version=2, extra_column=extra, extra_indicator=new_indicator)
    code, out, err = add_registry(upgraded)
    assert code == 0 and "upgraded" in out, err
    assert "asa" in storage.existing_columns("registry_hofte")
    assert RegistryProfile.objects.filter(registry__slug="hofte").count() == 2
    assert Registry.objects.get(slug="hofte").version == 2
    queued = Computation.objects.filter(registry__slug="hofte", status="queued")
    assert queued.exists() and "version 2" in queued.first().reason
    second = settle()
    new = IndicatorDefinition.objects.get(profile="hofte", slug="asa_hoej")
    # Old rows have no ASA: every one is missing, none is an event.
    total = Result.objects.get(
        computation=second, definition=new, department=None, period_type="year"
    )
    assert (total.numerator, total.denominator, total.missing) == (0, 0, 12)
    # A version that changes a stored field's kind is refused.
    code, _out, err = add_registry(small(tmp_path, version=3, opr_kind="int", extra_column=extra))
    assert code == 1 and "columns[4].kind" in err and "new 'field'" in err
    assert Registry.objects.get(slug="hofte").version == 2


def test_a_header_is_read_whatever_the_case_of_its_names(tmp_path):
    profile = small(tmp_path).read_text().replace('name = "opr"', 'name = "Opr"\nfield = "opr"')
    path = tmp_path / "cased.toml"
    path.write_text(profile, encoding="utf-8")
    assert add_registry(path)[0] == 0
    csv = tmp_path / "cased.csv"
    csv.write_text("CPR;Sgh;AFD;indl;OPR\n0101501234;6630;6630220;01-03-2024;05-03-2024\n")
    extract = import_path(csv, profile_slug="hofte").extract
    assert extract.status == "done" and extract.rows_imported == 1 and not extract.extra_columns
    with connection.cursor() as cursor:
        cursor.execute("SELECT opr FROM registry_hofte WHERE extract_id = %s", [extract.pk])
        assert cursor.fetchone()[0] == dt.date(2024, 3, 5)
    # Names that differ by case alone cannot be told apart in a header: refused.
    twins = small(tmp_path, extra_column='[[columns]]\nname = "OPR"\nfield = "opr2"\nkind = "text"')
    code, _out, err = add_registry(twins)
    assert code == 1 and "columns[5].name" in err and "case" in err


def test_a_wider_whole_number_widens_its_column_and_no_cpr_number_means_no_row(tmp_path):
    narrow = '[[columns]]\nname = "asa"\nkind = "int"\nlow = 1\nhigh = 5'
    assert add_registry(small(tmp_path, extra_column=narrow))[0] == 0
    wide = '[[columns]]\nname = "asa"\nkind = "int"\nlow = 1\nhigh = 100000'
    large = asa_at_least("stor", 50000)
    code, out, err = add_registry(
        small(tmp_path, version=2, extra_column=wide, extra_indicator=large)
    )
    assert code == 0 and "upgraded" in out, err
    csv = tmp_path / "wide.csv"
    csv.write_text(
        "cpr;sgh;afd;indl;opr;asa\n"
        "0101501234;6630;6630220;01-03-2024;;70000\n"
        # The profile leaves cpr optional; a row without one is refused all the same (it would
        # share one pseudonym with every other such row).
        ";6630;6630220;02-03-2024;;3\n",
        encoding="utf-8",
    )
    extract = import_path(csv, profile_slug="hofte").extract
    assert extract.status == "done", extract.message_en
    assert (extract.rows_imported, extract.rows_rejected) == (1, 1)
    assert extract.refused.get().code == "required"
    with connection.cursor() as cursor:
        cursor.execute("SELECT asa FROM registry_hofte WHERE extract_id = %s", [extract.pk])
        assert cursor.fetchone()[0] == 70000
    # The engine reads the widened column too (as int8, beyond int4's blank marker).
    computation = settle()
    stor = IndicatorDefinition.objects.get(profile="hofte", slug="stor")
    total = Result.objects.get(
        computation=computation, definition=stor, department=None, period_type="year"
    )
    assert (total.numerator, total.denominator) == (1, 1)


def test_an_upgrade_may_not_drop_a_choice_that_rows_hold(tmp_path):
    both = '[[columns]]\nname = "side"\nkind = "choice"\nchoices = ["højre", "venstre"]'
    assert add_registry(small(tmp_path, extra_column=both))[0] == 0
    csv = tmp_path / "sides.csv"
    csv.write_text("cpr;sgh;afd;indl;side\n0101501234;6630;6630220;01-03-2024;Venstre\n")
    assert import_path(csv, profile_slug="hofte").extract.rows_imported == 1
    one = '[[columns]]\nname = "side"\nkind = "choice"\nchoices = ["højre"]'
    code, _out, err = add_registry(small(tmp_path, version=2, extra_column=one))
    assert code == 1 and "columns[5].choices" in err and "'venstre'" in err
    assert Registry.objects.get(slug="hofte").version == 1
    # Kept as a stored value, with a new spelling pointing to it, it upgrades.
    kept = '[[columns]]\nname = "side"\nkind = "choice"\nchoices = { h = "højre", v = "venstre" }'
    code, out, err = add_registry(small(tmp_path, version=2, extra_column=kept))
    assert code == 0 and "upgraded" in out, err


# --- kræftpakke, from generated data to the pages ------------------------------------------


@pytest.fixture
def both(tmp_path, client):
    """DCCG and kræftpakke extracts for the same departments, imported and computed."""
    dccg = load_extract(tmp_path, rows=3000, seed=5)
    dccg_results = _results(dccg)
    path = tmp_path / "kp.csv"
    out = io.StringIO()
    call_command(
        "generate_extract", "--profile", "kraeftpakke", "--rows", "4000", "--seed", "3",
        "--out", str(path), stdout=out,
    )  # fmt: skip
    assert "4.000" in out.getvalue()
    extract = import_path(path, profile_slug="kraeftpakke").extract
    assert extract.status == "done" and extract.rows_rejected == 0, extract.message_en
    kp = settle()
    assert kp.registry.slug == "kraeftpakke" and kp.status == "done"
    return {"dccg": dccg, "dccg_results": dccg_results, "kp": kp, "path": path}


def _results(computation: Computation) -> list[tuple]:
    return list(
        Result.objects.filter(computation=computation)
        .order_by("definition_id", "department_id", "period_type", "period_start")
        .values_list(
            "definition_id",
            "department_id",
            "period_type",
            "period_start",
            "numerator",
            "denominator",
            "missing",
            "value",
        )
    )


def test_kraeftpakke_results_equal_a_count_of_the_file(both):
    frame = pd.read_csv(both["path"], sep=";", dtype=str, keep_default_na=False)
    referral = pd.to_datetime(frame["henvisning_dato"], format="%d-%m-%Y")
    start = pd.to_datetime(frame["behandling_start_dato"], format="%d-%m-%Y", errors="coerce")
    colorectal = frame["pakke"].str.lower() == "tyk- og endetarmskræft"
    year = referral.dt.year == 2022
    treated = start.notna()
    within = (start - referral).dt.days <= 30
    definition = IndicatorDefinition.objects.get(
        profile="kraeftpakke", slug="forloebstid_tyk_endetarm"
    )
    total = Result.objects.get(
        computation=both["kp"], definition=definition, department=None, period_type="year",
        period_start=dt.date(2022, 1, 1),
    )  # fmt: skip
    assert total.denominator == int((colorectal & year & treated).sum())
    assert total.numerator == int((colorectal & year & treated & within).sum())
    assert total.missing == int((colorectal & year & ~treated).sum())


def test_a_second_registry_never_changes_or_shows_in_the_first(both, client, django_user_model):
    # DCCG's results are what they were before kræftpakke came.
    dccg_now = Computation.objects.get(registry__slug="dccg", is_current=True)
    assert dccg_now.pk == both["dccg"].pk and _results(dccg_now) == both["dccg_results"]
    kp_definitions = set(
        IndicatorDefinition.objects.filter(profile="kraeftpakke").values_list("pk", flat=True)
    )
    assert not Result.objects.filter(
        computation=dccg_now, definition_id__in=kp_definitions
    ).exists()
    dccg_rows = storage.count_rows("registry_dccg")
    assert dccg_rows == both["dccg"].extract.rows_imported
    # Pages: the dashboard groups by registry; the patient lists keep to their registry.
    from departments.services import grant_role

    department = Department.objects.get(code="6630220")
    user = django_user_model.objects.create_user("c@x.dk", "pw-long-enough-1")
    grant_role(user, "clinician", department=department)
    client.force_login(user)
    page = client.get(f"/departments/{department.code}/").content.decode()
    assert 'data-registry="dccg"' in page and 'data-registry="kraeftpakke"' in page
    assert "Pakkeforløb for kræft" in page and "Forløb inden for standardforløbstid" in page
    kp_patients = client.get(
        f"/departments/{department.code}/indicators/forloebstid_bryst/patients/?period=2022"
    )
    assert kp_patients.status_code == 200
    kp_html = kp_patients.content.decode()
    assert "Henvisning modtaget" in kp_html and "Procedure" not in kp_html
    dccg_patients = client.get(
        f"/departments/{department.code}/indicators/major_complication/patients/?period=2022"
    ).content.decode()
    kp_pseudonyms = _pseudonyms("registry_kraeftpakke", both["kp"].extract_id)
    dccg_pseudonyms = _pseudonyms("registry_dccg", both["dccg"].extract_id)
    assert not any(p in dccg_patients for p in kp_pseudonyms - dccg_pseudonyms)
    assert not any(p in kp_html for p in dccg_pseudonyms - kp_pseudonyms)
    # DCCG's site and urgency filters: kræftpakke's tiles say they are unfiltered, and its
    # indicator page offers no such filter.
    filtered = client.get(f"/departments/{department.code}/", {"site": "kolon"}).content.decode()
    assert filtered.count("tallene herunder er ufiltrerede") == 1
    kp_page = client.get(
        f"/departments/{department.code}/indicators/forloebstid_bryst/", {"registry": "kraeftpakke"}
    ).content.decode()
    assert 'name="site"' not in kp_page and 'name="registry" value="kraeftpakke"' in kp_page
    assert "Andel pakkeforløb for brystkræft" in kp_page
    # The API keeps to the registry asked for.
    api = client.get("/api/v1/results", {"registry": "dccg", "limit": 500}).json()
    slugs = {row["indicator"] for row in api.get("results", [])}
    assert slugs and not slugs & {"forloebstid_bryst", "dage_henvisning_behandling"}
    assert client.get("/api/v1/results", {"registry": "nope"}).status_code == 404


def test_settings_choose_the_registry_and_its_fields(both, client, django_user_model):
    from departments.services import grant_role

    department = Department.objects.get(code="6630220")
    user = django_user_model.objects.create_user("k@x.dk", "pw-long-enough-2")
    grant_role(user, "coordinator", department=department)
    client.force_login(user)
    url = f"/departments/{department.code}/settings/"
    dccg_page = client.get(url).content.decode()
    assert "registry-switch" in dccg_page and "Større komplikation" in dccg_page
    assert "Forløb inden for standardforløbstid" not in dccg_page
    kp_page = client.get(url, {"registry": "kraeftpakke"}).content.decode()
    assert "Forløb inden for standardforløbstid" in kp_page and "Større komplikation" not in kp_page
    # The rule builder offers kræftpakke's fields, not DCCG's.
    assert '"field": "pakke"' in kp_page and '"field": "asa"' not in kp_page
    dccg_choices = list(department.indicator_choices.values_list("definition_id", "position"))
    # An own kræftpakke indicator uses kræftpakke's fields and belongs to it.
    answer = client.post(url, {
        "registry": "kraeftpakke", "action": "own", "own-direction": "higher", "own-target": "",
        "own-name_da": "Brystkræft inden for 20 dage", "own-name_en": "Breast within 20 days",
        "own-kind": "proportion",
        "own-population": json.dumps({"field": "pakke", "op": "eq", "value": "Brystkræft"}),
        "own-missing": json.dumps({"field": "behandling_start_dato", "op": "blank"}),
        "own-event": json.dumps(
            {"days": ["henvisning_dato", "behandling_start_dato"], "op": "le", "value": 20}
        ),
    })  # fmt: skip
    assert answer.status_code == 302 and "registry=kraeftpakke" in answer["Location"]
    own = IndicatorDefinition.objects.get(department=department)
    assert own.profile == "kraeftpakke"
    # DCCG's choices are as they were; kræftpakke's now hold its standard ones and the own one.
    assert (
        list(
            department.indicator_choices.filter(definition__profile="dccg").values_list(
                "definition_id", "position"
            )
        )
        == [c for c in dccg_choices if c[0] in set(
            IndicatorDefinition.objects.filter(profile="dccg").values_list("pk", flat=True))]
    )  # fmt: skip
    kp_followed = department.indicator_choices.filter(definition__profile="kraeftpakke")
    assert own.pk in set(kp_followed.values_list("definition_id", flat=True))
    # The same rule on a DCCG field is refused for kræftpakke.
    refused = client.post(url, {
        "registry": "kraeftpakke", "action": "own", "own-direction": "lower", "own-target": "",
        "own-name_da": "x", "own-name_en": "x", "own-kind": "proportion",
        "own-population": json.dumps({"all": []}), "own-missing": json.dumps({"any": []}),
        "own-event": json.dumps({"field": "asa", "op": "ge", "value": 3}),
    })  # fmt: skip
    assert refused.status_code == 200 and "asa" in refused.content.decode()
    assert IndicatorDefinition.objects.filter(department=department).count() == 1


def test_the_overview_shows_each_registry_of_the_leaders_scope(both, client, django_user_model):
    from departments.models import Region
    from departments.services import grant_role

    region = Department.objects.get(code="6630220").hospital.region
    user = django_user_model.objects.create_user("l@x.dk", "pw-long-enough-3")
    grant_role(user, "leadership", region=region)
    client.force_login(user)
    first = client.get("/overview/").content.decode()
    assert "registry-switch" in first and "Større komplikation" in first
    # Each cell reads its department's monthly SPC: the icons, with the rule in words for
    # screen readers and on hover.
    icons = re.findall(r'data-mdc="(\w+)"', first)
    assert icons and set(icons) <= {"improvement", "concern", "common", "pass", "fail",
                                    "inconsistent"}  # fmt: skip
    assert "Almindelig variation: " in first or "Forbedring: " in first or "Bekymring: " in first
    assert "?registry=kraeftpakke" in first
    kp = client.get("/overview/", {"registry": "kraeftpakke"}).content.decode()
    assert "Forløb inden for standardforløbstid" in kp and "Større komplikation" not in kp
    assert "/indicators/forloebstid_bryst/?registry=kraeftpakke" in kp
    other = Region.objects.exclude(pk=region.pk).first()
    outside = {d.code for d in Department.objects.filter(hospital__region=other)}
    assert outside and not any(f"/departments/{code}/" in kp for code in outside)
    csv = client.get("/overview/", {"registry": "kraeftpakke", "format": "csv"})
    text = csv.content.decode("utf-8-sig")
    assert "overblik-kraeftpakke-" in csv["Content-Disposition"]
    assert "Forløb inden for standardforløbstid" in text and "Større komplikation" not in text
    assert not any(code in text for code in outside)
    # Narrowed to one hospital, the national figures are what the whole scope allows: a
    # narrower "scope" would let the difference of two pages give a hidden count back.
    hospital = Department.objects.get(code="6630220").hospital

    def national(**narrow) -> list[str]:
        answer = client.get("/overview/", {"registry": "dccg", "format": "csv", **narrow})
        return [line for line in answer.content.decode("utf-8-sig").splitlines() if ";ALL;" in line]

    assert national() and national(hospital=hospital.code) == national()


def test_a_national_leader_narrows_the_overview_to_a_region_or_hospital(
    both, client, django_user_model
):
    from departments.models import Region
    from departments.services import grant_role

    user = django_user_model.objects.create_user("n@x.dk", "pw-long-enough-4")
    grant_role(user, "leadership")
    client.force_login(user)
    region = Region.objects.get(name="Region Nordjylland")
    inside = {d.code for d in Department.objects.filter(hospital__region=region)}
    elsewhere = {d.code for d in Department.objects.exclude(hospital__region=region)}
    page = client.get("/overview/", {"region": region.code}).content.decode()
    assert 'id="region-select"' in page and 'id="hospital-select"' in page
    assert all(f"/departments/{c}/" in page for c in inside)
    assert not any(f"/departments/{c}/" in page for c in elsewhere)
    csv = client.get("/overview/", {"region": region.code, "format": "csv"})
    text = csv.content.decode("utf-8-sig")
    assert any(c in text for c in inside) and not any(c in text for c in elsewhere)
    # A code outside the scope narrows nothing.
    everything = client.get("/overview/", {"region": "nope"}).content.decode()
    assert all(f"/departments/{c}/" in everything for c in elsewhere)


def test_one_overview_page_holds_every_registry_of_the_scope_at_a_fixed_cost(
    both, client, django_user_model, settings
):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from departments.services import grant_role

    settings.REGISTRY_PROFILE_RECHECK_SECONDS = 3600
    region = Department.objects.get(code="6630220").hospital.region
    user = django_user_model.objects.create_user("all@x.dk", "pw-long-enough-5")
    grant_role(user, "leadership", region=region)
    client.force_login(user)
    page = client.get("/overview/").content.decode()
    # Both registries, each with its own matrix, funnels and trend, and one summary table.
    assert 'data-registry="dccg"' in page and 'data-registry="kraeftpakke"' in page
    assert 'id="dccg-overview-matrix"' in page and 'id="kraeftpakke-overview-matrix"' in page
    assert "Større komplikation" in page and "Forløb inden for standardforløbstid" in page
    summary = re.search(r'<table class="data small summary".*?</table>', page, re.S).group(0)
    assert "Større komplikation" in summary and "Forløb inden for standardforløbstid" in summary
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "element ids are unique on the page"
    # The charts are each registry's own page's: linked, not drawn here (a light page).
    assert "overview-figures" not in page
    assert "/overview/?registry=dccg&amp;period=" in page
    assert "/overview/?registry=kraeftpakke&amp;period=" in page
    single = client.get("/overview/", {"registry": "kraeftpakke"}).content.decode()
    figures = json.loads(
        re.search(r'id="overview-figures" type="application/json">(.*?)</script>', single).group(1)
    )
    assert "trend" in figures and all(f'id="{name}"' in single for name in figures)
    # The CSV of the whole page names each row's registry.
    csv_text = client.get("/overview/", {"format": "csv"}).content.decode("utf-8-sig")
    assert {line.split(";")[0] for line in csv_text.splitlines()[1:]} == {"dccg", "kraeftpakke"}

    def queries(params) -> int:
        client.get("/overview/", params)  # the cache warm
        with CaptureQueriesContext(db) as captured:
            assert client.get("/overview/", params).status_code == 200
        return len(captured)

    # Two registries cost what one does.
    assert queries({}) == queries({"registry": "dccg"}) == queries({"registry": "kraeftpakke"})


def _pseudonyms(table: str, extract_id: int) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pseudonym FROM {table} WHERE extract_id = %s", [extract_id])  # noqa: S608
        return {row[0][:8] for row in cursor.fetchall()}


# --- a random profile computes as a row-by-row count --------------------------------------


def _value(text: str, column, date_format: str):
    text = text.strip()
    if not text:
        return None
    if column.kind == "date":
        return dt.datetime.strptime(text, date_format).date()
    if column.kind == "choice":
        return column.choices[text.lower()]
    if column.kind in ("int", "decimal"):
        return float(text.replace(",", "."))
    return text.upper() if column.kind == "code" else text


def _holds(rule: dict, row: dict) -> bool:
    """The rule language, one row at a time in plain Python (the reference for the engine)."""
    if "all" in rule:
        return all(_holds(r, row) for r in rule["all"])
    if "any" in rule:
        return any(_holds(r, row) for r in rule["any"])
    if "not" in rule:
        return not _holds(rule["not"], row)
    value, op, wanted = row[rule["field"]], rule["op"], rule.get("value")
    if op == "blank":
        return value is None
    if op == "not_blank":
        return value is not None
    if value is None:
        return op in ("ne", "not_in")
    return {
        "eq": lambda: value == wanted, "ne": lambda: value != wanted,
        "ge": lambda: value >= wanted, "lt": lambda: value < wanted,
    }[op]()  # fmt: skip


def _event_rule(spec) -> dict:
    """An event on the first column other than the places and the period that can have one."""
    fields = {c.field: c for c in spec.columns}
    for column in spec.columns:
        if (
            column.name in (spec.hospital_code, spec.department_code, spec.period)
            or column.kind == "cpr"
        ):
            continue
        if column.kind == "choice":
            return {"field": column.field, "op": "eq", "value": next(iter(column.choices.values()))}
        if column.kind in ("int", "decimal"):
            middle = ((column.low or 0) + (column.high if column.high is not None else 100)) / 2
            middle = int(middle) if column.kind == "int" else middle
            return {"field": column.field, "op": "ge", "value": middle}
        return {"field": column.field, "op": "not_blank"}
    assert fields
    return {"not": {"field": spec.period, "op": "blank"}}


_COUNTER = iter(range(10**6))


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=random_profiles(), seed=st.integers(0, 2**31 - 1))
def test_a_random_profile_computes_as_a_row_by_row_count(data, seed, tmp_path_factory):
    slug = f"random{next(_COUNTER)}"
    spec = load_profile_data(data | {"slug": slug})
    event = _event_rule(spec)
    missing_on = next(
        (c.field for c in spec.columns if not c.required and c.kind != "cpr"
         and c.name not in (spec.hospital_code, spec.department_code, spec.period)), None,
    )  # fmt: skip
    missing = {"field": missing_on, "op": "blank"} if missing_on else {"any": []}
    data = data | {"slug": slug, "indicators": [{
        "slug": "andel", "name_da": "Andel", "name_en": "Share", "kind": "proportion",
        "population": {"all": []}, "missing": missing, "event": event, "better": "lower",
    }]}  # fmt: skip
    spec = load_profile_data(data)
    folder = tmp_path_factory.mktemp(slug)
    assert install_profile(spec).action == "installed"
    frame = synthetic_profiles.profile_frame(
        spec, 120, seed=seed, start=dt.date(2021, 1, 1), end=dt.date(2023, 12, 31)
    )
    extract_path = folder / "extract.csv"
    synthetic_profiles.write_profile_extract(frame, extract_path, spec)
    extract = import_path(extract_path, profile_slug=slug).extract
    assert extract.status == "done" and extract.rows_rejected == 0, extract.message_en
    computation = settle()
    assert computation.registry.slug == slug
    # The reference: each row read by hand, counted per department and year.
    columns = {c.name: c for c in spec.columns}
    expected: dict[tuple, list[int]] = {}
    for record in frame.to_dict("records"):
        row = {columns[n].field: _value(v, columns[n], spec.date_format) for n, v in record.items()}
        key = (str(row[columns[spec.department_code].field]), row[columns[spec.period].field].year)
        counts = expected.setdefault(key, [0, 0, 0])
        if missing_on and row[missing_on] is None:
            counts[2] += 1
            continue
        counts[1] += 1
        counts[0] += _holds(event, row)
    definition = IndicatorDefinition.objects.get(profile=slug, slug="andel")
    stored = {
        (r.department.code, r.period_start.year): [r.numerator, r.denominator, r.missing]
        for r in Result.objects.filter(
            computation=computation, definition=definition, period_type="year",
            department__isnull=False,
        ).select_related("department")
    }  # fmt: skip
    assert stored == expected
