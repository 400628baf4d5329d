"""PREPAY_HTTPS: off by default (one PC on http://127.0.0.1); on, it secures cookies, sends HSTS,
redirects http to https and trusts the reverse proxy's X-Forwarded-Proto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
NAMES = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_PROXY_SSL_HEADER",
    "CSRF_TRUSTED_ORIGINS",
]
PRINT = (
    "import json, django; from django.conf import settings; django.setup(); "
    f"print(json.dumps({{n: getattr(settings, n) for n in {NAMES!r}}}))"
)


def settings_with(tmp_path: Path, **env: str) -> dict[str, Any]:
    """The settings module loaded in a fresh interpreter with only ``env`` among the PREPAY_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PREPAY_")}
    clean |= {"DJANGO_SETTINGS_MODULE": "prepay.settings", "PREPAY_VAR_DIR": str(tmp_path)} | env
    done = subprocess.run(
        [sys.executable, "-c", PRINT], cwd=ROOT, env=clean, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


class HttpsSettingsTestCase:
    def test_it_is_off_by_default(self, tmp_path):
        s = settings_with(tmp_path)
        assert s == {
            "SESSION_COOKIE_SECURE": False,
            "CSRF_COOKIE_SECURE": False,
            "SECURE_SSL_REDIRECT": False,
            "SECURE_HSTS_SECONDS": 0,
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
            "SECURE_PROXY_SSL_HEADER": None,
            "CSRF_TRUSTED_ORIGINS": [],
        }

    def test_prepay_https_turns_everything_on(self, tmp_path):
        s = settings_with(tmp_path, PREPAY_HTTPS="1")
        assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"] and s["SECURE_SSL_REDIRECT"]
        assert s["SECURE_HSTS_SECONDS"] == 31536000 and s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
        assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]

    def test_the_details_are_configurable(self, tmp_path):
        s = settings_with(
            tmp_path,
            PREPAY_HTTPS="1",
            PREPAY_HSTS_SECONDS="3600",
            PREPAY_HSTS_INCLUDE_SUBDOMAINS="1",
            PREPAY_SSL_REDIRECT="0",
            PREPAY_PROXY_SSL_HEADER="X-Scheme",
            PREPAY_CSRF_TRUSTED_ORIGINS="https://pay.example.cn,https://pay2.example.cn",
        )
        assert s["SECURE_HSTS_SECONDS"] == 3600 and s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
        assert s["SECURE_SSL_REDIRECT"] is False
        assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_SCHEME", "https"]
        assert s["CSRF_TRUSTED_ORIGINS"] == ["https://pay.example.cn", "https://pay2.example.cn"]

    def test_an_empty_proxy_header_trusts_no_proxy(self, tmp_path):
        s = settings_with(tmp_path, PREPAY_HTTPS="1", PREPAY_PROXY_SSL_HEADER="")
        assert s["SECURE_PROXY_SSL_HEADER"] is None and s["SESSION_COOKIE_SECURE"] is True

    def test_the_subdomain_option_needs_https(self, tmp_path):
        assert settings_with(tmp_path, PREPAY_HSTS_INCLUDE_SUBDOMAINS="1")["SECURE_HSTS_SECONDS"] == 0


class HttpsBehaviourTestCase:
    """What a browser sees with the settings PREPAY_HTTPS=1 produces (applied with ``settings``)."""

    def https_on(self, settings: Any) -> None:
        settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
        settings.SECURE_SSL_REDIRECT = True
        settings.SECURE_HSTS_SECONDS = 31536000
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    def test_plain_http_is_redirected_to_https(self, world, settings):
        self.https_on(settings)
        r = Client().get("/login/")
        assert r.status_code == 301 and r["Location"] == "https://testserver/login/"

    def test_behind_the_proxy_it_serves_with_hsts_and_secure_cookies(self, world, settings):
        self.https_on(settings)
        client = Client(HTTP_X_FORWARDED_PROTO="https")
        page = client.get("/login/")
        assert page.status_code == 200 and page["Strict-Transport-Security"] == "max-age=31536000"
        assert page.cookies["csrftoken"]["secure"] is True
        signed = client.post("/login/", {"username": "clerk_a1", "password": "pw-Secret-123"})
        assert signed.status_code == 302 and signed.cookies["sessionid"]["secure"] is True

    def test_off_it_serves_plain_http_without_hsts(self, world):
        page = Client().get("/login/")
        assert page.status_code == 200 and "Strict-Transport-Security" not in page
        assert page.cookies["csrftoken"]["secure"] == ""
