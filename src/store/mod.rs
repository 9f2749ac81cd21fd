//! The durable push store. One trait, [`PushStore`]; the embedded SQLite backend
//! ([`sqlite::SqliteStore`]) is the default, the PostgreSQL backend ([`postgres::PgStore`]) lets
//! several instances share one queue. [`AnyStore`] is the one the config chose.
//!
//! Rules every backend keeps:
//! - `insert_push` returns only after the push is committed and synced (it is then answered 1001);
//!   concurrent calls share one commit (group commit).
//! - a recipient leaves the queue only through a recorded outcome (`record_*`, `expire_due`,
//!   `cancel`); a lease that is never resolved comes back after it runs out (or at start).
//! - every transition to a final state, when the push asked for a result notification, enqueues
//!   the notification in the same transaction.

pub mod postgres;
pub mod sqlite;

use std::future::Future;

use crate::util::UtcTime;

/// PAP message-state (WAP-247 §9.14), as stored and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    /// Accepted, queued or submitted and waiting for a receipt.
    Pending,
    Delivered,
    Undeliverable,
    Expired,
    Cancelled,
    Aborted,
    Timeout,
    Rejected,
    Unknown,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Delivered => "delivered",
            MessageState::Undeliverable => "undeliverable",
            MessageState::Expired => "expired",
            MessageState::Cancelled => "cancelled",
            MessageState::Aborted => "aborted",
            MessageState::Timeout => "timeout",
            MessageState::Rejected => "rejected",
            MessageState::Unknown => "unknown",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => MessageState::Pending,
            "delivered" => MessageState::Delivered,
            "undeliverable" => MessageState::Undeliverable,
            "expired" => MessageState::Expired,
            "cancelled" => MessageState::Cancelled,
            "aborted" => MessageState::Aborted,
            "timeout" => MessageState::Timeout,
            "rejected" => MessageState::Rejected,
            "unknown" => MessageState::Unknown,
            _ => return None,
        })
    }
    pub fn is_final(self) -> bool {
        !matches!(self, MessageState::Pending)
    }
}

/// quality-of-service priority; lower sorts first in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    High = 0,
    Medium = 1,
    Low = 2,
}

/// A push accepted from a PI, to be stored before it is answered.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPush {
    pub push_id: String,
    /// The PI account name.
    pub pi: String,
    /// "1.0" or "2.0": answers and notifications use the PI's PAP version.
    pub pap_version: String,
    pub received_at: UtcTime,
    pub deliver_after: Option<UtcTime>,
    pub deliver_before: Option<UtcTime>,
    pub priority: Priority,
    /// delivery-method confirmed: ask for receipts; final when every segment's receipt is in.
    pub confirmed: bool,
    /// ppg-notify-requested-to.
    pub notify_to: Option<String>,
    /// The compiled WSP Push PDU (content type, headers, body), without the TID octet.
    pub wsp_pdu: Vec<u8>,
    pub recipients: Vec<NewRecipient>,
    /// Some: the push is stored already leased to this instance until then (the dispatcher's
    /// fast path): each recipient as `lease_due` would have left it (attempts 1, first attempt
    /// at `received_at`), so no lease query has to find it, and `insert_push` returns its jobs.
    /// Only for a push due at once (no `deliver_after` in the future).
    pub lease_until: Option<UtcTime>,
}

