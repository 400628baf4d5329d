"""A case's page, its evidence chart data and the check form."""

from __future__ import annotations

import pytest
from django.urls import reverse

from prepay.analytics.models import Case
from prepay.audit.models import AuditEvent


def page(c):
    return reverse("analytics:case", args=[c.pk])


def post(c):
    return reverse("analytics:check", args=[c.pk])


class CaseViewTestCase:
    def test_it_shows_the_reasons_in_words_and_the_check_form(self, client, cases):
        client.force_login(cases.world.clerk)
        html = client.get(page(cases.low)).content.decode()
        assert "used 0.4 kWh/day for 9 days, 92 % below its own median of 5.1 kWh/day" in html
        assert 'id="check-form"' in html and "js/analytics-case.js" in html and "<script>" not in html

    def test_it_shows_the_reasons_in_chinese(self, client, cases):
        client.force_login(cases.world.clerk)
        html = client.get(page(cases.low), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "连续 9 天日均用电 0.4 kWh，比自身中位数 5.1 kWh/天 低 92%" in html

    def test_it_shows_an_auditor_no_check_form(self, client, cases):
        client.force_login(cases.world.auditor)
        html = client.get(page(cases.bypass)).content.decode()
        assert 'id="check-form"' not in html

    @pytest.mark.parametrize("who", ["clerk_a2", "clerk_b"])
    def test_it_hides_other_sites_cases(self, client, cases, who):
        client.force_login(getattr(cases.world, who))
        assert client.get(page(cases.bypass)).status_code == 404
        assert client.get(reverse("analytics:evidence", args=[cases.bypass.pk])).status_code == 404
        assert client.post(post(cases.bypass), {"outcome": "theft", "note": "x"}).status_code == 404

    def test_it_refuses_a_cashier(self, client, cases):
        client.force_login(cases.world.cashier)
        assert client.get(page(cases.bypass)).status_code == 403

    def test_it_gives_the_chart_its_evidence(self, client, cases):
        client.force_login(cases.world.finance)
        data = client.get(reverse("analytics:evidence", args=[cases.bypass.pk])).json()
        assert len(data["days"]) == 60 and data["days"][-1] == "2026-06-11"
        assert data["reasons"][0].startswith("used 10.2 kWh")


class CheckViewTestCase:
    def test_it_marks_the_case_checked(self, client, cases):
        client.force_login(cases.world.clerk)
        response = client.post(post(cases.bypass), {"outcome": "theft", "note": "Jumper across the relay."})
        assert response.status_code == 302 and response["Location"] == page(cases.bypass)
        assert Case.objects.get(pk=cases.bypass.pk).status == "checked"
        html = client.get(page(cases.bypass)).content.decode()
        assert "Jumper across the relay." in html and "The case is marked as checked." in html

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"outcome": "theft", "note": ""}, "a note is required"),
            ({"note": "x"}, "Choose what the check found"),
        ],
    )
    def test_it_shows_a_refusal_and_changes_nothing(self, client, cases, data, message):
        client.force_login(cases.world.clerk)
        response = client.post(post(cases.bypass), data)
        assert response.status_code == 400 and message in response.content.decode()
        assert Case.objects.get(pk=cases.bypass.pk).status == "open" and not AuditEvent.objects.exists()

    @pytest.mark.parametrize("who", ["auditor", "finance"])
    def test_it_refuses_roles_that_only_read(self, client, cases, who):
        client.force_login(getattr(cases.world, who))
        assert client.post(post(cases.bypass), {"outcome": "theft", "note": "x"}).status_code == 403
        assert Case.objects.get(pk=cases.bypass.pk).status == "open"

    def test_it_answers_get_with_405(self, client, cases):
        client.force_login(cases.world.clerk)
        assert client.get(post(cases.bypass)).status_code == 405
