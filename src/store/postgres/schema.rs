//! Versioned schema migrations of the PostgreSQL store.
//!
//! Version 1 has the same tables and columns as the embedded store (`sqlite/schema.rs`, whose
//! column notes apply here too) and migrations 4-6 part from it where the server's costs differ
//! (no foreign keys, no `push.final_at`, `recipient.deliver_before`; each says why). The DDL
//! text differs too: `BIGINT GENERATED ALWAYS AS IDENTITY` keys, `BIGINT`
//! for integers and times (UtcTime.0, seconds since the Unix epoch), `BOOLEAN` flags, `BYTEA`
//! for the WSP PDU. Never edit a shipped migration: add one.
//!
//! Several instances may start together against one database: the migrations run in one
//! transaction that first takes a transaction-scoped advisory lock, so the second instance waits
//! for the first to commit and then finds nothing left to apply.

use tokio_postgres::Client;

use crate::store::StoreError;
use crate::util::UtcTime;

/// (version, DDL). Applied in order; `schema_version` records each one applied.
pub const MIGRATIONS: &[(i64, &str)] = &[(1, V1), (2, V2), (3, V3), (4, V4), (5, V5), (6, V6)];

/// The advisory lock key that serialises migrations (an arbitrary constant: "ppgd" in ASCII).
pub const MIGRATION_LOCK: i64 = 0x7070_6764;

const V1: &str = r#"
CREATE TABLE push (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    push_id         TEXT    NOT NULL UNIQUE,
    pi              TEXT    NOT NULL,
    pap_version     TEXT    NOT NULL,
    received_at     BIGINT  NOT NULL,
    deliver_after   BIGINT,
    deliver_before  BIGINT,
    priority        BIGINT  NOT NULL,
    confirmed       BOOLEAN NOT NULL,
    notify_to       TEXT,
    wsp_pdu         BYTEA   NOT NULL,
    final_at        BIGINT
);
CREATE INDEX push_final_at ON push (final_at) WHERE final_at IS NOT NULL;
CREATE INDEX push_deliver_before ON push (deliver_before)
    WHERE deliver_before IS NOT NULL AND final_at IS NULL;

CREATE TABLE recipient (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    push             BIGINT  NOT NULL REFERENCES push (id) ON DELETE CASCADE,
    address          TEXT    NOT NULL,
    msisdn           TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    code             BIGINT  NOT NULL,
    description      TEXT    NOT NULL,
    updated_at       BIGINT  NOT NULL,
    submitted        BOOLEAN NOT NULL DEFAULT FALSE,
    leased_until     BIGINT,
    next_attempt_at  BIGINT  NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    first_attempt_at BIGINT,
    smsc             TEXT,
    priority         BIGINT  NOT NULL,
    received_at      BIGINT  NOT NULL
);
CREATE INDEX recipient_push ON recipient (push);
CREATE INDEX recipient_lease ON recipient (state, submitted, priority, received_at);
CREATE INDEX recipient_waiting ON recipient (state, submitted, updated_at);

CREATE TABLE segment (
    recipient   BIGINT NOT NULL REFERENCES recipient (id) ON DELETE CASCADE,
    seqnum      BIGINT NOT NULL,
    smsc        TEXT   NOT NULL,
    message_id  TEXT   NOT NULL,
    outcome     TEXT,
    UNIQUE (smsc, message_id)
);
CREATE INDEX segment_recipient ON segment (recipient);

CREATE TABLE notification (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url             TEXT   NOT NULL,
    push_id         TEXT   NOT NULL,
    pap_version     TEXT   NOT NULL,
    address         TEXT   NOT NULL,
    state           TEXT   NOT NULL,
    code            BIGINT NOT NULL,
    description     TEXT   NOT NULL,
    received_at     BIGINT NOT NULL,
    event_at        BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    leased_until    BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX notification_due ON notification (next_attempt_at);
"#;

/// Queue indexes that hold only what each query looks for (partial indexes), measured on the
/// scale-out bench:
/// - `recipient_pending_push`: the pending recipients of a push. A final transition asks "is any
///   recipient of this push still pending?" (to mark the push final). With only
///   `recipient_push` and `recipient_waiting`, the planner answered it on cold statistics (a new
///   database, before autovacuum's first ANALYZE) with a BitmapAnd reading every pending row of
///   the queue (30-90 ms per batch at 10^5 pending); on a push with many recipients
///   `recipient_push` alone walks the final ones too. It also serves `COUNT(*) ... WHERE state =
///   'pending'` (the queue limit).
/// - `recipient_due` replaces `recipient_lease`: the lease orders by (priority, received_at, id)
///   and received_at has a one-second resolution, so every push of a burst shares it; without
///   `id` PostgreSQL sorted every due recipient of that second before it could stop at the LIMIT.
///   Partial (pending, not submitted): a submitted or final recipient's new row version adds no
///   entry, so the scan has fewer dead entries to step over at the head of the queue.
/// - `recipient_receipt_wait` replaces `recipient_waiting` for the receipt timeout: partial
///   (pending AND submitted), so an insert no longer maintains it at all.
///
/// (The embedded store keeps its indexes: a SQLite index ends in the rowid, which is `id`, and
/// its single writer has no dead entries to skip.)
const V2: &str = r#"
CREATE INDEX recipient_pending_push ON recipient (push) WHERE state = 'pending';
CREATE INDEX recipient_due ON recipient (priority, received_at, id)
    WHERE state = 'pending' AND submitted = FALSE;
CREATE INDEX recipient_receipt_wait ON recipient (updated_at)
    WHERE state = 'pending' AND submitted = TRUE;
DROP INDEX recipient_lease;
DROP INDEX recipient_waiting;
"#;

/// V3: the queue tables churn (every recipient is updated three or four times within seconds of
/// its insert), so vacuum them by row count rather than by a fraction of a table that grows, and
/// leave room on each page for updated row versions.
const V3: &str = r#"
ALTER TABLE recipient SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE push SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000,
    autovacuum_vacuum_cost_delay = 0);
