//! The embedded store: one SQLite file (`ppgd.sqlite`) in WAL mode with `synchronous=FULL`.
//!
//! Writes: ONE writer thread owns the write connection. Every write method sends a closure over
//! a channel; the thread takes every command waiting (up to `batch_max`), runs them in one
//! transaction (a failing command is rolled back alone: see `run_batch`), commits
//! once (one fsync for the whole batch: group commit) and only then answers each caller. While
//! one batch syncs, the next one queues up, so the batch size follows the load by itself.
//!
//! Metrics: `store_commit_batch_size` observes the commands of each batch,
//! `store_commit_duration` the time from BEGIN to the end of COMMIT (the commands and the sync:
//! what the batch's callers wait for). The writer also sets `queue_depth` after each commit.
//!
//! Reads (`status`, the oldest-unsubmitted part of `queue_stats`) use separate read connections
//! on `spawn_blocking`: WAL lets them run beside the writer. Routed through the writer, a
//! statusquery would wait for the batch in progress and its fsync (one `insert_push/1` commit,
//! see BENCHMARKS.md); on a read connection it costs a few tens of microseconds. Reads see every
//! commit answered before they start. `queue_stats().depth` is the writer's in-memory counter as
//! of the last commit (O(1)).
//!
//! If a batch's BEGIN or COMMIT fails (I/O error, disk full), every command of the batch is
//! answered with `Backend` and nothing of it is stored; the depth counter is recounted from the
//! file.
//!
//! Two processes never share one store: `open` takes an exclusive lock on `ppgd.lock` held for
//! the store's life. Because of that lock, leases found at open belong to a dead process and are
//! released.
//!
//! Receipt outcome → final state (the recipient becomes final at its first final failure, or when
//! EVERY segment is delivered):
//!
//! | segment outcome | recipient state | code |
//! |---|---|---|
//! | Delivered (all segments) | delivered | 1000 |
//! | Undeliverable | undeliverable | 4000 |
//! | Expired | expired | 4000 |
//! | Rejected | rejected (PAP 2.x push) / undeliverable (PAP 1.0, which has no `rejected`) | 4000 |
//! | Deleted | undeliverable | 4000 |
//! | Unknown | unknown | 4000 |
//! | Intermediate | nothing changes | — |
//!
//! This is the recommendation of protocol-digest §6.5 (PAP defines no SMPP mapping). `Deleted`
//! (SMPP DELETED) is reported as undeliverable, not cancelled: ppgd cancels only recipients not
//! yet submitted and never sends cancel_sm, so a deletion is the SMSC's (or its operator's) doing,
//! not the PI's cancel-message; the SMSC's text is kept in desc.

#[path = "sqlite/schema.rs"]
pub mod schema;

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, PrepFlags, Statement, params};
use tokio::sync::oneshot;

use super::{
    CancelOutcome, FinalEvent, Job, MessageState, NewPush, Notification, Priority, PushStore,
    QueueStats, ReceiptMatch, ReceiptUpdate, RecipientStatus, StoreError, SubmittedSegment,
};
use crate::metrics::Metrics;
use crate::util::UtcTime;

/// The database file inside the store directory.
pub const DB_FILE: &str = "ppgd.sqlite";
/// The lock file that keeps a second process out.
pub const LOCK_FILE: &str = "ppgd.lock";

/// How long a connection waits for a lock held by another connection of this process (a reader
/// during a WAL checkpoint) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle read connections kept for reuse.
const READ_POOL_MAX: usize = 4;

/// The lease query (`?1` now, `?2` limit). `INDEXED BY recipient_lease`: the rows come in queue
/// order straight from the index and the scan stops at the LIMIT, instead of sorting every due
/// recipient (a test checks the plan).
pub const LEASE_DUE_SQL: &str =
    "SELECT r.id, p.push_id, r.address, r.msisdn, r.received_at, p.deliver_before,
        r.priority, p.confirmed, p.wsp_pdu, r.attempts, r.first_attempt_at, p.notify_to,
        p.pap_version
 FROM recipient r INDEXED BY recipient_lease JOIN push p ON p.id = r.push
 WHERE r.state = 'pending' AND r.submitted = 0 AND r.next_attempt_at <= ?1
   AND (r.leased_until IS NULL OR r.leased_until <= ?1)
 ORDER BY r.priority, r.received_at, r.id
 LIMIT ?2";

/// The writer's hot statements (see [`Hot`]).
const INSERT_PUSH_SQL: &str =
    "INSERT INTO push (push_id, pi, pap_version, received_at, deliver_after,
     deliver_before, priority, confirmed, notify_to, wsp_pdu)
 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const INSERT_RECIPIENT_SQL: &str =
    "INSERT INTO recipient (push, address, msisdn, state, code, description, updated_at,
     next_attempt_at, priority, received_at, leased_until, attempts, first_attempt_at,
     deliver_before)
 VALUES (?1, ?2, ?3, 'pending', ?4, 'accepted for processing', ?5, ?6, ?7, ?5, ?8, ?9, ?10, ?11)";
const FINISH_SQL: &str =
    "UPDATE recipient SET state = ?2, code = ?3, description = ?4, updated_at = ?5,
     leased_until = NULL
 WHERE id = ?1 AND state = 'pending'";
const FINISH_SUBMITTED_SQL: &str =
    "UPDATE recipient SET state = ?2, code = ?3, description = ?4, updated_at = ?5,
     leased_until = NULL, submitted = 1, smsc = ?6
 WHERE id = ?1 AND state = 'pending'";

/// Recipients not final, counted through the two partial queue indexes (schema V2) rather than by
/// a scan of the table.
const PENDING_COUNT_SQL: &str =
    "SELECT (SELECT COUNT(*) FROM recipient WHERE state = 'pending' AND submitted = 0)
          + (SELECT COUNT(*) FROM recipient WHERE state = 'pending' AND submitted = 1)";

/// Recipients whose [`Facts`] the writer keeps at most. Those it keeps are leased and not yet
/// submitted, retried or final: about the dispatcher's concurrency (512 by default). More means
/// some were left behind (a job whose outcome could not be recorded: its lease runs out); the
/// writer then forgets them all and reads the push rows again until it has learnt new ones.
const FACTS_MAX: usize = 4096;

