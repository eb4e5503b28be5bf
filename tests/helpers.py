"""Small helpers shared by test modules."""

from ingestion import pipeline


def sync(**options) -> pipeline.SyncReport:
    """Run the pipeline in-process with a single render process (fast for a handful of songs)."""
    options.setdefault("concurrency", 1)
    return pipeline.run_sync(pipeline.SyncOptions(**options))