impl NewPush {
    /// The jobs of a push stored leased, given its recipient ids in the order of `recipients`:
    /// what `lease_due` would have returned for them (no attempt before this one).
    fn leased_jobs(&self, ids: &[i64]) -> Vec<Job> {
        debug_assert_eq!(ids.len(), self.recipients.len());
        self.recipients
            .iter()
            .zip(ids)
            .map(|(r, &recipient_id)| Job {
                recipient_id,
                push_id: self.push_id.clone(),
                address: r.address.clone(),
                msisdn: r.msisdn.clone(),
                received_at: self.received_at,
                deliver_before: self.deliver_before,
                priority: self.priority,
                confirmed: self.confirmed,
                wsp_pdu: self.wsp_pdu.clone(),
                attempts: 0,
                first_attempt_at: None,
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecipient {
    /// The PAP address-value as the PI wrote it (reported back verbatim).
    pub address: String,
    /// The SMPP destination: E.164 digits without `+`.
    pub msisdn: String,
}

/// Why `insert_push` refused.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("push-id {push_id:?} is already in use")]
    DuplicatePushId { push_id: String },
    #[error("the queue is full ({depth} recipients pending, limit {limit})")]
    QueueFull { depth: u64, limit: u64 },
    #[error("the store is closed")]
    Closed,
    #[error("store backend: {0}")]
    Backend(String),
}

/// A recipient leased to this instance for submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub recipient_id: i64,
    pub push_id: String,
    pub address: String,
    pub msisdn: String,
    pub received_at: UtcTime,
    pub deliver_before: Option<UtcTime>,
    pub priority: Priority,
    pub confirmed: bool,
    pub wsp_pdu: Vec<u8>,
    /// Attempts made before this one.
    pub attempts: u32,
    /// When the first attempt started (for the transient-retry deadline).
    pub first_attempt_at: Option<UtcTime>,
}

/// One segment accepted by an SMSC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedSegment {
    /// 1-based.
    pub seqnum: u32,
    pub message_id: String,
}

/// A recipient reaching a final state (for metrics, logs and the notification already queued).
#[derive(Debug, Clone, PartialEq)]
pub struct FinalEvent {
    pub push_id: String,
    pub address: String,
    pub state: MessageState,
    pub code: u16,
    pub desc: String,
    pub received_at: UtcTime,
    pub at: UtcTime,
}

/// A delivery receipt as the SMPP layer parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptUpdate {
    pub smsc: String,
    pub message_id: String,
    /// The outcome of this one segment.
    pub outcome: ReceiptOutcome,
    /// What the SMSC said, for the PAP desc (e.g. "stat:UNDELIV err:075").
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptOutcome {
    /// Intermediate (ENROUTE, ACCEPTD, BUFFRED, SCHEDULED): nothing changes.
    Intermediate,
    Delivered,
    Expired,
    Undeliverable,
    Deleted,
    Rejected,
    Unknown,
}

impl ReceiptOutcome {
    /// What a receipt does to its segment and recipient (digest §6.5): the outcome stored on the
    /// segment and the PAP message-state it means for the recipient; None for an intermediate
    /// receipt, which changes nothing. `rejected` exists in PAP 2.x only (digest §1.6), so a
    /// PAP 1.0 push reports it as undeliverable. Deleted means undeliverable: ppgd never sends
    /// cancel_sm, so a deletion is not the PI's cancel.
    pub fn recipient_state(self, pap_version: &str) -> Option<(&'static str, MessageState)> {
        Some(match self {
            ReceiptOutcome::Intermediate => return None,
            ReceiptOutcome::Delivered => ("delivered", MessageState::Delivered),
            ReceiptOutcome::Expired => ("expired", MessageState::Expired),
            ReceiptOutcome::Undeliverable => ("undeliverable", MessageState::Undeliverable),
            ReceiptOutcome::Deleted => ("deleted", MessageState::Undeliverable),
            ReceiptOutcome::Rejected if pap_version.starts_with('1') => {
                ("rejected", MessageState::Undeliverable)
            }
            ReceiptOutcome::Rejected => ("rejected", MessageState::Rejected),
            ReceiptOutcome::Unknown => ("unknown", MessageState::Unknown),
        })
    }
}

/// What a receipt did to its push.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiptMatch {
    /// No submitted segment has this (smsc, message_id).
    Unmatched,
    /// Matched; the recipient is not final yet (other segments outstanding, or intermediate).
    Recorded,
    /// Matched and the recipient became final.
    Final(FinalEvent),
}

/// The state of one recipient for statusquery.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientStatus {
    pub address: String,
    pub state: MessageState,
    pub code: u16,
    pub desc: String,
    pub updated_at: UtcTime,
}

/// cancel-message's answer for one recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct CancelOutcome {
    pub address: String,
    /// true: cancelled now (1000); false: already submitted or final (2008).
    pub cancelled: bool,
    pub event: Option<FinalEvent>,
}

/// A result notification waiting to be POSTed.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub url: String,
    pub push_id: String,
    pub pap_version: String,
    pub address: String,
    pub state: MessageState,
    pub code: u16,
    pub desc: String,
    pub received_at: UtcTime,
    pub event_at: UtcTime,
    pub attempts: u32,
    pub created_at: UtcTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Recipients not final.
    pub depth: u64,
    /// received_at of the oldest recipient not yet submitted.
    pub oldest_unsubmitted: Option<UtcTime>,
}

