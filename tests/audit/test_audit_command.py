"""``prepay audit verify`` and ``prepay audit list``."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import translation

from prepay.audit.actions import record_event
from prepay.audit.models import AuditEvent, AuditHead
from prepay.meters.actions import do_register_meter
from tests.audit import tamper
from tests.dbcare.damage import HOW, damage, migrated_var, prepay


def run(*args: str) -> tuple[int, str, str]:
    """Run the command; return (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("audit", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def events(world):
    """Five events written by real actions (meter registrations at A1 by the group A admin), in
    site A1's chain."""
    for i in range(5):
        do_register_meter(site=world.a1.site, serial=f"AUD{i:04d}", model=world.a1.single, actor=world.admin)
    assert AuditHead.objects.get(id=world.a1.site.pk).seq == 5
    return world


def c(world) -> int:
    """The chain of the ``events`` fixture: site A1's."""
    return world.a1.site.pk


class AuditVerifyTestCase:
    def test_it_reports_ok_with_the_count_head_and_seals(self, events):
        code, out, _ = run("verify")
        h = AuditHead.objects.get(id=c(events))
        assert code == 0
        assert out.splitlines() == [
            f"OK: 5 events in 2 chains (audit keys {h.mac_key})",
            f"  main chain: 0 events, head #0 {'0' * 16}",
            f"  site a1: 5 events, head #5 {h.hash[:16]}, sealed from #1",
        ]

    def test_it_reports_every_chain(self, events):
        with transaction.atomic():  # an event of no site: the main chain
            record_event(
                actor=events.admin, verb="group.note", object_type="x", object_id="1", object_repr="n"
            )
        main, a1 = AuditHead.objects.get(id=0), AuditHead.objects.get(id=c(events))
        code, out, _ = run("verify")
        assert code == 0 and main.mac_key == a1.mac_key  # a new site chain starts with the main key
        assert out.splitlines() == [
            f"OK: 6 events in 2 chains (audit keys {a1.mac_key})",
            f"  main chain: 1 events, head #1 {main.hash[:16]}, sealed from #1",
            f"  site a1: 5 events, head #5 {a1.hash[:16]}, sealed from #1",
        ]

    def test_it_reports_ok_on_an_empty_log(self, db):
        code, out, _ = run("verify")
        assert (code, out.strip()) == (
            0,
            f"OK: 0 events in 1 chain\n  main chain: 0 events, head #0 {'0' * 16}",
        )

    def test_it_names_an_event_altered_with_sql(self, events):
        tamper.alter(3, chain=c(events))
        ev = AuditEvent.objects.get(chain=c(events), seq=3)
        code, out, err = run("verify")
        assert code == 1 and not out
        assert f"event {c(events)}#3 (id {ev.pk})" in err and "[altered]" in err

    def test_it_names_a_deleted_middle_event(self, events):
        tamper.delete(2, chain=c(events))
        code, _, err = run("verify")
        assert code == 1
        assert f"event {c(events)}#2" in err and "[deleted]" in err and "#2 is missing" in err

    def test_it_names_the_deleted_newest_event(self, events):
        tamper.delete(5, chain=c(events))
        code, _, err = run("verify")
        assert code == 1
        assert f"event {c(events)}#5" in err and "[deleted]" in err and "chain head says #5" in err

    def test_it_names_a_forged_event_appended_beyond_the_head(self, events):
        seq, h = tamper.head(c(events))
        forged_id = tamper.forge(seq + 1, prev_hash=h, chain=c(events))
        code, _, err = run("verify")
        assert code == 1
        assert f"event {c(events)}#6 (id {forged_id})" in err and "[inserted]" in err

    def test_it_names_a_forged_event_put_in_place_of_a_deleted_one(self, events):
        prev = AuditEvent.objects.get(chain=c(events), seq=2)
        tamper.delete(3, chain=c(events))
        forged_id = tamper.forge(
            3, prev_hash=prev.hash, chain=c(events)
        )  # chains to #2, but #4 chains to the original #3
        code, _, err = run("verify")
        assert code == 1
        assert (
            f"event {c(events)}#3 (id {forged_id})" in err and "[forged]" in err and "carries no seal" in err
        )

    def test_it_names_an_event_rewritten_with_a_recomputed_hash(self, events):
        from prepay.audit.chain import event_hash

        row = AuditEvent.objects.filter(chain=c(events), seq=2).values().get()
        row["object_repr"] = "rewritten"
        with tamper.triggers_off() as cursor:
            cursor.execute(
                "UPDATE audit_auditevent SET object_repr = %s, hash = %s WHERE seq = 2",
                ["rewritten", event_hash(row)],
            )
        code, _, err = run("verify")
        assert code == 1
        assert f"event {c(events)}#2" in err and "[forged]" in err and "seal does not match" in err

    def test_it_reports_a_head_that_points_elsewhere(self, events):
        with tamper.triggers_off():
            AuditHead.objects.filter(id=c(events)).update(hash="f" * 64)
        code, _, err = run("verify")
        assert code == 1 and f"event {c(events)}#5" in err and "[head]" in err

    def test_it_reports_a_deleted_head_row(self, events):
        with tamper.triggers_off():
            AuditHead.objects.all().delete()
        code, _, err = run("verify")
        assert code == 1 and "chain head" in err and "[head]" in err

    def test_it_refuses_update_and_delete_while_the_triggers_are_in_place(self, events):
        with connection.cursor() as cursor:
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                cursor.execute("UPDATE audit_auditevent SET object_repr = 'x' WHERE seq = 1")
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
                cursor.execute("DELETE FROM audit_auditevent WHERE seq = 1")
        assert AuditEvent.objects.count() == 5
        assert run("verify")[0] == 0


class AuditVerifySealsTestCase:
    """An insider with database access can recompute plain SHA-256 hashes, not the seals."""

    def test_it_names_an_event_appended_with_a_recomputed_hash_and_a_moved_head(self, events):
        seq, h = tamper.head(c(events))
        forged_id = tamper.forge(seq + 1, prev_hash=h, chain=c(events))
        forged = AuditEvent.objects.get(pk=forged_id)
        with tamper.triggers_off():  # the head now points at the forgery: the hash chain is whole
            AuditHead.objects.filter(id=c(events)).update(seq=forged.seq, hash=forged.hash)
        code, _, err = run("verify")
        assert code == 1
        assert f"event {c(events)}#6 (id {forged_id}) forged [forged]" in err and "carries no seal" in err

    def test_it_names_an_event_rewritten_with_every_later_hash_recomputed(self, events):
        tamper.rewrite_from(3, chain=c(events), object_repr="refund 5000.00")
        assert (
            tamper.head(c(events))[1] == AuditEvent.objects.get(chain=c(events), seq=5).hash
        )  # consistent as a plain chain
        code, _, err = run("verify")
        ev = AuditEvent.objects.get(chain=c(events), seq=3)
        assert code == 1
        assert f"event {c(events)}#3 (id {ev.pk}) forged [forged]" in err and "seal does not match" in err

    def test_it_names_a_seal_copied_from_another_event(self, events):
        mac = AuditEvent.objects.get(chain=c(events), seq=1).mac
        with tamper.triggers_off() as cursor:
            cursor.execute("UPDATE audit_auditevent SET mac = %s WHERE seq = 4", [mac])
        code, _, err = run("verify")
        assert code == 1 and f"event {c(events)}#4" in err and "[forged]" in err

    def test_it_reports_a_chain_whose_seals_were_all_removed(self, events):
        with tamper.triggers_off() as cursor:
            cursor.execute("UPDATE audit_auditevent SET mac = NULL, mac_key = NULL")
        code, _, err = run("verify")
        assert code == 1
        assert "[unkeyed]" in err and "none of the 5 events carries a seal" in err

    def test_it_reports_a_deleted_audit_key(self, events):
        from prepay.audit.models import AuditKey

        AuditKey.objects.all().delete()
        code, _, err = run("verify")
        assert code == 1 and f"event {c(events)}#1" in err and "[key]" in err and "it was deleted" in err

    def test_it_reports_a_store_key_that_is_not_the_one(self, events, tmp_path, monkeypatch):
        from prepay.tokens import keystore as ks

        other = tmp_path / "other.key"
        ks.write_key_file(other, ks.StoreKey.generate())
        monkeypatch.setenv("PREPAY_KEY_FILE", str(other))
        ks.reset_keystore()
        code, _, err = run("verify")
        assert code == 1 and "[key]" in err and "does not decrypt with the configured store key" in err

    def test_it_reports_a_missing_store_key_in_one_line(self, events, tmp_path, monkeypatch):
        from prepay.tokens import keystore as ks

        monkeypatch.setenv("PREPAY_KEY_FILE", str(tmp_path / "gone.key"))
        ks.reset_keystore()
        code, _, err = run("verify")
        assert code == 1 and "[key]" in err and "Cannot read the store key file" in err

    def test_it_speaks_chinese(self, events):
        tamper.rewrite_from(2, chain=c(events), object_repr="x")
        with translation.override("zh-hans"):
            code, _, err = run("verify")
        assert code == 1 and "伪造" in err and "审计链已损坏" in err


class AuditListTestCase:
    def test_it_lists_the_newest_events_first(self, events):
        code, out, _ = run("list", "-n", "3")
        lines = out.splitlines()
        assert code == 0 and len(lines) == 3
        assert lines[0].startswith(f"{c(events)}#5 ") and lines[2].startswith(f"{c(events)}#3 ")
        assert "meter.register" in lines[0] and "admin_a" in lines[0] and "a1" in lines[0]

    def test_it_filters_by_site_and_verb(self, events):
        with transaction.atomic():
            record_event(
                actor=events.admin,
                verb="site.note",
                object_type="x",
                object_id="1",
                object_repr="note",
                site_id=events.a2.site.pk,
                group_id=events.a2.group.pk,
                after={"text": "电表"},
            )
        out = run("list", "--site", "a2")[1]
        assert out.count("\n") == 1 and "site.note" in out
        out = run("list", "--verb", "meter.*")[1]
        assert out.count("\n") == 5
        out = run("list", "--verb", "site.note", "--changes")[1]
        assert '"text": "电表"' in out
        assert run("list", "--site", "nowhere")[1].strip() == "No events."

    def test_it_refuses_a_limit_below_one(self, db):
        assert run("list", "-n", "0")[0] == 1


class AuditVerifyDamagedFileTestCase:
    """On a damaged database file the real command ends in one line, in the user's language."""

    @pytest.mark.parametrize("how", HOW)
    def test_it_exits_1_with_one_line_and_no_traceback(self, how, tmp_path_factory, tmp_path):
        var = migrated_var(tmp_path_factory, tmp_path / "var")
        damage(var / "prepay.sqlite3", how)
        done = prepay(var, "audit", "verify")
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and not done.stdout
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert f"The database file {var / 'prepay.sqlite3'} is damaged" in lines[0]

    def test_it_speaks_chinese(self, tmp_path_factory, tmp_path):
        var = migrated_var(tmp_path_factory, tmp_path / "var")
        damage(var / "prepay.sqlite3", "not_sqlite")
        done = prepay(var, "audit", "verify", LANG="zh_CN.UTF-8")
        assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1
        assert "已损坏" in done.stderr and "不是 SQLite 数据库" in done.stderr
