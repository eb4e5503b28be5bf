"""Search indexes (pg_trgm, full-text) on PostgreSQL; nothing on SQLite.

Non-atomic so the indexes are built CONCURRENTLY: upgrading a live database never blocks
writes to `songs` while they build (the generated columns still need one table rewrite).
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from ingestion import search_infra

    search_infra.ensure(fts_mode="column", concurrent=True)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from ingestion import search_infra

    with schema_editor.connection.cursor() as cursor:
        for spec in search_infra.BASE_INDEXES + sum(search_infra.FTS_INDEXES.values(), []):
            cursor.execute(f"DROP INDEX IF EXISTS {spec.name}")
        for column in [*search_infra.GENERATED_COLUMNS, *search_infra.FOLDED_COLUMNS]:
            cursor.execute(f"ALTER TABLE songs DROP COLUMN IF EXISTS {column}")
    search_infra.fts_layout.cache_clear()


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("ingestion", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