/// The durable store. All methods are durable when they return Ok.
pub trait PushStore: Send + Sync + 'static {
    /// Stores a push with its recipients (state pending), synced. Refuses a push-id still
    /// remembered (retention) and a push that would take the queue past `queue_limit`.
    /// With `push.lease_until` set the recipients are stored leased and their jobs returned, in
    /// the order of `push.recipients`; otherwise the Vec is empty. A store that
    /// [orders the fast path](Self::orders_fast_path) may store such a push unleased all the
    /// same (empty Vec): the caller then treats it as queued.
    fn insert_push(
        &self,
        push: NewPush,
    ) -> impl Future<Output = Result<Vec<Job>, StoreError>> + Send;

    /// Leases up to `limit` due recipients: pending, not submitted, not leased (or lease run
    /// out), `deliver_after` and next attempt time reached; ordered by priority then age.
    fn lease_due(
        &self,
        now: UtcTime,
        limit: usize,
        lease_until: UtcTime,
    ) -> impl Future<Output = Result<Vec<Job>, StoreError>> + Send;

    /// Every segment was accepted by `smsc`. When `confirmed` the recipient waits for receipts
    /// (correlation rows are written); otherwise it becomes final `delivered` (1000).
    fn record_submitted(
        &self,
        recipient_id: i64,
        smsc: &str,
        segments: Vec<SubmittedSegment>,
        confirmed: bool,
        now: UtcTime,
    ) -> impl Future<Output = Result<Option<FinalEvent>, StoreError>> + Send;

    /// A transient failure: the lease is released and the recipient comes due again at `retry_at`.
    fn record_retry(
        &self,
        recipient_id: i64,
        retry_at: UtcTime,
        desc: &str,
        now: UtcTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A final failure (permanent status, retry deadline passed, expired at submit time).
    fn record_final(
        &self,
        recipient_id: i64,
        state: MessageState,
        code: u16,
        desc: &str,
        now: UtcTime,
    ) -> impl Future<Output = Result<Option<FinalEvent>, StoreError>> + Send;

    /// A delivery receipt; durable before the SMPP layer acknowledges it.
    fn record_receipt(
        &self,
        receipt: ReceiptUpdate,
        now: UtcTime,
    ) -> impl Future<Output = Result<ReceiptMatch, StoreError>> + Send;

    /// Pending, unsubmitted, unleased recipients past deliver-before become `expired`; submitted
    /// confirmed recipients older than `receipt_deadline` become `timeout`.
    fn expire_due(
        &self,
        now: UtcTime,
        receipt_deadline: UtcTime,
    ) -> impl Future<Output = Result<Vec<FinalEvent>, StoreError>> + Send;

    /// statusquery: None when the push-id is unknown. `addresses` empty = every recipient.
    fn status(
        &self,
        push_id: &str,
        addresses: &[String],
    ) -> impl Future<Output = Result<Option<Vec<RecipientStatus>>, StoreError>> + Send;

    /// cancel-message: None when the push-id is unknown. Cancels recipients not yet submitted and
    /// not leased; `addresses` empty = every recipient.
    fn cancel(
        &self,
        push_id: &str,
        addresses: &[String],
        now: UtcTime,
    ) -> impl Future<Output = Result<Option<Vec<CancelOutcome>>, StoreError>> + Send;

    /// Result notifications due now.
    fn notifications_due(
        &self,
        now: UtcTime,
        limit: usize,
        lease_until: UtcTime,
    ) -> impl Future<Output = Result<Vec<Notification>, StoreError>> + Send;
    /// The PI acknowledged (or we gave up, `delivered = false`): the notification is removed.
    fn notification_done(
        &self,
        id: i64,
        delivered: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn notification_retry(
        &self,
        id: i64,
        retry_at: UtcTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn queue_stats(&self) -> impl Future<Output = Result<QueueStats, StoreError>> + Send;

    /// Forgets final pushes older than `before`.
    fn cleanup(&self, before: UtcTime) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// True when `insert_push` itself keeps a push with `lease_until` from overtaking
    /// recipients stored unleased that no lease query has taken yet (it stores such a push
    /// unleased and returns no jobs): the store sees its inserts and lease queries in the one
    /// order they ran, so the dispatcher need not guess whether a queue waits. False (the
    /// default): the store honours `lease_until` and the dispatcher keeps its own estimate.
    fn orders_fast_path(&self) -> bool {
        false
    }

    /// Resolves when a recipient may have become due through ANOTHER process sharing the store
    /// (PostgreSQL: a NOTIFY from any instance). The dispatcher selects on it beside its own
    /// waker and poll interval. The default never resolves: an embedded store has no other
    /// writer, and this process wakes its dispatcher itself.
    fn store_wake(&self) -> impl Future<Output = ()> + Send {
        std::future::pending()
    }
}

/// The backend the config chose (`[store] backend`). The trait returns `impl Future`, so it is
/// not dyn-compatible: this enum delegates instead.
pub enum AnyStore {
    Embedded(sqlite::SqliteStore),
    Postgres(postgres::PgStore),
}

/// Calls the same method on whichever backend `self` holds.
macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Embedded($s) => $call.await,
            AnyStore::Postgres($s) => $call.await,
        }
    };
}

