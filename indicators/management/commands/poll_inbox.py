"""``python manage.py poll_inbox [--json]``: take every complete file of ``INBOX_DIR/<slug>/``.

Each file taken is handed to the import door (the worker imports it, or it runs here without a
broker) and then deleted; one line per file says which extract it became. Celery beat runs the
same every minute. Files named ``*.part`` or ``.*`` are still being written and stay.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from indicators.services.inbox import inbox_dir, poll


class Command(BaseCommand):
    help = "Tag de færdige filer i indbakken / Take the inbox's complete files."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, json: bool = False, **options):
        result = poll()
        failed = [t for t in result.taken if t.error]
        if json:
            self.stdout.write(self._as_json(result))
        else:
            self._report(result)
        if failed:
            raise CommandError(
                f"{len(failed)} fil(er) kunne ikke afleveres og ligger i indbakken igen / "
                f"{len(failed)} file(s) could not be handed on and are back in the inbox"
            )

    def _report(self, result) -> None:
        for taken in result.taken:
            where = f"{taken.registry}/{taken.name}"
            if taken.error:
                self.stderr.write(f"{where}: fejl / error ({taken.error}); lagt tilbage / put back")
            elif taken.already_imported:
                self.stdout.write(
                    f"{where}: allerede indlæst som udtræk nr. {taken.extract_id}; intet ændret "
                    f"/ already imported as extract no. {taken.extract_id}; nothing changed"
                )
            else:
                self.stdout.write(
                    f"{where}: udtræk nr. {taken.extract_id} / extract no. {taken.extract_id} "
                    f"({taken.status})"
                )
        for line in result.skipped:
            self.stderr.write(f"{line}: ikke taget / left alone")
        for name in result.unknown:
            self.stderr.write(
                f"{name}/: intet installeret register hedder sådan; filerne bliver liggende / "
                f"no installed registry has this slug; its files stay"
            )
        self.stdout.write(
            f"{len(result.taken)} fil(er) taget, {result.waiting} under skrivning ({inbox_dir()}) "
            f"/ {len(result.taken)} file(s) taken, {result.waiting} being written"
        )

    @staticmethod
    def _as_json(result) -> str:
        return json.dumps(
            {
                "taken": [
                    {"registry": t.registry, "file": t.name, "extract": t.extract_id,
                     "already_imported": t.already_imported, "status": t.status or None,
                     "error": t.error or None}
                    for t in result.taken
                ],
                "waiting": result.waiting,
                "unknown": result.unknown,
                "skipped": result.skipped,
            },
            ensure_ascii=False,
        )  # fmt: skip
