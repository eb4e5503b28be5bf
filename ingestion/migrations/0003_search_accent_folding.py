"""Accent-insensitive search on PostgreSQL: unaccent, the IMMUTABLE wrapper, folded columns.

Creates the extensions `unaccent` and `fuzzystrmatch`, the wrapper `songhub_unaccent(text)`,
the text search configuration `songhub_fold`, and rebuilds the generated columns and indexes
that predate folding (see ingestion.search_infra). A fresh database already got all of it from
0002 (which runs the same idempotent `ensure`), so there this is a no-op. Non-atomic: the
indexes are rebuilt CONCURRENTLY; the generated columns need one table rewrite. Reversing
leaves everything in place: the code of any version reads the folded columns harmlessly.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from ingestion import search_infra

    search_infra.fts_layout.cache_clear()
    layout = search_infra.fts_layout()  # keep an operator's choice of `expression` mode
    search_infra.ensure(fts_mode=layout, concurrent=True)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("ingestion", "0002_search_infra")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
