"""Reads for the extract pages: the refused rows a viewer may see."""

from __future__ import annotations

from django.db.models import QuerySet

from departments import access
from indicators.models import Extract, RefusedRow


def refused_rows(extract: Extract, user) -> QuerySet[RefusedRow]:
    """The extract's refused rows of the departments the user coordinates (every row for an
    administrator), by line."""
    codes = access.refused_row_codes(user)
    rows = extract.refused.order_by("line")
    return rows if codes is None else rows.filter(department_code__in=codes)
