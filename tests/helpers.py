"""Small helpers shared by test modules."""

import signal
import subprocess
import sys
import time

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
                "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYER_PREFIX,  # hear the test's rooms
                "SONGHUB_ENV_FILE": ""})  # never a developer's .env (songhub/envfile.py)
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


# -- `make run` as a new user runs it: .env, migrate, bootstrap_demo, runall -----------------
def embedded_env(tmp_path, **extra) -> dict:
    """A shell with nothing songhub-specific set, as a new user has: the `.env` written by the
    make-run steps supplies DEBUG, SECRET_KEY and SONG_SYNC_SOURCE; the data folder and the
    env file are the test's own. Embedded default: no DATABASE_URL, no REDIS_URL."""
    import os

    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "SONG_SYNC_SOURCE")
           and not k.startswith(("DJANGO_", "SONGHUB_"))}
    env.update({"SONG_DATA_DIR": str(tmp_path / "data"), "SONGHUB_ENV_FILE": str(tmp_path / ".env"),
                "WORKER_HEARTBEAT_SECONDS": "1"}, **extra)
    return env


MANAGE = [sys.executable, "manage.py"]


def make_run_setup(env, defer=True) -> str:
    """The Makefile's `run` steps up to `runall`; returns bootstrap_demo's output."""
    subprocess.run([sys.executable, "-m", "songhub.envfile", "write"], env=env, check=True,
                   timeout=60, capture_output=True)
    subprocess.run(MANAGE + ["migrate", "--noinput", "-v0"], env=env, check=True, timeout=180)
    demo = subprocess.run(MANAGE + ["bootstrap_demo"] + (["--defer-password"] if defer else []),
                          env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    return demo.stdout


class RunAll:
    """`manage.py runall` on a free port, output in `log_path`; ready once a worker answers."""

    def __init__(self, env, log_path):
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "w+")
        self.process = subprocess.Popen(MANAGE + ["runall", "--port", str(self.port)], env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        return open(self.log_path).read()

    def wait_ready(self, seconds=60.0) -> "RunAll":
        import json
        import urllib.request

        deadline, health = time.monotonic() + seconds, None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=5) as response:
                    health = json.loads(response.read())
                if health["workers"] == 1:
                    return self
            except OSError:
                pass
            time.sleep(0.25)
        raise AssertionError(f"runall not ready ({health}): {self.output()[-3000:]}")

    def wait_for(self, text, seconds=30.0) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.output():
                return
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not in {self.output()[-3000:]}")

    def stop(self) -> str:
        """Ctrl-C, as a user stops `make run`; asserts a clean exit; returns the output."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=60)
        self.log.close()
        output = self.output()
        assert code == 0, output[-3000:]
        return output
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
