"""A registry's machine client with a feed token: ``POST /api/v1/registries/<slug>/extracts``
delivers, the status URL follows the import; the token opens nothing else, a session opens
nothing here (dashboards/views/feeds.py)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from departments.models import AuditEvent, Role
from indicators.models import Extract, FeedToken
from indicators.registry.importer import import_path
from indicators.services import computations, feed_tokens
from tests.departments.people import A, department, person
from tests.indicators.extract_files import CPRS, ROWS, SAMPLE, csv_text

pytestmark = pytest.mark.django_db
URL = reverse("api_registry_extracts", kwargs={"registry": "dccg"})
CONTENT = csv_text().encode()


@pytest.fixture
def places(settings, tmp_path, eager_tasks):
    """Where a delivery may leave files: the storage and the upload folder (both empty)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads-tmp")
    return [tmp_path / "media", tmp_path / "uploads-tmp"]


@pytest.fixture
def token(places):
    return feed_tokens.create_token("dccg", "rkkp-dccg")


@pytest.fixture
def bearer(token) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token[1]}"}


@pytest.fixture
def deliver(client, bearer, django_capture_on_commit_callbacks):
    """POST a body as the client would, the import running as the worker would."""

    def post(content: bytes = CONTENT, url: str = URL, headers: dict | None = None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                url, content, content_type="text/csv", **(bearer if headers is None else headers),
                **extra,
            )  # fmt: skip

    return post


def files_in(places) -> list:
    return [p for place in places if place.exists() for p in place.rglob("*") if p.is_file()]


def test_a_raw_body_is_imported_and_the_status_url_shows_its_counts(client, deliver, bearer, token):
    response = deliver()
    assert response.status_code == 202, response.content
    answer = response.json()
    extract = Extract.objects.get()
    assert answer["extract"] == extract.pk and answer["already_imported"] is False
    assert answer["status_url"].endswith(f"/api/v1/registries/dccg/extracts/{extract.pk}")
    assert response["Location"] == answer["status_url"]
    assert (extract.via, extract.feed_token, extract.uploaded_by) == ("api", token[0], None)
    assert extract.file_name == "feed-dccg.csv"

    state = client.get(answer["status_url"], **bearer)
    assert state.status_code == 200
    assert state.json() | {"uploaded_at": None, "finished_at": None, "last_delivered_at": None} == {
        "id": extract.pk, "registry": "dccg", "status": "done", "finished": True, "progress": 100,
        "rows_read": 3, "rows_imported": 3, "rows_rejected": 0, "is_current": True,
        "awaiting_confirmation": False, "deliveries": 1, "message_da": "", "message_en": "",
        "file_name": "feed-dccg.csv", "uploaded_at": None, "finished_at": None,
        "last_delivered_at": None,
    }  # fmt: skip
    assert state.json()["finished_at"]
    assert state["Cache-Control"].startswith("max-age=0")


def test_each_use_is_audited_and_noted_on_the_token(client, deliver, bearer, token):
    answer = deliver(HTTP_X_FILE_NAME="udtraek-2026-11.csv").json()
    client.get(answer["status_url"], **bearer)
    extract = Extract.objects.get()
    assert extract.file_name == "udtraek-2026-11.csv"
    uses = AuditEvent.objects.filter(action="feed_token_used").order_by("pk")
    assert [(e.target, e.user, e.detail) for e in uses] == [
        (
            f"feed_token:{token[0].pk}",
            None,
            {
                "name": "rkkp-dccg", "registry": "dccg", "what": "upload",
                "extract": extract.pk, "already_imported": False,
            },
        ),
        (
            f"feed_token:{token[0].pk}",
            None,
            {"name": "rkkp-dccg", "registry": "dccg", "what": "status", "extract": extract.pk},
        ),
    ]  # fmt: skip
    assert uses[0].ip_address == "127.0.0.1"
    upload = AuditEvent.objects.get(action="upload")
    assert upload.user is None and upload.target == f"extract:{extract.pk}"
    assert upload.detail["via"] == "api" and upload.detail["feed_token"] == "rkkp-dccg"
    assert FeedToken.objects.get().last_used_at is not None
    # The token is nowhere in the database.
    rows = [*FeedToken.objects.values_list(), *AuditEvent.objects.values_list()]
    assert token[1] not in json.dumps(rows, default=str)