/// PAP code and desc of a recipient still pending (WAP-247 §9.13: 1001 accepted for processing).
const PENDING_CODE: u16 = 1001;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// A command for the writer.
trait WriteCommand: Send {
    /// Runs inside the batch transaction and keeps its result for [`WriteCommand::answer`].
    /// `Guarded`: inside its own SAVEPOINT. `Bare`: without one; a failure that changed
    /// nothing (the failing statement undone by SQLite's statement atomicity) is kept as the
    /// answer, a failure after changes is reported as `Tainted` (the batch must be redone
    /// guarded). A command may run twice: bare, then guarded after the batch rolled back.
    fn run(&mut self, w: &mut Writer<'_>, mode: RunMode) -> RunOutcome;
    /// Sends the answer kept by `run`; a commit error replaces it.
    fn answer(self: Box<Self>, commit_error: Option<&str>);
    /// The batch could not even begin: answer without running.
    fn refuse(self: Box<Self>, why: &str);
}
type Command = Box<dyn WriteCommand>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunMode {
    Bare,
    Guarded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunOutcome {
    Kept,
    /// Failed after changing rows (or SQLite rolled the whole transaction back).
    Tainted,
}

/// One write method's call: its body, its result once run, and where its answer goes.
struct Call<F, T> {
    body: F,
    result: Option<Result<T, StoreError>>,
    answer: oneshot::Sender<Result<T, StoreError>>,
}

impl<F, T> WriteCommand for Call<F, T>
where
    T: Send + 'static,
    F: FnMut(&mut Writer<'_>) -> Result<T, StoreError> + Send + 'static,
{
    fn run(&mut self, w: &mut Writer<'_>, mode: RunMode) -> RunOutcome {
        let result = match mode {
            RunMode::Guarded => w.in_savepoint(&mut self.body),
            RunMode::Bare => {
                let (changes, depth) = (w.conn.total_changes(), w.depth);
                match (self.body)(w) {
                    Ok(v) => Ok(v),
                    Err(_) if w.conn.is_autocommit() || w.conn.total_changes() != changes => {
                        w.depth = depth;
                        return RunOutcome::Tainted;
                    }
                    Err(e) => {
                        w.depth = depth;
                        Err(e)
                    }
                }
            }
        };
        self.result = Some(result);
        RunOutcome::Kept
    }
    fn answer(self: Box<Self>, commit_error: Option<&str>) {
        let out = match (commit_error, self.result) {
            (None, Some(result)) => result,
            (Some(e), _) => Err(StoreError::Backend(format!("store commit failed: {e}"))),
            (None, None) => Err(StoreError::Backend(
                "store write was not run (writer bug)".into(),
            )),
        };
        let _ = self.answer.send(out);
    }
    fn refuse(self: Box<Self>, why: &str) {
        let _ = self.answer.send(Err(StoreError::Backend(format!(
            "cannot begin a store transaction: {why}"
        ))));
    }
}

/// The embedded SQLite store. Dropping it stops the writer thread (after its current batch) and
/// releases the lock file.
pub struct SqliteStore {
    tx: Option<mpsc::Sender<Command>>,
    writer: Option<JoinHandle<()>>,
    readers: Arc<ReadPool>,
    depth: Arc<AtomicU64>,
    queue_limit: u64,
}

struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn get(&self) -> Result<Connection, StoreError> {
        let pooled = self.idle.lock().ok().and_then(|mut v| v.pop());
        match pooled {
            Some(c) => Ok(c),
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(BUSY_TIMEOUT)?;
                stable_plans(&c)?;
                Ok(c)
            }
        }
    }
    fn put(&self, c: Connection) {
        if let Ok(mut v) = self.idle.lock()
            && v.len() < READ_POOL_MAX
        {
            v.push(c);
        }
    }
}

/// State owned by the writer thread.
struct Writer<'c> {
    conn: &'c Connection,
    hot: Hot<'c>,
    /// Recipients not final, including this batch's uncommitted changes.
    depth: u64,
    queue_limit: u64,
    /// Recipients stored unleased may be waiting for a lease query: set by every push stored
    /// unleased, cleared by a lease query that came back short (it took every due recipient).
    /// The writer runs inserts and lease queries one after the other, so this is exact where
    /// the dispatcher, which sees their answers in any order, could only guess: a push stored
    /// while a lease query ran kept the dispatcher's guess at "maybe queued" under sustained
    /// load, and every later push then took the queue (see [`PushStore::orders_fast_path`]).
    /// Recipients due again by time alone (a retry, a deliver-after) are not counted, as before.
    queue_ahead: bool,
    /// The facts of the recipients this writer stored leased or leased, until they are
    /// submitted (confirmed: final only at the receipt), retried or final (see [`Facts`]).
    facts: HashMap<i64, Facts>,
}

/// What the final transition of a recipient reports (its event and its result notification),
/// taken from columns never updated, kept from when the writer stored or leased the recipient:
/// finishing it then needs no read of its push row (a join and its copies were ~6,500 of
/// ~147,000 user-space instructions per push in scenario 1). Only ever an exact copy of the
/// rows: forgotten whenever a batch is undone, since its rowids may be given again.
struct Facts {
    push_id: String,
    address: String,
    received_at: i64,
    /// ppg-notify-requested-to and the PAP version of the notification.
    notify: Option<Box<(String, String)>>,
}

/// The statements of every batch and every push, prepared once for the writer's life.
/// `prepare_cached` finds a statement by hashing its SQL text, hashes it again to put it back,
/// copies the text into a new `Arc<str>` and clears the bindings at every use: ~1,000
/// instructions a statement, five statements for each push.
struct Hot<'c> {
    begin: Statement<'c>,
    commit: Statement<'c>,
    insert_push: Statement<'c>,
    insert_recipient: Statement<'c>,
    finish: Statement<'c>,
    finish_submitted: Statement<'c>,
}

impl<'c> Hot<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Hot<'c>> {
        let prepare = |sql| conn.prepare_with_flags(sql, PrepFlags::SQLITE_PREPARE_PERSISTENT);
        Ok(Hot {
            begin: prepare("BEGIN IMMEDIATE")?,
            commit: prepare("COMMIT")?,
            insert_push: prepare(INSERT_PUSH_SQL)?,
            insert_recipient: prepare(INSERT_RECIPIENT_SQL)?,
            finish: prepare(FINISH_SQL)?,
            finish_submitted: prepare(FINISH_SUBMITTED_SQL)?,
        })
    }
}

