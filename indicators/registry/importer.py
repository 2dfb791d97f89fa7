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

import numpy as np
from django.conf import settings
from django.core.files.base import File
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from departments import audit
from departments.models import AuditAction
from departments.services import DepartmentRecord, upsert_departments
from indicators.models import Extract, ExtractDepartment, RefusedRow, Registry
from indicators.registry import catalog
from indicators.registry.cpr import scrub_name
from indicators.registry.errors import FileRefused, reason
from indicators.registry.load import load_rows
from indicators.registry.profiles import Profile
from indicators.registry.pseudonym import pseudonymiser
from indicators.registry.reader import RawTable, read_extract
from indicators.registry.validate import Refusal, Validated, validate
from indicators.services import currency, deliveries

logger = logging.getLogger(__name__)
S = Extract.Status


@dataclass
class ImportOutcome:
    extract: Extract
    already_imported: bool = False


def registry_for(profile: Profile) -> Registry:
    """The installed registry of a profile (``catalog.profile`` found it installed)."""
    return Registry.objects.get(slug=profile.slug)


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


def import_path(
    path: Path, *, profile_slug: str = "dccg", user=None, force: bool = False, via: str = "cli"
) -> ImportOutcome:
    """Import a file on disk now (the management command, the inbox); the file stays where it
    is. One door: it imports, writes the audit record and queues the recompute.

    A file that cannot be read as the profile raises ``FileRefused`` before anything is written,
    so a refused file leaves every table as it was. ``force`` makes the extract current even
    where it takes more than half of a department's rows away.
    """
    outcome = _import_path(path, profile_slug=profile_slug, user=user, force=force, via=via)
    extract = outcome.extract
    audit.record(
        None,
        AuditAction.UPLOAD,
        user=user,
        target=f"extract:{extract.pk}",
        detail={
            "via": via,
            "file_name": extract.file_name,
            "sha256": extract.sha256,
            "profile": profile_slug,
            "already_imported": outcome.already_imported,
            "status": extract.status,
            "current": extract.is_current,
            "force": force,
        },
    )
    return outcome


def _import_path(path: Path, *, profile_slug: str, user, force: bool, via: str) -> ImportOutcome:
    profile = catalog.profile(profile_slug)
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
    earlier = registry and find_live_extract(registry, sha)
    if earlier:
        if force and earlier.awaiting_confirmation:
            # The same file again, forced: the held extract is confirmed, not loaded twice.
            make_current(earlier, user=user, confirmed=True, via="cli")
            earlier.refresh_from_db()
        return ImportOutcome(delivered_again(earlier), already_imported=True)
    if refused is not None:
        raise refused
    extract = Extract.objects.create(
        registry=registry or registry_for(profile),
        profile_version=profile.version,
        file_name=scrub_name(path.name),
        sha256=sha,
        size_bytes=path.stat().st_size,
        uploaded_by=user,
        via=via,
        last_delivered_at=timezone.now(),
        status=S.READING,
        started_at=timezone.now(),
    )
    return _process(extract.pk, profile, table, force=force)


def queue_upload(
    uploaded_file,
    *,
    profile_slug: str = "dccg",
    user=None,
    request=None,
    via: str = "web",
    feed_token=None,
) -> ImportOutcome:
    """Keep a copy of a delivered file for the worker and queue its import once this
    transaction commits; the one door for deliveries (the web form, the inbox, a feed token's
    client): it writes the audit record too. The same file again (imported, or on its way)
    changes nothing but the earlier extract's count of deliveries. If anything fails, the copy
    is deleted and nothing is recorded: the caller still holds the file."""
    stored: list = []  # the kept copy, if any: (storage, name)
    try:
        with transaction.atomic():
            outcome = _queue_upload(
                uploaded_file, profile_slug=profile_slug, user=user, via=via,
                feed_token=feed_token, stored=stored,
            )  # fmt: skip
            audit.record(
                request,
                AuditAction.UPLOAD,
                user=user,
                target=f"extract:{outcome.extract.pk}",
                detail={
                    "via": via,
                    "file_name": outcome.extract.file_name,
                    "sha256": outcome.extract.sha256,
                    "profile": profile_slug,
                    "already_imported": outcome.already_imported,
                    **({"feed_token": feed_token.name} if feed_token is not None else {}),
                },
            )
    except BaseException:
        for storage, name in stored:  # the raw copy holds CPR numbers: it goes with the record
            storage.delete(name)
        raise
    return outcome


