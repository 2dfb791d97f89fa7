"""``add_user EMAIL --role ROLE [--department CODE ...]``: create or update a user, add a role.

For set-up without single sign-on and for tests. The password comes from ``PORTAL_PASSWORD``,
or a prompt; an existing user keeps their password unless ``PORTAL_PASSWORD`` is set.
"""

from __future__ import annotations

import getpass
import os
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from departments.models import Department, Hospital, Region, Role, User
from departments.services import confirm_email, grant_role

PASSWORD_ENV = "PORTAL_PASSWORD"  # noqa: S105 (the name of a variable, not a password)


class Command(BaseCommand):
    help = (
        "Opret eller opdater en bruger og giv en rolle. Adgangskoden læses fra PORTAL_PASSWORD "
        "eller spørges om. / Create or update a user and add a role."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--department",
            action="append",
            default=[],
            metavar="CODE",
            help="afdelingens SKS-kode (kliniker/koordinator; kan gentages)",
        )
        parser.add_argument("--hospital", metavar="CODE", help="ledelse: kun dette sygehus")
        parser.add_argument("--region", metavar="CODE", help="ledelse: kun denne region")
        parser.add_argument(
            "--no-password",
            action="store_true",
            help="ny bruger uden adgangskode (logger ind med single sign-on)",
        )
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args, email, role, department, hospital, region, no_password, **options):
        places = self._places(role, department, hospital, region)
        email = User.objects.normalize_email(email).strip().lower()
        user = User.objects.filter(email=email).first()
        password = os.environ.get(PASSWORD_ENV)
        if user is None and password is None and not no_password:
            password = self._prompt()
        if password is not None:
            try:
                validate_password(password, user or User(email=email))
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc

        with transaction.atomic():
            created = user is None
            if created:
                user = User.objects.create_user(
                    email,
                    password,
                    first_name=options["first_name"],
                    last_name=options["last_name"],
                )
                confirm_email(user)
            elif password is not None:
                user.set_password(password)
                user.save(update_fields=["password"])
            if role == Role.ADMIN and not (user.is_staff and user.is_superuser):
                # Administrators manage users, roles and regions in the Django admin.
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            for place in places:
                grant_role(user, role, via="add_user", **place)

        state = "oprettet" if created else "opdateret"
        where = ", ".join(self._describe(place) for place in places)
        self.stdout.write(f"{user.email} {state}: {role} ({where})")

    def _places(self, role, department_codes, hospital_code, region_code) -> list[dict]:
        if role in (Role.CLINICIAN, Role.COORDINATOR):
            if not department_codes or hospital_code or region_code:
                raise CommandError(f"--role {role} needs one or more --department CODE")
            found = Department.objects.in_bulk(department_codes, field_name="code")
            missing = [code for code in department_codes if code not in found]
            if missing:
                raise CommandError(
                    f"unknown department {', '.join(missing)}: import an extract that names it "
                    "or create it in the admin first"
                )
            return [{"department": found[code]} for code in dict.fromkeys(department_codes)]
        if department_codes:
            raise CommandError(f"--role {role} is not tied to a department")
        if role == Role.ADMIN:
            if hospital_code or region_code:
                raise CommandError("--role admin is not tied to a place")
            return [{}]
        if hospital_code and region_code:
            raise CommandError("leadership is limited to a hospital or a region, not both")
        if hospital_code:
            hospital = Hospital.objects.filter(code=hospital_code).first()
            if hospital is None:
                raise CommandError(f"unknown hospital {hospital_code}")
            return [{"hospital": hospital}]
        if region_code:
            region = Region.objects.filter(code=region_code).first()
            if region is None:
                raise CommandError(f"unknown region {region_code}")
            return [{"region": region}]
        return [{}]

    @staticmethod
    def _describe(place: dict) -> str:
        if not place:
            return "hele landet"
        (obj,) = place.values()
        return obj.code

    def _prompt(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError(f"set {PASSWORD_ENV} or run in a terminal to be asked")
        first = getpass.getpass("Adgangskode / password: ")
        if first != getpass.getpass("Gentag / again: "):
            raise CommandError("the passwords differ")
        return first
