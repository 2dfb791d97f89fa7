"""The partition of an extract's rows is made, indexed, attached and dropped by functions that
run with the table owner's rights (SECURITY DEFINER), so the worker can import as a role that may
change no table itself (docker-compose: portal_app, rights by ``grant_app_role``)."""

from django.db import migrations

FUNCTIONS = [
    """
CREATE OR REPLACE FUNCTION portal_new_partition(extract_id bigint, writer text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE part text := format('indicators_operationrow_x%s', extract_id);
BEGIN
  -- A partition left by an extract of the same id (a test database whose sequences were
  -- reset) holds no rows: its extract is gone, and its rows with it.
  EXECUTE format('DROP TABLE IF EXISTS %I', part);
  EXECUTE format(
    'CREATE TABLE %I (LIKE indicators_operationrow INCLUDING DEFAULTS INCLUDING CONSTRAINTS, '
    'CHECK (extract_id = %s))', part, extract_id);
  EXECUTE format('GRANT SELECT, INSERT ON %I TO %I', part, writer);
END $$;
""",
    """
CREATE OR REPLACE FUNCTION portal_attach_partition(extract_id bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE part text := format('indicators_operationrow_x%s', extract_id);
BEGIN
  EXECUTE format('CREATE INDEX ON %I (extract_id, department_id, operation_date)', part);
  EXECUTE format(
    'ALTER TABLE indicators_operationrow ATTACH PARTITION %I FOR VALUES IN (%s)',
    part, extract_id);
END $$;
""",
    """
CREATE OR REPLACE FUNCTION portal_drop_partition(extract_id bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  EXECUTE format('DROP TABLE IF EXISTS %I', format('indicators_operationrow_x%s', extract_id));
END $$;
""",
]
DROP = [
    "DROP FUNCTION IF EXISTS portal_new_partition(bigint, text)",
    "DROP FUNCTION IF EXISTS portal_attach_partition(bigint)",
    "DROP FUNCTION IF EXISTS portal_drop_partition(bigint)",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FUNCTIONS:
            schema_editor.execute(statement, None)  # no parameters: its % are format()'s


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, None)  # no parameters: its % are format()'s


class Migration(migrations.Migration):
    dependencies = [("indicators", "0006_per_department_currency")]

    operations = [migrations.RunPython(create, drop)]
