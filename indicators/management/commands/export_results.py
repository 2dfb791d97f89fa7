"""Write the current results to stdout as CSV or JSON.

    python manage.py export_results [--period month|quarter|year] [--department CODE]
                                    [--indicator SLUG] [--format csv|json]

One row per department (and ALL), indicator and period whose population has at least one row.
Dates YYYY-MM-DD, floats at full precision (repr), empty cells (JSON null) for none; the
numerator is empty for measures.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from departments.models import Department
from indicators.models import Extract, IndicatorDefinition
from indicators.registry import catalog
from indicators.services.selectors import (
    ANY,
    RESULT_FIELDS,
    current_computation,
    current_results,
)
from qualityportal import csvsafe
from qualityportal.formatting import csv_cell

COLUMNS = ["department_code", "indicator", *RESULT_FIELDS]
_FIELDS = ["department__code", "definition__slug", *RESULT_FIELDS]
_PERIOD_ORDER = {"month": 0, "quarter": 1, "year": 2}


def _json_values(record) -> list:
    return [v.isoformat() if hasattr(v, "isoformat") else v for v in record]


class Command(BaseCommand):
    help = "Skriv de aktuelle resultater som CSV eller JSON. / Write the current results."

    def add_arguments(self, parser):
        parser.add_argument("--period", choices=["month", "quarter", "year"])
        parser.add_argument("--department", help="afdelingens SKS-kode, eller ALL")
        parser.add_argument("--indicator", help="indikatorens kode (slug)")
        parser.add_argument("--format", choices=["csv", "json"], default="csv", dest="fmt")
        parser.add_argument("--registry", default="dccg")

    def handle(self, *args, period, department, indicator, fmt, registry, **options):
        try:
            catalog.spec(registry)
        except catalog.UnknownRegistry as unknown:
            raise CommandError(f"{unknown.da} / {unknown.en}") from None
        computation = current_computation(registry)
        where = {}
        if department is not None:
            if department.upper() == "ALL":
                where["department"] = None
            else:
                where["department"] = Department.objects.filter(code=department).first()
                if where["department"] is None:
                    raise CommandError(
                        f"Ukendt afdeling {department!r}. / Unknown department {department!r}."
                    )
        if indicator is not None:
            where["definition"] = IndicatorDefinition.objects.filter(
                slug=indicator, profile=registry
            ).first()
            if where["definition"] is None:
                raise CommandError(
                    f"Ukendt indikator {indicator!r}. / Unknown indicator {indicator!r}."
                )
        if computation is None:
            self.stderr.write("Ingen beregnede resultater endnu. / No computed results yet.")
        else:
            current = Extract.objects.filter(registry=computation.registry, is_current=True)
            if not current.filter(pk=computation.extract_id).exists():
                self.stderr.write(
                    "Advarsel: resultaterne er fra et tidligere udtræk; en genberegning venter. "
                    "/ Warning: the results are from an earlier extract; a recompute is pending."
                )
        results = current_results(
            registry=registry,
            computation=computation,
            definition=where.get("definition", ANY),
            department=where.get("department", ANY),
            period_type=period,
        ).values_list(*_FIELDS, "definition__position")
        rows = sorted(
            results,
            key=lambda r: (r[0] is not None, r[0] or "", r[-1], r[1], _PERIOD_ORDER[r[2]], r[3]),
        )
        records = [("ALL" if r[0] is None else r[0], *r[1:-1]) for r in rows]
        if fmt == "json":
            data = [dict(zip(COLUMNS, _json_values(r), strict=True)) for r in records]
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        writer = csvsafe.writer(self.stdout, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows([csv_cell(v, "en") for v in r] for r in records)
