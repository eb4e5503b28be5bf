"""Trigram index on charts' search text (PostgreSQL; pg_trgm comes from ingestion 0002)."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute("CREATE INDEX IF NOT EXISTS charts_chart_search_trgm ON "
                              "charts_chart USING gin (search_text gin_trgm_ops)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS charts_chart_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("charts", "0001_initial"), ("ingestion", "0002_search_infra")]
    operations = [migrations.RunPython(forwards, backwards)]
