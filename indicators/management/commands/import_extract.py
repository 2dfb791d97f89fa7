"""``python manage.py import_extract PATH [--profile dccg] [--json] [--force]``.

Exit 0 when the extract is current (or was already imported), 1 when it is refused, fails, has no
valid row, or waits for confirmation because it would take more than half of some department's
rows away (``--force`` makes it current all the same).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from indicators.models import Extract
from indicators.registry import catalog
from indicators.registry.errors import FileRefused
from indicators.registry.importer import import_path
from indicators.services import currency


class Command(BaseCommand):
    help = "Indlæs et registerudtræk og gør det til registerets aktuelle. / Import an extract."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--profile", default="dccg", help="an installed registry's slug")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--force",
            action="store_true",
            help="gør udtrækket aktuelt, selv om en afdeling mister over halvdelen af sine rækker "
            "/ make it current even where a department loses more than half of its rows",
        )

    def handle(self, *args, path: Path, profile: str, json: bool, force: bool, **options):
        if not path.is_file():
            raise CommandError(f"Filen findes ikke / no such file: {path}")
        try:
            catalog.spec(profile)
        except catalog.UnknownRegistry as unknown:
            raise CommandError(f"{unknown.da} / {unknown.en}") from None
        try:
            outcome = import_path(path, profile_slug=profile, force=force)
        except FileRefused as refused:
            raise CommandError(f"{refused.reason.da} / {refused.reason.en}") from None
        extract = outcome.extract
        if extract.status == Extract.Status.FAILED and not outcome.already_imported:
            raise CommandError(f"{extract.message_da} / {extract.message_en}")
        if json:
            self.stdout.write(self._as_json(extract, outcome.already_imported))
        else:
            self._report(extract, outcome.already_imported)
        if outcome.already_imported or extract.is_current:
            return
        if extract.awaiting_confirmation:
            lines = [
                f"  {c.department.code}: {c.before} -> {c.after} rækker/rows"
                for c in currency.changes(extract)
            ]
            raise CommandError(
                "\n".join(
                    [
                        extract.message_da,
                        extract.message_en,
                        *lines,
                        "--force: gør det aktuelt alligevel / make it current all the same",
                    ]
                )
            )
        raise CommandError(f"{extract.message_da} / {extract.message_en}")

    def _report(self, extract: Extract, already_imported: bool) -> None:
        if already_imported:
            self.stdout.write(
                f"Filen er allerede indlæst som udtræk nr. {extract.pk}; intet blev ændret. / "
                f"Already imported as extract no. {extract.pk}; nothing changed."
            )
            return
        self.stdout.write(
            f"Udtræk nr. {extract.pk}: {extract.rows_read} rækker læst, "
            f"{extract.rows_imported} indlæst, {extract.rows_rejected} afvist."
        )
        for refused in extract.refused.all()[:20]:
            column = refused.column or "-"
            self.stdout.write(f"  linje {refused.line} [{column}]: {refused.message_da}")
        if extract.rows_rejected > 20:
            self.stdout.write(f"  … og {extract.rows_rejected - 20} mere (se --json)")

    @staticmethod
    def _as_json(extract: Extract, already_imported: bool) -> str:
        errors = [
            {"line": line, "column": column or None, "message": da, "message_en": en}
            for line, column, da, en in extract.refused.order_by("line").values_list(
                "line", "column", "message_da", "message_en"
            )
        ]
        return json.dumps(
            {
                "extract": extract.pk,
                "rows": extract.rows_read,
                "imported": extract.rows_imported,
                "rejected": extract.rows_rejected,
                "errors": errors,
                "already_imported": already_imported,
                "current": extract.is_current,
                "awaiting_confirmation": extract.awaiting_confirmation,
            },
            ensure_ascii=False,
        )
