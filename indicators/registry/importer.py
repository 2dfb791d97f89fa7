"""Importing an extract: the one entry point every upload, command and task goes through.

Stages (each committed, so a page can follow them): queued → reading → validating → loading →
done, or failed. The load itself is one transaction holding the registry's lock: either the new
extract becomes current with all its valid rows and refused rows, or nothing changes.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from departments.services import DepartmentRecord, upsert_departments
from indicators.models import Extract, RefusedRow, Registry
from indicators.registry.errors import FileRefused, reason
from indicators.registry.load import load_rows
from indicators.registry.profiles import Profile, get_profile
from indicators.registry.pseudonym import pseudonymiser
from indicators.registry.reader import RawTable, read_extract
from indicators.registry.validate import Refusal, Validated, validate

logger = logging.getLogger(__name__)
S = Extract.Status


@dataclass
class ImportOutcome:
    extract: Extract
    already_imported: bool = False


def registry_for(profile: Profile) -> Registry:
    registry, _ = Registry.objects.get_or_create(slug=profile.slug, defaults={"name": profile.name})
    return registry


def find_done_extract(registry: Registry, sha256: str) -> Extract | None:
    return (
        Extract.objects.filter(registry=registry, sha256=sha256, status=S.DONE)
        .order_by("pk")
        .first()
    )


def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _hex_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def import_path(path: Path, *, profile_slug: str = "dccg", user=None) -> ImportOutcome:
    """Import a file on disk now (the management command); the file stays where it is.

    A file that cannot be read as the profile raises ``FileRefused`` before anything is written,
    so a refused file leaves every table as it was.
    """
    profile = get_profile(profile_slug)
    data = path.read_bytes()
    # The digest (hashlib lets go of the GIL) is taken while Arrow parses the file.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(_hex_digest, data)
        try:
            table, refused = read_extract(data, profile), None
        except FileRefused as exc:
            table, refused = None, exc
        sha = digest.result()
    del data
    registry = Registry.objects.filter(slug=profile.slug).first()
    earlier = registry and find_done_extract(registry, sha)
    if earlier:
        return ImportOutcome(earlier, already_imported=True)
    if refused is not None:
        raise refused
    extract = Extract.objects.create(
        registry=registry or registry_for(profile),
        profile_version=profile.version,
        file_name=path.name,
        sha256=sha,
        size_bytes=path.stat().st_size,
        uploaded_by=user,
        status=S.READING,
        started_at=timezone.now(),
    )
    return _process(extract.pk, profile, table)


def queue_upload(uploaded_file, *, profile_slug: str = "dccg", user=None) -> ImportOutcome:
    """Keep an uploaded file for the worker and queue its import once this transaction commits."""
    profile = get_profile(profile_slug)
    registry = registry_for(profile)
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    sha = digest.hexdigest()
    earlier = find_done_extract(registry, sha)
    if earlier is not None:
        return ImportOutcome(earlier, already_imported=True)
    extract = Extract(
        registry=registry,
        profile_version=profile.version,
        file_name=Path(uploaded_file.name).name[:255],
        sha256=sha,
        size_bytes=uploaded_file.size or 0,
        uploaded_by=user,
    )
    uploaded_file.seek(0)
    extract.upload.save(f"{sha[:16]}.bin", File(uploaded_file), save=False)
    extract.save()
    transaction.on_commit(lambda: _enqueue_import(extract.pk))
    return ImportOutcome(extract)


def _enqueue_import(extract_id: int) -> None:
    from indicators.tasks import import_extract_task, send

    # The upload is safe on disk and stays queued if the broker is down.
    send(import_extract_task, extract_id)


def _queue_recompute(extract: Extract) -> None:
    from indicators.tasks import queue_recompute

    queue_recompute(extract.registry_id, reason=f"udtræk nr. {extract.pk} aktuelt")


def _set_stage(extract_id: int, status: str, progress: int, **fields) -> None:
    Extract.objects.filter(pk=extract_id).update(status=status, progress=progress, **fields)


def run_import(extract_id: int) -> ImportOutcome:
    """Read, validate, pseudonymise and load one queued upload; safe to call twice."""
    claimed = Extract.objects.filter(pk=extract_id, status=S.QUEUED).update(
        status=S.READING, progress=5, started_at=timezone.now()
    )
    extract = Extract.objects.select_related("registry").get(pk=extract_id)
    if not claimed:
        # Another worker has it, or it is finished: a repeated delivery changes nothing.
        return ImportOutcome(extract)
    profile = get_profile(extract.registry.slug)
    try:
        with extract.upload.open("rb") as handle:
            table = read_extract(handle.read(), profile)
    except FileRefused as refused:
        _fail(extract_id, refused.reason)
        _discard_upload(extract_id)
        return ImportOutcome(Extract.objects.get(pk=extract_id))
    except OSError as exc:
        logger.exception("upload of extract %s cannot be read", extract_id)
        _fail(extract_id, reason("interrupted", detail=type(exc).__name__))
        _discard_upload(extract_id)
        return ImportOutcome(Extract.objects.get(pk=extract_id))
    return _process(extract_id, profile, table)


def _process(extract_id: int, profile: Profile, table: RawTable) -> ImportOutcome:
    try:
        _set_stage(extract_id, S.VALIDATING, 30, rows_read=table.rows_read)
        validated = validate(table, profile, pseudonymiser(settings.PSEUDONYM_KEY))
        _set_stage(extract_id, S.LOADING, 60)
        _load(extract_id, table, validated)
    except _AlreadyImported as already:
        _fail(extract_id, reason("already_imported", extract=already.earlier.pk))
    except (DatabaseError, OSError, MemoryError) as exc:
        logger.exception("import of extract %s interrupted", extract_id)
        _fail(extract_id, reason("interrupted", detail=type(exc).__name__))
    finally:
        _discard_upload(extract_id)
    extract = Extract.objects.select_related("registry").get(pk=extract_id)
    return ImportOutcome(extract, already_imported=extract.error_code == "already_imported")


def _load(extract_id: int, table: RawTable, validated: Validated) -> Extract:
    with transaction.atomic():
        extract = Extract.objects.select_related("registry").get(pk=extract_id)
        # The registry row is the lock: imports of one registry run one at a time, and the
        # second sees what the first made current.
        Registry.objects.select_for_update().get(pk=extract.registry_id)
        earlier = find_done_extract(extract.registry, extract.sha256)
        if earlier is not None:
            raise _AlreadyImported(earlier)
        departments = upsert_departments(_department_records(validated))
        department_ids = {code: d.pk for code, d in departments.items()}
        imported = load_rows(extract_id, validated, department_ids)
        RefusedRow.objects.bulk_create(
            (_refused_row(extract_id, refusal) for refusal in validated.refused), batch_size=5000
        )
        period = _period(validated)
        Extract.objects.filter(registry_id=extract.registry_id, is_current=True).update(
            is_current=False
        )
        now = timezone.now()
        extract.status = S.DONE
        extract.progress = 100
        extract.rows_imported = imported
        extract.rows_rejected = len(validated.refused)
        # The database refuses a finished extract whose rows do not add up.
        extract.rows_read = table.rows_read
        extract.columns = table.header
        extract.extra_columns = validated.extra_columns
        extract.period_start, extract.period_end = period
        extract.is_current = True
        extract.made_current_at = now
        extract.finished_at = now
        extract.save()
        _queue_recompute(extract)
    return extract


class _AlreadyImported(Exception):
    def __init__(self, earlier: Extract) -> None:
        self.earlier = earlier


def _period(validated: Validated) -> tuple:
    return validated.extent("operation_date") if len(validated) else (None, None)


_DEPARTMENT_FIELDS = ("hospital_code", "hospital_name", "department_code", "department_name")


def _department_records(validated: Validated) -> list[DepartmentRecord]:
    if not len(validated):
        return []
    # The names on the last row of each department code in the file win.
    last = validated.last_of_each("department_code")
    columns = [validated.take(name, last).to_pylist() for name in _DEPARTMENT_FIELDS]
    return [
        DepartmentRecord(*(value or "" for value in record))
        for record in zip(*columns, strict=True)
    ]


def _refused_row(extract_id: int, refusal: Refusal) -> RefusedRow:
    return RefusedRow(
        extract_id=extract_id,
        line=refusal.line,
        column=refusal.column or "",
        code=refusal.reason.code,
        message_da=refusal.reason.da,
        message_en=refusal.reason.en,
        details=refusal.details,
        values=refusal.values,
    )


def _fail(extract_id: int, why) -> None:
    if connection.connection is not None and not connection.is_usable():
        connection.close()  # the old connection died; the failure is written on a new one
    _set_stage(
        extract_id,
        S.FAILED,
        100,
        error_code=why.code,
        message_da=why.da,
        message_en=why.en,
        finished_at=timezone.now(),
        rows_imported=0,
        rows_rejected=0,
    )


def _discard_upload(extract_id: int) -> None:
    """The raw file holds CPR numbers: it goes as soon as it has been read, whatever the end."""
    extract = Extract.objects.get(pk=extract_id)
    if extract.upload:
        extract.upload.delete(save=False)
        Extract.objects.filter(pk=extract_id).update(upload="")


def make_current(extract: Extract) -> Extract:
    """Roll back (or forward) to an earlier extract of the same registry."""
    if extract.status != S.DONE:
        raise ValueError("only a finished extract can be made current")
    with transaction.atomic():
        Registry.objects.select_for_update().get(pk=extract.registry_id)
        Extract.objects.filter(registry_id=extract.registry_id, is_current=True).update(
            is_current=False
        )
        Extract.objects.filter(pk=extract.pk).update(
            is_current=True, made_current_at=timezone.now()
        )
        _queue_recompute(extract)
    extract.refresh_from_db()
    return extract
