"""Look for late deliveries now, as Celery beat does every 15 minutes (docs/deliveries.md).

python manage.py check_deliveries

A registry whose newest extract is older than it expects starts a late episode: audited, and
its coordinators get one e-mail. One line per registry; exit 0 (a mail server that is down is
tried again at the next check), exit 1 only when an e-mail could not be sent.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from indicators.services.deliveries import check_late, deliveries


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


class Command(BaseCommand):
    help = (
        "Find registre med forsinkede data og giv koordinatorerne besked. / "
        "Find registries with late data and tell their coordinators."
    )

    def handle(self, *args, **options):
        checked = check_late()
        for delivery in deliveries():
            if delivery.expected_every_days is None:
                state = "-"
            else:
                state = "FORSINKET / LATE" if delivery.late else "ok"
            done = [
                what
                for what in ("started", "notified", "failed", "unheard", "cleared", "busy")
                if delivery.slug in getattr(checked, what)
            ]
            self.stdout.write(
                f"{delivery.slug}: {state}; alder / age {_days(delivery.age_days)} d, "
                f"forventet / expected {delivery.expected_every_days or '-'} d"
                + (f" ({', '.join(done)})" if done else "")
            )
        if checked.failed:
            self.stderr.write(
                "E-mail ikke sendt (prøves igen ved næste kontrol) / e-mail not sent (tried "
                f"again at the next check): {', '.join(checked.failed)}"
            )
            raise SystemExit(1)