def _queue_upload(
    uploaded_file, *, profile_slug: str, user, via: str, feed_token, stored: list
) -> ImportOutcome:
    profile = catalog.profile(profile_slug)
    registry = registry_for(profile)
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    sha = digest.hexdigest()
    earlier = find_live_extract(registry, sha)
    if earlier is not None:
        return ImportOutcome(delivered_again(earlier), already_imported=True)
    extract = Extract(
        registry=registry,
        profile_version=profile.version,
        file_name=scrub_name(Path(uploaded_file.name).name),
        sha256=sha,
        size_bytes=uploaded_file.size or 0,
        uploaded_by=user,
        via=via,
        feed_token=feed_token,
        last_delivered_at=timezone.now(),
    )
    uploaded_file.seek(0)
    # A copy (never a move): the caller's file stays until this transaction has committed.
    extract.upload.save(f"{sha[:16]}.bin", File(uploaded_file), save=False)
    stored.append((extract.upload.storage, extract.upload.name))
    try:
        with transaction.atomic():
            extract.save()
    except IntegrityError:
        # The same file, delivered at the same moment by another request: that one counts.
        earlier = find_live_extract(registry, sha)
        if earlier is None:
            raise
        storage, name = stored.pop()
        storage.delete(name)
        return ImportOutcome(delivered_again(earlier), already_imported=True)
    transaction.on_commit(lambda: _enqueue_import(extract.pk))
    return ImportOutcome(extract)


def refuse_delivery(profile_slug: str, file_name: str, size: int, *, via: str) -> ImportOutcome:
    """Record a delivered file that is refused unread (larger than ``UPLOAD_MAX_BYTES``) as a
    failed extract with its reason, audited; the caller deletes the file."""
    registry = registry_for(catalog.profile(profile_slug))
    why = reason("too_large", size=f"{size:,}".replace(",", "."),
                 limit=f"{int(settings.UPLOAD_MAX_BYTES):,}".replace(",", "."))  # fmt: skip
    now = timezone.now()
    with transaction.atomic():
        extract = Extract.objects.create(
            registry=registry,
            profile_version=registry.version,
            file_name=scrub_name(file_name),
            size_bytes=size,
            via=via,
            status=S.FAILED,
            error_code=why.code,
            message_da=why.da,
            message_en=why.en,
            last_delivered_at=now,
            finished_at=now,
        )
        audit.record(
            None,
            AuditAction.UPLOAD,
            target=f"extract:{extract.pk}",
            detail={"via": via, "file_name": extract.file_name, "profile": profile_slug,
                    "refused": why.code, "size_bytes": size},
        )  # fmt: skip
    return ImportOutcome(extract)


def find_live_extract(registry: Registry, sha256: str) -> Extract | None:
    """The registry's extract of this file that is imported or on its way (not failed): a
    repeat of it changes nothing (``one_live_extract_per_file`` holds the database to it)."""
    return (
        Extract.objects.filter(registry=registry, sha256=sha256)
        .exclude(status=S.FAILED)
        .order_by("pk")
        .first()
    )


