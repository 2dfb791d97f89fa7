"""Load the demo: a generated registry extract, imported the way a coordinator's would be, and
one demo user per role.

Idempotent: a second run changes nothing (the same file is recognised by its SHA-256). Demo
only: it refuses to run without DEBUG, because it creates accounts whose passwords are printed.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from departments.models import Department, Role, User
from departments.services import confirm_email, grant_role
from indicators.models import ChangeMarker
from indicators.registry import catalog, synthetic, synthetic_profiles
from indicators.registry.importer import import_path
from indicators.registry.profile_file import shipped
from indicators.services.definitions import add_change_marker, delete_change_marker

DEMO_PASSWORD = "demo-kvalitet-2026"  # noqa: S105 (demo accounts only, refused without DEBUG)
DEMO_USERS = [
    ("kliniker@demo.kvalitetsportal.dk", Role.CLINICIAN, "Karen", "Kliniker"),
    ("koordinator@demo.kvalitetsportal.dk", Role.COORDINATOR, "Kasper", "Koordinator"),
    ("ledelse@demo.kvalitetsportal.dk", Role.LEADERSHIP, "Lene", "Ledelse"),
    ("admin@demo.kvalitetsportal.dk", Role.ADMIN, "Anders", "Admin"),
]


def _pathway_file(rows: int, seed: int, period) -> Path:
    """The demo's cancer pathways (kræftpakke), the same departments and months as DCCG's."""
    name = f"demo-kraeftpakke-v1-{rows}-{seed}-{period.end:%Y%m}.csv"
    path = Path(settings.VAR_DIR) / "demo" / name
    if not path.exists():
        frame = synthetic_profiles.kraeftpakke_frame(
            rows, seed=seed, start=period.start, end=period.end
        )
        synthetic_profiles.write_profile_extract(frame, path, shipped("kraeftpakke"))
    return path


class Command(BaseCommand):
    help = "Indlæs demodata: afdelinger, et demo-udtræk og én demobruger pr. rolle."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=20000, help="rækker i demo-udtrækket")
        parser.add_argument("--seed", type=int, default=2026)

    def _pathways(self, rows: int, seed: int, period) -> None:
        """A second registry, so the dashboard shows how registries sit side by side."""
        if "kraeftpakke" not in catalog.slugs():
            return  # an administrator removed it from registries/: nothing to show
        self._import(_pathway_file(rows, seed, period), "kraeftpakke", "Kræftpakke-udtræk")

    def _import(self, path: Path, registry: str, label: str) -> None:
        outcome = import_path(path, profile_slug=registry)
        extract = outcome.extract
        if extract.status != extract.Status.DONE:
            raise CommandError(f"{label} kunne ikke indlæses: {extract.message_da}")
        state = "allerede indlæst" if outcome.already_imported else "indlæst"
        self.stdout.write(
            f"{label} nr. {extract.pk} {state}: {extract.rows_imported} rækker, "
            f"{extract.rows_rejected} afvist."
        )

    def handle(self, *args, rows: int, seed: int, **options):
        if not settings.DEBUG:
            raise CommandError(
                "load_demo creates accounts with printed passwords and only runs with DEBUG=1 "
                "(demo only). / load_demo opretter konti med kendte adgangskoder og kører kun "
                "med DEBUG=1."
            )
        # The three full years up to this month, drawn today: the demo never looks stale, and no
        # date in it lies in the future. One file a month (v2: clean names, consistent grades).
        period = synthetic.demo_period(timezone.localdate())
        name = f"demo-extract-v2-{rows}-{seed}-{period.end:%Y%m}.csv"
        demo_file = Path(settings.VAR_DIR) / "demo" / name
        if not demo_file.exists():
            demo_file.parent.mkdir(parents=True, exist_ok=True)
            frame = synthetic.generate_frame(
                rows,
                seed=seed,
                start=period.start,
                end=period.end,
                change_date=period.change_date,
                snapshot=period.snapshot,
            )
            synthetic.write_extract(frame, demo_file)
        self._import(demo_file, "dccg", "Demo-udtræk")
        self._pathways(rows, seed, period)
        with transaction.atomic():
            home_department = Department.objects.get(code=synthetic.CHANGE_DEPARTMENT)
            # The demo department changed its pathway on a known date: mark it, so its charts
            # show the effect in two phases. The date moves with the demo's window, so a marker
            # an earlier month's demo left goes.
            markers = ChangeMarker.objects.filter(
                department=home_department, label=synthetic.CHANGE_LABEL
            )
            for stale in markers.exclude(date=period.change_date):
                delete_change_marker(stale)
            if not markers.filter(date=period.change_date).exists():
                add_change_marker(
                    home_department, date=period.change_date, label=synthetic.CHANGE_LABEL
                )
            created = []
            for email, role, first, last in DEMO_USERS:
                user = User.objects.filter(email=email).first()
                if user is None:
                    user = User.objects.create_user(
                        email, DEMO_PASSWORD, first_name=first, last_name=last
                    )
                    confirm_email(user)
                    created.append(email)
                if role is Role.ADMIN:
                    user.is_staff = user.is_superuser = True
                    user.save(update_fields=["is_staff", "is_superuser"])
                in_department = role in (Role.CLINICIAN, Role.COORDINATOR)
                grant_role(user, role, department=home_department if in_department else None)

        departments = Department.objects.count()
        self.stdout.write(f"Afdelinger: {departments}; nye demobrugere: {len(created)}")
        self.stdout.write("Demobrugere (kun til demo) / demo users (demo only):")
        for email, role, _first, _last in DEMO_USERS:
            self.stdout.write(f"  {role.label:<22} {email}  adgangskode: {DEMO_PASSWORD}")
