"""The coordinator's extract pages: upload, follow the import, read the report, roll back."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from departments.models import Role, User
from indicators.models import Extract, OperationRow
from indicators.registry.importer import import_path
from tests.departments.people import A, department, person
from tests.indicators.extract_files import CPRS, ROWS, SAMPLE, csv_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator(client, eager_tasks):
    """A coordinator of department A: extracts are national, so any coordinator may upload."""
    user = person("koordinator@example.dk", Role.COORDINATOR, department(A))
    client.force_login(user)
    return user


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client, content: bytes, name: str = "udtraek.csv"):
    return client.post(
        "/extracts/upload/",
        {"profile": "dccg", "file": SimpleUploadedFile(name, content, "text/csv")},
        follow=True,
    )


def test_it_sends_anonymous_visitors_to_login(client):
    response = client.get("/extracts/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_it_refuses_users_who_are_not_coordinators(client):
    client.force_login(User.objects.create_user("kliniker@example.dk", "pw-123456789"))
    assert client.get("/extracts/").status_code == 403
    assert client.get("/extracts/upload/").status_code == 403


def test_an_upload_is_imported_and_its_report_shows_counts_and_refused_rows(
    client, coordinator, media, django_capture_on_commit_callbacks
):
    # A refused row of the coordinator's own department (A): theirs to read.
    rows = [*ROWS, dict(ROWS[1], asa="9", cpr="0202024444")]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, csv_text(rows).encode("cp1252"))
    extract = Extract.objects.get()
    assert response.redirect_chain[-1][0] == f"/extracts/{extract.pk}/"
    assert extract.message_en == ""
    assert extract.status == "done" and extract.is_current
    response = client.get(f"/extracts/{extract.pk}/")
    assert (extract.rows_read, extract.rows_imported, extract.rows_rejected) == (4, 3, 1)
    html = response.content.decode()
    assert "Færdig" in html
    assert "asa skal være et helt tal fra 1 til 5" in html
    assert f'href="/extracts/{extract.pk}/refused.csv"' in html
    # The raw file held CPR numbers: it is gone once read.
    assert not extract.upload
    assert not any(p.is_file() for p in media.rglob("*"))


def test_the_status_answers_json_for_the_progress_bar(client, coordinator):
    extract = import_path(SAMPLE).extract
    state = client.get(f"/extracts/{extract.pk}/status/").json()
    assert state == {
        "id": extract.pk,
        "status": "done",
        "status_label": "Færdig",
        "progress": 100,
        "finished": True,
        "rows": 300,
        "imported": 300,
        "rejected": 0,
        "message": "",
    }


def test_a_queued_upload_shows_progress_until_the_worker_has_run(client, coordinator, media):
    # Without running the on-commit callbacks the import has not started yet.
    response = upload(client, csv_text().encode())
    extract = Extract.objects.get()
    assert extract.status == "queued"
    html = response.content.decode()
    assert "I kø" in html and "<progress" in html and "extract-progress.js" in html
    assert client.get(f"/extracts/{extract.pk}/status/").json()["finished"] is False


def test_a_refused_file_is_reported_clearly_in_danish_and_english(
    client, coordinator, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, b"cpr,sygehus_kode\n1,2\n")
    extract = Extract.objects.get()
    response = client.get(f"/extracts/{extract.pk}/")
    assert "ikke adskilt med semikolon" in response.content.decode()
    assert OperationRow.objects.count() == 0
    client.post("/i18n/setlang/", {"language": "en"})
    html = client.get(f"/extracts/{extract.pk}/").content.decode()
    assert "not separated by semicolons" in html


def test_refused_rows_download_as_csv_without_cpr_numbers(client, coordinator, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(csv_text([*ROWS, dict(ROWS[1], koen="X")]), encoding="utf-8")
    extract = import_path(path).extract
    response = client.get(f"/extracts/{extract.pk}/refused.csv")
    body = response.content.decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert body.splitlines()[0].startswith("linje;kolonne;aarsag;reason;sygehus_kode")
    assert "5;koen;koen skal være en af" in body
    assert not any(cpr in body or f"{cpr[:6]}-{cpr[6:]}" in body for cpr in CPRS)


def test_uploading_the_same_file_again_says_so_and_changes_nothing(
    client, coordinator, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, csv_text().encode())
    response = upload(client, csv_text().encode())
    assert Extract.objects.count() == 1
    assert "allerede indlæst" in response.content.decode()


def test_a_file_of_the_wrong_kind_is_refused_by_the_form(client, coordinator, media):
    response = upload(client, b"%PDF-1.4", name="rapport.pdf")
    assert "Filen skal være .csv eller .xlsx" in response.content.decode()
    assert Extract.objects.count() == 0


def test_rollback_makes_an_earlier_extract_current(client, coordinator, tmp_path):
    old = import_path(SAMPLE).extract
    path = tmp_path / "new.csv"
    path.write_text(csv_text(), encoding="utf-8")
    import_path(path, force=True)  # far fewer rows of A and B: forced
    # First what changes, per department; nothing changed yet.
    preview = client.post(f"/extracts/{old.pk}/make-current/").content.decode()
    assert "Rækker nu" in preview and "Ja, gør udtrækket aktuelt" in preview
    old.refresh_from_db()
    assert not old.is_current
    response = client.post(f"/extracts/{old.pk}/make-current/", {"confirm": "1"}, follow=True)
    old.refresh_from_db()
    assert old.is_current
    assert f"Udtræk nr. {old.pk} er nu aktuelt for de afdelinger" in response.content.decode()


def test_the_history_marks_the_current_extract(client, coordinator):
    extract = import_path(SAMPLE).extract
    html = client.get("/extracts/").content.decode()
    assert "sample-extract.csv" in html and "Aktuelt" in html
    assert f'href="/extracts/{extract.pk}/"' in html


def test_the_extract_pages_say_they_cover_every_department(client, coordinator):
    extract = import_path(SAMPLE).extract
    for url in ("/extracts/", "/extracts/upload/", f"/extracts/{extract.pk}/"):
        html = client.get(url).content.decode()
        top = html[html.index('<header class="topbar">') : html.index("</header>")]
        assert "Alle afdelinger" in top, url


def test_upload_page_says_when_background_work_is_unavailable(client, coordinator, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    html = client.get("/extracts/upload/").content.decode()
    assert "Baggrundsbehandlingen er ikke tilgængelig" in html
    response = client.post(
        "/extracts/upload/",
        {"profile": "dccg", "file": SimpleUploadedFile("x.csv", csv_text().encode())},
    )
    assert "filen er ikke modtaget" in response.content.decode()
    assert Extract.objects.count() == 0


def test_staff_and_clinicians_are_refused_and_administrators_only_read(client):
    staff = User.objects.create_user("it@example.dk", "pw-123456789", is_staff=True)
    admin = person("admin@example.dk", Role.ADMIN, is_staff=True, is_superuser=True)
    clinician = person("kliniker@example.dk", Role.CLINICIAN, department(A))
    for user in (staff, clinician):
        client.force_login(user)
        assert client.get("/extracts/").status_code == 403, user.email
    # Administrators read the reports (and every refused row); they neither upload nor roll back.
    client.force_login(admin)
    assert client.get("/extracts/").status_code == 200
    assert client.get("/extracts/upload/").status_code == 403


def test_a_coordinator_of_any_department_may_work_with_extracts(client):
    client.force_login(person("vejle@example.dk", Role.COORDINATOR, department("6630220")))
    assert client.get("/extracts/").status_code == 200
    assert client.get("/extracts/upload/").status_code == 200


def test_upload_rollback_and_refused_rows_download_are_audited(
    client, coordinator, media, tmp_path, django_capture_on_commit_callbacks
):
    from departments.models import AuditEvent

    with django_capture_on_commit_callbacks(execute=True):
        upload(client, csv_text([*ROWS, dict(ROWS[1], asa="9", cpr="0202024444")]).encode())
    first = Extract.objects.get()
    path = tmp_path / "new.csv"
    path.write_text(csv_text(), encoding="utf-8")
    import_path(path)
    client.get(f"/extracts/{first.pk}/refused.csv")
    client.post(f"/extracts/{first.pk}/make-current/")  # the preview: not audited
    client.post(f"/extracts/{first.pk}/make-current/", {"confirm": "1"})

    events = AuditEvent.objects.filter(user=coordinator).exclude(action="login").order_by("pk")
    assert [(e.action, e.target) for e in events] == [
        ("upload", f"extract:{first.pk}"),
        ("download", f"extract:{first.pk}/refused.csv"),
        ("rollback", f"extract:{first.pk}"),
    ]
    assert events[0].detail["file_name"] == "udtraek.csv"
    assert events[0].detail["already_imported"] is False
    assert all(e.user_email == "koordinator@example.dk" for e in events)