impl Facts {
    fn of_push(p: &NewPush, address: &str) -> Facts {
        Facts {
            push_id: p.push_id.clone(),
            address: address.to_string(),
            received_at: p.received_at.0,
            notify: p
                .notify_to
                .as_ref()
                .map(|url| Box::new((url.clone(), p.pap_version.clone()))),
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `dir`: takes the exclusive lock file, applies the
    /// migrations, releases leases left by a previous process and starts the writer thread.
    pub fn open(
        dir: &Path,
        queue_limit: u64,
        batch_max: usize,
        metrics: Metrics,
    ) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create store directory {}: {e}",
                dir.display()
            ))
        })?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                StoreError::Backend(format!(
                    "cannot open lock file {}: {e}",
                    lock_path.display()
                ))
            })?;
        // File::try_lock is stable since Rust 1.89 (the toolchain is 1.95; Cargo.toml's
        // rust-version 1.85 is older than the task's stated requirement).
        let locked = lock.try_lock();
        match locked {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Backend(format!(
                    "store {} is in use by another ppgd process (lock file {} is held)",
                    dir.display(),
                    lock_path.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(StoreError::Backend(format!(
                    "cannot lock {}: {e}",
                    lock_path.display()
                )));
            }
        }

        let db_path = dir.join(DB_FILE);
        let mut conn = Connection::open(&db_path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "{} refused WAL journal mode (got {mode})",
                db_path.display()
            )));
        }
        // FULL: the WAL is synced at every commit, so an answered push survives power loss.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(64);
        stable_plans(&conn)?;
        schema::migrate(&mut conn, UtcTime::now())?;

        // The lock proves no other process runs: every lease left is from a dead one.
        conn.execute(
            "UPDATE recipient SET leased_until = NULL WHERE leased_until IS NOT NULL",
            [],
        )?;
        conn.execute(
            "UPDATE notification SET leased_until = NULL WHERE leased_until IS NOT NULL",
            [],
        )?;
        let depth: i64 = conn.query_row(PENDING_COUNT_SQL, [], |r| r.get(0))?;
        let depth = u64::try_from(depth).unwrap_or(0);
        let shared_depth = Arc::new(AtomicU64::new(depth));
        metrics.queue_depth.set(depth as i64);

        let (tx, rx) = mpsc::channel::<Command>();
        // The writer prepares its hot statements on its own thread (they borrow the
        // connection it owns there) and says whether it could before `open` returns.
        let (ready_tx, ready) = mpsc::sync_channel::<Result<(), StoreError>>(1);
        let batch_max = batch_max.max(1);
        let thread_depth = shared_depth.clone();
        let handle = std::thread::Builder::new()
            .name("ppgd-store-writer".into())
            .spawn(move || {
                let hot = match Hot::prepare(&conn) {
                    Ok(hot) => hot,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let writer = Writer {
                    conn: &conn,
                    hot,
                    depth,
                    queue_limit,
                    // Unknown until the first lease query: the store may hold a queue from before.
                    queue_ahead: true,
                    facts: HashMap::new(),
                };
                writer_loop(writer, rx, batch_max, metrics, thread_depth, lock)
            })
            .map_err(|e| StoreError::Backend(format!("cannot start the store writer: {e}")))?;
        ready.recv().map_err(|_| StoreError::Closed)??;

        Ok(SqliteStore {
            tx: Some(tx),
            writer: Some(handle),
            readers: Arc::new(ReadPool {
                path: db_path,
                idle: Mutex::new(Vec::new()),
            }),
            depth: shared_depth,
            queue_limit,
        })
    }

    /// The configured queue limit.
    pub fn queue_limit(&self) -> u64 {
        self.queue_limit
    }

    /// Runs `f` on the writer thread inside the next batch and waits for the batch's commit. `f`
    /// may run twice (see [`WriteCommand::run`]): it must take its inputs by reference.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut Writer<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, wait) = oneshot::channel();
        let cmd: Command = Box::new(Call {
            body: f,
            result: None,
            answer,
        });
        let tx = self.tx.as_ref().ok_or(StoreError::Closed)?;
        tx.send(cmd).map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a read connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get()?;
            let out = f(&conn);
            pool.put(conn);
            out
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store reader task failed: {e}")))?
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the channel ends the writer after the commands already sent; joining it
        // releases the lock file before drop returns, so the store can be reopened at once.
        self.tx.take();
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

fn writer_loop(
    mut w: Writer<'_>,
    rx: mpsc::Receiver<Command>,
    batch_max: usize,
    metrics: Metrics,
    shared_depth: Arc<AtomicU64>,
    _lock: File,
) {
    let mut batch: Vec<Command> = Vec::with_capacity(batch_max);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        // Woken by the first write of a batch, give the core back once before taking the rest.
        // Where this thread shares a core with the runtime's workers (one core, or every core
        // busy), the wake-up preempts the worker that is still turning ready requests into
        // writes, and the batch is the few queued so far. Smaller batches mean more commits,
        // each writing its WAL pages and syncing, so more CPU per push, a lower rate and
        // smaller batches again: scenario 1 at 128 requests in flight on one core settled at
        // 1,000-3,400 commits per 30,000 pushes and 39-69 us a push. Yielding lets the worker
        // run to its next wait first: 300-400 commits, 31-45 us (BENCHMARKS.md). On an idle
        // core the yield returns at once.
        std::thread::yield_now();
        while batch.len() < batch_max {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let size = batch.len();
        let depth_before = w.depth;
        let failure = match run_batch(&mut w, &mut batch, depth_before) {
            Err(BatchError::Begin(why)) => {
                batch.drain(..).for_each(|c| c.refuse(&why));
                Some(why)
            }
            Err(BatchError::Commit(why)) => Some(why),
            Ok(()) => None,
        };
        if failure.is_some() {
            // Nothing of this batch is stored: recount rather than trust the in-memory changes,
            // and let the next lease query decide whether anything waits.
            w.queue_ahead = true;
            w.facts.clear();
            w.depth = w
                .conn
                .query_row(PENDING_COUNT_SQL, [], |r| r.get::<_, i64>(0))
                .ok()
                .and_then(|d| u64::try_from(d).ok())
                .unwrap_or(depth_before);
        }
        metrics.store_commit_batch_size.observe(size as f64);
        metrics
            .store_commit_duration
            .observe(started.elapsed().as_secs_f64());
        shared_depth.store(w.depth, Ordering::Release);
        metrics.queue_depth.set(w.depth as i64);
        for c in batch.drain(..) {
            c.answer(failure.as_deref());
        }
        if let Some(e) = &failure {
            tracing::error!(error = %e, batch = size, "store commit failed; every write of the batch was refused");
        }
    }
}

enum BatchError {
    /// BEGIN failed: nothing ran.
    Begin(String),
    /// The batch ran but did not commit: nothing of it is stored.
    Commit(String),
}

/// Runs one batch in one transaction and commits it.
///
/// Every command first runs bare: a SAVEPOINT per command made SQLite copy each page a command
/// touched into its statement journal (3-5 % of ppgd's CPU per push in scenario 1, the
/// memmove of whole pages under `subjournalPageIfRequired`). A command that fails without
/// having changed a row (a duplicate push-id, a full queue: the usual failures) needs no
/// rollback. Only if one fails after changing rows is the batch rolled back and run again with
/// a SAVEPOINT per command, so that each command is still all or nothing.
fn run_batch(
    w: &mut Writer<'_>,
    batch: &mut [Command],
    depth_before: u64,
) -> Result<(), BatchError> {
    let queue_ahead_before = w.queue_ahead;
    w.hot
        .begin
        .execute([])
        .map_err(|e| BatchError::Begin(e.to_string()))?;
    let tainted = batch
        .iter_mut()
        .any(|c| c.run(w, RunMode::Bare) == RunOutcome::Tainted);
    if tainted {
        tracing::debug!(
            batch = batch.len(),
            "a store write failed after changing rows; redoing its batch with a savepoint per write"
        );
        if !w.conn.is_autocommit() {
            w.conn
                .execute_batch("ROLLBACK")
                .map_err(|e| BatchError::Commit(e.to_string()))?;
        }
        w.depth = depth_before;
        w.queue_ahead = queue_ahead_before;
        // The rowids the bare run learnt facts of may be given to other rows in the redo.
        w.facts.clear();
        w.hot
            .begin
            .execute([])
            .map_err(|e| BatchError::Commit(e.to_string()))?;
        for c in batch.iter_mut() {
            c.run(w, RunMode::Guarded);
        }
    }
    w.hot.commit.execute([]).map(|_| ()).map_err(|e| {
        let _ = w.conn.execute_batch("ROLLBACK");
        BatchError::Commit(e.to_string())
    })
}

