"""The store side of the operator's commands, on both stores: `queue run --now` (expedite), `queue retry`
on any open event (revive), the run summary's last error, the run history, `purge --dry-run`."""

from __future__ import annotations

from mautic_ctl.store import queue as q
from mautic_ctl.store.queue import Settlement, Status
from mautic_ctl.store.runs import last_run, record_run
from tests.integration.test_store_queue import T0, claim, conn, event, status_of

__all__ = ["conn"]


def _fail(conn, pk: int, error: str, *, retry_at: float, counts: bool = True) -> None:
    user = conn.execute("SELECT user_id FROM events WHERE id = ?", (pk,)).fetchone()[0]
    c = claim(conn, user_id=user)[0]
    q.settle(conn, [Settlement(c.pk, Status.PENDING, c.progress, error=error, next_attempt_at=retry_at,
                               counts_as_attempt=counts)], T0)  # fmt: skip


def test_expedite_skips_backoff_but_not_a_rate_limit_wait(conn):
    backoff = q.enqueue(conn, event("u1"), T0).pk
    limited = q.enqueue(conn, event("u2"), T0).pk
    _fail(conn, backoff, "HTTP 503", retry_at=T0 + 900)
    _fail(conn, limited, "HTTP 429 rate limit", retry_at=T0 + 3000, counts=False)
    assert q.expedite(conn, T0 + 1) == 1
    due = {c.pk for c in claim(conn, T0 + 1)}
    assert due == {backoff}  # the 429's event still waits for its reset


def test_revive_any_open_event_and_the_last_open_error(conn):
    waiting = q.enqueue(conn, event("u1"), T0).pk
    done = q.enqueue(conn, event("u2"), T0).pk
    _fail(conn, waiting, "first error", retry_at=T0 + 600)
    c = claim(conn, user_id="u2")[0]
    q.settle(conn, [Settlement(c.pk, Status.DONE, c.progress, result={})], T0)
    assert q.last_open_error(conn) == "first error"
    assert q.revive(conn, [waiting, done, 999], T0 + 1) == [waiting]  # done and unknown are left alone
    assert status_of(conn, waiting) == "pending" and [c.pk for c in claim(conn, T0 + 1)] == [waiting]


def test_purge_dry_run_counts_without_deleting(conn):
    pk = q.enqueue(conn, event("u1"), T0).pk
    c = claim(conn)[0]
    q.settle(conn, [Settlement(c.pk, Status.DONE, c.progress, result={})], T0)
    statuses = [Status.DONE, Status.SUPERSEDED]
    assert q.purge_finished(conn, before=T0 + 1, statuses=statuses, dry_run=True) == 1
    assert status_of(conn, pk) == "done"
    assert q.purge_finished(conn, before=T0 + 1, statuses=statuses) == 1


def test_runs_keep_the_last_outcome(conn):
    assert last_run(conn) is None
    record_run(conn, started_at=T0, finished_at=T0 + 2, exit_code=75, applied=3, dead=0, error="Mautic down")
    record_run(conn, started_at=T0 + 60, finished_at=T0 + 61, exit_code=0, applied=1, dead=0, error=None)
    got = last_run(conn)
    assert (got["finished_at"], got["exit_code"], got["applied"]) == (T0 + 61, 0, 1)
