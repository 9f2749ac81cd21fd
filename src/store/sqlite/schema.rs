//! Versioned schema migrations of the embedded (SQLite) store.
//!
//! The tables and columns are the same for every backend (the PostgreSQL backend keeps its own DDL
//! with `BIGINT GENERATED ALWAYS AS IDENTITY`, `BOOLEAN` and `bytea` where SQLite says `INTEGER`
//! and `BLOB`); only the DDL text differs. Times are integer seconds since the Unix epoch (UtcTime.0).
//!
//! A migration is applied in its own transaction together with its `schema_version` row, so a
//! crash leaves the store either before or after it. Never edit a shipped migration: add one.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::StoreError;
use crate::util::UtcTime;

/// (version, DDL). Applied in order; `schema_version` records each one applied.
pub const MIGRATIONS: &[(i64, &str)] = &[(1, V1), (2, V2), (3, V3)];

/// The first schema.
///
/// Column notes:
/// - `recipient.description` is the PAP `desc` attribute (named so because `DESC` is an SQL
///   keyword in both SQLite and PostgreSQL and would need quoting everywhere).
/// - `recipient.priority` and `recipient.received_at` copy the push's values so that the lease
///   query walks `recipient_lease` in queue order and stops at its LIMIT instead of sorting every
///   due recipient (the queue may hold a million).
/// - `recipient.next_attempt_at` starts at deliver-after (or received_at): a recipient is never
///   leased before its deliver-after time.
/// - `recipient_waiting` finds submitted recipients whose receipt is overdue (`updated_at` is
///   the submission time while a confirmed recipient waits).
/// - `push.final_at` is set when the push's last recipient becomes final; retention counts from it
///   (until V3, which drops it).
const V1: &str = r#"
CREATE TABLE push (
    id              INTEGER PRIMARY KEY,
    push_id         TEXT    NOT NULL UNIQUE,
    pi              TEXT    NOT NULL,
    pap_version     TEXT    NOT NULL,
    received_at     INTEGER NOT NULL,
    deliver_after   INTEGER,
    deliver_before  INTEGER,
    priority        INTEGER NOT NULL,
    confirmed       INTEGER NOT NULL,
    notify_to       TEXT,
    wsp_pdu         BLOB    NOT NULL,
    final_at        INTEGER
);
CREATE INDEX push_final_at ON push (final_at) WHERE final_at IS NOT NULL;
CREATE INDEX push_deliver_before ON push (deliver_before)
    WHERE deliver_before IS NOT NULL AND final_at IS NULL;

CREATE TABLE recipient (
    id               INTEGER PRIMARY KEY,
    push             INTEGER NOT NULL REFERENCES push (id) ON DELETE CASCADE,
    address          TEXT    NOT NULL,
    msisdn           TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    code             INTEGER NOT NULL,
    description      TEXT    NOT NULL,
    updated_at       INTEGER NOT NULL,
    submitted        INTEGER NOT NULL DEFAULT 0,
    leased_until     INTEGER,
    next_attempt_at  INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    first_attempt_at INTEGER,
    smsc             TEXT,
    priority         INTEGER NOT NULL,
    received_at      INTEGER NOT NULL
);
CREATE INDEX recipient_push ON recipient (push);
CREATE INDEX recipient_lease ON recipient (state, submitted, priority, received_at);
CREATE INDEX recipient_waiting ON recipient (state, submitted, updated_at);

CREATE TABLE segment (
    recipient   INTEGER NOT NULL REFERENCES recipient (id) ON DELETE CASCADE,
    seqnum      INTEGER NOT NULL,
    smsc        TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    outcome     TEXT,
    UNIQUE (smsc, message_id)
);
CREATE INDEX segment_recipient ON segment (recipient);

CREATE TABLE notification (
    id              INTEGER PRIMARY KEY,
    url             TEXT    NOT NULL,
    push_id         TEXT    NOT NULL,
    pap_version     TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    code            INTEGER NOT NULL,
    description     TEXT    NOT NULL,
    received_at     INTEGER NOT NULL,
    event_at        INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    leased_until    INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX notification_due ON notification (next_attempt_at);
"#;

/// V2: the two queue indexes become partial. Every state change of a recipient used to move its
/// entry in both `recipient_lease` and `recipient_waiting` (their keys began with `state,
/// submitted`), so a recipient cost four index moves between lease and final. Partial indexes
/// hold only the rows their queries look for: the lease query's unsubmitted pending recipients,
/// and the receipt-timeout scan's submitted pending ones; a final recipient is in neither.
const V2: &str = r#"
DROP INDEX recipient_lease;
CREATE INDEX recipient_lease ON recipient (priority, received_at)
    WHERE state = 'pending' AND submitted = 0;
DROP INDEX recipient_waiting;
CREATE INDEX recipient_waiting ON recipient (updated_at)
    WHERE state = 'pending' AND submitted = 1;
"#;

/// V3: no `push.final_at` (as the PostgreSQL schema's migrations 5 and 6). Marking a push final
/// was a write per push on the hot path: an UPDATE of the push row (whole row, PDU included)
/// after a check for other pending recipients, ~15,000 instructions per push, about a tenth of
/// ppgd's user-space work in scenario 1 (callgrind). Its one reader was the cleanup, which now
/// asks the recipients: a push is forgotten once every recipient of it is final since before the
/// retention time (`updated_at` is the time of the final transition), a push without recipients
/// once received before it (`push_received_at`). Deliver-before expiry, which found its pushes
/// by `final_at IS NULL`, now reads `recipient.deliver_before` (copied at insert, as priority and
/// received_at are) through a partial index that holds only unsubmitted pending recipients with
/// a deadline; the pending ones of an older store are backfilled here.
const V3: &str = r#"
ALTER TABLE recipient ADD COLUMN deliver_before INTEGER;
UPDATE recipient SET deliver_before =
        (SELECT p.deliver_before FROM push p WHERE p.id = recipient.push)
    WHERE state = 'pending' AND submitted = 0;
CREATE INDEX recipient_deliver_before ON recipient (deliver_before)
    WHERE deliver_before IS NOT NULL AND state = 'pending' AND submitted = 0;
DROP INDEX push_deliver_before;
DROP INDEX push_final_at;
CREATE INDEX push_received_at ON push (received_at);
ALTER TABLE push DROP COLUMN final_at;
"#;

/// Applies every migration newer than the store's version. Refuses a store written by a newer
/// ppgd (its schema is unknown to us).
pub fn migrate(conn: &mut Connection, now: UtcTime) -> Result<i64, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )?;
    let current: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()?
        .flatten()
        .unwrap_or(0);
    let known = MIGRATIONS.last().map(|(v, _)| *v).unwrap_or(0);
    if current > known {
        return Err(StoreError::Backend(format!(
            "store schema version {current} is newer than this ppgd knows ({known}); refusing to open it"
        )));
    }
    let mut version = current;
    for (v, ddl) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(ddl)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            params![v, now.0],
        )?;
        tx.commit()?;
        version = *v;
    }
    Ok(version)
}
