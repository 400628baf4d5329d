"""``prepay serve`` (gunicorn) starts, answers requests and serves static files only when asked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from prepay.web.management.commands.serve import default_workers
from tests.ports import free_port

PREPAY = str(Path(sys.executable).with_name("prepay"))
STATIC = "/static/vendor/htmx/htmx.min.js"


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own loopback server
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_for(url: str, proc: subprocess.Popen[str], within: float = 90) -> None:
    """Until ``url`` answers (any HTTP status), or fail with the server's output if it exits first."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited ({proc.returncode}): {proc.communicate()[0]}")
        try:
            status(url)
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"nothing answered at {url}")


@pytest.fixture
def serve(tmp_path):
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> str:
        port = free_port()
        env = {**os.environ, "PREPAY_VAR_DIR": str(tmp_path / "var"), "PORT": str(port)}
        env.pop("DATABASE_URL", None)
        proc = subprocess.Popen(  # noqa: S603 - our own console script
            [PREPAY, "serve", "--workers", "2", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/login/", proc)
        return url

    yield start
    for proc in started:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
        assert proc.returncode == 0, output
        assert "Listening at: http://127.0.0.1:" in output and output.count("Booting worker") == 2


class ServeCommandTestCase:
    def test_it_answers_with_gunicorn_on_the_port_from_the_environment(self, serve):
        url = serve()
        assert status(f"{url}/login/") == 200
        assert status(f"{url}{STATIC}") == 404  # the reverse proxy serves STATIC_ROOT

    def test_it_serves_static_files_when_asked(self, serve):
        url = serve("--static")
        assert status(f"{url}{STATIC}") == 200

    def test_it_sizes_the_workers_to_the_cores(self):
        assert default_workers() == 2 * len(os.sched_getaffinity(0)) + 1
