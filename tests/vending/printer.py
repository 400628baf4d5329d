"""A tiny network receipt printer for tests: a TCP listener on an ephemeral loopback port that keeps
the bytes of every job (one connection = one job), like an ESC/POS printer on port 9100."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TcpPrinter:
    """Listens on 127.0.0.1:<ephemeral>; ``jobs`` holds each connection's bytes once it closed."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.jobs: list[bytes] = []
        self._done = threading.Condition()
        self._thread = threading.Thread(target=self._serve, name="test-printer", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _peer = self._sock.accept()
            except OSError:
                return  # closed
            with conn:
                chunks = []
                while data := conn.recv(65536):
                    chunks.append(data)
            with self._done:
                self.jobs.append(b"".join(chunks))
                self._done.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[bytes]:
        """The first ``count`` jobs, waiting for them to arrive (raises AssertionError if they do not)."""
        with self._done:
            self._done.wait_for(lambda: len(self.jobs) >= count, timeout=timeout)
            assert len(self.jobs) >= count, f"expected {count} print jobs, got {len(self.jobs)}"
            return list(self.jobs[:count])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._sock.close()
        self._thread.join(timeout=5)


@contextmanager
def tcp_printer() -> Iterator[TcpPrinter]:
    printer = TcpPrinter()
    try:
        yield printer
    finally:
        printer.close()
