"""Which region a hospital belongs to: ``data/hospitals.csv``, loaded into the Hospital table.

Registry extracts name hospitals but not regions. The file gives the hospitals the portal knows
their region; from then on the admin is where a region is set or changed. Loading only adds the
hospitals the database does not have yet, so it never undoes an administrator's edit. Migration
0008 loads the file, and so does every later ``migrate`` (``post_migrate``, see apps.py), so a
hospital added to the file reaches the database without a migration of its own.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS, transaction

HOSPITALS_FILE = Path(__file__).resolve().parent / "data" / "hospitals.csv"
HEADER = ["sygehus_kode", "sygehus_navn", "region"]
_CODE_LENGTH = 10  # Hospital.code


class HospitalFileError(ValueError):
    """The hospitals file does not hold; nothing was loaded from it."""


@dataclass(frozen=True)
class HospitalLine:
    line: int
    code: str
    name: str
    region: str  # a region's name; blank: none yet, an administrator sets it


def read_hospitals(path: Path | str | None = None) -> list[HospitalLine]:
    """The hospitals in the file (semicolon-separated, UTF-8), or HospitalFileError."""
    path = Path(path or HOSPITALS_FILE)
    problems: list[str] = []
    found: list[HospitalLine] = []
    seen: dict[str, int] = {}
    # utf-8-sig: a file saved from Excel starts with a byte order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = [name.strip() for name in next(reader, [])]
        if header != HEADER:
            raise HospitalFileError(
                f"{path}: the first line must be {';'.join(HEADER)}, not {';'.join(header)!r}"
            )
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(HEADER):
                problems.append(f"line {line}: {len(row)} fields, expected {len(HEADER)}")
                continue
            code, name, region = (cell.strip() for cell in row)
            if not code or len(code) > _CODE_LENGTH:
                problems.append(f"line {line}: hospital code {code!r} is not 1-10 characters")
            elif code in seen:
                problems.append(f"line {line}: hospital {code} is already on line {seen[code]}")
            else:
                seen[code] = line
                found.append(HospitalLine(line, code, name, region))
    if problems:
        raise HospitalFileError(f"{path}: " + "; ".join(problems))
    return found


def load_hospitals(
    path: Path | str | None = None, *, apps=global_apps, using: str = DEFAULT_DB_ALIAS
) -> int:
    """Add the file's hospitals that the database does not have; returns how many were added.

    ``apps`` is a migration's app registry when a migration calls this. A region is named as in
    the Region table; a name it does not have refuses the whole file (HospitalFileError).
    """
    path = Path(path or HOSPITALS_FILE)
    Hospital = apps.get_model("departments", "Hospital")
    Region = apps.get_model("departments", "Region")
    hospitals = read_hospitals(path)
    regions = {region.name: region for region in Region.objects.using(using)}
    unknown = [h for h in hospitals if h.region and h.region not in regions]
    if unknown:
        raise HospitalFileError(
            f"{path}: unknown region "
            + ", ".join(f"{h.region!r} (line {h.line}, hospital {h.code})" for h in unknown)
            + "; the regions are "
            + ", ".join(sorted(regions) or ["(none)"])
        )
    with transaction.atomic(using=using):
        present = set(
            Hospital.objects.using(using)
            .filter(code__in=[h.code for h in hospitals])
            .values_list("code", flat=True)
        )
        missing = [h for h in hospitals if h.code not in present]
        # ignore_conflicts: two servers running migrate at once must not fail on each other.
        Hospital.objects.using(using).bulk_create(
            [Hospital(code=h.code, name=h.name, region=regions.get(h.region)) for h in missing],
            ignore_conflicts=True,
        )
    return len(missing)
