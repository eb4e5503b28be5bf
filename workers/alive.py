"""Liveness probe for a worker pod: `python -m workers.alive` exits 0 while the heartbeat
thread is ticking. It reads the heartbeat file's age only (no Django, no database), because a
database outage must make the worker report unhealthy, not get it restarted."""

import os
import sys
import time

DEFAULT_FILE = "/tmp/songhub-worker-heartbeat"


def heartbeat_file() -> str:
    return os.environ.get("WORKER_HEARTBEAT_FILE", DEFAULT_FILE)


def main() -> int:
    interval = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", "30"))
    try:
        age = time.time() - os.path.getmtime(heartbeat_file())
    except OSError:
        print("no heartbeat file yet", file=sys.stderr)
        return 1
    if age > 3 * interval:
        print(f"heartbeat is {age:.0f} s old (limit {3 * interval:.0f} s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
