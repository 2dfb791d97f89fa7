"""Uploads that cannot hurt: checked while the body streams, before anything reaches the disk.

:class:`GuardedUploadHandler` stands first among Django's upload handlers. A visitor who is not
logged in may send a small form (the login page) but no file: a larger body is not read at all
(the request goes on with no data, and the CSRF check refuses it), and a file part stops the
reading before its first byte is kept. A file that grows past ``UPLOAD_MAX_BYTES`` while it
streams stops there: the part already written is deleted, the rest of the body is read and
dropped, and the page says the file is too large (the form's small fields, the CSRF token among
them, come before the file). Whatever is written lives in ``FILE_UPLOAD_TEMP_DIR``, which
:func:`sweep` empties of leftovers (a killed worker's raw file holds CPR numbers) when the
portal starts.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

logger = logging.getLogger(__name__)
# A visitor who is not logged in may post a form (the login page) but no file, and no more than
# this: such a body is not read at all.
ANONYMOUS_MAX_BYTES = 64 * 1024


class GuardedUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0
        self.anonymous = True

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.anonymous = not getattr(getattr(self.request, "user", None), "is_authenticated", False)
        if self.anonymous and content_length > ANONYMOUS_MAX_BYTES:
            logger.warning("upload from a visitor not logged in refused (%s bytes)", content_length)
            return QueryDict(encoding=encoding), MultiValueDict()
        temp_dir().mkdir(parents=True, exist_ok=True)  # where a large file's part is written
        return None

    def receive_data_chunk(self, raw_data, start):
        if self.anonymous:
            # A small form (the login page's) is read; a file from a visitor never is.
            logger.warning("file from a visitor not logged in refused")
            raise StopUpload(connection_reset=True)
        self.received += len(raw_data)
        if self.received > int(settings.UPLOAD_MAX_BYTES):
            if self.request is not None:
                self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def temp_dir() -> Path:
    return Path(settings.FILE_UPLOAD_TEMP_DIR)


def sweep(older_than_seconds: float = 3600) -> int:
    """Delete files left in the upload directory by a process that died mid-upload (those of
    uploads under way now are younger); the number deleted."""
    folder = temp_dir()
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - older_than_seconds
    deleted = 0
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except OSError:  # another process swept it first
            continue
    if deleted:
        logger.info("deleted %s leftover upload file(s)", deleted)
    return deleted
