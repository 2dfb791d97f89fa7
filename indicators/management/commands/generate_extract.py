"""Write a synthetic DCCG-style registry extract (for demos, tests and benchmarks).

    python manage.py generate_extract --rows 1000000 --out bench/data/extract.csv

The work is done by indicators.registry.synthetic; this command only checks the arguments.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from indicators.registry import synthetic


def _danish_int(n: int) -> str:
    return f"{n:,}".replace(",", ".")


class Command(BaseCommand):
    help = "Skriv et syntetisk DCCG-udtræk (CSV eller xlsx) til brug for demo, test og benchmark."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, required=True, help="antal rækker (operationer)")
        parser.add_argument("--seed", type=int, default=1, help="samme seed giver samme fil")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv", dest="fmt")
        parser.add_argument("--out", required=True, help="filen der skrives")

    def handle(self, *args, rows: int, seed: int, fmt: str, out: str, **options):
        if rows < 1:
            raise CommandError(
                f"--rows skal være mindst 1, ikke {rows}. / --rows must be at least 1."
            )
        if fmt == "xlsx" and rows > synthetic.XLSX_MAX_ROWS:
            raise CommandError(
                f"Et xlsx-ark rummer højst {_danish_int(synthetic.XLSX_MAX_ROWS)} rækker; "
                f"brug --format csv til {_danish_int(rows)} rækker. / An xlsx sheet holds at most "
                f"{synthetic.XLSX_MAX_ROWS:,} rows; use --format csv."
            )
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        frame = synthetic.generate_frame(rows, seed=seed)
        synthetic.write_extract(frame, path, fmt=fmt)
        seconds = f"{time.perf_counter() - started:.1f}".replace(".", ",")
        self.stdout.write(f"Skrev {_danish_int(rows)} rækker til {path} ({seconds} s)")
