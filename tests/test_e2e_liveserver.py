"""The browser tests' live server answers one request at a time when it shares the test's SQLite
connection (e2e/liveserver.py): the lock is held from the call until the response is closed."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.servers.basehttp import WSGIRequestHandler

from e2e.liveserver import REQUESTS, OneRequestAtATime, idle, one_at_a_time


class Body(list[bytes]):
    closed = 0

    def close(self) -> None:
        self.closed += 1


def app_returning(body: Body) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [])
        return body

    return app


def start_response(status: str, headers: list[tuple[str, str]]) -> None:
    return None


def test_the_lock_is_held_until_the_response_is_closed_once() -> None:
    lock, body = threading.Lock(), Body([b"a", b"b"])
    response = one_at_a_time(app_returning(body), lock)({}, start_response)
    assert lock.locked()
    assert list(response) == [b"a", b"b"] and lock.locked()  # reading it is not the end
    response.close()
    assert not lock.locked() and body.closed == 1  # the app's own response is closed too
    response.close()  # a second close neither closes again nor releases a lock it no longer holds
    assert body.closed == 1 and not lock.locked()
    lock.acquire()  # still a working lock: held by someone else now, not released under them
    response.close()
    assert lock.locked()
    lock.release()


def test_an_app_that_raises_releases_the_lock() -> None:
    lock = threading.Lock()

    def broken(environ: dict[str, Any], start_response: Any) -> Body:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        one_at_a_time(broken, lock)({}, start_response)
    assert not lock.locked()


def test_a_second_request_waits_for_the_first_to_be_closed() -> None:
    lock = threading.Lock()
    serial = one_at_a_time(app_returning(Body([b"x"])), lock)
    first = serial({}, start_response)
    answered = threading.Event()

    def second() -> None:
        serial({}, start_response).close()
        answered.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not answered.wait(0.3)  # not while the first response is open
    first.close()
    assert answered.wait(10)
    thread.join()


def test_the_server_wraps_the_application_it_is_given() -> None:
    server = OneRequestAtATime(("127.0.0.1", 0), WSGIRequestHandler, connections_override={})
    try:
        body = Body([b"ok"])
        server.set_app(app_returning(body))
        response = server.get_app()({}, start_response)
        assert list(response) == [b"ok"]
        response.close()
        assert body.closed == 1
    finally:
        server.server_close()


def test_the_flush_waits_for_the_request_in_progress_and_says_so_when_it_never_ends() -> None:
    serial = one_at_a_time(app_returning(Body([b"x"])))  # the live server's own lock
    response = serial({}, start_response)
    waited = pytest.raises(RuntimeError, match=r"still answering a request after 0.1 s:\nstack here")
    with waited, idle(0.1, lambda: "stack here"):
        pytest.fail("the flush ran while a request was in progress")
    response.close()
    with idle(10, lambda: "unused"):
        assert REQUESTS.locked()  # the server waits now
    assert not REQUESTS.locked()
