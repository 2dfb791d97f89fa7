"""Make the audit log append-only in PostgreSQL: every UPDATE or DELETE of a row is refused.

The portal never changes an audit record, but the guarantee belongs in the database, where a bug
in a view, an admin action or a shell session cannot get round it. The error uses SQLSTATE 23001
(restrict_violation), which Django raises as ``IntegrityError``.

TRUNCATE is refused by 0005 (a statement-level trigger). In production the database role the
portal runs as holds only INSERT and SELECT on this table (docs/accounts.md). SQLite
(development only) has no trigger.
"""

from django.db import migrations

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION departments_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % refused on departments_auditevent', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql
"""

CREATE_TRIGGER = """
CREATE TRIGGER departments_auditevent_append_only
    BEFORE UPDATE OR DELETE ON departments_auditevent
    FOR EACH ROW EXECUTE FUNCTION departments_auditevent_append_only()
"""

DROP_TRIGGER = "DROP TRIGGER IF EXISTS departments_auditevent_append_only ON departments_auditevent"
DROP_FUNCTION = "DROP FUNCTION IF EXISTS departments_auditevent_append_only()"


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL holds a literal %, which must not be read as a placeholder.
        schema_editor.execute(CREATE_FUNCTION, params=None)
        schema_editor.execute(CREATE_TRIGGER, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER, params=None)
        schema_editor.execute(DROP_FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [("departments", "0003_auditevent_role_source")]
    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
