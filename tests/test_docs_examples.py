"""Every shell example in README.md and docs/*.md runs as printed against the demo.

The rule (README.md, "Tests and CI", says the same):

* **What is an example.** Every line of a fenced block tagged ``sh`` (a line ending in ``\\`` goes on
  with the next). Blank lines and lines that are only a comment are not. A command in a fenced block
  not tagged ``sh`` fails this test, so no example escapes it; commands inside prose are not examples.
* **Where it runs.** In bash, as printed, in a scratch folder that looks like a checkout (``.venv``,
  ``bench``, ``docs``, ``Makefile``, ``manage.py`` … linked in), which is also ``HOME``, with
  ``PREPAY_VAR_DIR=var`` holding a copy of one demo made for the whole test by
  ``prepay demo --no-serve``. Each block gets its own copy and runs its lines from top to bottom, so a
  line may use what an earlier line of its block made (blocks run side by side, four at a time).
* **What must happen.** Exit status 0 — unless its comment says one of:

  - ``not run in tests: <why>`` — skipped (a real printer, a USB disk, PostgreSQL, a benchmark,
    production servers); a comment line saying it skips the rest of its block;
  - ``runs until stopped`` — a daemon: it must still be running after a few seconds, and a server
    (``serve``, or ``demo`` without ``--no-serve``) must answer ``GET /login/`` with 200; then it
    gets Ctrl+C (SIGINT) and nothing it printed before may be a traceback;
  - ``prints "…"`` (or ``'…'``) — its output must contain that text, ``…`` matching anything.

* **Ports, keys and the server.** ``PORT`` is a free port and every port an example prints
  (``PORT=8080``, ``--port 8001``, ``http://127.0.0.1:8000``) is replaced by a free one (8000 by the
  same one as ``PORT``), so examples never meet a server already running. When an example prints an
  API key (``pp_<prefix>_<secret>``), ``KEY`` and ``PREFIX`` hold it for the rest of its block. A
  ``curl`` example gets its block's demo served by ``prepay serve`` on that port while it runs.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: what a checkout has that examples use (linked into each page's scratch folder)
CHECKOUT = [
    ".venv",
    "bench",
    "docs",
    "prepay",
    "Makefile",
    "manage.py",
    "pyproject.toml",
    "requirements.lock",
]
#: a line starting like this is a command, wherever it is
COMMAND = re.compile(
    r"^\s*(\.venv/bin/|prepay |python -m |curl |make |DATABASE_URL=|PREPAY_\w+=|export |createdb )"
)
SKIP = "not run in tests:"
DAEMON = "runs until stopped"
PRINTS = re.compile(r"""prints (?:"([^"]*)"|'([^']*)')""")
PORTS = re.compile(r"((?:\bPORT=|--port[ =]|--bind[ =]\S*:|https?://(?:127\.0\.0\.1|localhost):))(\d{2,5})\b")
API_KEY = re.compile(r"\bpp_([0-9a-f]{12})_[A-Za-z0-9_-]+")
DAEMON_GRACE = 5.0  # seconds a daemon must stay up
SERVER_START = 180.0  # seconds a server may take to answer (a fresh demo migrates first)
RUN_TIMEOUT = 180
PARALLEL = 4  # blocks run at once: most of their time is spent waiting for servers and daemons


@dataclass
class Example:
    page: str
    line: int
    command: str
    comment: str

    @property
    def skip_reason(self) -> str | None:
        return self.comment.split(SKIP, 1)[1].strip(" )") if SKIP in self.comment else None

    @property
    def daemon(self) -> bool:
        return DAEMON in self.comment

    @property
    def server(self) -> bool:
        words = self.command.split()
        return self.daemon and ("serve" in words or ("demo" in words and "--no-serve" not in words))

    @property
    def expected(self) -> str | None:
        m = PRINTS.search(self.comment)
        return None if m is None else (m.group(1) if m.group(1) is not None else m.group(2))

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.command}"