def delivered_again(earlier: Extract) -> Extract:
    """Count a repeated delivery of an imported file on its extract; nothing else changes."""
    Extract.objects.filter(pk=earlier.pk).update(
        deliveries=models.F("deliveries") + 1, last_delivered_at=timezone.now()
    )
    earlier.refresh_from_db(fields=["deliveries", "last_delivered_at"])
    return earlier


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
    profile = catalog.profile(extract.registry.slug)
    try:
        with extract.upload.open("rb") as handle:
            table = read_extract(handle.read(), profile)
    except FileRefused as refused:
        fail_import(extract_id, refused.reason)
        discard_upload(extract_id)
        return ImportOutcome(Extract.objects.get(pk=extract_id))
    except Exception as exc:  # a failed read ends the import, never leaves it half-way
        logger.exception("upload of extract %s cannot be read", extract_id)
        fail_import(extract_id, reason("interrupted", detail=type(exc).__name__))
        discard_upload(extract_id)
        return ImportOutcome(Extract.objects.get(pk=extract_id))
    return _process(extract_id, profile, table)


def _process(
    extract_id: int, profile: Profile, table: RawTable, *, force: bool = False
) -> ImportOutcome:
    try:
        _set_stage(extract_id, S.VALIDATING, 30, rows_read=table.rows_read)
        validated = validate(table, profile, pseudonymiser(settings.PSEUDONYM_KEY))
        _set_stage(extract_id, S.LOADING, 60)
        _load(extract_id, table, validated, profile, force=force)
    except _AlreadyImported as already:
        fail_import(extract_id, reason("already_imported", extract=already.earlier.pk))
    except Exception as exc:  # whatever broke (psycopg's AdminShutdown in a COPY
        # too), the import ends as failed with a message, never stuck half-way
        logger.exception("import of extract %s interrupted", extract_id)
        fail_import(extract_id, reason("interrupted", detail=type(exc).__name__))
    finally:
        discard_upload(extract_id)
    extract = Extract.objects.select_related("registry").get(pk=extract_id)
    return ImportOutcome(extract, already_imported=extract.error_code == "already_imported")


def _load(
    extract_id: int, table: RawTable, validated: Validated, profile: Profile, *, force: bool
) -> Extract:
    """Load what was validated with ``profile`` (the version the file was read with)."""
    with transaction.atomic():
        extract = Extract.objects.select_related("registry").get(pk=extract_id)
        # The registry row is the lock: imports of one registry run one at a time, and the
        # second sees what the first made current.
        Registry.objects.select_for_update().get(pk=extract.registry_id)
        earlier = find_done_extract(extract.registry, extract.sha256)
        if earlier is not None:
            raise _AlreadyImported(earlier)
        departments = upsert_departments(_department_records(validated, profile))
        department_ids = {code: d.pk for code, d in departments.items()}
        imported = load_rows(
            extract.registry.row_table, profile, extract_id, validated, department_ids
        )
        ExtractDepartment.objects.bulk_create(
            ExtractDepartment(extract_id=extract_id, department_id=pk, rows=n)
            for pk, n in _department_counts(validated, profile, department_ids).items()
        )
        RefusedRow.objects.bulk_create(
            (
                _refused_row(extract_id, refusal, profile.department_code)
                for refusal in validated.refused
            ),
            batch_size=5000,
        )
        period = _period(validated, profile)
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
        extract.finished_at = now
        extract.save()
        held = [c for c in currency.changes(extract) if c.drops_too_much]
        if not imported:
            # Nothing valid: every department keeps its numbers.
            why = reason("no_valid_rows")
            Extract.objects.filter(pk=extract_id).update(message_da=why.da, message_en=why.en)
        elif held and not force:
            why = reason("held", departments=", ".join(c.department.code for c in held))
            Extract.objects.filter(pk=extract_id).update(
                awaiting_confirmation=True, message_da=why.da, message_en=why.en
            )
        else:
            currency.apply(extract)
            deliveries.delivered(extract.registry_id)  # a late episode ends now
            _queue_recompute(extract)
    return extract


def _department_counts(
    validated: Validated, profile: Profile, department_ids: dict[str, int]
) -> dict[int, int]:
    """Valid rows per department."""
    if not len(validated):
        return {}
    values = validated.values[_field(profile, profile.department_code)]
    counts = np.bincount(values.index, minlength=len(values.distinct))
    found: dict[int, int] = {}
    for code, n in zip(values.distinct.to_pylist(), counts.tolist(), strict=True):
        if n and code is not None:
            found[department_ids[code]] = found.get(department_ids[code], 0) + n
    return found


