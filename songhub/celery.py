"""The Celery app shared by every worker, beat and the web process (which only enqueues)."""

import os
import sys
from pathlib import Path

from celery import Celery
from celery.signals import beat_init, worker_init, worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "songhub.settings")

def reset_metrics_folder() -> None:
    """Multi-process metrics: a restarted worker must not add the dead processes' values.
    Runs when this module is imported by `celery … worker`, before Django (and so before any
    metric) is loaded; the pool's children fork later and do not import it again."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder and "worker" in sys.argv:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)


reset_metrics_folder()
app = Celery("songhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_broker_folders():
    """The embedded filesystem broker needs its folders before the first message."""
    if str(app.conf.broker_url).startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
            folder = app.conf.broker_transport_options.get(key)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)


@worker_init.connect
@beat_init.connect
def refuse_insecure_start(**kwargs):
    from songhub.checks import assert_safe_to_start

    assert_safe_to_start()


@worker_init.connect
@beat_init.connect
def use_direct_connections(**kwargs):
    """Worker and beat connect directly, one connection per thread, kept for
    WORKER_CONN_MAX_AGE seconds: prefork children must not inherit a pool's sockets and
    threads, Celery would close a child's pool after every task anyway, and the poll threads
    are long-lived (a new connection per poll capped a worker at ~140 polls/s: bench/polling.py).
    Their connections are bounded by concurrency + POLL_THREADS + 2; see docs/deployment.md."""
    from django.conf import settings

    # Connection wrappers share this dict, so the change holds for connections made later.
    database = settings.DATABASES["default"]
    database.get("OPTIONS", {}).pop("pool", None)
    if database["ENGINE"] != "django.db.backends.sqlite3":
        database["CONN_MAX_AGE"] = settings.WORKER_CONN_MAX_AGE


@worker_process_shutdown.connect
def forget_pool_process(pid=None, **kwargs):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