def test_a_multipart_file_is_imported(client, bearer, places, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL, {"file": SimpleUploadedFile("udtraek.csv", CONTENT, "text/csv")}, **bearer
        )
    assert response.status_code == 202, response.content
    extract = Extract.objects.get(pk=response.json()["extract"])
    assert extract.status == "done" and extract.rows_imported == 3
    assert extract.file_name == "udtraek.csv"
    assert files_in(places) == []  # moved into the storage, read, deleted


def test_curls_default_form_content_type_is_read_as_the_file_without_holding_it(
    client, bearer, places, settings, django_capture_on_commit_callbacks
):
    # curl --data-binary says application/x-www-form-urlencoded; the body is never parsed as a
    # form (that would hold it in memory, and refuse it past DATA_UPLOAD_MAX_MEMORY_SIZE).
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL, CONTENT, content_type="application/x-www-form-urlencoded", **bearer
        )
    assert response.status_code == 202, response.content
    assert Extract.objects.get().rows_imported == 3


def test_the_same_file_twice_is_one_extract_delivered_twice(client, deliver, bearer):
    first = deliver().json()
    again = deliver()
    assert again.status_code == 202
    answer = again.json()
    assert answer["extract"] == first["extract"] and answer["already_imported"] is True
    assert answer["deliveries"] == 2
    assert Extract.objects.count() == 1
    assert client.get(answer["status_url"], **bearer).json()["deliveries"] == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer kpf_not-a-token"},
        {"HTTP_AUTHORIZATION": "Basic cmtrcDpwdw=="},
        {"HTTP_AUTHORIZATION": "Bearer"},
    ],
    ids=["missing", "wrong", "basic", "empty"],
)
def test_without_a_valid_token_it_is_401_and_nothing_is_kept(
    client, deliver, places, token, headers
):
    response = deliver(headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "not_authenticated"
    assert not Extract.objects.exists() and files_in(places) == []
    assert not AuditEvent.objects.filter(action__in=["upload", "feed_token_used"]).exists()


def test_a_revoked_token_is_401(client, deliver, bearer):
    answer = deliver().json()
    feed_tokens.revoke("rkkp-dccg")
    assert deliver(b"cpr;x\n").status_code == 401
    assert client.get(answer["status_url"], **bearer).status_code == 401
    assert Extract.objects.count() == 1


def test_a_token_of_another_registry_is_403(client, deliver, bearer):
    answer = deliver().json()
    _other, raw = feed_tokens.create_token("kraeftpakke", "rkkp-kraeftpakke")
    other = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert deliver(headers=other).status_code == 403
    assert client.get(answer["status_url"], **other).status_code == 403
    # Its own registry's URL does not show another registry's extract.
    own = reverse(
        "api_registry_extract", kwargs={"registry": "kraeftpakke", "pk": answer["extract"]}
    )
    assert client.get(own, **other).status_code == 404
    # A registry that does not exist: not this token's either.
    nowhere = reverse("api_registry_extracts", kwargs={"registry": "hoftebrud"})
    assert deliver(url=nowhere).status_code == 403
    assert Extract.objects.count() == 1
    refused = AuditEvent.objects.filter(action="feed_token_used", detail__what="refused")
    assert refused.count() == 3


def test_an_unknown_extract_is_404(client, bearer):
    url = reverse("api_registry_extract", kwargs={"registry": "dccg", "pk": 999999})
    response = client.get(url, **bearer)
    assert response.status_code == 404 and response.json()["error"] == "unknown_extract"


def test_methods_other_than_the_endpoints_own_are_405_once_the_token_is_good(client, bearer):
    assert client.get(URL, **bearer).status_code == 405
    url = reverse("api_registry_extract", kwargs={"registry": "dccg", "pk": 1})
    assert client.post(url, **bearer).status_code == 405


def test_a_session_alone_opens_nothing_here(client, places, django_capture_on_commit_callbacks):
    coordinator = person("koordinator@example.dk", Role.COORDINATOR, department(A))
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, CONTENT, content_type="text/csv")
        multipart = client.post(URL, {"file": SimpleUploadedFile("u.csv", CONTENT, "text/csv")})
    assert response.status_code == multipart.status_code == 401
    assert not Extract.objects.exists() and files_in(places) == []
    extract = import_path(SAMPLE).extract
    url = reverse("api_registry_extract", kwargs={"registry": "dccg", "pk": extract.pk})
    assert client.get(url).status_code == 401


