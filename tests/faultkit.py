"""Fault injection for the fault tests: a private redis-server that can be stopped and started,
a TCP proxy whose outage looks like a lost PostgreSQL to everything behind it (the shared
PostgreSQL server itself is never stopped: other test runs use it), and real Celery processes."""

from __future__ import annotations

import select
import socket
import struct
import subprocess
import sys
import threading
import time

from tests.helpers import free_port


class RedisServer:
    """`redis-server` on a free loopback port, no persistence; stop() is a real outage."""

    def __init__(self, workdir):
        self.port, self.workdir, self.process = free_port(), workdir, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class TcpProxy:
    """Forwards a free loopback port to `target`. stop() closes the listener and every open
    connection (clients see resets, then refused connections); start() listens again."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.port = target, free_port()
        self.listener = None
        self.conns: set[socket.socket] = set()
        self.lock = threading.Lock()

    def start(self) -> "TcpProxy":
        self.listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR on
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone would not
            except OSError:
                pass
            listener.close()
        with self.lock:
            conns, self.conns = self.conns, set()
        for conn in conns:
            try:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()  # linger 0: a reset, like a vanished server
            except OSError:
                pass

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a, b):
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        raise OSError("closed")
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            for sock in (a, b):
                try:
                    sock.close()
                except OSError:
                    pass
            with self.lock:
                self.conns -= {a, b}


def celery(role: str, env: dict, log_path, *args) -> subprocess.Popen:
    """`celery -A songhub worker|beat …` in a session of its own (killpg takes its children)."""
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "songhub", role, "-l", "INFO",
                             *args], env=env, stdout=open(log_path, "a"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(predicate, timeout: float, interval=0.2):
    """The predicate's first truthy value within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None
