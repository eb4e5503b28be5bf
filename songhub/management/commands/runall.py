"""Run web (daphne), one Celery worker and beat in the foreground; Ctrl-C stops all three.

Once web and a worker answer `/health`, a box says where songhub is, with the one-time admin
password `bootstrap_demo --defer-password` left for it: the last thing printed at start-up.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from django.core.management.base import BaseCommand

from songhub import welcome

READY_TIMEOUT_SECONDS = 90.0  # after this the box is printed anyway, saying what is not up


class Command(BaseCommand):
    help = "Start daphne, a Celery worker and Celery beat together (the `make run` target)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--worker-concurrency", type=int, default=2)

    def handle(self, *args, bind, port, worker_concurrency, **options):
        python = sys.executable
        level = os.environ.get("LOG_LEVEL", "INFO")
        commands = {
            "web": [python, "-m", "daphne", "-b", bind, "-p", str(port), "songhub.asgi:application"],
            "worker": [python, "-m", "celery", "-A", "songhub", "worker", "-l", level,
                       "--concurrency", str(worker_concurrency), "-n", "songhub@%h",
                       "-Q", "celery,enrichment"],
            "beat": [python, "-m", "celery", "-A", "songhub", "beat", "-l", level],
        }
        children = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        url = f"http://{'127.0.0.1' if bind in ('0.0.0.0', '') else bind}:{port}/"
        started, next_probe, announced = time.monotonic(), 0.0, False

        stopping = {"signal": None}

        def stop(signum, frame):
            stopping["signal"] = signum

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        while stopping["signal"] is None:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"{name} exited with {child.returncode}; stopping the rest")
                    exit_code = child.returncode or 1
                    stopping["signal"] = signal.SIGTERM
                    break
            now = time.monotonic()
            if not announced and stopping["signal"] is None and now >= next_probe:
                next_probe = now + 1.0
                ready = self.ready(url)
                if ready or now - started > READY_TIMEOUT_SECONDS:
                    self.announce(url, ready)
                    announced = True
            time.sleep(0.3)
        self.shutdown(children)
        sys.exit(exit_code)

    @staticmethod
    def ready(url) -> bool:
        """Web answers and at least one worker has a heartbeat."""
        try:
            with urllib.request.urlopen(f"{url}health", timeout=2) as response:
                return (json.loads(response.read()).get("workers") or 0) >= 1
        except (OSError, ValueError):
            return False

    def announce(self, url, ready):
        lines = [f"Songhub is up: {url}" if ready else
                 f"Songhub is starting at {url} (no worker answered yet)",
                 "Ctrl-C stops web, worker and beat."]
        deferred = welcome.take()
        if deferred:
            lines += ["", *welcome.password_lines(*deferred)]
        self.stdout.write(welcome.box(lines))
        self.stdout.flush()

    def shutdown(self, children, grace=15.0):
        """TERM to everyone (warm shutdown for Celery), then KILL whoever is still there."""
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {grace:.0f} s; killing it")
                child.kill()
                child.wait()
        self.stdout.write("Stopped web, worker and beat.")
