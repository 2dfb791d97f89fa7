"""The inbox: extracts delivered as files, one folder per registry (``INBOX_DIR/<slug>/``).

A file is complete when its name neither ends in ``.part`` nor starts with ``.``: a delivering
machine writes ``udtraek.csv.part`` (or ``.udtraek.csv``) and renames it when it is done, and a
rename is atomic. ``poll()`` takes every complete file:

1. It claims the file by renaming it into the registry's ``.taken/`` folder under a new unique
   name. A rename succeeds once: of two pollers that see the same file, one gets it and the
   other finds it gone, so a file is never taken twice.
2. It hands a copy to the one door for deliveries (``importer.queue_upload``), which keeps it
   for the worker (or counts a repeated delivery on the earlier extract), writes the audit
   record and queues the import in one transaction. The import reports on the extract's page
   like an upload's; a refused file becomes a failed extract with its reason, and so does a file
   larger than ``UPLOAD_MAX_BYTES`` (it is not read).
3. Once that transaction has committed, the claimed file is deleted: it holds raw CPR numbers.
   If the door fails (the database is down), nothing was recorded and the copy is gone: the file
   goes back where it was, under its own name, for the next poll. Nothing delivered is lost.

Only regular files are taken: a symbolic link (to a file the portal may read, or a ``.taken``
pointing elsewhere) is left alone and reported, as is anything that cannot be read; one bad
entry never stops the others. A poller killed between 1 and 3 leaves the file in ``.taken/``;
a later poll takes it back once it has lain there ``INBOX_STALE_SECONDS`` (its claim time is its
modification time, set when it is claimed). Names are shown and logged without CPR numbers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files import File

from indicators.registry import catalog
from indicators.registry.cpr import scrub_name
from indicators.registry.importer import queue_upload, refuse_delivery

logger = logging.getLogger(__name__)
TAKEN = ".taken"
CLAIM_PREFIX_LENGTH = 14  # 12 hex digits and "--"
NAME_MAX_BYTES = 255 - CLAIM_PREFIX_LENGTH


@dataclass
class Taken:
    registry: str
    name: str  # without CPR numbers
    extract_id: int | None = None
    already_imported: bool = False
    status: str = ""  # the extract's, once handed on (done already when tasks run in-process)
    error: str = ""


@dataclass
class PollResult:
    taken: list[Taken] = field(default_factory=list)
    waiting: int = 0  # files still being written (``.part`` or hidden)
    unknown: list[str] = field(default_factory=list)  # folders no installed registry names
    skipped: list[str] = field(default_factory=list)  # "slug/name: why" (links, unreadable)


def inbox_dir() -> Path:
    return Path(settings.INBOX_DIR)


def is_complete(name: str) -> bool:
    """Still being written: ``*.part`` and hidden names (``.name``)."""
    return not (name.startswith(".") or name.endswith(".part"))


def poll(root: Path | None = None) -> PollResult:
    """Take every complete file of every registry's folder (see the module's text)."""
    root = root or inbox_dir()
    result = PollResult()
    try:
        folders = sorted((e for e in os.scandir(root) if e.is_dir()), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return result
    installed = None
    for folder in folders:
        if not is_complete(folder.name):
            continue
        try:
            files = _complete_files(Path(folder.path), result)
        except OSError as exc:
            _skip(result, folder.name, "", exc)
            continue
        if not files:
            continue
        installed = installed if installed is not None else set(catalog.slugs())
        if folder.name not in installed:
            logger.warning("inbox folder %s names no installed registry", scrub_name(folder.name))
            result.unknown.append(scrub_name(folder.name))
            continue
        for path in files:
            try:
                claimed = claim(path)
            except OSError as exc:
                _skip(result, folder.name, path.name, exc)
                continue
            if claimed is not None:
                result.taken.append(_deliver(folder.name, claimed, result))
    return result


def _skip(result: PollResult, slug: str, name: str, why) -> None:
    where = scrub_name(f"{slug}/{name}")
    text = why if isinstance(why, str) else type(why).__name__
    result.skipped.append(f"{where}: {text}")
    logger.warning("inbox %s left alone: %s", where, text)


def _complete_files(folder: Path, result: PollResult) -> list[Path]:
    files = []
    for entry in os.scandir(folder):
        if entry.name == TAKEN:
            if entry.is_dir(follow_symlinks=False):
                files.extend(_stale(Path(entry.path)))
            else:  # a link or a file in the claim folder's place: never followed
                _skip(result, folder.name, entry.name, "not a folder")
        elif entry.is_file(follow_symlinks=False):
            if is_complete(entry.name):
                files.append(Path(entry.path))
            else:
                result.waiting += 1
        elif entry.is_symlink():
            _skip(result, folder.name, entry.name, "symbolic link")
    return sorted(files, key=lambda p: p.name)


def _stale(taken: Path) -> list[Path]:
    """Claimed files a poller left behind (it was killed before it handed them on)."""
    cutoff = time.time() - float(settings.INBOX_STALE_SECONDS)
    stale = []
    for entry in os.scandir(taken):
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                stale.append(Path(entry.path))
        except FileNotFoundError:  # another poller took it back first
            continue
    return stale


def claim(path: Path) -> Path | None:
    """Rename the file into ``.taken/`` under a unique name, stamped with the claim time: the
    poller whose rename succeeds owns it; None when another poller was first."""
    taken = path.parent if path.parent.name == TAKEN else path.parent / TAKEN
    if not taken.exists():
        taken.mkdir(exist_ok=True)
    if not stat.S_ISDIR(os.lstat(taken).st_mode):
        raise NotADirectoryError(str(taken))
    target = taken / f"{uuid.uuid4().hex[:12]}--{_short(original_name(path))}"
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    os.utime(target, follow_symlinks=False)  # the claim time, for a later poll's staleness
    return target


def _short(name: str) -> str:
    """The name, shortened (its end kept) where the claim's prefix would make it too long."""
    raw = name.encode("utf-8")
    if len(raw) <= NAME_MAX_BYTES:
        return name
    return raw[-NAME_MAX_BYTES:].decode("utf-8", "ignore")