"#;

/// V4: no foreign keys. Each check was a query of its own on the server (an SPI call taking a KEY
/// SHARE lock on the parent row, which writes WAL): one per recipient inserted and one per segment,
/// 12 % of the server's CPU on scenario 1. What they guarded holds by construction: a recipient is
/// only inserted by the statement that inserts its push (joined to the rows it inserted), a
/// segment only by the statement that updates its recipient (`WHERE ... IN (SELECT id FROM u)`),
/// and the only deletion, the cleanup, removes a push with its recipients and their segments in
/// one statement (what ON DELETE CASCADE did). Recipients and segments are never deleted alone.
const V4: &str = r#"
ALTER TABLE recipient DROP CONSTRAINT IF EXISTS recipient_push_fkey;
ALTER TABLE segment DROP CONSTRAINT IF EXISTS segment_recipient_fkey;
"#;

/// V5: fewer index entries per push, and a push's final update that is HOT.
/// - No `recipient_pending_push`. It was added (V2) because plans made on cold statistics
///   answered "is any recipient of this push still pending?" with a BitmapAnd over the whole
///   queue; the pool's sessions now plan with bitmap scans off and every hot plan is checked to
///   probe keys (`generic_plans_probe_keys`), so `recipient_push` (a push's few recipients,
///   state filtered) answers it. The queue count reads the two partial queue indexes instead.
/// - No index mentions `push.final_at` any more, so marking a push final is a heap-only (HOT)
///   update: one WAL record instead of a new entry in each of push's indexes. Retention (the
///   cleanup) finds old pushes by `received_at` (a push is final after it was received), and the
///   deliver-before expiry reads a partial index of the recipients not submitted yet, which carry
///   their push's deliver_before (copied at insert, as priority and received_at are). (V6 then
///   drops final_at altogether.)
const V5: &str = r#"
DROP INDEX IF EXISTS recipient_pending_push;
ALTER TABLE recipient ADD COLUMN deliver_before BIGINT;
UPDATE recipient r SET deliver_before = p.deliver_before
    FROM push p
    WHERE p.id = r.push AND p.deliver_before IS NOT NULL AND r.state = 'pending';
CREATE INDEX recipient_deliver_before ON recipient (deliver_before)
    WHERE state = 'pending' AND submitted = FALSE AND deliver_before IS NOT NULL;
DROP INDEX IF EXISTS push_deliver_before;
DROP INDEX IF EXISTS push_final_at;
CREATE INDEX push_received_at ON push (received_at);
ALTER TABLE push SET (fillfactor = 85);
"#;

/// V6: no `push.final_at`. Marking a push final was a write per push on the hot path (an UPDATE
/// of the push row, and a check for other pending recipients) for one reader, the cleanup, which
/// now asks the recipients instead: a push is forgotten once every recipient of it is final
/// since before the retention time (their `updated_at` is the time of that transition). It also
/// ends the race where two transactions finishing a push's last two recipients at once each saw
/// the other pending and neither marked the push.
const V6: &str = r#"
ALTER TABLE push DROP COLUMN final_at;
"#;

/// Applies every migration newer than the database's version, under the advisory lock. Refuses
/// a database written by a newer ppgd. Returns the schema version now in force.
pub async fn migrate(client: &mut Client, now: UtcTime) -> Result<i64, StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    BIGINT PRIMARY KEY,
             applied_at BIGINT NOT NULL
         )",
    )
    .await?;
    let current: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .await?
        .try_get(0)?;
    let known = MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0);
    if current > known {
        return Err(StoreError::Backend(format!(
            "store schema version {current} is newer than this ppgd knows ({known}); refusing to open it"
        )));
    }
    let mut version = current;
    for (v, ddl) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(ddl).await?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
            &[v, &now.0],
        )
        .await?;
        version = *v;
    }
    tx.commit().await?;
    Ok(version)
}