def _split_comment(line: str) -> tuple[str, str]:
    """(command, comment): the comment starts at the first `` #`` outside quotes."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def fenced_blocks(page: Path) -> list[tuple[str, int, list[str]]]:
    """(info string, line number of the first body line, body lines) of every fenced block."""
    out, lines, i = [], page.read_text().splitlines(), 0
    while i < len(lines):
        m = re.match(r"^(```+|~~~+)\s*(\S*)", lines[i])
        if not m:
            i += 1
            continue
        fence, info, start = m.group(1), m.group(2), i + 1
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            i += 1
        out.append((info, start + 1, lines[start:i]))
        i += 1
    return out


def examples(page: Path) -> list[Example]:
    """The page's examples in order (see the module docstring)."""
    return [ex for block in sh_blocks(page) for ex in block]


def sh_blocks(page: Path) -> list[list[Example]]:
    """The examples of each ``sh`` block of the page, in order."""
    blocks: list[list[Example]] = []
    name = str(page.relative_to(ROOT))
    for info, first, body in fenced_blocks(page):
        if info != "sh":
            continue
        out: list[Example] = []
        blocks.append(out)
        skip_rest = ""
        n = 0
        while n < len(body):
            number, text = first + n, body[n]
            while text.endswith("\\") and n + 1 < len(body):
                n += 1
                text = text[:-1] + " " + body[n].strip()
            n += 1
            if not text.strip():
                continue
            if text.lstrip().startswith("#"):
                if SKIP in text:
                    skip_rest = text.lstrip("# ")
                continue
            command, comment = _split_comment(text)
            if skip_rest and SKIP not in comment:
                comment = f"{comment} ({skip_rest})".strip()
            out.append(Example(name, number, command, comment))
    return blocks


def untagged_commands() -> list[str]:
    """Command lines in fenced blocks that are not tagged ``sh`` (they would escape this test)."""
    found = []
    for page in PAGES:
        for info, first, body in fenced_blocks(page):
            if info == "sh":
                continue
            found += [
                f"{page.relative_to(ROOT)}:{first + k}: {line}"
                for k, line in enumerate(body)
                if COMMAND.match(line)
            ]
    return found