/// Runs a parameterless statement through the statement cache (SAVEPOINT and RELEASE run for
/// every command of a batch redone guarded: parsing them each time showed in the writer's
/// profile).
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Turns on the query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`). Without it the
/// bundled SQLite (built with STAT4) plans a join on the values bound to its parameters and marks
/// the statement expired whenever they change, so a cached join such as `finish`'s
/// recipient→push lookup was parsed and planned again at every step (a fifth of the writer's CPU
/// in the scenario-1 profile). Our plans do not depend on the values: one plan per statement.
fn stable_plans(conn: &Connection) -> Result<(), StoreError> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

impl Writer<'_> {
    fn in_savepoint<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let depth = self.depth;
        run_cached(self.conn, "SAVEPOINT cmd")?;
        match f(self) {
            Ok(v) => {
                run_cached(self.conn, "RELEASE cmd")?;
                Ok(v)
            }
            Err(e) => {
                self.depth = depth;
                self.conn.execute_batch("ROLLBACK TO cmd; RELEASE cmd")?;
                Err(e)
            }
        }
    }

    fn insert_push(&mut self, p: &NewPush) -> Result<Vec<Job>, StoreError> {
        let n = p.recipients.len() as u64;
        if self.depth.saturating_add(n) > self.queue_limit {
            return Err(StoreError::QueueFull {
                depth: self.depth,
                limit: self.queue_limit,
            });
        }
        let inserted = self.hot.insert_push.execute(params![
            p.push_id,
            p.pi,
            p.pap_version,
            p.received_at.0,
            p.deliver_after.map(|t| t.0),
            p.deliver_before.map(|t| t.0),
            p.priority as i64,
            p.confirmed,
            p.notify_to,
            p.wsp_pdu,
        ]);
        if let Err(e) = inserted {
            if is_unique_violation(&e) {
                return Err(StoreError::DuplicatePushId {
                    push_id: p.push_id.clone(),
                });
            }
            return Err(e.into());
        }
        let push_row = self.conn.last_insert_rowid();
        let first_due = p.deliver_after.unwrap_or(p.received_at).0;
        // Leased at insert: what lease_due would have written (one attempt, started now); not
        // when recipients stored unleased may be waiting, which the push must not overtake.
        let lease_until = p.lease_until.filter(|_| !self.queue_ahead);
        let (leased_until, attempts, first_attempt_at) = match lease_until {
            Some(until) => (Some(until.0), 1, Some(p.received_at.0)),
            None => (None, 0, None),
        };
        let stmt = &mut self.hot.insert_recipient;
        let mut ids = Vec::with_capacity(if leased_until.is_some() {
            p.recipients.len()
        } else {
            0
        });
        for r in &p.recipients {
            stmt.execute(params![
                push_row,
                r.address,
                r.msisdn,
                PENDING_CODE,
                p.received_at.0,
                first_due,
                p.priority as i64,
                leased_until,
                attempts,
                first_attempt_at,
                p.deliver_before.map(|t| t.0),
            ])?;
            if leased_until.is_some() {
                ids.push(self.conn.last_insert_rowid());
            }
        }
        self.depth += n;
        if leased_until.is_none() {
            self.queue_ahead = true;
        }
        for (r, &id) in p.recipients.iter().zip(&ids) {
            self.remember(id, Facts::of_push(p, &r.address));
        }
        Ok(if leased_until.is_some() {
            p.leased_jobs(&ids)
        } else {
            Vec::new()
        })
    }

    fn lease_due(
        &mut self,
        now: UtcTime,
        limit: usize,
        lease_until: UtcTime,
    ) -> Result<Vec<Job>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let jobs = {
            let mut stmt = self.conn.prepare_cached(LEASE_DUE_SQL)?;
            let rows = stmt.query_map(params![now.0, limit], |r| {
                let notify = match r.get::<_, Option<String>>(11)? {
                    Some(url) => Some(Box::new((url, r.get::<_, String>(12)?))),
                    None => None,
                };
                let job = Job {
                    recipient_id: r.get(0)?,
                    push_id: r.get(1)?,
                    address: r.get(2)?,
                    msisdn: r.get(3)?,
                    received_at: UtcTime(r.get(4)?),
                    deliver_before: r.get::<_, Option<i64>>(5)?.map(UtcTime),
                    priority: priority_from(r.get(6)?),
                    confirmed: r.get(7)?,
                    wsp_pdu: r.get(8)?,
                    attempts: u32::try_from(r.get::<_, i64>(9)?).unwrap_or(u32::MAX),
                    first_attempt_at: r.get::<_, Option<i64>>(10)?.map(UtcTime),
                };
                Ok((job, notify))
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let mut stmt = self.conn.prepare_cached(
            "UPDATE recipient SET leased_until = ?2, attempts = attempts + 1,
                 first_attempt_at = COALESCE(first_attempt_at, ?3)
             WHERE id = ?1",
        )?;
        for (j, _) in &jobs {
            stmt.execute(params![j.recipient_id, lease_until.0, now.0])?;
        }
        drop(stmt);
        // Short: every due recipient was taken. Full: more may wait.
        self.queue_ahead = jobs.len() as i64 >= limit;
        Ok(jobs
            .into_iter()
            .map(|(job, notify)| {
                self.remember(
                    job.recipient_id,
                    Facts {
                        push_id: job.push_id.clone(),
                        address: job.address.clone(),
                        received_at: job.received_at.0,
                        notify,
                    },
                );
                job
            })
            .collect())
    }

    /// Keeps the facts of a recipient just stored leased or leased (see [`Facts`]).
    fn remember(&mut self, recipient_id: i64, facts: Facts) {
        if self.facts.len() >= FACTS_MAX {
            self.facts.clear();
        }
        self.facts.insert(recipient_id, facts);
    }

    fn record_submitted(
        &mut self,
        recipient_id: i64,
        smsc: &str,
        segments: &[SubmittedSegment],
        confirmed: bool,
        now: UtcTime,
    ) -> Result<Option<FinalEvent>, StoreError> {
        if !confirmed {
            // Final at once (already final or unknown: the outcome recorded first stands).
            return self.finish_from(
                recipient_id,
                Some(smsc),
                MessageState::Delivered,
                1000,
                &format!("accepted by SMSC {smsc}"),
                now,
            );
        }
        // Final only at its receipt, maybe hours away: not kept that long.
        self.facts.remove(&recipient_id);
        let changed = self.conn.prepare_cached(
            "UPDATE recipient SET submitted = 1, smsc = ?2, leased_until = NULL, updated_at = ?3,
                 description = ?4
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![
            recipient_id,
            smsc,
            now.0,
            format!("submitted to SMSC {smsc}, waiting for the delivery receipt")
        ])?;
        if changed == 0 {
            // Already final (or unknown): the outcome recorded first stands.
            return Ok(None);
        }
        // An SMSC may reuse a message_id once the old message is long gone: the newest
        // submission owns it.
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO segment (recipient, seqnum, smsc, message_id, outcome)
             VALUES (?1, ?2, ?3, ?4, NULL)
             ON CONFLICT (smsc, message_id) DO UPDATE SET
                 recipient = excluded.recipient, seqnum = excluded.seqnum, outcome = NULL",
        )?;
        for s in segments {
            stmt.execute(params![recipient_id, s.seqnum, smsc, s.message_id])?;
        }
        Ok(None)
    }

    fn record_retry(
        &mut self,
        recipient_id: i64,
        retry_at: UtcTime,
        desc: &str,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        // Leased again (and learnt again) at its next attempt.
        self.facts.remove(&recipient_id);
        self.conn
            .prepare_cached(
                "UPDATE recipient SET leased_until = NULL, next_attempt_at = ?2, description = ?3,
                     updated_at = ?4
                 WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![recipient_id, retry_at.0, desc, now.0])?;
        Ok(())
    }

    fn record_receipt(
        &mut self,
        rc: &ReceiptUpdate,
        now: UtcTime,
    ) -> Result<ReceiptMatch, StoreError> {
        let found: Option<(i64, String)> = self
            .conn
            .prepare_cached(
                "SELECT s.recipient, p.pap_version FROM segment s
                 JOIN recipient r ON r.id = s.recipient JOIN push p ON p.id = r.push
                 WHERE s.smsc = ?1 AND s.message_id = ?2",
            )?
            .query_row(params![rc.smsc, rc.message_id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((recipient_id, pap_version)) = found else {
            return Ok(ReceiptMatch::Unmatched);
        };
        let Some((outcome, state)) = rc.outcome.recipient_state(&pap_version) else {
            return Ok(ReceiptMatch::Recorded);
        };
        self.conn
            .prepare_cached("UPDATE segment SET outcome = ?3 WHERE smsc = ?1 AND message_id = ?2")?
            .execute(params![rc.smsc, rc.message_id, outcome])?;
        let event = if state == MessageState::Delivered {
            let outstanding: i64 = self
                .conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM segment
                     WHERE recipient = ?1 AND (outcome IS NULL OR outcome <> 'delivered')",
                )?
                .query_row(params![recipient_id], |r| r.get(0))?;
            if outstanding > 0 {
                return Ok(ReceiptMatch::Recorded);
            }
            self.finish(
                recipient_id,
                MessageState::Delivered,
                1000,
                &receipt_desc("delivered", &rc.detail),
                now,
            )?
        } else {
            // digest §6.5: a failed delivery is reported as 4000 with the SMSC's words in desc.
            self.finish(
                recipient_id,
                state,
                4000,
                &receipt_desc(outcome, &rc.detail),
                now,
            )?
        };
        Ok(match event {
            Some(e) => ReceiptMatch::Final(e),
            None => ReceiptMatch::Recorded,
        })
    }

    fn expire_due(
        &mut self,
        now: UtcTime,
        receipt_deadline: UtcTime,
    ) -> Result<Vec<FinalEvent>, StoreError> {
        let expired: Vec<i64> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id FROM recipient INDEXED BY recipient_deliver_before
                 WHERE deliver_before IS NOT NULL AND deliver_before < ?1
                   AND state = 'pending' AND submitted = 0
                   AND (leased_until IS NULL OR leased_until <= ?1)
                 ORDER BY id",
            )?;
            let rows = stmt.query_map(params![now.0], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        // Only confirmed recipients wait after submission (others are final at submit); the
        // wait counts from the submission (updated_at is set then and not moved by receipts).
        let timed_out: Vec<i64> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id FROM recipient INDEXED BY recipient_waiting
                 WHERE state = 'pending' AND submitted = 1 AND updated_at < ?1
                 ORDER BY id",
            )?;
            let rows = stmt.query_map(params![receipt_deadline.0], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut events = Vec::with_capacity(expired.len() + timed_out.len());
        for id in expired {
            if let Some(e) = self.finish(
                id,
                MessageState::Expired,
                4000,
                "deliver-before-timestamp passed before the message could be submitted",
                now,
            )? {
                events.push(e);
            }
        }
        for id in timed_out {
            if let Some(e) = self.finish(
                id,
                MessageState::Timeout,
                4000,
                "no delivery receipt from the SMSC in time",
                now,
            )? {
                events.push(e);
            }
        }
        Ok(events)
    }

    fn cancel(
        &mut self,
        push_id: &str,
        addresses: &[String],
        now: UtcTime,
    ) -> Result<Option<Vec<CancelOutcome>>, StoreError> {
        let Some(push_row) = self.push_row(push_id)? else {
            return Ok(None);
        };
        let rows: Vec<(i64, String, String, bool, Option<i64>)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, address, state, submitted, leased_until FROM recipient
                 WHERE push = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map(params![push_row], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::new();
        for (id, address, state, submitted, leased_until) in rows {
            if !addresses.is_empty() && !addresses.contains(&address) {
                continue;
            }
            let leased = leased_until.is_some_and(|t| t > now.0);
            let event = if state == MessageState::Pending.as_str() && !submitted && !leased {
                self.finish(
                    id,
                    MessageState::Cancelled,
                    1000,
                    "cancelled by the push initiator",
                    now,
                )?
            } else {
                None
            };
            out.push(CancelOutcome {
                address,
                cancelled: event.is_some(),
                event,
            });
        }
        Ok(Some(out))
    }

    fn notifications_due(
        &mut self,
        now: UtcTime,
        limit: usize,
        lease_until: UtcTime,
    ) -> Result<Vec<Notification>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let due = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT id, url, push_id, pap_version, address, state, code, description,
                        received_at, event_at, attempts, created_at
                 FROM notification
                 WHERE next_attempt_at <= ?1 AND (leased_until IS NULL OR leased_until <= ?1)
                 ORDER BY next_attempt_at, id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now.0, limit], |r| {
                let state: String = r.get(5)?;
                Ok(Notification {
                    id: r.get(0)?,
                    url: r.get(1)?,
                    push_id: r.get(2)?,
                    pap_version: r.get(3)?,
                    address: r.get(4)?,
                    state: MessageState::parse(&state).unwrap_or(MessageState::Unknown),
                    code: r.get(6)?,
                    desc: r.get(7)?,
                    received_at: UtcTime(r.get(8)?),
                    event_at: UtcTime(r.get(9)?),
                    attempts: u32::try_from(r.get::<_, i64>(10)?).unwrap_or(u32::MAX),
                    created_at: UtcTime(r.get(11)?),
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let mut stmt = self.conn.prepare_cached(
            "UPDATE notification SET leased_until = ?2, attempts = attempts + 1 WHERE id = ?1",
        )?;
        for n in &due {
            stmt.execute(params![n.id, lease_until.0])?;
        }
        Ok(due)
    }

    fn cleanup(&mut self, before: UtcTime) -> Result<u64, StoreError> {
        // A push is forgotten once every recipient of it is final since before `before` (their
        // updated_at is the time of the final transition); one without recipients, once
        // received before. Nothing marks a push final on the hot path (schema V3): this reads
        // the old pushes (push_received_at) and their recipients (recipient_push). ON DELETE
        // CASCADE removes the recipients and their segments.
        let n = self
            .conn
            .prepare_cached(
                "DELETE FROM push
                 WHERE received_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM recipient r
                                   WHERE r.push = push.id
                                     AND (r.state = 'pending' OR r.updated_at >= ?1))",
            )?
            .execute(params![before.0])?;
        Ok(n as u64)
    }

    fn push_row(&self, push_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM push WHERE push_id = ?1")?
            .query_row(params![push_id], |r| r.get(0))
            .optional()?)
    }

    /// The one way a recipient becomes final: sets the state, queues the result notification
    /// when the push asked for one. (Nothing marks the push: the cleanup asks its recipients.)
    /// None when the recipient is unknown or already final (the first outcome stands).
    fn finish(
        &mut self,
        recipient_id: i64,
        state: MessageState,
        code: u16,
        desc: &str,
        now: UtcTime,
    ) -> Result<Option<FinalEvent>, StoreError> {
        self.finish_from(recipient_id, None, state, code, desc, now)
    }

    /// Makes a pending recipient final. `submitted_to` is the SMSC when the submission itself is
    /// the final state (a push not asking for confirmed delivery is final once the SMSC took
    /// it): one UPDATE then marks it submitted and final.
    fn finish_from(
        &mut self,
        recipient_id: i64,
        submitted_to: Option<&str>,
        state: MessageState,
        code: u16,
        desc: &str,
        now: UtcTime,
    ) -> Result<Option<FinalEvent>, StoreError> {
        if !state.is_final() {
            return Err(StoreError::Backend(format!(
                "recipient {recipient_id}: {} is not a final state",
                state.as_str()
            )));
        }
        let changed = match submitted_to {
            None => {
                self.hot
                    .finish
                    .execute(params![recipient_id, state.as_str(), code, desc, now.0])?
            }
            Some(smsc) => self.hot.finish_submitted.execute(params![
                recipient_id,
                state.as_str(),
                code,
                desc,
                now.0,
                smsc
            ])?,
        };
        let known = self.facts.remove(&recipient_id);
        if changed == 0 {
            return Ok(None);
        }
        self.depth = self.depth.saturating_sub(1);
        let Facts {
            push_id,
            address,
            received_at,
            notify,
        } = match known {
            Some(facts) => facts,
            None => self
                .conn
                .prepare_cached(
                    "SELECT p.push_id, p.pap_version, p.notify_to, p.received_at, r.address
                     FROM recipient r JOIN push p ON p.id = r.push WHERE r.id = ?1",
                )?
                .query_row(params![recipient_id], |r| {
                    let notify = match r.get::<_, Option<String>>(2)? {
                        Some(url) => Some(Box::new((url, r.get::<_, String>(1)?))),
                        None => None,
                    };
                    Ok(Facts {
                        push_id: r.get(0)?,
                        address: r.get(4)?,
                        received_at: r.get(3)?,
                        notify,
                    })
                })?,
        };
        if let Some(notify) = notify {
            let (url, pap_version) = *notify;
            self.conn
                .prepare_cached(
                    "INSERT INTO notification (url, push_id, pap_version, address, state, code,
                         description, received_at, event_at, attempts, next_attempt_at, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?9, ?9)",
                )?
                .execute(params![
                    url,
                    push_id,
                    pap_version,
                    address,
                    state.as_str(),
                    code,
                    desc,
                    received_at,
                    now.0
                ])?;
        }
        Ok(Some(FinalEvent {
            push_id,
            address,
            state,
            code,
            desc: desc.to_string(),
            received_at: UtcTime(received_at),
            at: now,
        }))
    }
}

fn receipt_desc(outcome: &str, detail: &str) -> String {
    if detail.is_empty() {
        format!("{outcome} (delivery receipt)")
    } else {
        format!("{outcome} (delivery receipt: {detail})")
    }
}

fn priority_from(v: i64) -> Priority {
    match v {
        0 => Priority::High,
        1 => Priority::Medium,
        _ => Priority::Low,
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

fn read_status(
    conn: &Connection,
    push_id: &str,
    addresses: &[String],
) -> Result<Option<Vec<RecipientStatus>>, StoreError> {
    let push_row: Option<i64> = conn
        .prepare_cached("SELECT id FROM push WHERE push_id = ?1")?
        .query_row(params![push_id], |r| r.get(0))
        .optional()?;
    let Some(push_row) = push_row else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT address, state, code, description, updated_at FROM recipient
         WHERE push = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![push_row], |r| {
        let state: String = r.get(1)?;
        Ok(RecipientStatus {
            address: r.get(0)?,
            state: MessageState::parse(&state).unwrap_or(MessageState::Unknown),
            code: r.get(2)?,
            desc: r.get(3)?,
            updated_at: UtcTime(r.get(4)?),
        })
    })?;
    let mut out = Vec::new();
    for row in rows {
        let s = row?;
        if addresses.is_empty() || addresses.contains(&s.address) {
            out.push(s);
        }
    }
    Ok(Some(out))
}

fn read_oldest_unsubmitted(conn: &Connection) -> Result<Option<UtcTime>, StoreError> {
    // One index seek per priority on recipient_lease instead of a scan of the whole queue.
    let oldest: Option<i64> = conn
        .prepare_cached(
            "SELECT MIN(t) FROM (
                 SELECT (SELECT received_at FROM recipient
                         WHERE state = 'pending' AND submitted = 0 AND priority = k.p
                         ORDER BY received_at LIMIT 1) AS t
                 FROM (SELECT 0 AS p UNION ALL SELECT 1 UNION ALL SELECT 2) k)",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(oldest.map(UtcTime))
}

impl PushStore for SqliteStore {
    async fn insert_push(&self, push: NewPush) -> Result<Vec<Job>, StoreError> {
        self.write(move |w| w.insert_push(&push)).await
    }

    /// The writer runs inserts and lease queries in one order (see `Writer::queue_ahead`).
    fn orders_fast_path(&self) -> bool {
        true
    }

    async fn lease_due(
        &self,
        now: UtcTime,
        limit: usize,
        lease_until: UtcTime,
    ) -> Result<Vec<Job>, StoreError> {
        self.write(move |w| w.lease_due(now, limit, lease_until))
            .await
    }

    async fn record_submitted(
        &self,
        recipient_id: i64,
        smsc: &str,
        segments: Vec<SubmittedSegment>,
        confirmed: bool,
        now: UtcTime,
    ) -> Result<Option<FinalEvent>, StoreError> {
        let smsc = smsc.to_string();
        self.write(move |w| w.record_submitted(recipient_id, &smsc, &segments, confirmed, now))
            .await
    }

    async fn record_retry(
        &self,
        recipient_id: i64,
        retry_at: UtcTime,
        desc: &str,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        let desc = desc.to_string();
        self.write(move |w| w.record_retry(recipient_id, retry_at, &desc, now))
            .await
    }

    async fn record_final(
        &self,
        recipient_id: i64,
        state: MessageState,
        code: u16,
        desc: &str,
        now: UtcTime,
    ) -> Result<Option<FinalEvent>, StoreError> {
        let desc = desc.to_string();
        self.write(move |w| w.finish(recipient_id, state, code, &desc, now))
            .await
    }

    async fn record_receipt(
        &self,
        receipt: ReceiptUpdate,
        now: UtcTime,
    ) -> Result<ReceiptMatch, StoreError> {
        self.write(move |w| w.record_receipt(&receipt, now)).await
    }

    async fn expire_due(
        &self,
        now: UtcTime,
        receipt_deadline: UtcTime,
    ) -> Result<Vec<FinalEvent>, StoreError> {
        self.write(move |w| w.expire_due(now, receipt_deadline))
            .await
    }

    async fn status(
        &self,
        push_id: &str,
        addresses: &[String],
    ) -> Result<Option<Vec<RecipientStatus>>, StoreError> {
        let push_id = push_id.to_string();
        let addresses = addresses.to_vec();
        self.read(move |c| read_status(c, &push_id, &addresses))
            .await
    }

    async fn cancel(
        &self,
        push_id: &str,
        addresses: &[String],
        now: UtcTime,
    ) -> Result<Option<Vec<CancelOutcome>>, StoreError> {
        let push_id = push_id.to_string();
        let addresses = addresses.to_vec();
        self.write(move |w| w.cancel(&push_id, &addresses, now))
            .await
    }

    async fn notifications_due(
        &self,
        now: UtcTime,
        limit: usize,
        lease_until: UtcTime,
    ) -> Result<Vec<Notification>, StoreError> {
        self.write(move |w| w.notifications_due(now, limit, lease_until))
            .await
    }

    async fn notification_done(&self, id: i64, _delivered: bool) -> Result<(), StoreError> {
        self.write(move |w| {
            w.conn
                .prepare_cached("DELETE FROM notification WHERE id = ?1")?
                .execute(params![id])?;
            Ok(())
        })
        .await
    }

    async fn notification_retry(&self, id: i64, retry_at: UtcTime) -> Result<(), StoreError> {
        self.write(move |w| {
            w.conn
                .prepare_cached(
                    "UPDATE notification SET leased_until = NULL, next_attempt_at = ?2
                     WHERE id = ?1",
                )?
                .execute(params![id, retry_at.0])?;
            Ok(())
        })
        .await
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let depth = self.depth.load(Ordering::Acquire);
        let oldest_unsubmitted = self.read(read_oldest_unsubmitted).await?;
        Ok(QueueStats {
            depth,
            oldest_unsubmitted,
        })
    }

    async fn cleanup(&self, before: UtcTime) -> Result<u64, StoreError> {
        self.write(move |w| w.cleanup(before)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewRecipient, Priority};

    fn one_recipient_push(push_id: &str) -> NewPush {
        NewPush {
            push_id: push_id.to_string(),
            pi: "mmsc".to_string(),
            pap_version: "2.0".to_string(),
            received_at: UtcTime(0),
            deliver_after: None,
            deliver_before: None,
            priority: Priority::Medium,
            confirmed: false,
            notify_to: None,
            wsp_pdu: vec![0x06, 0x01, 0xbe],
            recipients: vec![NewRecipient {
                address: "WAPPUSH=+1/TYPE=PLMN@ppg.example".into(),
                msisdn: "1".into(),
            }],
            lease_until: None,
        }
    }

    /// The fast path's order, judged by the writer: a push with `lease_until` is stored leased
    /// only when no recipient stored unleased is waiting for a lease query, whatever the
    /// dispatcher believed when it asked; a lease query that came back short clears the queue,
    /// a full one does not, and a push stored unleased (or one refused) starts it again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_push_leased_at_insert_never_overtakes_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), 100, 64, Metrics::new()).unwrap();
        assert!(store.orders_fast_path());
        let leased = |id: &str| {
            let mut p = one_recipient_push(id);
            p.received_at = UtcTime::now();
            p.lease_until = Some(p.received_at.plus_secs(30));
            p
        };
        let due = |id: &str| {
            let mut p = one_recipient_push(id);
            p.received_at = UtcTime::now();
            p
        };
        let lease = |limit| store.lease_due(UtcTime::now(), limit, UtcTime::now().plus_secs(30));
        // A fresh store may hold a queue from before: unknown until the first lease query.
        assert!(store.insert_push(leased("a")).await.unwrap().is_empty());
        assert_eq!(lease(10).await.unwrap().len(), 1);
        assert_eq!(store.insert_push(leased("b")).await.unwrap().len(), 1);
        // A push stored unleased puts the next one behind it.
        store.insert_push(due("c")).await.unwrap();
        store.insert_push(due("d")).await.unwrap();
        assert!(store.insert_push(leased("e")).await.unwrap().is_empty());
        // Full (two of three taken): still behind.
        assert_eq!(lease(2).await.unwrap().len(), 2);
        assert!(store.insert_push(leased("f")).await.unwrap().is_empty());
        // Short: every due recipient taken.
        assert_eq!(lease(10).await.unwrap().len(), 2);
        assert_eq!(store.insert_push(leased("g")).await.unwrap().len(), 1);
        // A refused insert changes nothing.
        assert!(matches!(
            store.insert_push(leased("g")).await,
            Err(StoreError::DuplicatePushId { .. })
        ));
        assert_eq!(store.insert_push(leased("h")).await.unwrap().len(), 1);
    }

    /// A final transition reports the same facts (event and result notification) whether the
    /// writer knew them from storing the recipient leased, from leasing it, or reads them back
    /// (a recipient it never leased, finished while queued: as a cancel or an expiry does).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_final_event_is_the_same_whether_the_writer_kept_its_facts_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path(), 100, 64, Metrics::new()).unwrap();
        let now = UtcTime::now();
        let push = |id: &str, leased: bool| {
            let mut p = one_recipient_push(id);
            p.received_at = now;
            p.pap_version = "1.0".into();
            p.notify_to = Some(format!("http://pi.example/{id}"));
            p.recipients[0].address = format!("WAPPUSH=+4917{id}/TYPE=PLMN");
            p.lease_until = leased.then(|| now.plus_secs(30));
            p
        };
        // Nothing queued yet, as far as the writer knows, once a lease query came back short.
        assert!(store.lease_due(now, 10, now).await.unwrap().is_empty());
        let at_insert = store.insert_push(push("1", true)).await.unwrap();
        assert_eq!(at_insert.len(), 1);
        store.insert_push(push("2", false)).await.unwrap();
        let by_query = store.lease_due(now, 1, now.plus_secs(30)).await.unwrap();
        assert_eq!(by_query[0].push_id, "2");
        store.insert_push(push("3", false)).await.unwrap();
        let (a, b) = (at_insert[0].recipient_id, by_query[0].recipient_id);
        let kept = store
            .write(move |w| Ok(w.facts.contains_key(&a) && w.facts.contains_key(&b)))
            .await
            .unwrap();
        assert!(kept, "the facts of both leased recipients are kept");
        let segs = || {
            vec![SubmittedSegment {
                seqnum: 1,
                message_id: "m".into(),
            }]
        };
        let mut events = vec![
            store
                .record_submitted(at_insert[0].recipient_id, "sim", segs(), false, now)
                .await
                .unwrap()
                .unwrap(),
            store
                .record_submitted(by_query[0].recipient_id, "sim", segs(), false, now)
                .await
                .unwrap()
                .unwrap(),
        ];
        let third = store
            .write(move |w| {
                let id: i64 = w.conn.query_row(
                    "SELECT r.id FROM recipient r JOIN push p ON p.id = r.push
                     WHERE p.push_id = '3'",
                    [],
                    |r| r.get(0),
                )?;
                assert!(!w.facts.contains_key(&id), "never leased: nothing kept");
                w.finish(
                    id,
                    MessageState::Delivered,
                    1000,
                    "accepted by SMSC sim",
                    now,
                )
            })
            .await
            .unwrap()
            .unwrap();
        events.push(third);
        let mut notes = store
            .notifications_due(now, 10, now.plus_secs(30))
            .await
            .unwrap();
        notes.sort_by(|a, b| a.push_id.cmp(&b.push_id));
        assert_eq!(notes.len(), 3);
        for (i, (ev, note)) in events.iter().zip(&notes).enumerate() {
            let id = (i + 1).to_string();
            let address = format!("WAPPUSH=+4917{id}/TYPE=PLMN");
            assert_eq!(
                (ev.push_id.as_str(), ev.address.as_str()),
                (id.as_str(), address.as_str())
            );
            assert_eq!(
                (ev.received_at, ev.state, ev.code),
                (now, MessageState::Delivered, 1000)
            );
            assert_eq!(ev.desc, "accepted by SMSC sim");
            assert_eq!(note.url, format!("http://pi.example/{id}"));
            assert_eq!(
                (note.push_id.as_str(), note.address.as_str()),
                (id.as_str(), address.as_str())
            );
            assert_eq!((note.pap_version.as_str(), note.received_at), ("1.0", now));
        }
        let left = store.write(|w| Ok(w.facts.len())).await.unwrap();
        assert_eq!(left, 0, "nothing kept once final");
    }

    /// A store written by a ppgd before schema V3 (pushes marked final by `final_at`, the
    /// deadline on the push only) opens, and its rows keep their meaning: a pending recipient's
    /// deliver-before (backfilled) still expires it, a push final before the retention time is
    /// still forgotten, a pending one is kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_v2_store_upgrades_with_deadlines_and_retention_kept() {
        let dir = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
            conn.execute_batch(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,
                     applied_at INTEGER NOT NULL)",
            )
            .unwrap();
            for (v, ddl) in schema::MIGRATIONS.iter().filter(|(v, _)| *v <= 2) {
                conn.execute_batch(ddl).unwrap();
                conn.execute("INSERT INTO schema_version VALUES (?1, 0)", [v])
                    .unwrap();
            }
            conn.execute_batch(
                "INSERT INTO push (push_id, pi, pap_version, received_at, deliver_before,
                     priority, confirmed, wsp_pdu, final_at)
                 VALUES ('old-pending', 'mmsc', '2.0', 0, 5, 1, 0, x'00', NULL),
                        ('old-final', 'mmsc', '2.0', 0, NULL, 1, 0, x'00', 1);
                 INSERT INTO recipient (push, address, msisdn, state, code, description,
                     updated_at, next_attempt_at, priority, received_at)
                 SELECT id, '+491700000001', '491700000001',
                     CASE WHEN final_at IS NULL THEN 'pending' ELSE 'delivered' END,
                     1001, 'x', 0, 0, 1, 0
                 FROM push;",
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path(), 100, 256, Metrics::new()).unwrap();
        let version: i64 = Connection::open(dir.path().join(DB_FILE))
            .unwrap()
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, schema::MIGRATIONS.last().unwrap().0);
        assert_eq!(store.queue_stats().await.unwrap().depth, 1);
        assert!(
            store
                .expire_due(UtcTime(4), UtcTime(-100))
                .await
                .unwrap()
                .is_empty()
        );
        let expired = store.expire_due(UtcTime(6), UtcTime(-100)).await.unwrap();
        assert_eq!(expired.len(), 1);
        assert_eq!(
            (expired[0].push_id.as_str(), expired[0].state),
            ("old-pending", MessageState::Expired)
        );
        assert_eq!(
            store.cleanup(UtcTime(2)).await.unwrap(),
            1,
            "old-final forgotten"
        );
        assert!(store.status("old-final", &[]).await.unwrap().is_none());
        assert!(store.status("old-pending", &[]).await.unwrap().is_some());
    }

    /// A write that fails after changing rows, in a batch with others: the batch is redone
    /// with a savepoint per write, so the failing write leaves nothing behind (and its depth
    /// change is undone) while every other write of the batch commits; a write failing before
    /// any change (a duplicate push-id) fails alone in the bare pass.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn write_failing_after_changes_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path(), 1000, 256, Metrics::new()).unwrap());
        store.insert_push(one_recipient_push("dup")).await.unwrap();
        // Holds the writer so that everything below queues up for one batch.
        let gate = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(|_| {
                        std::thread::sleep(Duration::from_millis(200));
                        Ok(())
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut tasks = Vec::new();
        for i in 0..30 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                match i % 10 {
                    // Inserts a whole push, then fails.
                    3 => {
                        let p = one_recipient_push(&format!("half-{i}"));
                        store
                            .write(move |w| {
                                w.insert_push(&p)?;
                                Err::<(), _>(StoreError::Backend("failed on purpose".into()))
                            })
                            .await
                            .map(|_| Vec::new())
                    }
                    7 => store.insert_push(one_recipient_push("dup")).await,
                    _ => {
                        store
                            .insert_push(one_recipient_push(&format!("ok-{i}")))
                            .await
                    }
                }
            }));
        }
        gate.await.unwrap().unwrap();
        let mut outcomes = (0, 0, 0);
        for (i, task) in tasks.into_iter().enumerate() {
            match (i % 10, task.await.unwrap()) {
                (3, Err(StoreError::Backend(e))) if e.contains("on purpose") => outcomes.0 += 1,
                (7, Err(StoreError::DuplicatePushId { .. })) => outcomes.1 += 1,
                (_, Ok(_)) => outcomes.2 += 1,
                (_, other) => panic!("write {i}: unexpected {other:?}"),
            }
        }
        assert_eq!(outcomes, (3, 3, 24));
        for i in 0..30 {
            let found = store.status(&format!("half-{i}"), &[]).await.unwrap();
            assert!(found.is_none(), "half-{i} was rolled back");
            if i % 10 != 3 && i % 10 != 7 {
                let found = store.status(&format!("ok-{i}"), &[]).await.unwrap();
                assert!(found.is_some(), "ok-{i} committed");
            }
        }
        // "dup" and the 24 others; the failed writes' recipients are not counted.
        assert_eq!(store.queue_stats().await.unwrap().depth, 25);
        let reopened = {
            drop(Arc::try_unwrap(store).ok().expect("no other owner"));
            SqliteStore::open(dir.path(), 1000, 256, Metrics::new()).unwrap()
        };
        assert_eq!(reopened.queue_stats().await.unwrap().depth, 25);
    }

    /// The writer's hot join must keep its plan across bindings (see [`stable_plans`]): a
    /// statement re-prepared at every step costs a parse and a plan per final transition.
    #[test]
    fn cached_join_is_not_reprepared_for_new_bindings() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("plans.db")).unwrap();
        stable_plans(&conn).unwrap();
        schema::migrate(&mut conn, UtcTime(0)).unwrap();
        conn.execute_batch(
            "INSERT INTO push (id, push_id, pi, pap_version, received_at, priority, confirmed,
                 wsp_pdu) VALUES (1, 'a', 'pi', '2.0', 0, 0, 0, x'00'), (2, 'b', 'pi', '2.0', 0, 0, 0, x'00');
             INSERT INTO recipient (id, push, address, msisdn, state, code, description,
                 updated_at, next_attempt_at, priority, received_at)
             VALUES (1, 1, 'a', '1', 'pending', 1001, '', 0, 0, 0, 0),
                    (2, 2, 'b', '2', 'pending', 1001, '', 0, 0, 0, 0);",
        )
        .unwrap();
        let sql = "SELECT p.id, p.push_id, r.address FROM recipient r JOIN push p ON p.id = r.push
                   WHERE r.id = ?1";
        for id in [1i64, 2, 1, 2] {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let push: i64 = stmt.query_row([id], |r| r.get(0)).unwrap();
            assert_eq!(push, id);
            assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
        }
    }
}
