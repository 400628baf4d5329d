"""PostgreSQL computes the features in SQL (``percentile_cont``, window functions); SQLite in Python.
On the simulated fleet both give the same statistics, peer groups, scores and reasons.

On SQLite the SQL path cannot run, so these tests run in the PostgreSQL stage (``pg_transactional``,
skipped on SQLite at collection like every PostgreSQL-only test)."""

from __future__ import annotations

import math
from dataclasses import asdict

import pytest

from prepay.analytics import features
from prepay.analytics.models import AnalyticsSettings
from prepay.analytics.run import gather, windows
from prepay.domain.anomaly import assess
from tests.analytics import fleet as sim


def close(a: object, b: object) -> bool:
    """Equal, floats to 1e-9 relative (a sum of doubles may be added in another order)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    return a == b


@pytest.mark.usefixtures("pg_transactional")
class PathsAgreeTestCase:
    def test_it_gives_the_same_statistics_and_peers(self, world, clock):
        f = sim.build(world)
        t = AnalyticsSettings.for_site(f.site.pk).thresholds()
        w = windows(t)
        in_sql = features.stats_sql(f.site.pk, sim.DAY, w)
        in_python = features.stats_python(f.site.pk, sim.DAY, w)
        assert in_sql.keys() == in_python.keys() and len(in_sql) == len(sim.roles())
        for acc, s in in_sql.items():
            a, b = asdict(s), asdict(in_python[acc])
            assert all(close(a[k], b[k]) for k in a), (acc, a, b)
        bands = AnalyticsSettings.for_site(f.site.pk).bands
        peers_sql = features.peers_sql(f.site.pk, sim.DAY, w, bands)
        peers_py = features.peers_python(in_python, features.account_groups(f.site.pk, bands), w)
        assert peers_sql == peers_py

    def test_it_gives_the_same_scores_and_reasons(self, world, clock):
        f = sim.build(world)
        conf = AnalyticsSettings.for_site(f.site.pk)
        t = conf.thresholds()
        by_sql = {
            a: assess(x, t, sim.DAY) for a, x in gather(f.site, sim.DAY, t, conf.bands, sql=True).items()
        }
        by_python = {
            a: assess(x, t, sim.DAY) for a, x in gather(f.site, sim.DAY, t, conf.bands, sql=False).items()
        }
        assert by_sql == by_python
        assert sum(1 for a in by_sql.values() if a.score >= t.flag_score) == 10
