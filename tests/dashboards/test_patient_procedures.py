"""The patient list names each operation: its NCSP code and the code's text in the reader's
language; a code the table does not know is shown as it is."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from html import unescape

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from departments.models import Department, Region, Role
from indicators.registry import synthetic
from indicators.registry.importer import import_path
from indicators.registry.ncsp import procedure_label, procedure_text
from indicators.services import computations
from tests.departments.people import A, person
from tests.indicators.indicator_rows import ensure_standard_definitions

REGIONS = importlib.import_module("departments.migrations.0002_danish_regions").REGIONS
UNKNOWN = "KJGB30"  # in older extracts; not in the code table (its text is not checked)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def clinician(django_db_setup, django_db_blocker, tmp_path_factory):
    """Køge's clinician, with a year of Køge's operations imported and computed once for the
    module, inside a transaction rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            for code, name in REGIONS:
                Region.objects.update_or_create(code=code, defaults={"name": name})
            ensure_standard_definitions()
            frame = synthetic.generate_frame(
                1500, 5, dt.date(2024, 1, 1), dt.date(2024, 12, 31)
            ).astype(object)
            koege = frame.index[frame["afdeling_kode"] == A]
            frame.loc[koege[:3], "procedurekode"] = UNKNOWN
            path = tmp_path_factory.mktemp("extract") / "extract.csv"
            synthetic.write_extract(frame, path)
            extract = import_path(path).extract
            assert extract.status == "done", extract.message_da
            computation = computations.recompute(extract.registry, reason="test")
            assert computation.status == "done", computation.error_en
            yield person("kliniker@example.dk", Role.CLINICIAN, Department.objects.get(code=A))
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def reader(clinician) -> Client:
    client = Client()
    client.force_login(clinician)
    return client


def procedure_cells(client: Client, language: str) -> list[str]:
    """The procedure cell of every operation in Køge's length-of-stay list for 2024."""
    url = reverse("indicator_patients", args=[A, "length_of_stay"]) + "?period=2024"
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    cells = re.findall(r'<td class="procedure">([^<]*)</td>', response.content.decode())
    return [unescape(cell) for cell in cells]


@pytest.mark.parametrize(
    ("language", "example"),
    [("da", "KJFB30 Højresidig hemikolektomi"), ("en", "KJFB30 Right hemicolectomy")],
)
def test_each_operation_shows_its_code_and_text_in_the_readers_language(reader, language, example):
    cells = procedure_cells(reader, language)
    assert len(cells) > 50
    assert example in cells
    for cell in cells:
        code = cell.split(" ", 1)[0]
        assert cell == procedure_label(code, language)
    named = [cell for cell in cells if " " in cell]
    assert len({cell.split(" ", 1)[0] for cell in named}) >= 6, "most codes have a text"


def test_an_unknown_code_is_shown_alone(reader):
    assert procedure_text(UNKNOWN) is None
    for language in ("da", "en"):
        cells = procedure_cells(reader, language)
        assert cells.count(UNKNOWN) == 3
