"""Small helpers shared by test modules."""

from ingestion import pipeline


def sync(**options) -> pipeline.SyncReport:
    """Run the pipeline in-process with a single render process (fast for a handful of songs)."""
    options.setdefault("concurrency", 1)
    return pipeline.run_sync(pipeline.SyncOptions(**options))


def subprocess_env(data_dir, **extra) -> dict:
    """Environment for a child process (manage.py, celery, daphne) that shares the test
    database: the same PostgreSQL test database, or the SQLite test file."""
    import os

    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "postgresql":
        url = (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
               f"{db['PORT'] or 5432}/{db['NAME']}")
    else:
        url = f"sqlite:///{db['NAME']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "COV_"))}
    env.update({"DATABASE_URL": url, "SONG_DATA_DIR": str(data_dir), "DEBUG": "1",
                "REDIS_URL": settings.REDIS_URL, "LOG_LEVEL": "INFO",
                "SECRET_KEY": settings.SECRET_KEY,  # sessions made by the test stay valid
                "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYER_PREFIX})  # hear the test's rooms
    env.update({k: str(v) for k, v in extra.items()})
    return env


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Daphne:
    """A real daphne process serving songhub.asgi on a free loopback port."""

    def __init__(self, env: dict, log_path):
        import subprocess
        import sys

        self.port = free_port()
        self.log = open(log_path, "w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
             "songhub.asgi:application"], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout=30.0) -> "Daphne":
        import time
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/health/live", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.1)
        self.log.seek(0)
        raise AssertionError("daphne did not start: " + self.log.read()[-2000:])

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
        self.log.close()


class CeleryWorker:
    """A real `celery worker` process on `queue` (default: the default queue)."""

    def __init__(self, env: dict, log_path, queue: str = "celery", name: str = "test"):
        import os
        import subprocess
        import sys

        self.log = open(log_path, "w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "songhub", "worker", "-Q", queue,
             "--concurrency", "1", "-l", "INFO", "-n", f"{name}-{os.getpid()}@%h"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.log.close()
