"""Recompute every result of every registry's current extract now (synchronously).

python manage.py recompute [--registry dccg]
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from indicators.models import Computation, Registry
from indicators.services.computations import recompute
from qualityportal.formatting import number


def _seconds(value: float) -> str:
    return number(value, 2)


class Command(BaseCommand):
    help = "Genberegn alle resultater af de aktuelle udtræk nu. / Recompute every result now."

    def add_arguments(self, parser):
        parser.add_argument("--registry", help="kun dette register (slug), fx dccg")

    def handle(self, *args, registry: str | None = None, **options):
        registries = Registry.objects.filter(extracts__is_current=True).distinct().order_by("slug")
        if registry:
            registries = registries.filter(slug=registry)
            if not Registry.objects.filter(slug=registry).exists():
                raise CommandError(
                    f"Ukendt register {registry!r}. / Unknown registry {registry!r}."
                )
        if not registries:
            self.stdout.write("Intet aktuelt udtræk at beregne. / No current extract to compute.")
            return
        failed = []
        for reg in registries:
            started = time.perf_counter()
            computation = recompute(reg, reason="manage.py recompute")
            self._report(computation, time.perf_counter() - started)
            if computation.status != Computation.Status.DONE:
                failed.append(computation)
        if failed:
            raise CommandError("; ".join(f"{c.registry.slug}: {c.error_en}" for c in failed))

    def _report(self, computation: Computation, total: float) -> None:
        slug = computation.registry.slug
        if computation.status != Computation.Status.DONE:
            self.stderr.write(
                f"{slug}: beregning #{computation.pk} fejlede: {computation.error_da}"
            )
            return
        t = computation.timings
        results = computation.results.all()
        definitions = results.values("definition").distinct().count()
        departments = results.filter(department__isnull=False).values("department").distinct()
        self.stdout.write(
            f"{slug}: beregning #{computation.pk} færdig / computation #{computation.pk} done: "
            f"{computation.result_count} resultater/results, {definitions} indikatorer/indicators, "
            f"{departments.count()} afdelinger/departments + ALL, udtræk/extract "
            f"#{computation.extract_id} ({t.get('rows', 0)} rækker/rows); "
            f"læs/read {_seconds(t.get('read', 0))} s, beregn/compute "
            f"{_seconds(t.get('compute', 0))} s, skriv/write {_seconds(t.get('write', 0))} s, "
            f"i alt/total {_seconds(total)} s"
        )