def test_a_session_that_still_needs_two_factor_gets_json_not_a_page(client, deliver, settings):
    settings.MFA_REQUIRED_FOR_PATIENT_ROLES = True
    coordinator = person("koordinator@example.dk", Role.COORDINATOR, department(A))
    client.force_login(coordinator)
    assert client.get("/extracts/").status_code == 302  # the pages send them to set it up
    refused = client.post(URL, CONTENT, content_type="text/csv")
    assert refused.status_code == 401 and refused.json()["error"] == "not_authenticated"
    assert deliver().status_code == 202  # the token alone speaks here


def test_a_session_and_a_token_deliver_as_the_token_alone(client, deliver):
    coordinator = person("koordinator@example.dk", Role.COORDINATOR, department(A))
    client.force_login(coordinator)
    assert deliver().status_code == 202
    assert Extract.objects.get().uploaded_by is None
    assert not AuditEvent.objects.filter(user=coordinator).exclude(action="login").exists()


def test_an_empty_body_or_no_file_is_400_in_danish_and_english(client, deliver, bearer, places):
    for response in (
        deliver(b""),
        client.post(URL, {"other": "x"}, **bearer),
    ):
        assert response.status_code == 400
        answer = response.json()
        assert answer["error"] == "no_file"
        assert "Ingen fil modtaget" in answer["message"] and "No file received" in answer["message"]
    assert not Extract.objects.exists() and files_in(places) == []


def test_a_body_over_the_limit_is_413_and_nothing_is_kept(
    client, deliver, bearer, places, settings
):
    settings.UPLOAD_MAX_BYTES = 100
    raw = deliver()
    multipart = client.post(
        URL, {"file": SimpleUploadedFile("udtraek.csv", CONTENT, "text/csv")}, **bearer
    )
    for response in (raw, multipart):
        assert response.status_code == 413, response.content
        assert response.json()["error"] == "too_large"
        assert "for stor" in response.json()["message"]
    assert not Extract.objects.exists() and files_in(places) == []
    assert not AuditEvent.objects.filter(action="upload").exists()


def test_a_body_longer_than_its_content_length_says_is_read_no_further(
    client, bearer, places, settings, django_capture_on_commit_callbacks
):
    # A lying Content-Length: only that many bytes are ever read, and the limit holds on them.
    settings.UPLOAD_MAX_BYTES = 100
    with django_capture_on_commit_callbacks(execute=True):
        response = client.generic(
            "POST", URL, CONTENT, content_type="text/csv", CONTENT_LENGTH="50", **bearer
        )
    assert response.status_code == 202
    extract = Extract.objects.get()
    assert extract.size_bytes == 50 and extract.status == "failed"


def test_the_status_shows_no_row_values_and_no_cpr_number(client, deliver, bearer):
    refused_cpr = "0202024444"
    rows = [*ROWS, dict(ROWS[1], asa="9", cpr=refused_cpr), dict(ROWS[0], koen="X")]
    answer = deliver(csv_text(rows).encode(), HTTP_X_FILE_NAME=f"udtraek-{CPRS[0]}.csv").json()
    response = client.get(answer["status_url"], **bearer)
    state = response.json()
    assert (state["rows_read"], state["rows_imported"], state["rows_rejected"]) == (5, 3, 2)
    body = response.content.decode()
    for cpr in [*CPRS, refused_cpr]:
        assert cpr not in body and f"{cpr[:6]}-{cpr[6:]}" not in body
    # Nor any other value of a row: names, codes, dates.
    for value in ("Kirurgisk", "Vejle", "KJGB10", "6630220", "21-03-2023", "rektum"):
        assert value not in body
    assert state["file_name"] == "udtraek-[CPR].csv"


