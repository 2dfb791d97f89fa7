"""Refuse TRUNCATE of the audit log in PostgreSQL, as 0004 refuses UPDATE and DELETE.

Row triggers do not fire on TRUNCATE, so 0004 left one statement that empties the table in an
instant (`manage.py flush`, a slip in psql). This statement-level trigger calls 0004's function,
which raises with SQLSTATE 23001 (``IntegrityError`` in Django) naming the operation.

The test suite empties tables with TRUNCATE after each transactional test, so its database
switches this trigger off (conftest.py) and turns it on only to test it. SQLite (development
only) has no trigger.
"""

from django.db import migrations

CREATE_TRIGGER = """
CREATE TRIGGER departments_auditevent_no_truncate
    BEFORE TRUNCATE ON departments_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION departments_auditevent_append_only()
"""

DROP_TRIGGER = "DROP TRIGGER IF EXISTS departments_auditevent_no_truncate ON departments_auditevent"


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_TRIGGER, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER, params=None)


class Migration(migrations.Migration):
    dependencies = [("departments", "0004_audit_append_only")]
    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
