"""The inbox (INBOX_DIR/<slug>/): complete files are taken once, imported through the one door
with their report, and deleted; files still being written stay; nothing delivered is lost."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.core.management import call_command

from indicators.models import Computation, Extract
from indicators.services import inbox
from tests.indicators.extract_files import CPRS, csv_text, with_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """poll() (or a command) with what its transactions queue on commit run as they would."""

    def run(call=inbox.poll, *args):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args)

    return run


@pytest.fixture
def box(tmp_path, settings, eager_tasks) -> Path:
    settings.INBOX_DIR = tmp_path / "inbox"
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.INBOX_DIR / "dccg").mkdir(parents=True)
    return settings.INBOX_DIR


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file()]


def holds_a_cpr(*folders: Path) -> bool:
    return any(
        cpr in path.read_bytes().decode("utf-8", "replace")
        for path in files_under(*folders)
        for cpr in CPRS
    )


def test_files_being_written_stay_until_renamed_then_are_imported_and_deleted(run, box, settings):
    part = box / "dccg" / "udtraek-2024.csv.part"
    hidden = box / "dccg" / ".udtraek-2024.csv"
    part.write_text(csv_text(), encoding="utf-8")
    hidden.write_text(csv_text(), encoding="utf-8")

    waiting = run()
    assert waiting.taken == [] and waiting.waiting == 2
    assert part.exists() and hidden.exists() and not Extract.objects.exists()

    done = part.rename(box / "dccg" / "udtraek-2024.csv")
    hidden.unlink()
    result = run()
    (taken,) = result.taken
    extract = Extract.objects.get(pk=taken.extract_id)
    assert (taken.registry, taken.name) == ("dccg", "udtraek-2024.csv")
    assert extract.status == "done" and extract.rows_imported == 3 and extract.is_current
    assert extract.via == "inbox" and extract.file_name == "udtraek-2024.csv"
    assert Computation.objects.filter(extract=extract, status="done").exists()
    # The raw file is gone from the inbox, its claim folder and the worker's queue.
    assert not done.exists()
    assert files_under(box, settings.MEDIA_ROOT) == []


def test_the_same_file_twice_changes_nothing_but_its_count_of_deliveries(run, box):
    (box / "dccg" / "a.csv").write_text(csv_text(), encoding="utf-8")
    (first,) = run().taken
    computations = Computation.objects.count()
    (box / "dccg" / "a-again.csv").write_text(csv_text(), encoding="utf-8")
    (again,) = run().taken
    assert again.already_imported and again.extract_id == first.extract_id
    assert Extract.objects.count() == 1 and Computation.objects.count() == computations
    extract = Extract.objects.get()
    assert extract.deliveries == 2 and extract.last_delivered_at is not None
    assert files_under(box) == []


def test_a_refused_whole_file_is_recorded_and_deleted(run, box, settings):
    (box / "dccg" / "forkert.csv").write_text("navn;alder\nPer;0101701234\n", encoding="utf-8")
    (taken,) = run().taken
    extract = Extract.objects.get(pk=taken.extract_id)
    assert extract.status == "failed" and extract.error_code and extract.message_en
    assert not extract.is_current and extract.via == "inbox"
    assert files_under(box, settings.MEDIA_ROOT) == []
    assert not Computation.objects.exists()


def test_refused_rows_keep_their_file_out_of_the_inbox_and_no_cpr_anywhere(run, box, settings):
    rows = with_change(1, opr_dato="32-13-2023")
    (box / "dccg" / "delvis.csv").write_text(csv_text(rows), encoding="utf-8")
    (taken,) = run().taken
    extract = Extract.objects.get(pk=taken.extract_id)
    assert (extract.rows_imported, extract.rows_rejected) == (2, 1)
    assert not holds_a_cpr(box, settings.MEDIA_ROOT)


def test_two_pollers_racing_take_each_file_once(box):
    names = [f"f{i:02d}.csv" for i in range(40)]
    for name in names:
        (box / "dccg" / name).write_text("x", encoding="utf-8")
    claims: list[list[Path]] = [[], []]
    start = threading.Barrier(2)

    def poller(mine: list[Path]) -> None:
        start.wait()
        for name in names:
            claimed = inbox.claim(box / "dccg" / name)
            if claimed is not None:
                mine.append(claimed)

    threads = [threading.Thread(target=poller, args=(claims[i],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [inbox.original_name(p) for p in claims[0] + claims[1]]
    assert sorted(taken) == names  # every file once, none twice
    assert not any((box / "dccg" / name).exists() for name in names)


@pytest.mark.django_db(transaction=True)
def test_two_polls_at_once_import_each_file_once(tmp_path, settings, eager_tasks):
    settings.INBOX_DIR = tmp_path / "inbox"
    settings.MEDIA_ROOT = tmp_path / "media"
    folder = settings.INBOX_DIR / "dccg"
    folder.mkdir(parents=True)
    for i in range(3):
        rows = with_change(0, alder=str(50 + i))  # three different files
        (folder / f"u{i}.csv").write_text(csv_text(rows), encoding="utf-8")
    results: list = []
    start = threading.Barrier(2)

    def poller() -> None:
        from django.db import connection

        start.wait()
        try:
            results.append(inbox.poll())
        finally:
            connection.close()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    taken = [t for result in results for t in result.taken]
    assert sorted(t.name for t in taken) == ["u0.csv", "u1.csv", "u2.csv"]
    assert Extract.objects.count() == 3 and all(not t.error for t in taken)
    assert files_under(settings.INBOX_DIR, settings.MEDIA_ROOT) == []


def test_a_failure_to_hand_on_puts_the_file_back_for_the_next_poll(run, box, settings):
    path = box / "dccg" / "u.csv"
    path.write_text(csv_text(), encoding="utf-8")
    media = settings.MEDIA_ROOT
    # The worker's queue cannot be written (its folder is a file): the door fails part way.
    blocker = media.parent / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    settings.MEDIA_ROOT = blocker / "media"
    (taken,) = run().taken
    assert taken.error and taken.extract_id is None
    assert path.read_text(encoding="utf-8") == csv_text()  # back, whole, under its name
    assert not Extract.objects.exists()
    assert files_under(box / "dccg" / ".taken") == []
    settings.MEDIA_ROOT = media
    (taken,) = run().taken
    assert Extract.objects.get(pk=taken.extract_id).status == "done" and not path.exists()


def test_a_failure_after_the_copy_keeps_no_copy_and_records_nothing(run, box, settings):
    """The copy for the worker is deleted with the record when the transaction fails."""
    from django.db import connection

    path = box / "dccg" / "u.csv"
    path.write_text(csv_text(), encoding="utf-8")
    with connection.cursor() as cursor:  # the audit log refuses this one upload record
        cursor.execute(
            "ALTER TABLE departments_auditevent ADD CONSTRAINT no_inbox_uploads "
            "CHECK (NOT (action = 'upload' AND detail->>'via' = 'inbox'))"
        )
    (taken,) = run().taken
    assert taken.error and path.exists() and not Extract.objects.exists()
    assert files_under(settings.MEDIA_ROOT) == []


def test_the_same_file_twice_while_the_first_is_on_its_way_is_one_extract(box, settings):
    for name in ("a.csv", "b.csv"):
        (box / "dccg" / name).write_text(csv_text(), encoding="utf-8")
    result = inbox.poll()  # the imports stay queued: their transaction is the test's
    first, second = result.taken
    assert first.extract_id == second.extract_id and second.already_imported
    extract = Extract.objects.get()
    assert extract.status == "queued" and extract.deliveries == 2
    assert files_under(box) == [] and len(files_under(settings.MEDIA_ROOT)) == 1


def test_links_and_odd_entries_are_left_alone_and_never_followed(run, box, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("PSEUDONYM_KEY=do-not-read", encoding="utf-8")
    (box / "dccg" / "link.csv").symlink_to(secret)
    (box / "dccg" / "sub").mkdir()
    (box / "dccg" / "sub" / "x.csv").write_text(csv_text(), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "old.csv").write_text(csv_text(), encoding="utf-8")
    (box / "dccg" / ".taken").symlink_to(elsewhere, target_is_directory=True)
    (box / "dccg" / "ok.csv").write_text(csv_text(), encoding="utf-8")
    result = run()
    assert [t.name for t in result.taken if not t.error] == []  # ok.csv: no claim folder
    assert any("link.csv: symbolic link" in line for line in result.skipped)
    assert any(".taken: not a folder" in line for line in result.skipped)
    assert secret.read_text(encoding="utf-8") == "PSEUDONYM_KEY=do-not-read"
    assert (elsewhere / "old.csv").exists() and (box / "dccg" / "sub" / "x.csv").exists()
    assert not Extract.objects.exists()
    (box / "dccg" / ".taken").unlink()
    (taken,) = [t for t in run().taken if not t.error]
    assert taken.name == "ok.csv" and secret.exists()


def test_a_file_larger_than_allowed_is_recorded_unread_and_deleted(run, box, settings):
    settings.UPLOAD_MAX_BYTES = 100
    (box / "dccg" / "stor.csv").write_text(csv_text(), encoding="utf-8")
    (taken,) = run().taken
    extract = Extract.objects.get(pk=taken.extract_id)
    assert extract.status == "failed" and extract.error_code == "too_large"
    assert "for stor" in extract.message_da and "too large" in extract.message_en
    assert files_under(box, settings.MEDIA_ROOT) == []


def test_a_cpr_number_in_a_file_name_is_kept_nowhere(run, box, caplog):
    (box / "dccg" / "udtraek_010190_1234.csv").write_text(csv_text(), encoding="utf-8")
    (taken,) = run().taken
    extract = Extract.objects.get(pk=taken.extract_id)
    assert extract.file_name == "udtraek_[CPR].csv" and taken.name == "udtraek_[CPR].csv"
    assert "010190" not in caplog.text


def test_a_claim_left_by_a_killed_poller_is_taken_again(run, box, settings):
    (box / "dccg" / "x.csv").write_text(csv_text(), encoding="utf-8")
    claimed = inbox.claim(box / "dccg" / "x.csv")
    assert claimed is not None and claimed.parent.name == ".taken"
    settings.INBOX_STALE_SECONDS = 3600
    assert run().taken == []  # claimed a moment ago: its poller may still be at work
    settings.INBOX_STALE_SECONDS = 0
    (taken,) = run().taken
    assert taken.name == "x.csv"
    assert Extract.objects.get(pk=taken.extract_id).status == "done"
    assert files_under(box) == []


def test_a_folder_no_registry_names_keeps_its_files(run, box):
    (box / "ukendt").mkdir()
    (box / "ukendt" / "u.csv").write_text(csv_text(), encoding="utf-8")
    result = run()
    assert result.unknown == ["ukendt"] and result.taken == []
    assert (box / "ukendt" / "u.csv").exists()


def test_no_inbox_folder_is_an_empty_poll(run, tmp_path, settings):
    settings.INBOX_DIR = tmp_path / "none"
    result = run()
    assert result.taken == [] and result.waiting == 0


def test_the_command_says_what_each_file_became(run, box, capsys):
    (box / "dccg" / "u.csv").write_text(csv_text(), encoding="utf-8")
    (box / "dccg" / "v.csv.part").write_text("x", encoding="utf-8")
    run(call_command, "poll_inbox")
    out = capsys.readouterr().out
    extract = Extract.objects.get()
    # The status as the extract had it when handed on (in-process: done once committed).
    assert f"dccg/u.csv: udtræk nr. {extract.pk} / extract no. {extract.pk} (" in out
    assert extract.status == "done"
    assert "1 fil(er) taget, 1 under skrivning" in out
    (box / "dccg" / "u2.csv").write_text(csv_text(), encoding="utf-8")
    run(call_command, "poll_inbox", "--json")
    answer = json.loads(capsys.readouterr().out)
    assert answer["taken"] == [
        {"registry": "dccg", "file": "u2.csv", "extract": extract.pk, "already_imported": True,
         "status": "done", "error": None}
    ] and answer["waiting"] == 1  # fmt: skip


def test_the_extract_page_says_it_came_from_the_inbox_and_how_often(run, box, client):
    from departments.models import Department, Role
    from tests.departments.people import person

    (box / "dccg" / "a.csv").write_text(csv_text(), encoding="utf-8")
    run()
    (box / "dccg" / "b.csv").write_text(csv_text(), encoding="utf-8")
    (taken,) = run().taken
    coordinator = person("k@inbox.dk", Role.COORDINATOR, Department.objects.get(code="6630220"))
    client.force_login(coordinator)
    page = client.get(f"/extracts/{taken.extract_id}/").content.decode()
    assert "fra indbakken" in page and "leveret 2 gange" in page
