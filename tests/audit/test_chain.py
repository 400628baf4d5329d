"""The chain's sequence stays contiguous: rolled-back writers leave no gap, heads move with each event."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from prepay.audit.actions import batched, record_event
from prepay.audit.chain import GENESIS, verify_log, verify_rows
from prepay.audit.models import AuditEvent, AuditHead


def _write(actor, n: int, verb: str = "test.event") -> None:
    for i in range(n):
        with transaction.atomic():
            record_event(
                actor=actor, verb=verb, object_type="test", object_id=str(i), object_repr=f"thing {i}"
            )


class AuditChainTestCase:
    def test_it_keeps_seq_contiguous_across_interleaved_and_rolled_back_writes(self, world):
        _write(world.admin, 3)
        with pytest.raises(RuntimeError), transaction.atomic():
            record_event(
                actor=world.admin, verb="test.doomed", object_type="test", object_id="x", object_repr="x"
            )
            raise RuntimeError("the action failed after writing its event")
        _write(world.clerk, 2)
        with transaction.atomic():  # one action writing two events
            record_event(actor=world.clerk, verb="test.a", object_type="t", object_id="1", object_repr="a")
            record_event(actor=world.clerk, verb="test.b", object_type="t", object_id="1", object_repr="b")
        seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, 8))
        assert not AuditEvent.objects.filter(verb="test.doomed").exists()
        result = verify_log()
        assert (result.ok, result.count, result.of().head_seq) == (True, 7, 7)

    def test_it_chains_each_event_to_the_one_before(self, world):
        _write(world.admin, 3)
        rows = list(AuditEvent.objects.order_by("seq").values())
        assert rows[0]["prev_hash"] == GENESIS
        assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]
        assert AuditHead.objects.get().hash == rows[-1]["hash"]

    def test_it_accepts_a_row_committed_after_the_head_was_read(self, world):
        _write(world.admin, 3)
        rows = list(AuditEvent.objects.order_by("seq").values())
        h = AuditHead.objects.get()
        # the head was read when only two events existed; a re-read sees the third
        checked, problem = verify_rows(rows, 2, rows[1]["hash"], refresh_head=lambda: (h.seq, h.hash))
        assert (checked, problem) == (3, None)
        checked, problem = verify_rows(rows, 2, rows[1]["hash"])
        assert problem is not None and (problem.seq, problem.kind) == (3, "inserted")


def _event(actor, verb: str) -> None:
    record_event(actor=actor, verb=verb, object_type="t", object_id="1", object_repr=verb)


class BatchedEventsTestCase:
    """``audit.batched``: an action's events are held and chained together when its block ends."""

    def test_it_appends_the_held_events_in_order_when_the_block_ends(self, world):
        _write(world.admin, 2)
        with transaction.atomic():
            with batched():
                _event(world.clerk, "test.first")
                with batched():  # a nested block joins the outer one
                    _event(world.clerk, "test.second")
                _event(world.clerk, "test.third")
                # held, not yet on the chain: the head has not moved
                assert AuditHead.objects.get().seq == 2
                assert not AuditEvent.objects.filter(verb__startswith="test.t").exists()
            assert AuditHead.objects.get().seq == 5
        verbs = list(AuditEvent.objects.order_by("seq").values_list("seq", "verb"))
        assert verbs[2:] == [(3, "test.first"), (4, "test.second"), (5, "test.third")]
        result = verify_log()
        assert (result.ok, result.count, result.of().head_seq) == (True, 5, 5)

    def test_an_error_in_the_block_drops_its_events_and_leaves_no_gap(self, world):
        _write(world.admin, 1)
        with pytest.raises(RuntimeError), transaction.atomic(), batched():
            _event(world.clerk, "test.doomed")
            raise RuntimeError("the sale failed after its token event")
        _write(world.admin, 1, verb="test.after")
        assert list(AuditEvent.objects.order_by("seq").values_list("seq", "verb")) == [
            (1, "test.event"),
            (2, "test.after"),
        ]
        assert verify_log().ok

    def test_an_event_of_a_rolled_back_savepoint_is_dropped_with_its_work(self, world):
        with transaction.atomic(), batched():
            _event(world.clerk, "test.kept")
            try:
                with transaction.atomic():  # a step that fails after recording its event; caught
                    _event(world.clerk, "test.undone")
                    raise ValueError("the step failed")
            except ValueError:
                pass
            with transaction.atomic():  # a step that succeeds
                _event(world.clerk, "test.done")
        verbs = list(AuditEvent.objects.order_by("seq").values_list("seq", "verb"))
        assert verbs == [(1, "test.kept"), (2, "test.done")]
        assert verify_log().ok

    def test_a_swallowed_inner_error_does_not_chain_the_held_events(self, world):
        _write(world.admin, 1)
        with pytest.raises(RuntimeError, match="marked for rollback"), transaction.atomic(), batched():
            _event(world.clerk, "test.held")
            try:
                with transaction.atomic(savepoint=False):
                    raise ValueError("an inner step failed and its error was caught")
            except ValueError:
                pass
        assert list(AuditEvent.objects.values_list("verb", flat=True)) == ["test.event"]


class HeadGuardTestCase:
    """The head moves forward only onto an event of the chain (several at once for a batch)."""

    def test_it_refuses_a_head_that_names_no_event(self, world):
        _write(world.admin, 2)
        head = AuditHead.objects.get()
        for seq, digest in ((head.seq + 1, "f" * 64), (head.seq + 5, head.hash), (head.seq - 1, head.hash)):
            with pytest.raises(DatabaseError, match="audit chain head"), transaction.atomic():
                AuditHead.objects.filter(id=0).update(seq=seq, hash=digest)
        assert AuditHead.objects.get().seq == 2

    def test_it_accepts_a_head_moved_onto_the_last_event_of_a_batch(self, world):
        with transaction.atomic(), batched():
            for i in range(4):
                _event(world.admin, f"test.{i}")
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        assert AuditHead.objects.values_list("seq", "hash").get() == last == (4, last[1])


@pytest.mark.services
class ConcurrentAuditWritersTestCase:
    def test_it_keeps_seq_contiguous_under_concurrent_writers(self, pg_transactional, world):
        if connection.vendor != "postgresql":
            pytest.skip("needs PostgreSQL (SQLite serialises writers): run with DATABASE_URL=postgres://…")
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def run(i: int) -> None:
            try:
                barrier.wait()
                _write(world.admin, 10, verb=f"thread.{i}")
            except BaseException as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, 41))
        assert verify_log().ok

    def test_a_batch_refuses_to_run_outside_a_transaction(self, pg_transactional):
        with pytest.raises(RuntimeError, match="inside the action's transaction"), batched():
            pass
