"""Uploads are checked while the body streams: a visitor who is not logged in gets nothing read,
a file over the limit stops at the limit, and leftovers are swept when the portal starts."""

from __future__ import annotations

import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from departments.models import Role
from indicators.models import Extract
from qualityportal import uploads
from tests.departments.people import department, person

pytestmark = pytest.mark.django_db
SEEN: list[int] = []  # bytes that reached the handlers behind the guard, per chunk


class Spy(FileUploadHandler):
    """Stands where Django's memory and disk handlers stand: what it sees, they would write."""

    def receive_data_chunk(self, raw_data, start):
        SEEN.append(len(raw_data))
        return raw_data

    def file_complete(self, file_size):
        return None


@pytest.fixture
def spied(settings, tmp_path):
    SEEN.clear()
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads-tmp")
    settings.FILE_UPLOAD_HANDLERS = [
        "qualityportal.uploads.GuardedUploadHandler",
        f"{__name__}.Spy",
        *settings.FILE_UPLOAD_HANDLERS[1:],
    ]
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path


def big_file(megabytes: int) -> SimpleUploadedFile:
    return SimpleUploadedFile("stor.csv", b"x" * (megabytes * 1024 * 1024), "text/csv")


def test_an_upload_from_a_visitor_not_logged_in_is_not_read_at_all(client, spied):
    response = client.post("/extracts/upload/", {"file": big_file(6), "profile": "dccg"})
    assert response.status_code in (302, 403)
    assert SEEN == [], "no byte of the body reached a handler that writes"
    assert not Extract.objects.exists()
    assert not any((spied / "uploads-tmp").glob("*")) if (spied / "uploads-tmp").exists() else True


def test_a_file_over_the_limit_stops_at_the_limit_and_nothing_is_kept(client, spied, settings):
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    client.force_login(person("koord@example.dk", Role.COORDINATOR, department()))
    response = client.post("/extracts/upload/", {"file": big_file(8), "profile": "dccg"})
    assert response.status_code == 200
    assert "Filen er for stor" in response.content.decode()
    assert sum(SEEN) <= settings.UPLOAD_MAX_BYTES
    assert not Extract.objects.exists()
    assert not list((spied / "media").rglob("*.bin"))


def test_leftover_upload_files_are_swept_when_the_portal_starts(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    old, fresh = tmp_path / "old.upload.csv", tmp_path / "fresh.upload.csv"
    old.write_text("0510452973;…")
    fresh.write_text("under way")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert uploads.sweep() == 1
    assert not old.exists() and fresh.exists()
