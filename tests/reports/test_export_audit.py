"""Every report file made is in the audit log (issue 17, noticed in review): who took which report's
rows, in which format, how many, with which filters — direct downloads, background exports when their
file is whole, reconciliation sheets; a refused export leaves no event."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from django.urls import reverse

from prepay.audit.chain import verify_log
from prepay.audit.models import AuditEvent
from prepay.reports import export_jobs
from prepay.reports.models import ExportJob
from tests import factories as f

SALES = reverse("reports:report", args=["sales"])


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def _exports() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(verb="report.export").order_by("id"))


class DirectExportTestCase:
    @pytest.mark.parametrize("fmt", ["xlsx", "pdf"])
    def test_a_download_of_one_site_is_an_event_of_that_site(self, client, sales, fmt):
        w = sales.world
        client.force_login(w.finance)
        assert client.get(SALES, {"export": fmt, "site": w.a2.site.pk}).status_code == 200
        (event,) = _exports()
        assert (event.actor, event.object_id, event.site_id, event.group_id) == (
            w.finance,
            "sales",
            w.a2.site.pk,
            w.a2.site.group_id,
        )
        assert (event.after["format"], event.after["rows"]) == (fmt, 1)
        filters = parse_qs(event.after["filters"])
        assert filters["site"] == [str(w.a2.site.pk)] and "date_from" in filters and "export" not in filters
        assert verify_log(seals=False).ok

    def test_without_a_site_it_lies_in_the_users_group_or_site(self, client, sales):
        w = sales.world
        client.force_login(w.finance)  # every site of group a
        client.get(SALES, {"export": "xlsx"})
        client.force_login(w.auditor)  # site a1 only
        client.get(SALES, {"export": "xlsx"})
        group_wide, one_site = _exports()
        assert (group_wide.group_id, group_wide.site_id, group_wide.after["rows"]) == (w.a1.group.pk, None, 3)
        assert (one_site.actor, one_site.group_id, one_site.site_id) == (
            w.auditor,
            w.a1.group.pk,
            w.a1.site.pk,
        )
        several = f.user(
            "finance_ab", memberships=[(w.a1.group, None, "finance"), (w.b1.group, None, "finance")]
        )
        client.force_login(several)
        client.get(SALES, {"export": "pdf"})
        assert (_exports()[-1].group_id, _exports()[-1].site_id) == (None, None)

    def test_a_refused_export_leaves_no_event(self, client, sales, settings):
        client.force_login(sales.world.finance)
        assert client.get(SALES, {"export": "xlsx", "date_from": "not a day"}).status_code == 400
        settings.PREPAY_EXPORT_DIRECT_ROWS = 2
        assert client.get(SALES, {"export": "xlsx"}).status_code == 400
        assert client.get(SALES, {"export": "csv"}).status_code == 404
        assert client.get(SALES).status_code == 200  # the page on screen is not an export
        assert _exports() == []


class BackgroundExportTestCase:
    def test_the_event_is_written_when_the_file_is_whole_not_when_asked(self, client, sales):
        w = sales.world
        client.force_login(w.finance)
        client.post(reverse("reports:export-ask", args=["sales"]), {"site": w.a1.site.pk})
        job = ExportJob.objects.get()
        assert _exports() == []
        export_jobs.run(export_jobs.claim(job.pk))
        (event,) = _exports()
        assert (event.actor, event.site_id, event.after["rows"], event.after["format"]) == (
            w.finance,
            w.a1.site.pk,
            2,
            "xlsx",
        )
        assert event.after["filters"] == job.params

    def test_a_failed_export_leaves_no_event(self, client, sales):
        w = sales.world
        client.force_login(w.finance)
        client.post(reverse("reports:export-ask", args=["sales"]), {"site": w.a1.site.pk})
        job = ExportJob.objects.get()
        w.finance.memberships.all().delete()  # the asker's scope is gone before the export runs
        job = export_jobs.run(export_jobs.claim(job.pk))
        assert job.status == "failed" and _exports() == []


class ReconciliationSheetTestCase:
    def test_a_sheet_downloaded_is_an_event_of_its_site(self, client, till):
        w = till.shop.world
        client.force_login(w.finance)
        url = reverse("reports:reconciliation-sheet", args=[w.a1.site.pk, "2026-06-01"])
        assert client.get(url, {"export": "pdf"}).status_code == 200
        assert client.get(url, {"export": "doc"}).status_code == 404
        assert client.get(url).status_code == 200
        (event,) = _exports()
        assert (event.object_id, event.site_id, event.after["format"]) == (
            "reconciliation",
            w.a1.site.pk,
            "pdf",
        )
        assert parse_qs(event.after["filters"]) == {"site": [str(w.a1.site.pk)], "period": ["2026-06-01"]}
