"""Logging that an operator can read: a refused request is one line, not a traceback."""

from __future__ import annotations

import logging


class OneLineDenials(logging.Filter):
    """Drop the traceback Django attaches to a 403 or 404: a denial is expected, not a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in (403, 404):
            record.exc_info = None
            record.exc_text = None
        return True