impl PushStore for AnyStore {
    async fn insert_push(&self, push: NewPush) -> Result<Vec<Job>, StoreError> {
        delegate!(self, s => s.insert_push(push))
    }
    async fn lease_due(
        &self,
        now: UtcTime,
        limit: usize,
        lease_until: UtcTime,
    ) -> Result<Vec<Job>, StoreError> {
        delegate!(self, s => s.lease_due(now, limit, lease_until))
    }
    async fn record_submitted(
        &self,
        recipient_id: i64,
        smsc: &str,
        segments: Vec<SubmittedSegment>,
        confirmed: bool,
        now: UtcTime,
    ) -> Result<Option<FinalEvent>, StoreError> {
        delegate!(self, s => s.record_submitted(recipient_id, smsc, segments, confirmed, now))
    }
    async fn record_retry(
        &self,
        recipient_id: i64,
        retry_at: UtcTime,
        desc: &str,
        now: UtcTime,
    ) -> Result<(), StoreError> {
        delegate!(self, s => s.record_retry(recipient_id, retry_at, desc, now))
    }
    async fn record_final(
        &self,
        recipient_id: i64,
        state: MessageState,
        code: u16,
        desc: &str,
        now: UtcTime,
    ) -> Result<Option<FinalEvent>, StoreError> {
        delegate!(self, s => s.record_final(recipient_id, state, code, desc, now))
    }
    async fn record_receipt(
        &self,
        receipt: ReceiptUpdate,
        now: UtcTime,
    ) -> Result<ReceiptMatch, StoreError> {
        delegate!(self, s => s.record_receipt(receipt, now))
    }
    async fn expire_due(
        &self,
        now: UtcTime,
        receipt_deadline: UtcTime,
    ) -> Result<Vec<FinalEvent>, StoreError> {
        delegate!(self, s => s.expire_due(now, receipt_deadline))
    }
    async fn status(
        &self,
        push_id: &str,
        addresses: &[String],
    ) -> Result<Option<Vec<RecipientStatus>>, StoreError> {
        delegate!(self, s => s.status(push_id, addresses))
    }
    async fn cancel(
        &self,
        push_id: &str,
        addresses: &[String],
        now: UtcTime,
    ) -> Result<Option<Vec<CancelOutcome>>, StoreError> {
        delegate!(self, s => s.cancel(push_id, addresses, now))
    }
    async fn notifications_due(
        &self,
        now: UtcTime,
        limit: usize,
        lease_until: UtcTime,
    ) -> Result<Vec<Notification>, StoreError> {
        delegate!(self, s => s.notifications_due(now, limit, lease_until))
    }
    async fn notification_done(&self, id: i64, delivered: bool) -> Result<(), StoreError> {
        delegate!(self, s => s.notification_done(id, delivered))
    }
    async fn notification_retry(&self, id: i64, retry_at: UtcTime) -> Result<(), StoreError> {
        delegate!(self, s => s.notification_retry(id, retry_at))
    }
    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        delegate!(self, s => s.queue_stats())
    }
    async fn cleanup(&self, before: UtcTime) -> Result<u64, StoreError> {
        delegate!(self, s => s.cleanup(before))
    }
    fn orders_fast_path(&self) -> bool {
        match self {
            AnyStore::Embedded(s) => s.orders_fast_path(),
            AnyStore::Postgres(s) => s.orders_fast_path(),
        }
    }
    async fn store_wake(&self) {
        delegate!(self, s => s.store_wake())
    }
}
