"""Print the SPC chart of a department's indicator as JSON.

    python manage.py export_spc --department CODE --indicator SLUG [--chart run|p]
                                [--split YYYY-MM-DD ...] [--freeze K]

``--split`` replaces the department's change markers for this output (``--split`` alone: no
phases). ``--department ALL`` charts the national pool.
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from departments.models import Department
from indicators.models import IndicatorDefinition
from indicators.services.selectors import current_computation
from indicators.spc import SpcError, build_spc


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--split {text!r} er ikke en dato (ÅÅÅÅ-MM-DD). / is not a date (YYYY-MM-DD)."
        ) from None


class Command(BaseCommand):
    help = "Skriv SPC-kortet for en afdelings indikator som JSON. / Print an SPC chart as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--department", required=True, help="SKS-kode, eller ALL")
        parser.add_argument("--indicator", required=True, help="indikatorens kode (slug)")
        parser.add_argument("--chart", choices=["run", "p"])
        parser.add_argument("--split", nargs="*", action="extend", metavar="YYYY-MM-DD")
        parser.add_argument("--freeze", type=int, metavar="K")
        parser.add_argument(
            "--registry", help="registerets slug, hvis to registre har samme indikatorkode"
        )

    def handle(self, *args, department, indicator, chart, split, freeze, registry=None, **options):
        found = IndicatorDefinition.objects.filter(slug=indicator)
        if registry:
            found = found.filter(profile=registry)
        definition = found.order_by("pk").first()
        if definition is None:
            raise CommandError(
                f"Ukendt indikator {indicator!r}. / Unknown indicator {indicator!r}."
            )
        if department.upper() == "ALL":
            dept = None
        else:
            dept = Department.objects.filter(code=department).first()
            if dept is None:
                raise CommandError(
                    f"Ukendt afdeling {department!r}. / Unknown department {department!r}."
                )
        if current_computation(definition.profile) is None:
            raise CommandError(
                "Ingen beregnede resultater endnu; kør recompute. / No results yet; run recompute."
            )
        splits = None if split is None else [_date(s) for s in split]
        try:
            series = build_spc(definition, dept, chart=chart, splits=splits, freeze=freeze)
        except SpcError as exc:
            raise CommandError(f"{exc.da} / {exc.en}") from None
        self.stdout.write(json.dumps(series.as_export(), ensure_ascii=False))
