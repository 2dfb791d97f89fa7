"""Write a synthetic registry extract (for demos, tests and benchmarks).

    python manage.py generate_extract --rows 1000000 --out bench/data/extract.csv
    python manage.py generate_extract --rows 20000 --start 2023-11-01 --end 2026-10-31 --out x.csv
    python manage.py generate_extract --profile kraeftpakke --rows 50000 --out kp.csv

``--profile dccg`` (the default) and ``kraeftpakke`` give realistic data
(``indicators.registry.synthetic``, ``synthetic_profiles``); any other installed registry gets
valid random data made from its profile. Without --start/--end the dates run from 2019 to 2024,
so that a seed always gives the same file. This command only checks the arguments.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from indicators.registry import catalog, synthetic, synthetic_profiles
from qualityportal.formatting import count_text, number, plain_number


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(
            f"{text!r} er ikke en dato (ÅÅÅÅ-MM-DD). / {text!r} is not a date (YYYY-MM-DD)."
        ) from exc


class Command(BaseCommand):
    help = "Skriv et syntetisk registerudtræk (CSV eller xlsx) til demo, test og benchmark."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, required=True, help="antal rækker (operationer)")
        parser.add_argument("--seed", type=int, default=1, help="samme seed giver samme fil")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv", dest="fmt")
        parser.add_argument("--out", required=True, help="filen der skrives")
        parser.add_argument("--profile", default="dccg", help="et installeret registers slug")
        start, end = synthetic.DEFAULT_START, synthetic.DEFAULT_END
        parser.add_argument("--start", help=f"første operationsdato (ÅÅÅÅ-MM-DD; {start})")
        parser.add_argument("--end", help=f"sidste operationsdato (ÅÅÅÅ-MM-DD; {end})")

    def handle(
        self,
        *args,
        rows: int,
        seed: int,
        fmt: str,
        out: str,
        start: str | None = None,
        end: str | None = None,
        profile: str = "dccg",
        **options,
    ):
        spec = None
        if profile != "dccg":  # DCCG's generator needs no profile (nor a database)
            try:
                spec = catalog.spec(profile)
            except catalog.UnknownRegistry as unknown:
                raise CommandError(f"{unknown.da} / {unknown.en}") from None
        if rows < 1:
            raise CommandError(
                f"--rows skal være mindst 1, ikke {rows}. / --rows must be at least 1."
            )
        if fmt == "xlsx" and rows > synthetic.XLSX_MAX_ROWS:
            raise CommandError(
                f"Et xlsx-ark rummer højst {count_text(synthetic.XLSX_MAX_ROWS)} rækker; "
                f"brug --format csv til {count_text(rows)} rækker. / An xlsx sheet holds at most "
                f"{plain_number(synthetic.XLSX_MAX_ROWS, 'en')} rows; use --format csv."
            )
        first = _date(start) if start else synthetic.DEFAULT_START
        last = _date(end) if end else synthetic.DEFAULT_END
        if last < first:
            raise CommandError(
                f"--end ({last}) ligger før --start ({first}). / --end is before --start."
            )
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        if profile == "dccg":
            frame = synthetic.generate_frame(rows, seed=seed, start=first, end=last)
            synthetic.write_extract(frame, path, fmt=fmt)
        else:
            if profile == "kraeftpakke":
                frame = synthetic_profiles.kraeftpakke_frame(rows, seed=seed, start=first, end=last)
            else:
                try:
                    frame = synthetic_profiles.profile_frame(
                        spec, rows, seed=seed, start=first, end=last
                    )
                except ValueError as exc:
                    raise CommandError(str(exc)) from None
            synthetic_profiles.write_profile_extract(frame, path, spec, fmt=fmt)
        seconds = number(time.perf_counter() - started, 1)
        self.stdout.write(f"Skrev {count_text(rows)} rækker til {path} ({seconds} s)")
