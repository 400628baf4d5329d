"""The card bridge's HTTP service on 127.0.0.1 (JSON in and out).

Who may call it:

* **Origin** — only pages of the Prepay server(s) named at start (``--origin``); anything else,
  including a request without an ``Origin`` header (curl, another program), gets 403. CORS answers
  name that one origin; a POST must be ``application/json``, so browsers always send a preflight.
* **Host** — only ``127.0.0.1:<port>``, ``localhost:<port>`` or ``[::1]:<port>`` (no DNS rebinding).
* **Pairing code** — a random code made at each start (the bridge's session) and shown in its
  console; the counter page asks for it once per browser session and sends it as
  ``Authorization: Bearer <code>``. After 10 wrong codes the bridge refuses codes for a minute.

API (``GET /v1/status`` needs no code; the rest do)::

    GET  /v1/status       {"bridge", "version", "reader": {...}, "printer": bool, "paired": bool}
    POST /v1/card/read    {}                      -> {"image": hex or null}
    POST /v1/card/write   {"image": hex}          -> {"image": hex read back from the card}
    POST /v1/print        {"data": base64}        -> {"sent": bytes}   (a USB printer's device file)

Errors are ``{"code", "message"}`` with a 4xx / 5xx status. One card operation at a time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prepay.cardbridge.readers import Reader, ReaderError, read_image, write_image

VERSION = 1
#: largest request body (a receipt with a raster QR code stays well below)
MAX_BODY = 1024 * 1024
MAX_FAILURES = 10
LOCKOUT_SECONDS = 60.0
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a screen, typed by hand
_READER_STATUS = {
    "no_reader": 503,
    "no_card": 409,
    "unreadable": 422,
    "too_large": 413,
    "read_failed": 502,
    "write_failed": 502,
    "verify_failed": 502,
}


def new_code() -> str:
    """A pairing code: 12 characters (60 bits) in groups of four, ``ABCD-EFGH-JKLM``."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def normalise(code: str) -> str:
    """A code as typed (any case, with or without dashes and spaces) in its canonical form."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


@dataclass
class BridgeConfig:
    """What the bridge serves: allowed page origins, the session's pairing code, the reader, and
    optionally a USB receipt printer's device file."""

    origins: frozenset[str]
    code: str
    reader: Reader
    printer: str | None = None
    verbose: bool = False
    failures: int = 0
    locked_until: float = 0.0
    card_lock: threading.Lock = field(default_factory=threading.Lock)
    state_lock: threading.Lock = field(default_factory=threading.Lock)


