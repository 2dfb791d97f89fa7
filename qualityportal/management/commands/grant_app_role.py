"""``python manage.py grant_app_role ROLE``: the rights of the role the web server runs as.

Run as the database owner after every ``migrate`` (docker-compose's ``migrate`` service does
both), so tables a migration adds are covered. ROLE may read and write rows, and only add to and
read the audit log; it cannot create, alter, drop or truncate a table, so a compromised web
server cannot rewrite history or the schema. ROLE itself is created once by
``docker/postgres-init/10-app-role.sh``. Idempotent: the rights are set, not added to.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from departments.models import AuditEvent

GRANTS = [
    # PostgreSQL before 15 lets every role create tables in the public schema.
    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    "GRANT USAGE ON SCHEMA public TO {role}",
    "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    # Append-only: the triggers of departments/0004 and 0005 refuse the owner too; the role
    # is not even allowed to ask.
    "REVOKE UPDATE, DELETE ON {audit} FROM {role}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
]


class Command(BaseCommand):
    help = (
        "Giv portalens databaserolle ret til rækker, ikke til skemaet. "
        "/ Grant the portal's database role row rights, no schema rights."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role DATABASE_URL of web and beat names")

    def handle(self, *args, role: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Kun PostgreSQL. / PostgreSQL only.")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT rolsuper, rolname = current_user FROM pg_roles WHERE rolname = %s",
                [role],
            )
            found = cursor.fetchone()
        if found is None:
            raise CommandError(
                f"Rollen {role!r} findes ikke. / Role {role!r} does not exist "
                "(docker/postgres-init/10-app-role.sh creates it)."
            )
        if any(found):
            # Grants mean nothing to a superuser or to the tables' owner.
            raise CommandError(
                f"{role!r} er ejer eller superuser. / {role!r} is the owner or a superuser: "
                "the portal must connect as a role of its own."
            )
        names = {
            "role": sql.Identifier(role),
            "audit": sql.Identifier(AuditEvent._meta.db_table),
        }
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in GRANTS:
                cursor.execute(sql.SQL(statement).format(**names))
        self.stdout.write(f"{role}: rettigheder sat. / rights set.")
