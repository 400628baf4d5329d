"""The dashboard's suspicious-accounts panel (the placeholder is gone): open cases of the user's sites."""

from __future__ import annotations

from django.urls import reverse

PAGE = reverse("reports:dashboard")


class DashboardPanelTestCase:
    def test_it_lists_the_open_cases_highest_first_for_finance(self, client, cases):
        client.force_login(cases.world.finance)
        page = client.get(PAGE)
        panel = page.context["suspicious"]
        assert panel["count"] == 3
        assert [i["case"] for i in panel["top"]] == [cases.a2, cases.bypass, cases.low]
        html = page.content.decode()
        assert 'id="panel-suspicious"' in html and reverse("analytics:case", args=[cases.a2.pk]) in html
        assert "not available yet" not in html

    def test_it_shows_a_site_auditor_only_that_site(self, client, cases):
        client.force_login(cases.world.auditor)
        panel = client.get(PAGE).context["suspicious"]
        assert panel["count"] == 2 and cases.a2 not in [i["case"] for i in panel["top"]]

    def test_it_shows_another_group_none_of_ours(self, client, cases):
        from prepay.tenancy.choices import Role
        from tests import factories as f

        finance_b = f.user("finance_b", memberships=[(cases.world.b1.group, None, Role.FINANCE)])
        client.force_login(finance_b)
        assert [i["case"] for i in client.get(PAGE).context["suspicious"]["top"]] == [cases.b1]