# --------------------------------------------------------------------------------------------------
# running them


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback test server
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@dataclass
class Session:
    """One block's scratch checkout, its demo copy, its ports and what its examples left behind."""

    folder: Path
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls, folder: Path, demo: Path) -> Session:
        folder.mkdir()
        for name in CHECKOUT:
            (folder / name).symlink_to(ROOT / name)
        shutil.copytree(demo, folder / "var")
        session = cls(folder)
        session.env = {
            "PATH": f"{folder / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(folder),
            "LANG": "C.UTF-8",
            "PREPAY_VAR_DIR": str(folder / "var"),
            "PORT": str(session.port("8000")),
            "MAKEFLAGS": "-o .venv/.installed",  # never rebuild the shared .venv (`make demo` needs it)
            "TMPDIR": str(folder),
            "PYTHONUNBUFFERED": "1",  # a daemon's output is read before it is stopped
        }
        return session

    def port(self, printed: str) -> int:
        if printed not in self.ports:
            self.ports[printed] = free_port()
        return self.ports[printed]

    def command(self, ex: Example) -> tuple[str, int]:
        """The example with its printed ports replaced, and the port a server example listens on."""
        listens = [int(self.env["PORT"])]

        def swap(m: re.Match[str]) -> str:
            port = self.port(m.group(2))
            listens.insert(0, port)
            return f"{m.group(1)}{port}"

        return PORTS.sub(swap, ex.command), listens[0]

    def popen(self, command: str, log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen(  # noqa: S603 - the docs' own examples, in a scratch folder
                ["bash", "-c", command],
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: Ctrl+C reaches make and its children
            )

    def run(self, ex: Example, n: int) -> str | None:
        """Run one example; None when it did what the docs say, else why not."""
        command, port = self.command(ex)
        log = self.folder / f".example-{n}.log"
        server = self.serve() if "curl " in command else None
        try:
            if ex.daemon:
                return self._daemon(ex, command, port, log)
            proc = self.popen(command, log)
            try:
                proc.wait(RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                stop(proc)
                return f"still running after {RUN_TIMEOUT} s: {log.read_text(errors='replace')[-2000:]}"
            output = log.read_text(errors="replace")
            if proc.returncode != 0:
                return f"exit status {proc.returncode}: {output[-3000:]}"
            return self._check_output(ex, output)
        finally:
            if server is not None:
                stop(server)

    def _check_output(self, ex: Example, output: str) -> str | None:
        if (m := API_KEY.search(output)) is not None:
            self.env |= {"KEY": m.group(0), "PREFIX": m.group(1)}
        expected = ex.expected
        if expected is not None:
            pattern = ".*?".join(re.escape(part) for part in expected.split("…"))
            if not re.search(pattern, output, re.S):
                return f"the docs say it prints {expected!r}; it printed: {output[-3000:]}"
        return None

    def _daemon(self, ex: Example, command: str, port: int, log: Path) -> str | None:
        proc = self.popen(command, log)
        try:
            deadline = time.monotonic() + (SERVER_START if ex.server else DAEMON_GRACE)
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    return f"stopped by itself ({proc.returncode}): {log.read_text(errors='replace')[-3000:]}"
                if ex.server and http_status(f"http://127.0.0.1:{port}/login/") == 200:
                    break
                time.sleep(0.5)
            else:
                if ex.server:
                    return f"nothing answered on port {port}: {log.read_text(errors='replace')[-3000:]}"
            before_stop = log.read_text(errors="replace")
        finally:
            stop(proc)
        if "Traceback" in before_stop:
            return f"printed a traceback: {before_stop[-3000:]}"
        return self._check_output(ex, before_stop)

    def serve(self) -> subprocess.Popen[bytes]:
        """The block's demo served on the port ``http://127.0.0.1:8000`` stands for (curl examples)."""
        proc = self.popen("prepay serve --workers 1", self.folder / ".server.log")
        deadline = time.monotonic() + SERVER_START
        while http_status(f"http://127.0.0.1:{self.env['PORT']}/login/") != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                stop(proc)
                raise AssertionError(
                    f"prepay serve did not start: {(self.folder / '.server.log').read_text()}"
                )
            time.sleep(0.3)
        return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl+C to the example's process group, then SIGKILL if it does not stop within 30 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    except ProcessLookupError:
        pass


def make_demo(folder: Path) -> Path:
    """One demo data folder, made as the README says (``prepay demo --no-serve``)."""
    var = folder / "var"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "PREPAY_VAR_DIR": str(var),
    }
    done = subprocess.run(  # noqa: S603
        [str(ROOT / ".venv" / "bin" / "prepay"), "demo", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return var


def run_block(block: list[Example], demo: Path, folder: Path) -> list[str]:
    """Run one block's examples on a copy of the demo; the failures, each with what happened."""
    session = Session.start(folder, demo)
    failures = []
    for n, ex in enumerate(block):
        if ex.skip_reason is not None:
            continue
        try:
            problem = session.run(ex, n)
        except AssertionError as exc:
            problem = str(exc)
        if problem is not None:
            failures.append(f"{ex}\n    {problem}")
    return failures


def _weight(block: list[Example]) -> int:
    """Blocks with servers and daemons take longest: start them first."""
    return sum(3 * ex.server + ex.daemon for ex in block if ex.skip_reason is None)


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The chosen pages' blocks, started side by side on copies of one demo: {page: [future failures]}."""
    chosen = {
        item.callspec.params["doc"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_it_runs_every_example_as_printed"
    }
    demo = make_demo(tmp_path_factory.mktemp("demo"))
    work = [(doc, block) for doc in sorted(chosen) for block in sh_blocks(doc) if block]
    work.sort(key=lambda job: -_weight(job[1]))
    out: dict[Path, list[Future[list[str]]]] = {doc: [] for doc in chosen}
    with ThreadPoolExecutor(PARALLEL) as pool:
        for doc, block in work:
            out[doc].append(
                pool.submit(run_block, block, demo, tmp_path_factory.mktemp(doc.stem) / "checkout")
            )
        yield out


class DocsExamplesTestCase:
    def test_it_finds_every_command_in_a_sh_block(self):
        assert untagged_commands() == []
        assert sum(len(examples(doc)) for doc in PAGES) > 40

    def test_it_says_why_an_example_is_not_run(self):
        for doc in PAGES:
            for ex in examples(doc):
                assert ex.skip_reason is None or len(ex.skip_reason) > 8, str(ex)

    @pytest.mark.parametrize("doc", [p for p in PAGES if examples(p)], ids=lambda p: p.name)
    def test_it_runs_every_example_as_printed(self, doc, results):
        failures = [f for future in results[doc] for f in future.result()]
        assert not failures, "\n\n".join(failures)
