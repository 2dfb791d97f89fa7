"""Every registry's rows in a table of its own (indicators.registry.storage), partitioned by
extract on PostgreSQL: the functions of 0007, for any registry's table.

DCCG's rows stay where they are, renamed as every registry's table is named: ``registry_dccg``,
its partitions ``registry_dccg_x<extract>``. The functions refuse a table no registry names, so
the worker's role (which may call them) cannot use them on any other table.
"""

import importlib

from django.db import migrations

OLD = importlib.import_module("indicators.migrations.0007_partition_functions")
RENAME_PARTITIONS = """
DO $$
DECLARE part record;
BEGIN
  FOR part IN
    SELECT c.relname AS name, substring(c.relname from '_x([0-9]+)$') AS extract
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
    WHERE p.relname = '{parent}'
  LOOP
    EXECUTE format('ALTER TABLE %I RENAME TO %I', part.name, '{prefix}_x' || part.extract);
  END LOOP;
END $$;
"""

FUNCTIONS = [
    """
CREATE OR REPLACE FUNCTION portal_registry_table(parent text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM indicators_registry r WHERE r.row_table = parent) THEN
    RAISE EXCEPTION 'not a registry row table: %', parent;
  END IF;
END $$;
""",
    """
CREATE OR REPLACE FUNCTION portal_new_rows_partition(parent text, extract_id bigint, writer text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE part text := format('%s_x%s', parent, extract_id);
BEGIN
  PERFORM portal_registry_table(parent);
  -- A partition left by an extract of the same id (a test database whose sequences were
  -- reset) holds no rows: its extract is gone, and its rows with it.
  EXECUTE format('DROP TABLE IF EXISTS %I', part);
  EXECUTE format(
    'CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS, CHECK (extract_id = %s))',
    part, parent, extract_id);
  EXECUTE format('GRANT SELECT, INSERT ON %I TO %I', part, writer);
END $$;
""",
    """
CREATE OR REPLACE FUNCTION portal_attach_rows_partition(parent text, extract_id bigint, period text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE part text := format('%s_x%s', parent, extract_id);
BEGIN
  PERFORM portal_registry_table(parent);
  EXECUTE format('CREATE INDEX ON %I (extract_id, department_id, %I)', part, period);
  EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%s)', parent, part, extract_id);
END $$;
""",
    """
CREATE OR REPLACE FUNCTION portal_drop_rows_partition(parent text, extract_id bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  PERFORM portal_registry_table(parent);
  EXECUTE format('DROP TABLE IF EXISTS %I', format('%s_x%s', parent, extract_id));
END $$;
""",
]
DROP = [
    "DROP FUNCTION IF EXISTS portal_new_rows_partition(text, bigint, text)",
    "DROP FUNCTION IF EXISTS portal_attach_rows_partition(text, bigint, text)",
    "DROP FUNCTION IF EXISTS portal_drop_rows_partition(text, bigint)",
    "DROP FUNCTION IF EXISTS portal_registry_table(text)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        rename = RENAME_PARTITIONS.format(parent="registry_dccg", prefix="registry_dccg")
        for statement in [*OLD.DROP, rename, *FUNCTIONS]:
            schema_editor.execute(statement, None)  # no parameters: its % are format()'s
    Registry = apps.get_model("indicators", "Registry")
    registry, _ = Registry.objects.get_or_create(
        slug="dccg", defaults={"name": "DCCG – Dansk Kolorektal Cancer Database"}
    )
    Registry.objects.filter(pk=registry.pk).update(row_table="registry_dccg")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        back = RENAME_PARTITIONS.format(parent="registry_dccg", prefix="indicators_operationrow")
        for statement in [*DROP, back, *OLD.FUNCTIONS]:
            schema_editor.execute(statement, None)


class Migration(migrations.Migration):
    dependencies = [("indicators", "0010_registry_profiles")]

    operations = [
        migrations.AlterModelTable(name="operationrow", table="registry_dccg"),
        migrations.RunPython(forward, backward),
    ]
