"""SQLite persistence: the queue, the per-user mirror, the audit log, the id cache. All SQL lives here."""

from mautic_ctl.store.db import connect, connect_read_only, write
from mautic_ctl.store.queue import Claimed, Enqueued, Settlement, Status

__all__ = ["Claimed", "Enqueued", "Settlement", "Status", "connect", "connect_read_only", "write"]
