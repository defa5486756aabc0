"""Schema of the mautic-ctl SQLite store, as sqlite-utils migrations.

Every hot query has an index whose size does not grow with finished events: the open-event indexes
are partial (``WHERE status IN ('pending','processing')``), so a claim costs the same with 10^6 done rows.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

MIGRATIONS = Migrations("mautic_ctl")

EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,   -- AUTOINCREMENT: ids never reused, so id order is arrival order
    source TEXT NOT NULL,                   -- cli, file, stripe, lemonsqueezy, api
    event_id TEXT NOT NULL,                 -- the idempotency key within its source
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,                  -- the validated event as JSON
    occurred_at TEXT NOT NULL,              -- ISO 8601 UTC; drives the stale-event guard
    status TEXT NOT NULL,                   -- pending | processing | done | dead | superseded
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,          -- unix time
    lease_until REAL,                       -- while processing: due again after this (holder died)
    lease_owner TEXT,
    progress TEXT NOT NULL DEFAULT '{}',    -- JSON: contact_id, ops done, ops whose outcome is unknown
    result TEXT,                            -- JSON outcome once settled (first outcome, for duplicates)
    last_error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    finished_at REAL,
    UNIQUE (source, event_id)
)"""

INDEXES = (
    # claim: unfinished events in id order, and "is there an older unfinished event of this user?"
    "CREATE INDEX IF NOT EXISTS events_open ON events (id) WHERE status IN ('pending', 'processing')",
    "CREATE INDEX IF NOT EXISTS events_open_user ON events (user_id, id) WHERE status IN ('pending', 'processing')",
    "CREATE INDEX IF NOT EXISTS events_status ON events (status, id)",
    "CREATE INDEX IF NOT EXISTS events_user ON events (user_id, id)",
    "CREATE INDEX IF NOT EXISTS events_finished ON events (finished_at) WHERE finished_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS events_occurred ON events (occurred_at)",
)

EVENT_ERRORS = """
CREATE TABLE IF NOT EXISTS event_errors (
    id INTEGER PRIMARY KEY,
    event_pk INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    at REAL NOT NULL,
    attempt INTEGER NOT NULL,
    error TEXT NOT NULL,
    outcome TEXT NOT NULL                   -- retry | dead | deferred
)"""

USERS = """
CREATE TABLE IF NOT EXISTS users (          -- the per-user mirror of what mautic-ctl applied
    user_id TEXT PRIMARY KEY,
    email TEXT,
    contact_id INTEGER,
    tier TEXT,
    status TEXT,
    segments TEXT NOT NULL DEFAULT '[]',    -- logical keys (tier:pro, churned …)
    campaigns TEXT NOT NULL DEFAULT '[]',
    lifetime_value REAL NOT NULL DEFAULT 0,
    last_event_at TEXT,                     -- occurred_at of the newest applied state event
    last_synced_at REAL
)"""

AUDIT = """
CREATE TABLE IF NOT EXISTS audit (          -- every Mautic call: no secrets, no personal data
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,                     -- path only, never the query string (it can hold emails)
    status INTEGER,
    duration_ms REAL NOT NULL,
    event_pk INTEGER,
    error TEXT
)"""

ID_CACHE = """
CREATE TABLE IF NOT EXISTS id_cache (       -- segment / campaign names resolved to ids
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    mautic_id INTEGER NOT NULL,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (kind, name)
)"""

BILLING = (
    """CREATE TABLE IF NOT EXISTS billing_customers (
    provider TEXT NOT NULL, customer_id TEXT NOT NULL, user_id TEXT NOT NULL,
    PRIMARY KEY (provider, customer_id))""",
    """CREATE TABLE IF NOT EXISTS billing_subscriptions (
    provider TEXT NOT NULL, subscription_id TEXT NOT NULL,
    variant TEXT NOT NULL, tier TEXT, status TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (provider, subscription_id))""",
    """CREATE TABLE IF NOT EXISTS deliveries (  -- every webhook delivery, including ignored ones
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL, delivery_id TEXT NOT NULL, event_type TEXT NOT NULL,
    outcome TEXT NOT NULL,                   -- recorded | ignored | dead | duplicate
    reason TEXT, event_pk INTEGER, received_at REAL NOT NULL,
    UNIQUE (provider, delivery_id))""",
)