class _AlreadyImported(Exception):
    def __init__(self, earlier: Extract) -> None:
        self.earlier = earlier


def _period(validated: Validated, profile: Profile) -> tuple:
    if not len(validated):
        return (None, None)
    return validated.extent(_field(profile, profile.period_column))


def _field(profile: Profile, column_name: str) -> str:
    return profile.column(column_name).field


def _department_records(validated: Validated, profile: Profile) -> list[DepartmentRecord]:
    """Hospital and department (codes, and names where the profile has them) of each
    department in the file; the names on the last row of each department code win."""
    if not len(validated):
        return []
    last = validated.last_of_each(_field(profile, profile.department_code))
    places = (
        profile.hospital_code, profile.hospital_name, profile.department_code,
        profile.department_name,
    )  # fmt: skip
    columns = [
        validated.take(_field(profile, name), last).to_pylist() if name else [None] * len(last)
        for name in places
    ]
    return [
        DepartmentRecord(*(value or "" for value in record))
        for record in zip(*columns, strict=True)
    ]


def _refused_row(extract_id: int, refusal: Refusal, department_column: str | None) -> RefusedRow:
    code = (refusal.values.get(department_column) or "").strip() if department_column else ""
    return RefusedRow(
        extract_id=extract_id,
        line=refusal.line,
        department_code=code[:20],
        column=refusal.column or "",
        code=refusal.reason.code,
        message_da=refusal.reason.da,
        message_en=refusal.reason.en,
        details=refusal.details,
        values=refusal.values,
    )


def fail_import(extract_id: int, why, *, status: str | None = None) -> bool:
    """End an import as failed with ``why`` (only if it is still in ``status``, when given)."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()  # the old connection died; the failure is written on a new one
    extracts = Extract.objects.filter(pk=extract_id)
    if status is not None:
        extracts = extracts.filter(status=status)
    return bool(
        extracts.update(
            status=S.FAILED,
            progress=100,
            error_code=why.code,
            message_da=why.da,
            message_en=why.en,
            finished_at=timezone.now(),
            rows_imported=0,
            rows_rejected=0,
        )
    )


def discard_upload(extract_id: int) -> None:
    """The raw file holds CPR numbers: it goes as soon as it has been read, whatever the end."""
    extract = Extract.objects.get(pk=extract_id)
    if extract.upload:
        extract.upload.delete(save=False)
        Extract.objects.filter(pk=extract_id).update(upload="")


class ConfirmationNeeded(Exception):
    """Making the extract current needs a coordinator's confirmation, having seen ``changes``."""

    def __init__(self, changes: list[currency.Change]) -> None:
        self.changes = changes
        super().__init__("confirmation needed")


def make_current(
    extract: Extract, *, user=None, request=None, confirmed: bool = False, via: str = "web"
) -> Extract:
    """Make an extract's rows current for the departments it holds: a roll-back (or forward),
    or the confirmation of an import that was held. The one door for it: it checks, locks the
    registry, changes the current rows, writes the audit record and queues the recompute.

    Raises ``ValueError`` for an extract that cannot be current and ``ConfirmationNeeded``
    (with what would change) unless ``confirmed``.
    """
    if extract.status != S.DONE or not extract.rows_imported:
        raise ValueError("only a finished extract with valid rows can be made current")
    if not confirmed:
        raise ConfirmationNeeded(currency.changes(extract))
    with transaction.atomic():
        Registry.objects.select_for_update().get(pk=extract.registry_id)
        changes = currency.changes(extract)
        currency.apply(extract)
        deliveries.delivered(extract.registry_id)
        audit.record(
            request,
            AuditAction.ROLLBACK,
            user=user,
            target=f"extract:{extract.pk}",
            detail={
                "file_name": extract.file_name,
                "via": via,
                "departments": [c.as_dict() for c in changes],
            },
        )
        _queue_recompute(extract)
    extract.refresh_from_db()
    return extract
