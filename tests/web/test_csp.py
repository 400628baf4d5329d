"""A Content-Security-Policy on every page: scripts from our own files only, so no template may
carry an inline script or an inline event handler (they would simply not run)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in header.split(";")) if part}


class ContentSecurityPolicyTestCase:
    @pytest.mark.parametrize("path", ["/login/", "/api/docs", "/api/openapi.json"])
    def test_it_sends_the_policy_everywhere(self, db, path):
        p = policy(Client().get(path))
        assert p["script-src"] == "script-src 'self'"
        assert p["frame-ancestors"] == "frame-ancestors 'none'" and p["object-src"] == "object-src 'none'"

    def test_it_sends_the_policy_to_signed_in_pages(self, world):
        c = Client()
        c.force_login(world.cashier)
        assert "script-src 'self'" in c.get("/counter/")["Content-Security-Policy"]

    def test_the_api_docs_need_no_other_site(self, db):
        html = Client().get("/api/docs").content.decode()
        assert "cdn" not in html.lower() and "/static/ninja/swagger-ui-bundle.js" in html

    @pytest.mark.parametrize(
        "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
    )
    def test_no_template_has_inline_script(self, template):
        text = template.read_text()
        assert not INLINE_SCRIPT.search(text), "move the script into a file under static/js/"
        assert not INLINE_HANDLER.search(text), "attach the handler from a file under static/js/"
