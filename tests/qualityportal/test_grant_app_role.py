"""The database role the web server runs as: rows yes, schema no, audit log insert and read only.

Docker is not needed to test it: the role is made in the real test PostgreSQL inside the test's
transaction (roles and grants roll back with it), and the statements run under ``SET ROLE``, so
PostgreSQL checks them against that role's rights and nothing else.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import ProgrammingError, connection, transaction
from psycopg import sql

from departments import audit
from departments.models import AuditAction, AuditEvent, Region
from tests.departments.people import A, department, person

pytestmark = pytest.mark.django_db

ROLE = f"kp_test_app_{os.getpid()}"  # roles are cluster-wide: one name per test process


@pytest.fixture
def app_role(postgres):
    with postgres.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(ROLE)))
    call_command("grant_app_role", ROLE)
    call_command("grant_app_role", ROLE)  # after every migrate: running it again is harmless
    return ROLE


@contextmanager
def connected_as(role: str):
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        try:
            yield cursor
        finally:
            cursor.execute("RESET ROLE")


def refused(cursor, statement: str) -> str:
    """The error PostgreSQL gives ``statement`` (in a savepoint, so the test goes on)."""
    with pytest.raises(ProgrammingError) as refusal, transaction.atomic():
        cursor.execute(statement)
    return str(refusal.value)


def test_the_app_role_reads_and_writes_rows_of_the_portal(app_role):
    with connected_as(app_role):
        karen = person("karen@example.dk")
        department(A)
        Region.objects.filter(code="1085").update(name="Region Sjælland (ny)")
        karen.delete()
        assert Region.objects.get(code="1085").name == "Region Sjælland (ny)"


def test_the_app_role_may_only_add_to_and_read_the_audit_log(app_role):
    with connected_as(app_role) as cursor:
        event = audit.record(None, AuditAction.EXPORT, target="results.csv")
        assert AuditEvent.objects.filter(pk=event.pk).exists()
        table = AuditEvent._meta.db_table
        for statement in (
            f"UPDATE {table} SET target = 'tampered'",  # noqa: S608 (a fixed table name)
            f"DELETE FROM {table}",  # noqa: S608
            f"TRUNCATE {table}",
        ):
            assert "permission denied for table departments_auditevent" in refused(
                cursor, statement
            )
    event.refresh_from_db()
    assert event.target == "results.csv"


def test_the_app_role_cannot_change_the_schema(app_role):
    with connected_as(app_role) as cursor:
        assert "permission denied for schema public" in refused(
            cursor, "CREATE TABLE kp_smuggled (id int)"
        )
        assert "must be owner of table" in refused(
            cursor, "ALTER TABLE departments_region ADD COLUMN smuggled int"
        )
        assert "must be owner of table" in refused(cursor, "DROP TABLE departments_region")


def test_it_refuses_a_missing_role_and_the_owner(postgres):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("grant_app_role", "no_such_role_anywhere")
    with postgres.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
    with pytest.raises(CommandError, match="owner or a superuser"):
        call_command("grant_app_role", owner)


def test_the_worker_imports_as_the_app_role_through_the_owners_functions(app_role):
    """The importer's partition is made and attached by functions that run with the owner's
    rights (indicators/migrations/0007), so the worker needs no right to change a table."""
    from indicators.models import OperationRow
    from indicators.registry.importer import import_path
    from tests.indicators.extract_files import SAMPLE

    with connected_as(app_role) as cursor:
        extract = import_path(SAMPLE).extract
        assert extract.status == "done" and extract.rows_imported == 300
        assert OperationRow.objects.filter(extract=extract).count() == 300
        assert "permission denied" in refused(cursor, "CREATE TABLE kp_not_allowed (a int)")