@MIGRATIONS()
def m001_initial(db: sqlite_utils.Database) -> None:
    for ddl in (EVENTS, *INDEXES, EVENT_ERRORS, USERS, AUDIT, ID_CACHE, *BILLING):
        db.execute(ddl)
    db.execute("CREATE INDEX IF NOT EXISTS audit_at ON audit (at)")
    db.execute("CREATE INDEX IF NOT EXISTS users_email ON users (email COLLATE NOCASE)")


@MIGRATIONS()
def m002_delivery_body(db: sqlite_utils.Database) -> None:
    """Keep the body of a webhook delivery that could not become an event, to re-read it later."""
    columns = {c.name for c in db["deliveries"].columns}
    if "body" not in columns:
        db.execute("ALTER TABLE deliveries ADD COLUMN body BLOB")
    db.execute("CREATE INDEX IF NOT EXISTS deliveries_outcome ON deliveries (outcome, id)")


@MIGRATIONS()
def m003_operator_actions(db: sqlite_utils.Database) -> None:
    """What people did through the dashboard (and other operator tools): who, what, when; and which
    events each batch call served."""
    db.execute(
        """CREATE TABLE IF NOT EXISTS operator_actions (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            actor TEXT NOT NULL,                -- e.g. dashboard:127.0.0.1 (never a token)
            action TEXT NOT NULL,               -- retry | replay | …
            target TEXT NOT NULL,               -- event:12, user:u1, delivery:3
            detail TEXT
        )"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS operator_actions_at ON operator_actions (at)")
    db.execute("CREATE INDEX IF NOT EXISTS audit_event ON audit (event_pk) WHERE event_pk IS NOT NULL")
    # the dashboard's "applied per hour": a range of this index alone, never the rows
    db.execute("CREATE INDEX IF NOT EXISTS events_done_at ON events (finished_at) WHERE status = 'done'")
    # A batch call (contacts batch/new, segment batch add) serves many events: link it to each of them,
    # so an event's page lists every call made for it.
    db.execute(
        """CREATE TABLE IF NOT EXISTS audit_events (
            event_pk INTEGER NOT NULL, audit_id INTEGER NOT NULL, PRIMARY KEY (event_pk, audit_id)
        )"""
    )


@MIGRATIONS()
def m004_mirror_first_hand(db: sqlite_utils.Database) -> None:
    """Whether the mirror row is what this tool applied (1) or was rebuilt from a read (0): a campaign
    entry for a row that is not first-hand checks Mautic's live membership first."""
    columns = {c.name for c in db["users"].columns}
    if "first_hand" not in columns:
        db.execute("ALTER TABLE users ADD COLUMN first_hand INTEGER NOT NULL DEFAULT 1")
    db.execute("CREATE INDEX IF NOT EXISTS users_contact ON users (contact_id) WHERE contact_id IS NOT NULL")


EXPERIMENT_ASSIGNMENTS = """
CREATE TABLE IF NOT EXISTS experiment_assignments (  -- a user's arm, made once and never changed
    experiment TEXT NOT NULL,
    user_id TEXT NOT NULL,
    arm TEXT NOT NULL,
    slot TEXT NOT NULL,                     -- the campaign slot the experiment takes over (welcome …)
    assigned_at REAL NOT NULL,
    event_pk INTEGER,                       -- the event whose campaign entry made the assignment
    PRIMARY KEY (experiment, user_id)
)"""


@MIGRATIONS()
def m005_experiment_assignments(db: sqlite_utils.Database) -> None:
    """Experiment arms, kept apart from the events so a purge of old events never re-deals an arm."""
    db.execute(EXPERIMENT_ASSIGNMENTS)
    db.execute("CREATE INDEX IF NOT EXISTS experiment_assignments_user ON experiment_assignments (user_id)")


LIFECYCLE = (
    """CREATE TABLE IF NOT EXISTS erasures (      -- proof of each account erasure: nothing personal
    id INTEGER PRIMARY KEY,
    user_hash TEXT NOT NULL,                  -- sha256 of the user id
    erased_at REAL NOT NULL,
    outcome TEXT NOT NULL,                    -- deleted | anonymised | not_in_mautic
    events INTEGER NOT NULL)                  -- how many of its events were erased""",
    "CREATE INDEX IF NOT EXISTS erasures_user ON erasures (user_hash)",
    # consent first: the open unsubscribe / resubscribe events, found without walking the backlog
    """CREATE INDEX IF NOT EXISTS events_open_consent ON events (user_id, id)
       WHERE status IN ('pending', 'processing') AND kind IN ('unsubscribe', 'resubscribe')""",
)


@MIGRATIONS()
def m006_lifecycle(db: sqlite_utils.Database) -> None:
    """Logins, consent and product-event counts in the mirror; the erasure proofs of deleted users."""
    columns = {c.name for c in db["users"].columns}
    added = (
        ("last_login", "TEXT"),  # Y-m-d H:i:s UTC, as written to Mautic
        ("unsubscribed", "INTEGER"),  # 1 / 0: the consent last applied; NULL: never
        ("consent_at", "TEXT"),  # occurred_at of that consent event
        ("counts", "TEXT NOT NULL DEFAULT '{}'"),  # JSON: product event name -> occurrences applied
    )
    for name, ddl in added:
        if name not in columns:
            db.execute(f"ALTER TABLE users ADD COLUMN {name} {ddl}")
    for ddl in LIFECYCLE:
        db.execute(ddl)


@MIGRATIONS()
def m007_billing_links(db: sqlite_utils.Database) -> None:
    """Customer / subscription links with their email and how they were learned, snapshot order.

    ``billing_links`` replaces ``billing_customers`` (whose user_id could not be unknown while the
    email is known); its rows are carried over as remembered links.
    """
    db.execute(
        """CREATE TABLE IF NOT EXISTS billing_links (
        provider TEXT NOT NULL, kind TEXT NOT NULL, external_id TEXT NOT NULL,
        user_id TEXT, email TEXT, via TEXT,
        PRIMARY KEY (provider, kind, external_id))"""
    )
    db.execute(
        """INSERT OR IGNORE INTO billing_links (provider, kind, external_id, user_id, via)
           SELECT provider, 'customer', customer_id, user_id, 'remembered' FROM billing_customers"""
    )
    columns = {c.name for c in db["billing_subscriptions"].columns}
    if "clock" not in columns:
        db.execute("ALTER TABLE billing_subscriptions ADD COLUMN clock INTEGER NOT NULL DEFAULT 0")
    if "delivery_id" not in columns:
        db.execute("ALTER TABLE billing_subscriptions ADD COLUMN delivery_id TEXT")
    delivery_columns = {c.name for c in db["deliveries"].columns}
    if "superseded_by" not in delivery_columns:
        db.execute("ALTER TABLE deliveries ADD COLUMN superseded_by TEXT")
    if "customer_id" not in delivery_columns:  # what a waiting delivery waits on: its provider customer
        db.execute("ALTER TABLE deliveries ADD COLUMN customer_id TEXT")
    db.execute(
        "CREATE INDEX IF NOT EXISTS deliveries_waiting ON deliveries (provider, customer_id, id) "
        "WHERE outcome = 'waiting'"
    )


@MIGRATIONS()
def m008_runs(db: sqlite_utils.Database) -> None:
    """One row per `queue run`: when it finished and how (for monitoring: last run time and outcome)."""
    db.execute(
        """CREATE TABLE IF NOT EXISTS runs (
            id INTEGER PRIMARY KEY,
            started_at REAL NOT NULL,
            finished_at REAL NOT NULL,
            exit_code INTEGER NOT NULL,
            applied INTEGER NOT NULL,
            dead INTEGER NOT NULL,
            error TEXT
        )"""
    )