class BridgeError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class BridgeServer(ThreadingHTTPServer):
    daemon_threads = True
    config: BridgeConfig

    def __init__(self, config: BridgeConfig, port: int = 8765) -> None:
        self.config = config
        super().__init__(("127.0.0.1", port), Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Handler(BaseHTTPRequestHandler):
    server: BridgeServer
    server_version = "prepay-cardbridge/1"
    protocol_version = "HTTP/1.1"

    # ---- plumbing ------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.config.verbose:
            super().log_message(format, *args)

    def _origin(self) -> str:
        """The request's Origin when allowed; else BridgeError (403)."""
        origin = self.headers.get("Origin", "")
        if origin not in self.server.config.origins:
            raise BridgeError(
                403, "origin_refused", f"requests from {origin or 'no origin'} are not accepted"
            )
        port = self.server.port
        if self.headers.get("Host", "") not in {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}:
            raise BridgeError(403, "host_refused", "the bridge answers on 127.0.0.1 only")
        return origin

    def _send(self, status: int, body: dict[str, Any] | None, origin: str = "", **headers: str) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(data)

    def _fail(self, exc: BridgeError, origin: str = "") -> None:
        self._send(exc.status, {"code": exc.code, "message": exc.message}, origin)

    def _paired(self) -> bool:
        """True when the request carries the session's code; counts failures and locks out."""
        config = self.server.config
        given = self.headers.get("Authorization", "")
        if not given.startswith("Bearer "):
            return False
        with config.state_lock:
            if time.monotonic() < config.locked_until:
                raise BridgeError(429, "locked", "too many wrong pairing codes; wait a minute")
            if hmac.compare_digest(normalise(given[7:]).encode(), normalise(config.code).encode()):
                config.failures = 0
                return True
            config.failures += 1
            if config.failures >= MAX_FAILURES:
                config.failures = 0
                config.locked_until = time.monotonic() + LOCKOUT_SECONDS
        return False

    def _body(self) -> dict[str, Any]:
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            raise BridgeError(415, "json_only", "send application/json")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise BridgeError(400, "bad_request", "bad Content-Length") from None
        if length > MAX_BODY:
            raise BridgeError(413, "too_large", "request too large")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            raise BridgeError(400, "bad_request", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise BridgeError(400, "bad_request", "the body must be a JSON object")
        return body

    # ---- methods -------------------------------------------------------------------------------

    def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's naming
        try:
            origin = self._origin()
        except BridgeError as exc:
            self._fail(exc)
            return
        extra = {}
        if self.headers.get("Access-Control-Request-Private-Network") == "true":
            extra["Access-Control-Allow-Private-Network"] = "true"  # Chrome's Private Network Access
        self._send(
            204,
            None,
            origin,
            Access_Control_Allow_Methods="GET, POST",
            Access_Control_Allow_Headers="Authorization, Content-Type",
            Access_Control_Max_Age="600",
            **extra,
        )

    def do_GET(self) -> None:  # noqa: N802
        origin = ""
        try:
            origin = self._origin()
            if self.path != "/v1/status":
                raise BridgeError(404, "not_found", "no such path")
            config = self.server.config
            self._send(
                200,
                {
                    "bridge": "prepay-cardbridge",
                    "version": VERSION,
                    "reader": config.reader.describe(),
                    "printer": bool(config.printer),
                    "paired": self._paired(),
                },
                origin,
            )
        except BridgeError as exc:
            self._fail(exc, origin)

    def do_POST(self) -> None:  # noqa: N802
        origin = ""
        try:
            origin = self._origin()
            routes = {"/v1/card/read": self._read, "/v1/card/write": self._write, "/v1/print": self._print}
            route = routes.get(self.path)
            if route is None:
                raise BridgeError(404, "not_found", "no such path")
            body = self._body()
            if not self._paired():
                raise BridgeError(401, "pairing_required", "give the pairing code the bridge shows")
            self._send(200, route(body), origin)
        except BridgeError as exc:
            self._fail(exc, origin)
        except ReaderError as exc:
            self._fail(BridgeError(_READER_STATUS.get(exc.code, 502), exc.code, str(exc)), origin)

    # ---- routes --------------------------------------------------------------------------------

    def _read(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.server.config.card_lock:
            image = read_image(self.server.config.reader)
        return {"image": image.hex() if image is not None else None}

    def _write(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            image = bytes.fromhex(str(body.get("image") or ""))
        except ValueError:
            raise BridgeError(400, "bad_request", "image must be hex") from None
        if not image:
            raise BridgeError(400, "bad_request", "no image to write")
        with self.server.config.card_lock:
            back = write_image(self.server.config.reader, image)
        return {"image": back.hex()}

    def _print(self, body: dict[str, Any]) -> dict[str, Any]:
        path = self.server.config.printer
        if not path:
            raise BridgeError(404, "no_printer", "the bridge was started without --printer")
        try:
            data = base64.b64decode(str(body.get("data") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise BridgeError(400, "bad_request", "data must be base64") from None
        try:
            with open(path, "wb", buffering=0) as device:
                sent = device.write(data) or 0
        except OSError as exc:
            raise BridgeError(502, "printer_failed", f"the printer {path} cannot be written: {exc}") from None
        return {"sent": sent}


def start_in_thread(config: BridgeConfig, port: int = 0) -> tuple[BridgeServer, threading.Thread]:
    """Serve in a background thread (tests, embedding); ``port=0`` takes an ephemeral port.
    Stop with ``server.shutdown(); server.server_close()``."""
    server = BridgeServer(config, port)
    thread = threading.Thread(target=server.serve_forever, name="cardbridge", daemon=True)
    thread.start()
    return server, thread
