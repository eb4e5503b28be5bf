from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _sqlite_folding(sender, connection, **kwargs):
    """SQLite gets `songhub_unaccent` as a Python function, so the search fallback's ORM
    queries fold accents exactly as PostgreSQL's IMMUTABLE wrapper does."""
    if connection.vendor != "sqlite":
        return
    from . import search_infra
    from .textfold import fold

    connection.connection.create_function(
        search_infra.FOLD_FUNCTION, 1, lambda text: None if text is None else fold(text),
        deterministic=True)


class IngestionConfig(AppConfig):
    name = "ingestion"
    verbose_name = "Song library"

    def ready(self):
        connection_created.connect(_sqlite_folding, dispatch_uid="ingestion-sqlite-folding")
