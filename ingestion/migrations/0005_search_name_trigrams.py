"""Fuzzy search over title and artist together: the GIN trigram index `songs_name_trgm` on
`title_folded || ' ' || artist_folded` (ingestion.search_infra.NAME_FOLDED), built
CONCURRENTLY so `songs` stays writable. Reversing keeps the index (older code ignores it)."""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from ingestion import search_infra

    search_infra.fts_layout.cache_clear()
    search_infra.ensure(fts_mode=search_infra.fts_layout(), concurrent=True)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("ingestion", "0004_syncrun_heartbeat")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