def test_a_token_opens_no_page_and_no_other_api(client, bearer):
    """Pages and /api/v1/results answer a token's request exactly as an anonymous one."""
    extract = import_path(SAMPLE).extract
    assert computations.recompute(extract.registry, reason="test").status == "done"
    paths = [
        "/",
        "/extracts/",
        f"/extracts/{extract.pk}/",
        f"/extracts/{extract.pk}/status/",
        f"/extracts/{extract.pk}/refused.csv",
        "/departments/",
        f"/departments/{A}/",
        f"/departments/{A}/indicators/major_complication/data.csv",
        "/overview/",
        "/api/v1/results?department=ALL",
        f"/api/v1/results?department={A}",
        "/admin/",
        "/admin/indicators/feedtoken/",
    ]
    anonymous = Client()
    for path in paths:
        with_token = client.get(path, **bearer)
        without = anonymous.get(path)
        assert with_token.status_code == without.status_code, path
        assert with_token.status_code in (302, 401, 403), path
        assert with_token.get("Location") == without.get("Location"), path
    upload = client.post("/extracts/upload/", {"profile": "dccg"}, **bearer)
    assert upload.status_code in (302, 403)
    assert Extract.objects.count() == 1


def test_a_token_follows_only_what_it_delivered(client, deliver, bearer, places):
    answer = deliver().json()
    _second, raw = feed_tokens.create_token("dccg", "region-dwh")
    second = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    # Another client of the same registry, guessing ids: not its delivery.
    assert client.get(answer["status_url"], **second).status_code == 404
    # A coordinator's upload of the same registry is none of a token's business either.
    web = import_path(SAMPLE, profile_slug="dccg").extract
    url = reverse("api_registry_extract", kwargs={"registry": "dccg", "pk": web.pk})
    assert client.get(url, **bearer).status_code == 404
    # Answered with an earlier extract (a repeat), the token may follow that one.
    repeat = deliver(headers=second).json()
    assert repeat["extract"] == answer["extract"] and repeat["already_imported"]
    assert client.get(repeat["status_url"], **second).status_code == 200


def test_a_token_revoked_while_the_body_streams_delivers_nothing(
    client, deliver, places, token, monkeypatch
):
    from dashboards.views import feeds

    read = feeds._raw_body

    def read_then_revoke(request, registry):
        upload = read(request, registry)
        feed_tokens.revoke("rkkp-dccg")  # the operator revokes it mid-upload
        return upload

    monkeypatch.setattr(feeds, "_raw_body", read_then_revoke)
    assert deliver().status_code == 401
    assert not Extract.objects.exists() and files_in(places) == []


def test_a_body_cut_off_before_its_content_length_is_refused_and_nothing_kept(token, places):
    """A client that disconnects early: the server sees fewer bytes than promised."""
    import io

    from django.core.handlers.wsgi import WSGIRequest
    from django.test import RequestFactory

    from dashboards.views.feeds import registry_extracts

    whole = CONTENT
    environ = RequestFactory()._base_environ(
        REQUEST_METHOD="POST",
        PATH_INFO=URL,
        CONTENT_TYPE="text/csv",
        CONTENT_LENGTH=str(len(whole)),
        HTTP_AUTHORIZATION=f"Bearer {token[1]}",
    )
    environ["wsgi.input"] = io.BytesIO(whole[: len(whole) // 2])  # cut at half
    response = registry_extracts(WSGIRequest(environ), registry="dccg")
    assert response.status_code == 400
    assert json.loads(response.content)["error"] == "cut_short"
    assert not Extract.objects.exists() and files_in(places) == []