def original_name(path: Path) -> str:
    name = path.name
    if path.parent.name == TAKEN and "--" in name:
        name = name.split("--", 1)[1]
    return name


def _open_regular(path: Path):
    """The claimed file, opened without following a link, if it is a regular file."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IsADirectoryError(str(path))
    return os.fdopen(fd, "rb")


def _deliver(slug: str, claimed: Path, result: PollResult) -> Taken:
    name = original_name(claimed)
    taken = Taken(registry=slug, name=scrub_name(name))
    try:
        handle = _open_regular(claimed)
    except OSError as exc:
        _put_back(claimed, name)
        _skip(result, slug, name, exc)
        taken.error = type(exc).__name__
        return taken
    with handle:
        size = os.fstat(handle.fileno()).st_size
        try:
            if size > int(settings.UPLOAD_MAX_BYTES):
                outcome = refuse_delivery(slug, name, size, via="inbox")
            else:
                outcome = queue_upload(File(handle, name=name), profile_slug=slug, via="inbox")
        except Exception as exc:
            # Nothing was recorded and no copy kept (the door is one transaction): the file
            # goes back for the next poll, under its own name.
            logger.exception("inbox %s could not be handed on; back for the next poll",
                             taken.name)  # fmt: skip
            handle.close()
            _put_back(claimed, name)
            taken.error = type(exc).__name__
            return taken
    # Committed: the worker has its copy, or it was a repeat or refused. The file goes (it
    # holds raw CPR numbers).
    claimed.unlink(missing_ok=True)
    outcome.extract.refresh_from_db(fields=["status"])
    taken.extract_id = outcome.extract.pk
    taken.already_imported = outcome.already_imported
    taken.status = outcome.extract.status
    logger.info("inbox %s/%s -> extract %s%s", slug, taken.name, outcome.extract.pk,
                " (already imported)" if outcome.already_imported else "")  # fmt: skip
    return taken


def _put_back(claimed: Path, name: str) -> None:
    back = claimed.parent.parent / name
    if back.exists():  # a newer delivery under the same name is not overwritten
        back = back.with_name(f"{uuid.uuid4().hex[:8]}-{name}")
    with contextlib.suppress(FileNotFoundError):  # already gone: nothing to put back
        os.rename(claimed, back)
