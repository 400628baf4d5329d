"""One audit chain per site (issue 17): what goes where, what verification catches, the upgrade of an
installation with one chain, and, on PostgreSQL, sales at two sites that share no lock."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from prepay.audit.actions import batched, record_event
from prepay.audit.chain import GENESIS, verify_log
from prepay.audit.models import AuditEvent, AuditHead
from prepay.vending.actions import do_vend
from prepay.vending.models import PointKind, Vend, VendingPoint
from tests import factories as f
from tests.audit import tamper
from tests.dbcare.damage import ROOT, env_for
from tests.tokens.conftest import import_test_key, store  # noqa: F401 - the fixture


def note(actor, site=None, verb: str = "test.note") -> AuditEvent:
    """One event in a transaction of its own; ``site``: a SiteWorld or None."""
    with transaction.atomic():
        return record_event(
            actor=actor,
            verb=verb,
            object_type="t",
            object_id="1",
            object_repr=verb,
            site_id=site.site.pk if site else None,
            group_id=site.group.pk if site else None,
        )


def chains() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for chain, seq in AuditEvent.objects.order_by("chain", "seq").values_list("chain", "seq"):
        out.setdefault(chain, []).append(seq)
    return out


class SiteChainsTestCase:
    def test_each_site_writes_its_own_chain_and_verify_checks_them_all(self, world):
        for _ in range(3):
            note(world.admin, world.a1)
            note(world.admin, world.a2)
        note(world.admin)
        a1, a2 = world.a1.site.pk, world.a2.site.pk
        assert chains() == {0: [1], a1: [1, 2, 3], a2: [1, 2, 3]}
        heads = dict(AuditHead.objects.values_list("id", "seq"))
        assert heads == {0: 1, a1: 3, a2: 3}
        result = verify_log()
        assert result.ok and result.count == 7
        assert [(c.chain, c.count, c.head_seq, c.keyed_from) for c in result.chains] == [
            (0, 1, 1, 1),
            (a1, 3, 3, 1),
            (a2, 3, 3, 1),
        ]
        assert len(result.key_ids) == 1  # the chains share the installation's audit key

    def test_a_transaction_stays_on_the_chain_its_first_event_chose(self, world):
        with transaction.atomic():
            for site in (world.a1, None, world.a2):  # one action touching two sites and the group
                record_event(
                    actor=world.admin,
                    verb="test.mixed",
                    object_type="t",
                    object_id="1",
                    site_id=site.site.pk if site else None,
                )
        assert chains() == {world.a1.site.pk: [1, 2, 3]}
        with transaction.atomic(), batched():  # a batch over two sites belongs to no one site
            for site in (world.a1, world.a2):
                record_event(
                    actor=world.admin, verb="test.batch", object_type="t", object_id="1", site_id=site.site.pk
                )
        assert chains()[0] == [1, 2]
        assert verify_log().ok

    def test_an_event_moved_to_another_chain_is_caught(self, world):
        note(world.admin)
        moved = note(world.admin, world.a1)
        main_head = AuditHead.objects.get(id=0)
        with tamper.triggers_off() as cursor:  # move it to the end of the main chain, head and all
            cursor.execute(
                "UPDATE audit_auditevent SET chain = 0, seq = 2, prev_hash = %s WHERE id = %s",
                [main_head.hash, moved.pk],
            )
            cursor.execute("UPDATE audit_audithead SET seq = 2, hash = %s WHERE id = 0", [moved.hash])
            cursor.execute("DELETE FROM audit_audithead WHERE id = %s", [world.a1.site.pk])
        problem = verify_log().problem
        assert (problem.chain, problem.seq, problem.kind) == (0, 2, "altered")
        assert problem.where == f"event #2 (id {moved.pk})"

    def test_a_site_chains_deleted_newest_event_and_deleted_head_are_caught(self, world):
        for _ in range(3):
            note(world.admin, world.a1)
        a1 = world.a1.site.pk
        tamper.delete(3, chain=a1)
        problem = verify_log().problem
        assert (problem.chain, problem.kind) == (a1, "deleted") and "chain head says #3" in problem.detail
        with tamper.triggers_off() as cursor:
            cursor.execute("DELETE FROM audit_audithead WHERE id = %s", [a1])
        problem = verify_log().problem
        assert (problem.kind, problem.where) == ("head", f"chain head of site {a1}")

    def test_a_site_chain_stripped_of_its_seals_is_named(self, world):
        note(world.admin)
        note(world.admin, world.a1)
        with tamper.triggers_off() as cursor:
            cursor.execute(
                "UPDATE audit_auditevent SET mac = NULL, mac_key = NULL WHERE chain = %s", [world.a1.site.pk]
            )
        problem = verify_log().problem
        assert (problem.kind, problem.where) == ("unkeyed", f"chain of site {world.a1.site.pk}")

    def test_a_head_can_only_be_created_at_the_empty_chain(self, world):
        with pytest.raises(DatabaseError, match="starts at the empty chain"), transaction.atomic():
            AuditHead.objects.create(id=world.a1.site.pk, seq=3, hash=GENESIS)
        with pytest.raises(DatabaseError, match="starts at the empty chain"), transaction.atomic():
            AuditHead.objects.create(id=world.a1.site.pk, seq=0, hash="f" * 64)
        assert not AuditHead.objects.filter(id=world.a1.site.pk).exists()

    def test_a_site_head_moves_only_onto_an_event_of_its_own_chain(self, world):
        main = note(world.admin)
        note(world.admin, world.a1)
        with pytest.raises(DatabaseError, match="onto an event of its chain"), transaction.atomic():
            AuditHead.objects.filter(id=world.a1.site.pk).update(seq=main.seq + 1, hash=main.hash)

    def test_a_key_rotation_rekeys_every_chain(self, world, tmp_path):
        note(world.admin)
        note(world.admin, world.a1)
        root = f.user("root", is_superuser=True)
        call_command("keys", "rotate", "--user", root.username, "--new-key-file", str(tmp_path / "new.key"))
        rotated = AuditEvent.objects.filter(verb="audit.key_rotated").order_by("chain")
        assert [(e.chain, e.seq) for e in rotated] == [(0, 2), (world.a1.site.pk, 2)]
        new_key = rotated[0].mac_key
        assert set(AuditHead.objects.values_list("mac_key", flat=True)) == {new_key}


class UpgradeTestCase:
    def test_an_installation_with_one_chain_keeps_its_events_and_gains_site_chains(self, tmp_path):
        """On a real SQLite file: the table rebuild keeps every event and trigger."""
        from prepay.tokens import keystore as ks

        ks.write_key_file(tmp_path / "store.key", ks.StoreKey.generate())
        env = env_for(tmp_path, DJANGO_SETTINGS_MODULE="prepay.settings")
        done = subprocess.run(
            [sys.executable, str(ROOT / "tests/audit/site_chains_upgrade.py")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        got = json.loads(done.stdout.strip().splitlines()[-1])
        site = got["site"]
        assert (got["ok"], got["problem"], got["triggers_missing"]) == (True, None, [])
        assert got["chains"] == [[0, 4, 4], [site, 1, 1]] and got["heads"] == [0, site]
        assert got["events"] == [
            [0, 1, "test.before_chains"],
            [0, 2, "test.before_chains"],
            [0, 3, "test.before_chains"],
            [site, 1, "test.after_chains"],
            [0, 4, "test.main_after_chains"],
        ]


def _online_sale_world():
    """Two sites of one group, each with an online channel and two STS accounts."""
    a = f.site_world()
    b = f.site_world(a.group)
    admin = f.user(memberships=[(a.group, None, "admin")])
    seller = f.user(memberships=[(a.group, None, "cashier")])
    import_test_key(a.group, admin)
    out = []
    for w in (a, b):
        point = VendingPoint.objects.create(
            site=w.site, code=f"web{w.site.pk}", name="Web", kind=PointKind.ONLINE
        )
        accounts = [
            f.account(
                w, unit=u, meter_=f.meter(w, drn="00000000000", supply_group_code="123456", tariff_index="01")
            )
            for u in w.units[:2]
        ]
        out.append((point, accounts))
    return seller, out


@pytest.mark.services
@pytest.mark.usefixtures("store")
class NoGlobalLockTestCase:
    def test_a_sale_commits_while_another_sites_sale_holds_its_transaction_open(self, pg_transactional):
        seller, ((point_a, accounts_a), (point_b, accounts_b)) = _online_sale_world()
        held, release, errors = threading.Event(), threading.Event(), list[BaseException]()

        def open_sale_at_a() -> None:
            try:
                with transaction.atomic():
                    do_vend(
                        account=accounts_a[0],
                        actor=seller,
                        point=point_a,
                        idempotency_key="held",
                        amount="50",
                    )
                    held.set()
                    release.wait(60)
            except BaseException as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)
            finally:
                connections.close_all()

        thread = threading.Thread(target=open_sale_at_a)
        thread.start()
        try:
            assert held.wait(60), errors
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '10s'")
            sold = do_vend(
                account=accounts_b[0], actor=seller, point=point_b, idempotency_key="other", amount="50"
            )
            # committed while site A's sale still holds every lock it took
            assert (
                Vend.objects.filter(pk=sold.pk).exists()
                and not Vend.objects.filter(idempotency_key="held").exists()
            )
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '300ms'")
            # a second account at site A does wait for the open sale: the test can see a shared lock
            with pytest.raises(DatabaseError, match="lock timeout"):
                do_vend(
                    account=accounts_a[1],
                    actor=seller,
                    point=point_a,
                    idempotency_key="same-site",
                    amount="50",
                )
        finally:
            release.set()
            thread.join(60)
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
        assert not errors
        assert Vend.objects.filter(idempotency_key="held").exists()
        assert verify_log().ok
