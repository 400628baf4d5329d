"""The browser tests' live server: one request at a time when it shares the test's SQLite connection.

On SQLite the test database is in memory, so pytest-django hands the live server the test thread's
own connection (``connections_override``), and Django's threaded server then answers the browser's
requests in parallel threads over that single connection. Two requests at once — a picker's
search-as-you-type GET still in flight when a form is posted, a page the last test left loading
while its database is flushed — share one transaction state (``in_atomic_block``, savepoints) and
one SQLite handle, which no deployment ever does: each worker there has its own connection.

:class:`OneRequestAtATime` is Django's threaded server whose application holds :data:`REQUESTS`
from the call until the response is closed, so requests take turns as they would on a connection
of their own. The test thread takes the same lock to flush the database between tests. On
PostgreSQL every thread has its own connection and the server stays fully threaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.types import WSGIApplication

from django.core.servers.basehttp import ThreadedWSGIServer

#: held by the live server while it answers a request (until the response is closed), and by the
#: test thread while it flushes the shared database
REQUESTS = threading.Lock()


class _Releasing:
    """A WSGI response that releases ``lock`` when the server closes it (after the last byte, or
    when the browser went away mid-response: wsgiref closes the response either way)."""

    def __init__(self, body: Iterable[bytes], lock: threading.Lock) -> None:
        self.body, self.lock, self.held = body, lock, True

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        if not self.held:  # closed already: the lock may be someone else's by now
            return
        self.held = False
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.lock.release()


@contextmanager
def idle(timeout: float, busy: Callable[[], str]) -> Iterator[None]:
    """Hold :data:`REQUESTS` (the live server answers nothing meanwhile), waiting at most ``timeout``
    seconds for the request in progress; past that, fail with ``busy()`` (what is running)."""
    if not REQUESTS.acquire(timeout=timeout):
        raise RuntimeError(f"the live server was still answering a request after {timeout:g} s:\n{busy()}")
    try:
        yield
    finally:
        REQUESTS.release()


def one_at_a_time(app: Callable[..., Any], lock: threading.Lock = REQUESTS) -> Callable[..., Any]:
    """``app`` answering one request at a time: ``lock`` is held from the call until the response
    is closed (released at once if ``app`` raises)."""

    def serial(environ: dict[str, Any], start_response: Callable[..., Any]) -> _Releasing:
        lock.acquire()
        try:
            body = app(environ, start_response)
        except BaseException:
            lock.release()
            raise
        return _Releasing(body, lock)

    return serial


class OneRequestAtATime(ThreadedWSGIServer):
    """Django's threaded live server (a thread per browser connection, so keep-alive connections
    never block each other) whose application answers one request at a time."""

    def set_app(self, application: WSGIApplication | None) -> None:
        super().set_app(one_at_a_time(application) if application is not None else None)


def start(addr: str) -> Any:
    """pytest-django's live server at ``addr``, serialised when it shares an in-memory SQLite
    connection with the test thread."""
    from pytest_django.live_server_helper import LiveServer

    server = LiveServer(addr, start=False)
    if server.thread.connections_override:
        server.thread.server_class = OneRequestAtATime
    server.start()
    return server
