//! The durable store: ONE backend-generic suite (`cases`, instantiated per backend by
//! `store_suite!`), then the tests only the embedded SQLite backend can have (reopen, lock file,
//! group commit, schema version).
//!
//! A new backend (PostgreSQL, issue 6) implements `Harness` and adds one `store_suite!` line.

use std::sync::Arc;

use ppgd::metrics::Metrics;
use ppgd::store::sqlite::SqliteStore;
use ppgd::store::{
    MessageState, NewPush, NewRecipient, Priority, PushStore, ReceiptMatch, ReceiptOutcome,
    ReceiptUpdate, StoreError, SubmittedSegment,
};
use ppgd::util::UtcTime;

/// Opens a fresh, empty store of one backend.
pub trait Harness {
    type S: PushStore;
    fn open(&self, queue_limit: u64) -> Self::S;
    /// false: the backend's server is not installed here (the case passes after a notice).
    fn available(&self) -> bool {
        true
    }
}

pub const T0: UtcTime = UtcTime(1_790_000_000);

pub fn t(offset: i64) -> UtcTime {
    T0.plus_secs(offset)
}

/// A push with one recipient per address ("+<msisdn>" addresses), received at `received`.
pub fn push(push_id: &str, addresses: &[&str], received: UtcTime) -> NewPush {
    NewPush {
        push_id: push_id.to_string(),
        pi: "mmsc".to_string(),
        pap_version: "2.0".to_string(),
        received_at: received,
        deliver_after: None,
        deliver_before: None,
        priority: Priority::Medium,
        confirmed: false,
        notify_to: None,
        wsp_pdu: vec![0x06, 0x01, 0xbe, 0x01, 0x02],
        recipients: addresses
            .iter()
            .map(|a| NewRecipient {
                address: format!("WAPPUSH=+{a}/TYPE=PLMN@ppg.example"),
                msisdn: a.to_string(),
            })
            .collect(),
        lease_until: None,
    }
}

pub fn addr(msisdn: &str) -> String {
    format!("WAPPUSH=+{msisdn}/TYPE=PLMN@ppg.example")
}

fn segs(ids: &[&str]) -> Vec<SubmittedSegment> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| SubmittedSegment {
            seqnum: i as u32 + 1,
            message_id: id.to_string(),
        })
        .collect()
}

fn receipt(smsc: &str, id: &str, outcome: ReceiptOutcome, detail: &str) -> ReceiptUpdate {
    ReceiptUpdate {
        smsc: smsc.to_string(),
        message_id: id.to_string(),
        outcome,
        detail: detail.to_string(),
    }
}

const LEASE: i64 = 30;

/// Leases everything due at `now` and returns the recipient ids.
async fn lease_ids<S: PushStore>(s: &S, now: UtcTime) -> Vec<i64> {
    s.lease_due(now, 100, now.plus_secs(LEASE))
        .await
        .expect("lease_due")
        .iter()
        .map(|j| j.recipient_id)
        .collect()
}

async fn state_of<S: PushStore>(s: &S, push_id: &str, msisdn: &str) -> (MessageState, u16, String) {
    let st = s
        .status(push_id, &[addr(msisdn)])
        .await
        .expect("status")
        .expect("push known");
    assert_eq!(st.len(), 1, "{push_id}/{msisdn}: {st:?}");
    (st[0].state, st[0].code, st[0].desc.clone())
}

pub mod cases {
    use super::*;

    pub async fn insert_and_status<H: Harness>(h: &H) {
        let s = h.open(100);
        s.insert_push(push("p1", &["111", "222"], t(0)))
            .await
            .unwrap();
        let all = s.status("p1", &[]).await.unwrap().expect("p1 is known");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].address, addr("111"));
        assert_eq!(all[1].address, addr("222"));
        for r in &all {
            assert_eq!(r.state, MessageState::Pending);
            assert_eq!(r.code, 1001);
            assert_eq!(r.updated_at, t(0));
        }
        let one = s.status("p1", &[addr("222")]).await.unwrap().unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].address, addr("222"));
        let none = s.status("p1", &[addr("999")]).await.unwrap().unwrap();
        assert!(none.is_empty());
        assert!(s.status("nope", &[]).await.unwrap().is_none());
        let stats = s.queue_stats().await.unwrap();
        assert_eq!(stats.depth, 2);
        assert_eq!(stats.oldest_unsubmitted, Some(t(0)));
    }

    pub async fn duplicate_push_id<H: Harness>(h: &H) {
        let s = h.open(100);
        s.insert_push(push("dup", &["111"], t(0))).await.unwrap();
        match s.insert_push(push("dup", &["222"], t(1))).await {
            Err(StoreError::DuplicatePushId { push_id }) => assert_eq!(push_id, "dup"),
            other => panic!("expected DuplicatePushId, got {other:?}"),
        }
        // The refused push left nothing behind.
        let st = s.status("dup", &[]).await.unwrap().unwrap();
        assert_eq!(st.len(), 1);
        assert_eq!(st[0].address, addr("111"));
        assert_eq!(s.queue_stats().await.unwrap().depth, 1);
        // Still remembered once final...
        let id = lease_ids(&s, t(2)).await[0];
        s.record_submitted(id, "smsc1", segs(&["m1"]), false, t(3))
            .await
            .unwrap();
        assert!(matches!(
            s.insert_push(push("dup", &["333"], t(4))).await,
            Err(StoreError::DuplicatePushId { .. })
        ));
        // ...until cleanup forgets it.
        assert_eq!(s.cleanup(t(10)).await.unwrap(), 1);
        s.insert_push(push("dup", &["444"], t(11))).await.unwrap();
    }

    pub async fn queue_limit<H: Harness>(h: &H) {
        let s = h.open(3);
        s.insert_push(push("a", &["1", "2"], t(0))).await.unwrap();
        match s.insert_push(push("b", &["3", "4"], t(0))).await {
            Err(StoreError::QueueFull { depth, limit }) => {
                assert_eq!((depth, limit), (2, 3));
            }
            other => panic!("expected QueueFull, got {other:?}"),
        }
        assert!(
            s.status("b", &[]).await.unwrap().is_none(),
            "refused push stored"
        );
        s.insert_push(push("c", &["5"], t(0))).await.unwrap();
        assert!(matches!(
            s.insert_push(push("d", &["6"], t(0))).await,
            Err(StoreError::QueueFull { depth: 3, limit: 3 })
        ));
        // A final recipient frees its place.
        let out = s.cancel("c", &[], t(1)).await.unwrap().unwrap();
        assert!(out[0].cancelled);
        assert_eq!(s.queue_stats().await.unwrap().depth, 2);
        s.insert_push(push("d", &["6"], t(2))).await.unwrap();
    }

    pub async fn lease_order_by_priority_then_age<H: Harness>(h: &H) {
        let s = h.open(100);
        let with = |id: &str, p: Priority, at: i64| {
            let mut n = push(id, &["1"], t(at));
            n.priority = p;
            n
        };
        s.insert_push(with("low", Priority::Low, 0)).await.unwrap();
        s.insert_push(with("high-late", Priority::High, 5))
            .await
            .unwrap();
        s.insert_push(with("medium", Priority::Medium, 1))
            .await
            .unwrap();
        s.insert_push(with("high-early", Priority::High, 2))
            .await
            .unwrap();
        s.insert_push(with("high-early-2", Priority::High, 2))
            .await
            .unwrap();
        let jobs = s.lease_due(t(10), 3, t(40)).await.unwrap();
        let order: Vec<&str> = jobs.iter().map(|j| j.push_id.as_str()).collect();
        assert_eq!(order, ["high-early", "high-early-2", "high-late"]);
        let rest = s.lease_due(t(10), 10, t(40)).await.unwrap();
        let order: Vec<&str> = rest.iter().map(|j| j.push_id.as_str()).collect();
        assert_eq!(order, ["medium", "low"]);
        let j = &jobs[0];
        assert_eq!(j.address, addr("1"));
        assert_eq!(j.msisdn, "1");
        assert_eq!(j.received_at, t(2));
        assert_eq!(j.priority, Priority::High);
        assert_eq!(j.wsp_pdu, vec![0x06, 0x01, 0xbe, 0x01, 0x02]);
        assert_eq!(j.attempts, 0);
        assert_eq!(j.first_attempt_at, None);
        assert!(!j.confirmed);
    }

    pub async fn deliver_after_not_leased_early<H: Harness>(h: &H) {
        let s = h.open(100);
        let mut p = push("later", &["1"], t(0));
        p.deliver_after = Some(t(100));
        p.deliver_before = Some(t(500));
        s.insert_push(p).await.unwrap();
        assert!(lease_ids(&s, t(99)).await.is_empty());
        let jobs = s.lease_due(t(100), 10, t(130)).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].deliver_before, Some(t(500)));
    }

    pub async fn lease_expires_and_counts_attempts<H: Harness>(h: &H) {
        let s = h.open(100);
        s.insert_push(push("p", &["1"], t(0))).await.unwrap();
        let first = s.lease_due(t(1), 10, t(31)).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(lease_ids(&s, t(30)).await.is_empty(), "leased twice");
        let again = s.lease_due(t(31), 10, t(61)).await.unwrap();
        assert_eq!(again.len(), 1, "lease ran out and did not come back");
        assert_eq!(again[0].recipient_id, first[0].recipient_id);
        assert_eq!(again[0].attempts, 1);
        assert_eq!(again[0].first_attempt_at, Some(t(1)));
        // Leased recipients stay pending and in the depth.
        assert_eq!(s.queue_stats().await.unwrap().depth, 1);
    }

    /// The fast path: a push stored leased comes back as jobs (what lease_due would have
    /// returned), is invisible to lease_due until the lease runs out, and then comes back with
    /// the attempt the insert counted.
    pub async fn insert_leased<H: Harness>(h: &H) {
        let s = h.open(100);
        let plain = s.insert_push(push("plain", &["9"], t(0))).await.unwrap();
        assert!(plain.is_empty(), "an unleased insert returns no jobs");
        let plain = lease_ids(&s, t(0)).await;
        assert_eq!(plain.len(), 1);
        s.record_retry(plain[0], t(1000), "later", t(0))
            .await
            .unwrap();
        let mut p = push("leased", &["3", "1", "2"], t(0));
        p.priority = Priority::High;
        p.confirmed = true;
        p.deliver_before = Some(t(600));
        p.lease_until = Some(t(LEASE));
        let jobs = s.insert_push(p.clone()).await.unwrap();
        let msisdns: Vec<&str> = jobs.iter().map(|j| j.msisdn.as_str()).collect();
        assert_eq!(
            msisdns,
            ["3", "1", "2"],
            "jobs in the order of the addresses"
        );
        for j in &jobs {
            assert_eq!(j.address, addr(&j.msisdn));
            assert_eq!(j.push_id, "leased");
            assert_eq!((j.received_at, j.deliver_before), (t(0), Some(t(600))));
            assert_eq!((j.priority, j.confirmed), (Priority::High, true));
            assert_eq!(j.wsp_pdu, p.wsp_pdu);
            assert_eq!((j.attempts, j.first_attempt_at), (0, None));
        }
        // Leased: not due again while the lease lasts, but pending and counted.
        assert!(lease_ids(&s, t(1)).await.is_empty(), "leased twice");
        assert!(lease_ids(&s, t(LEASE - 1)).await.is_empty(), "leased twice");
        let st = s.queue_stats().await.unwrap();
        assert_eq!((st.depth, st.oldest_unsubmitted), (4, Some(t(0))));
        let (state, code, _) = state_of(&s, "leased", "1").await;
        assert_eq!((state, code), (MessageState::Pending, 1001));
        // Its push-id is taken like any other.
        let mut dup = push("leased", &["5"], t(1));
        dup.lease_until = Some(t(LEASE + 1));
        assert!(matches!(
            s.insert_push(dup).await,
            Err(StoreError::DuplicatePushId { .. })
        ));
        // The lease runs out (the process died): leased again, the insert's attempt counted.
        let mut again = s.lease_due(t(LEASE), 10, t(2 * LEASE)).await.unwrap();
        again.sort_by_key(|j| j.recipient_id);
        let mut ids: Vec<i64> = jobs.iter().map(|j| j.recipient_id).collect();
        ids.sort();
        assert_eq!(
            again.iter().map(|j| j.recipient_id).collect::<Vec<_>>(),
            ids
        );
        for j in &again {
            assert_eq!((j.attempts, j.first_attempt_at), (1, Some(t(0))));
        }
    }

    /// Many pushes stored leased at once (one batch on PostgreSQL): each job's id is its own
    /// recipient's, also when a push names one address twice.
    pub async fn insert_leased_ids_match_addresses<H: Harness>(h: &H) {
        let s = Arc::new(h.open(10_000));
        // A store that orders the fast path itself stores a push leased only when no push
        // stored unleased waits ahead of it: there, every push asks for the lease, after a
        // lease query has found the store empty (as the dispatcher's first one does).
        let ordered = s.orders_fast_path();
        if ordered {
            assert!(lease_ids(s.as_ref(), t(0)).await.is_empty());
        }
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let a = format!("{}", 100 + i);
                let b = format!("{}", 200 + i);
                let mut p = push(&format!("p{i}"), &[&b, &a, &b, "7"], t(0));
                p.lease_until = (ordered || i % 3 != 0).then_some(t(LEASE));
                (p.lease_until.is_some(), s.insert_push(p).await.unwrap())
            }));
        }
        let mut leased = 0;
        for task in tasks {
            let (was_leased, jobs) = task.await.unwrap();
            if !was_leased {
                assert!(jobs.is_empty());
                continue;
            }
            leased += 1;
            assert_eq!(jobs.len(), 4);
            // Each job's outcome lands on its own address.
            for j in &jobs {
                let desc = format!("job for {}", j.msisdn);
                s.record_final(
                    j.recipient_id,
                    MessageState::Undeliverable,
                    4000,
                    &desc,
                    t(1),
                )
                .await
                .unwrap()
                .expect("final event");
            }
            let st = s.status(&jobs[0].push_id, &[]).await.unwrap().unwrap();
            assert_eq!(st.len(), 4);
            for r in &st {
                assert_eq!(r.state, MessageState::Undeliverable, "{r:?}");
                let msisdn = r.address.trim_start_matches("WAPPUSH=+");
                let msisdn = msisdn.split('/').next().unwrap();
                assert_eq!(r.desc, format!("job for {msisdn}"));
            }
        }
        let unleased = if ordered { 0 } else { 14 };
        assert_eq!(leased, 40 - unleased);
        // Only the unleased pushes are due.
        assert_eq!(lease_ids(s.as_ref(), t(1)).await.len(), unleased * 4);
    }

    pub async fn retry_comes_back_at_retry_time<H: Harness>(h: &H) {
        let s = h.open(100);
        s.insert_push(push("p", &["1"], t(0))).await.unwrap();
        let id = lease_ids(&s, t(1)).await[0];
        s.record_retry(id, t(60), "ESME_RTHROTTLED, retrying", t(2))
            .await
            .unwrap();
        assert!(lease_ids(&s, t(59)).await.is_empty());
        let (state, code, desc) = state_of(&s, "p", "1").await;
        assert_eq!((state, code), (MessageState::Pending, 1001));
        assert_eq!(desc, "ESME_RTHROTTLED, retrying");
        let jobs = s.lease_due(t(60), 10, t(90)).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].attempts, 1);
        assert_eq!(jobs[0].first_attempt_at, Some(t(1)));
    }

    pub async fn submitted_unconfirmed_is_delivered<H: Harness>(h: &H) {
        let s = h.open(100);
        s.insert_push(push("p", &["1"], t(0))).await.unwrap();
        let id = lease_ids(&s, t(1)).await[0];
        let ev = s
            .record_submitted(id, "smsc1", segs(&["a", "b"]), false, t(2))
            .await
            .unwrap()
            .expect("final event");
        assert_eq!(ev.push_id, "p");
        assert_eq!(ev.address, addr("1"));
        assert_eq!(ev.state, MessageState::Delivered);
        assert_eq!(ev.code, 1000);
        assert_eq!(ev.desc, "accepted by SMSC smsc1");
        assert_eq!(ev.received_at, t(0));
        assert_eq!(ev.at, t(2));
        assert_eq!(state_of(&s, "p", "1").await.0, MessageState::Delivered);
        assert_eq!(s.queue_stats().await.unwrap().depth, 0);
        assert!(lease_ids(&s, t(100)).await.is_empty());
        // No correlation rows for a push that asked for no receipt.
        let m = s.record_receipt(receipt("smsc1", "a", ReceiptOutcome::Delivered, ""), t(3));
        assert_eq!(m.await.unwrap(), ReceiptMatch::Unmatched);
    }

    async fn confirmed_submitted<S: PushStore>(s: &S, ids: &[&str]) -> i64 {
        let mut p = push("c", &["1"], t(0));
        p.confirmed = true;
        s.insert_push(p).await.unwrap();
        let jobs = s.lease_due(t(1), 10, t(31)).await.unwrap();
        assert!(jobs[0].confirmed);
        let id = jobs[0].recipient_id;
        let ev = s
            .record_submitted(id, "smsc1", segs(ids), true, t(2))
            .await
            .unwrap();
        assert!(ev.is_none(), "confirmed push final before its receipts");
        let (state, code, _) = state_of(s, "c", "1").await;
        assert_eq!((state, code), (MessageState::Pending, 1001));
        // Submitted: neither leased again nor counted as unsubmitted.
        assert!(lease_ids(s, t(100)).await.is_empty());
        assert_eq!(s.queue_stats().await.unwrap().oldest_unsubmitted, None);
        assert_eq!(s.queue_stats().await.unwrap().depth, 1);
        id
    }

    pub async fn receipts_multi_segment_any_order<H: Harness>(h: &H) {
        let s = h.open(100);
        confirmed_submitted(&s, &["m1", "m2", "m3"]).await;
        let r = |id: &str, o| receipt("smsc1", id, o, "stat:DELIVRD err:000");
        assert_eq!(
            s.record_receipt(r("m3", ReceiptOutcome::Delivered), t(3))
                .await
                .unwrap(),
            ReceiptMatch::Recorded
        );
        assert_eq!(
            s.record_receipt(r("m2", ReceiptOutcome::Intermediate), t(3))
                .await
                .unwrap(),
            ReceiptMatch::Recorded
        );
        assert_eq!(
            s.record_receipt(r("m1", ReceiptOutcome::Delivered), t(4))
                .await
                .unwrap(),
            ReceiptMatch::Recorded
        );
        assert_eq!(state_of(&s, "c", "1").await.0, MessageState::Pending);
        match s
            .record_receipt(r("m2", ReceiptOutcome::Delivered), t(5))
            .await
            .unwrap()
        {
            ReceiptMatch::Final(ev) => {
                assert_eq!(ev.state, MessageState::Delivered);
                assert_eq!(ev.code, 1000);
                assert_eq!(ev.at, t(5));
                assert!(ev.desc.contains("stat:DELIVRD"), "{}", ev.desc);
            }
            other => panic!("expected Final, got {other:?}"),
        }
        assert_eq!(state_of(&s, "c", "1").await.0, MessageState::Delivered);
        assert_eq!(s.queue_stats().await.unwrap().depth, 0);
        // A duplicate receipt matches but changes nothing.
        assert_eq!(
            s.record_receipt(r("m2", ReceiptOutcome::Delivered), t(6))
                .await
                .unwrap(),
            ReceiptMatch::Recorded
        );
    }

    /// Outcomes for one recipient in flight together (a batching store puts them in one batch,
    /// or defers the ones touching rows already in the batch): the recipient becomes final
    /// exactly once, with the state any serial order gives.
    pub async fn concurrent_outcomes_on_one_recipient<H: Harness>(h: &H) {
        let s = h.open(100);
        let ids = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"];
        confirmed_submitted(&s, &ids).await;
        // Four deliveries, one failure and a duplicate, at once: whatever the order, the failure
        // finishes it (four segments are still outstanding) and only one call reports it.
        let mut calls = Vec::new();
        for (id, o) in [
            ("m1", ReceiptOutcome::Delivered),
            ("m2", ReceiptOutcome::Delivered),
            ("m5", ReceiptOutcome::Undeliverable),
            ("m3", ReceiptOutcome::Delivered),
            ("m3", ReceiptOutcome::Delivered),
            ("m4", ReceiptOutcome::Delivered),
            ("zz", ReceiptOutcome::Delivered),
        ] {
            calls.push(s.record_receipt(receipt("smsc1", id, o, "x"), t(3)));
        }
        let got = futures::future::join_all(calls).await;
        let finals: Vec<_> = got
            .iter()
            .filter_map(|m| match m.as_ref().unwrap() {
                ReceiptMatch::Final(e) => Some(e.state),
                _ => None,
            })
            .collect();
        assert_eq!(finals, [MessageState::Undeliverable], "{got:?}");
        assert_eq!(
            got.iter()
                .filter(|m| matches!(m, Ok(ReceiptMatch::Unmatched)))
                .count(),
            1
        );
        assert_eq!(state_of(&s, "c", "1").await.0, MessageState::Undeliverable);

        // Several final outcomes for one leased recipient at once: the first applied stands.
        let mut p = push("f", &["2"], t(10));
        p.notify_to = Some("http://pi.example/n".into());
        s.insert_push(p).await.unwrap();
        let job = s.lease_due(t(11), 10, t(41)).await.unwrap().remove(0);
        let states = [
            MessageState::Undeliverable,
            MessageState::Expired,
            MessageState::Timeout,
            MessageState::Aborted,
        ];
        let calls = states
            .iter()
            .map(|st| s.record_final(job.recipient_id, *st, 4000, "x", t(12)));
        let got = futures::future::join_all(calls).await;
        let events: Vec<_> = got.into_iter().filter_map(|e| e.unwrap()).collect();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(state_of(&s, "f", "2").await.0, events[0].state);
        let n = s.notifications_due(t(13), 10, t(100)).await.unwrap();
        assert_eq!(n.len(), 1, "one notification for one final recipient");
        assert_eq!(n[0].state, events[0].state);
        assert_eq!(s.queue_stats().await.unwrap().depth, 0);
    }

    pub async fn receipt_failure_after_success<H: Harness>(h: &H) {
        let s = h.open(100);
        confirmed_submitted(&s, &["m1", "m2", "m3"]).await;
        let delivered = receipt("smsc1", "m1", ReceiptOutcome::Delivered, "stat:DELIVRD");
        assert_eq!(
            s.record_receipt(delivered, t(3)).await.unwrap(),
            ReceiptMatch::Recorded
        );
        let failed = receipt(
            "smsc1",
            "m2",
            ReceiptOutcome::Undeliverable,
            "stat:UNDELIV err:075",
        );
        match s.record_receipt(failed, t(4)).await.unwrap() {
            ReceiptMatch::Final(ev) => {
                assert_eq!(ev.state, MessageState::Undeliverable);
                assert_eq!(ev.code, 4000);
                assert!(ev.desc.contains("stat:UNDELIV err:075"), "{}", ev.desc);
            }
            other => panic!("expected Final, got {other:?}"),
        }
        // The last segment's success does not undo the failure.
        let late = receipt("smsc1", "m3", ReceiptOutcome::Delivered, "stat:DELIVRD");
        assert_eq!(
            s.record_receipt(late, t(5)).await.unwrap(),
            ReceiptMatch::Recorded
        );
        let (state, code, desc) = state_of(&s, "c", "1").await;
        assert_eq!((state, code), (MessageState::Undeliverable, 4000));
        assert!(desc.contains("err:075"));
    }

    pub async fn receipt_outcomes_map_to_states<H: Harness>(h: &H) {
        // digest §6.5; `rejected` is a PAP 2.x state only (digest §1.6).
        let cases = [
            ("2.0", ReceiptOutcome::Expired, MessageState::Expired),
            (
                "2.0",
                ReceiptOutcome::Undeliverable,
                MessageState::Undeliverable,
            ),
            ("2.0", ReceiptOutcome::Rejected, MessageState::Rejected),
            ("1.0", ReceiptOutcome::Rejected, MessageState::Undeliverable),
            ("2.0", ReceiptOutcome::Deleted, MessageState::Undeliverable),
            ("2.0", ReceiptOutcome::Unknown, MessageState::Unknown),
        ];
        let s = h.open(100);
        for (i, (pap_version, outcome, state)) in cases.into_iter().enumerate() {
            let pid = format!("p{i}");
            let mut p = push(&pid, &["1"], t(0));
            p.confirmed = true;
            p.pap_version = pap_version.to_string();
            s.insert_push(p).await.unwrap();
            let id = lease_ids(&s, t(1)).await[0];
            let mid = format!("m{i}");
            s.record_submitted(id, "smsc1", segs(&[&mid]), true, t(2))
                .await
                .unwrap();
            match s
                .record_receipt(receipt("smsc1", &mid, outcome, "stat:ZZZ err:042"), t(3))
                .await
                .unwrap()
            {
                ReceiptMatch::Final(ev) => {
                    assert_eq!(
                        (ev.state, ev.code),
                        (state, 4000),
                        "{pap_version} {outcome:?}"
                    );
                    assert!(ev.desc.contains("stat:ZZZ err:042"), "{}", ev.desc);
                }
                other => panic!("{outcome:?}: expected Final, got {other:?}"),
            }
        }
    }

    pub async fn receipt_unmatched<H: Harness>(h: &H) {
        let s = h.open(100);
        confirmed_submitted(&s, &["m1"]).await;
        let other_id = receipt("smsc1", "zz", ReceiptOutcome::Delivered, "");
        assert_eq!(
            s.record_receipt(other_id, t(3)).await.unwrap(),
            ReceiptMatch::Unmatched
        );
        // The same message_id from another SMSC is another message.
        let other_smsc = receipt("smsc2", "m1", ReceiptOutcome::Delivered, "");
        assert_eq!(
            s.record_receipt(other_smsc, t(3)).await.unwrap(),
            ReceiptMatch::Unmatched
        );
        assert_eq!(state_of(&s, "c", "1").await.0, MessageState::Pending);
    }

    pub async fn record_final_once<H: Harness>(h: &H) {
        let s = h.open(100);
        s.insert_push(push("p", &["1"], t(0))).await.unwrap();
        let id = lease_ids(&s, t(1)).await[0];
        let ev = s
            .record_final(
                id,
                MessageState::Undeliverable,
                2002,
                "ESME_RINVDSTADR",
                t(2),
            )
            .await
            .unwrap()
            .expect("final event");
        assert_eq!((ev.state, ev.code), (MessageState::Undeliverable, 2002));
        assert_eq!(ev.desc, "ESME_RINVDSTADR");
        let again = s
            .record_final(id, MessageState::Expired, 4000, "late", t(3))
            .await
            .unwrap();
        assert!(again.is_none(), "a final recipient changed again");
        assert_eq!(
            state_of(&s, "p", "1").await,
            (
                MessageState::Undeliverable,
                2002,
                "ESME_RINVDSTADR".to_string()
            )
        );
        // Pending is not an outcome: refused, and nothing of it is stored.
        s.insert_push(push("q", &["1"], t(0))).await.unwrap();
        let q = lease_ids(&s, t(1)).await[0];
        assert!(
            s.record_final(q, MessageState::Pending, 1001, "not final", t(2))
                .await
                .is_err()
        );
        let (state, _, desc) = state_of(&s, "q", "1").await;
        assert_eq!(state, MessageState::Pending);
        assert_ne!(desc, "not final");
        assert!(
            s.record_final(999_999, MessageState::Expired, 4000, "x", t(3))
                .await
                .unwrap()
                .is_none()
        );
    }

    pub async fn expire_due_deliver_before<H: Harness>(h: &H) {
        let s = h.open(100);
        let with_before = |id: &str| {
            let mut p = push(id, &["1"], t(0));
            p.deliver_before = Some(t(10));
            p
        };
        s.insert_push(with_before("idle")).await.unwrap();
        s.insert_push(with_before("leased")).await.unwrap();
        s.insert_push(with_before("submitted")).await.unwrap();
        let mut forever = push("forever", &["1"], t(0));
        forever.priority = Priority::Low;
        s.insert_push(forever).await.unwrap();
        let jobs = s.lease_due(t(1), 10, t(100)).await.unwrap();
        let id_of = |p: &str| jobs.iter().find(|j| j.push_id == p).unwrap().recipient_id;
        // "idle" gets its lease back via a retry; "leased" keeps its lease; "submitted" waits for
        // receipts.
        s.record_retry(id_of("idle"), t(50), "retry", t(2))
            .await
            .unwrap();
        s.record_retry(id_of("forever"), t(50), "retry", t(2))
            .await
            .unwrap();
        s.record_submitted(id_of("submitted"), "smsc1", segs(&["m"]), true, t(3))
            .await
            .unwrap();
        assert!(
            s.expire_due(t(10), t(0)).await.unwrap().is_empty(),
            "expired at the limit"
        );
        let evs = s.expire_due(t(11), t(0)).await.unwrap();
        assert_eq!(evs.len(), 1, "{evs:?}");
        assert_eq!(evs[0].push_id, "idle");
        assert_eq!((evs[0].state, evs[0].code), (MessageState::Expired, 4000));
        assert!(evs[0].desc.contains("deliver-before"));
        assert!(s.expire_due(t(12), t(0)).await.unwrap().is_empty());
        assert_eq!(state_of(&s, "leased", "1").await.0, MessageState::Pending);
        assert_eq!(
            state_of(&s, "submitted", "1").await.0,
            MessageState::Pending
        );
        assert_eq!(state_of(&s, "forever", "1").await.0, MessageState::Pending);
        assert_eq!(s.queue_stats().await.unwrap().depth, 3);
    }

    pub async fn expire_due_receipt_timeout<H: Harness>(h: &H) {
        let s = h.open(100);
        confirmed_submitted(&s, &["m1"]).await; // submitted at t(2)
        assert!(s.expire_due(t(100), t(2)).await.unwrap().is_empty());
        let evs = s.expire_due(t(100), t(3)).await.unwrap();
        assert_eq!(evs.len(), 1);
        assert_eq!((evs[0].state, evs[0].code), (MessageState::Timeout, 4000));
        assert_eq!(state_of(&s, "c", "1").await.0, MessageState::Timeout);
        // A receipt arriving after the timeout matches but changes nothing.
        let late = receipt("smsc1", "m1", ReceiptOutcome::Delivered, "");
        assert_eq!(
            s.record_receipt(late, t(101)).await.unwrap(),
            ReceiptMatch::Recorded
        );
        assert_eq!(state_of(&s, "c", "1").await.0, MessageState::Timeout);
    }

    pub async fn cancel_before_and_after_submit<H: Harness>(h: &H) {
        let s = h.open(100);
        let mut p = push("p", &["1", "2", "3", "4"], t(0));
        p.confirmed = true;
        s.insert_push(p).await.unwrap();
        let jobs = s.lease_due(t(1), 2, t(31)).await.unwrap();
        let (leased, submitted) = (&jobs[0], &jobs[1]);
        assert_eq!(leased.address, addr("1"));
        s.record_submitted(submitted.recipient_id, "smsc1", segs(&["m"]), true, t(2))
            .await
            .unwrap();
        assert!(s.cancel("nope", &[], t(3)).await.unwrap().is_none());
        // Filter: only "3".
        let out = s.cancel("p", &[addr("3")], t(3)).await.unwrap().unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].address, addr("3"));
        assert!(out[0].cancelled);
        let ev = out[0].event.as_ref().expect("event");
        assert_eq!((ev.state, ev.code), (MessageState::Cancelled, 1000));
        // Everyone: "1" leased, "2" submitted, "3" already cancelled, "4" cancelled now.
        let out = s.cancel("p", &[], t(4)).await.unwrap().unwrap();
        let got: Vec<(String, bool)> = out
            .iter()
            .map(|o| (o.address.clone(), o.cancelled))
            .collect();
        assert_eq!(
            got,
            [
                (addr("1"), false),
                (addr("2"), false),
                (addr("3"), false),
                (addr("4"), true)
            ]
        );
        assert!(out.iter().all(|o| o.cancelled == o.event.is_some()));
        assert_eq!(state_of(&s, "p", "1").await.0, MessageState::Pending);
        assert_eq!(state_of(&s, "p", "2").await.0, MessageState::Pending);
        assert_eq!(state_of(&s, "p", "4").await.1, 1000);
        assert_eq!(s.queue_stats().await.unwrap().depth, 2);
        // A lease that ran out no longer protects the recipient.
        let out = s.cancel("p", &[addr("1")], t(31)).await.unwrap().unwrap();
        assert!(out[0].cancelled);
    }

    pub async fn notifications_once_per_final_recipient<H: Harness>(h: &H) {
        let s = h.open(100);
        let mut p = push("n", &["1", "2"], t(0));
        p.notify_to = Some("http://pi.example/notify".to_string());
        p.pap_version = "1.0".to_string();
        s.insert_push(p).await.unwrap();
        s.insert_push(push("silent", &["1"], t(0))).await.unwrap();
        assert!(
            s.notifications_due(t(100), 10, t(130))
                .await
                .unwrap()
                .is_empty()
        );
        // "silent" becomes final without a notification; "n"/1 with one.
        s.cancel("silent", &[], t(1)).await.unwrap();
        s.cancel("n", &[addr("1")], t(2)).await.unwrap();
        s.cancel("n", &[addr("1")], t(3)).await.unwrap(); // no second final transition
        let due = s.notifications_due(t(2), 10, t(32)).await.unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        let n = &due[0];
        assert_eq!(n.url, "http://pi.example/notify");
        assert_eq!(n.push_id, "n");
        assert_eq!(n.pap_version, "1.0");
        assert_eq!(n.address, addr("1"));
        assert_eq!((n.state, n.code), (MessageState::Cancelled, 1000));
        assert_eq!(n.received_at, t(0));
        assert_eq!(n.event_at, t(2));
        assert_eq!(n.created_at, t(2));
        assert_eq!(n.attempts, 0);
        // Leased: not handed out twice.
        assert!(
            s.notifications_due(t(3), 10, t(33))
                .await
                .unwrap()
                .is_empty()
        );
        s.notification_retry(n.id, t(60)).await.unwrap();
        assert!(
            s.notifications_due(t(59), 10, t(89))
                .await
                .unwrap()
                .is_empty()
        );
        let again = s.notifications_due(t(60), 10, t(90)).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].id, n.id);
        assert_eq!(again[0].attempts, 1);
        // A lease that is never resolved comes back.
        let third = s.notifications_due(t(90), 10, t(120)).await.unwrap();
        assert_eq!(third.len(), 1);
        assert_eq!(third[0].attempts, 2);
        s.notification_done(n.id, true).await.unwrap();
        assert!(
            s.notifications_due(t(1000), 10, t(1030))
                .await
                .unwrap()
                .is_empty()
        );
        // The other recipient's final transition queues its own.
        let id = lease_ids(&s, t(5)).await;
        assert_eq!(id.len(), 1);
        s.record_submitted(id[0], "smsc1", segs(&["m"]), false, t(6))
            .await
            .unwrap();
        let due = s.notifications_due(t(1000), 10, t(1030)).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].address.as_str(), due[0].state),
            (addr("2").as_str(), MessageState::Delivered)
        );
        s.notification_done(due[0].id, false).await.unwrap();
        assert!(
            s.notifications_due(t(2000), 10, t(2030))
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn cleanup_forgets_final_pushes_only<H: Harness>(h: &H) {
        let s = h.open(100);
        s.insert_push(push("done", &["1", "2"], t(0)))
            .await
            .unwrap();
        s.insert_push(push("half", &["1", "2"], t(0)))
            .await
            .unwrap();
        s.cancel("done", &[addr("1")], t(5)).await.unwrap();
        s.cancel("done", &[addr("2")], t(10)).await.unwrap(); // final at t(10)
        s.cancel("half", &[addr("1")], t(5)).await.unwrap();
        assert_eq!(
            s.cleanup(t(10)).await.unwrap(),
            0,
            "retention counts from the last final"
        );
        assert_eq!(s.cleanup(t(11)).await.unwrap(), 1);
        assert!(s.status("done", &[]).await.unwrap().is_none());
        assert_eq!(s.status("half", &[]).await.unwrap().unwrap().len(), 2);
        assert_eq!(s.cleanup(t(1_000_000)).await.unwrap(), 0);
        assert_eq!(s.queue_stats().await.unwrap().depth, 1);
    }

    pub async fn oldest_unsubmitted<H: Harness>(h: &H) {
        let s = h.open(100);
        assert_eq!(s.queue_stats().await.unwrap(), Default::default());
        let mut low = push("low-old", &["1"], t(0));
        low.priority = Priority::Low;
        s.insert_push(low).await.unwrap();
        let mut high = push("high-new", &["1"], t(5));
        high.priority = Priority::High;
        s.insert_push(high).await.unwrap();
        let st = s.queue_stats().await.unwrap();
        assert_eq!((st.depth, st.oldest_unsubmitted), (2, Some(t(0))));
        // A leased recipient is not submitted yet: still counted.
        let jobs = s.lease_due(t(6), 10, t(36)).await.unwrap();
        assert_eq!(
            s.queue_stats().await.unwrap().oldest_unsubmitted,
            Some(t(0))
        );
        let old = jobs.iter().find(|j| j.push_id == "low-old").unwrap();
        s.record_submitted(old.recipient_id, "smsc1", segs(&["m"]), true, t(7))
            .await
            .unwrap();
        let st = s.queue_stats().await.unwrap();
        assert_eq!((st.depth, st.oldest_unsubmitted), (2, Some(t(5))));
    }

    /// Commands in one batch fail alone: concurrent duplicates are refused while every other
    /// insert of the same batches commits.
    pub async fn failing_write_does_not_fail_its_batch<H: Harness>(h: &H) {
        let s = Arc::new(h.open(10_000));
        let mut tasks = Vec::new();
        for i in 0..100 {
            let s = s.clone();
            // Each id twice, all in flight together.
            let id = format!("id-{}", i / 2);
            tasks.push(tokio::spawn(async move {
                s.insert_push(push(&id, &["1"], t(0))).await
            }));
        }
        let mut ok = 0;
        let mut dup = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(StoreError::DuplicatePushId { .. }) => dup += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!((ok, dup), (50, 50));
        for i in 0..50 {
            let st = s
                .status(&format!("id-{i}"), &[])
                .await
                .unwrap()
                .expect("stored");
            assert_eq!(st.len(), 1);
        }
        assert_eq!(s.queue_stats().await.unwrap().depth, 50);
    }
}

/// One `#[tokio::test]` per case for the backend `$harness` builds.
macro_rules! store_suite {
    ($harness:expr) => {
        store_suite!(@cases $harness;
            insert_and_status, duplicate_push_id, queue_limit, lease_order_by_priority_then_age,
            deliver_after_not_leased_early, lease_expires_and_counts_attempts, insert_leased,
            insert_leased_ids_match_addresses,
            retry_comes_back_at_retry_time, submitted_unconfirmed_is_delivered,
            receipts_multi_segment_any_order, receipt_failure_after_success,
            receipt_outcomes_map_to_states, receipt_unmatched, record_final_once,
            expire_due_deliver_before, expire_due_receipt_timeout, cancel_before_and_after_submit,
            notifications_once_per_final_recipient, cleanup_forgets_final_pushes_only,
            oldest_unsubmitted, failing_write_does_not_fail_its_batch,
            concurrent_outcomes_on_one_recipient);
    };
    (@cases $harness:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let h = $harness;
                if !super::Harness::available(&h) {
                    return;
                }
                super::cases::$case(&h).await;
            }
        )*
    };
}

pub struct SqliteHarness {
    pub dir: tempfile::TempDir,
    pub metrics: Metrics,
}

impl SqliteHarness {
    pub fn new() -> Self {
        SqliteHarness {
            dir: tempfile::tempdir().expect("tempdir"),
            metrics: Metrics::new(),
        }
    }
}

impl Harness for SqliteHarness {
    type S = SqliteStore;
    fn open(&self, queue_limit: u64) -> SqliteStore {
        SqliteStore::open(self.dir.path(), queue_limit, 256, self.metrics.clone())
            .expect("open store")
    }
}

/// PostgreSQL: each harness is a fresh database on the test run's throwaway server.
pub struct PgHarness {
    pub url: Option<String>,
    pub metrics: Metrics,
}

impl PgHarness {
    pub fn new() -> Self {
        PgHarness {
            url: super::pg::fresh_db_blocking(),
            metrics: Metrics::new(),
        }
    }

    /// A harness when PostgreSQL is installed; None (the PostgreSQL-only test passes after the
    /// notice `pg::server` printed) when not.
    pub fn if_installed() -> Option<Self> {
        let h = PgHarness::new();
        h.url.is_some().then_some(h)
    }

    /// A plain connection to this harness's database, for a test to look at or arrange rows.
    pub async fn sql(&self) -> tokio_postgres::Client {
        let url = self.url.as_deref().expect("PostgreSQL available");
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(conn);
        client
    }
}

/// Makes the first `op` (INSERT or UPDATE) on `table` fail with `sqlstate`, as PostgreSQL does to
/// break a deadlock (40P01) or a serialization conflict (40001); later ones go through.
/// [`aborts_injected`] tells how many times the trigger ran.
async fn abort_first(client: &tokio_postgres::Client, op: &str, table: &str, sqlstate: &str) {
    client
        .batch_execute(&format!(
            "CREATE SEQUENCE abort_once;
             CREATE FUNCTION abort_once() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF nextval('abort_once') = 1 THEN
                     RAISE EXCEPTION 'injected abort' USING ERRCODE = '{sqlstate}';
                 END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER abort_once BEFORE {op} ON {table}
                 FOR EACH ROW EXECUTE FUNCTION abort_once();"
        ))
        .await
        .expect("install the abort trigger");
}

async fn aborts_injected(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one("SELECT last_value FROM abort_once", &[])
        .await
        .expect("read the abort trigger's count")
        .get(0)
}

impl Harness for PgHarness {
    type S = ppgd::store::postgres::PgStore;
    fn open(&self, queue_limit: u64) -> Self::S {
        let url = self.url.as_deref().expect("PostgreSQL available");
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(ppgd::store::postgres::PgStore::connect(
                url,
                None,
                queue_limit,
                256,
                self.metrics.clone(),
            ))
        })
        .expect("connect the PostgreSQL store")
    }
    fn available(&self) -> bool {
        self.url.is_some()
    }
}

mod postgres {
    use super::*;
    use std::collections::HashSet;

    store_suite!(super::PgHarness::new());

    /// Two instances leasing at once (SKIP LOCKED) never get the same recipient, and together
    /// get every one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_never_lease_the_same_recipient() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let a = Arc::new(h.open(10_000));
        let b = Arc::new(h.open(10_000));
        for i in 0..300 {
            let s = if i % 2 == 0 { &a } else { &b };
            s.insert_push(push(&format!("p{i}"), &["1"], t(0)))
                .await
                .unwrap();
        }
        let leaser = |s: Arc<ppgd::store::postgres::PgStore>| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let jobs = s.lease_due(t(1), 7, t(31)).await.unwrap();
                    if jobs.is_empty() {
                        return got;
                    }
                    got.extend(jobs.into_iter().map(|j| j.recipient_id));
                }
            })
        };
        let (ga, gb) = (leaser(a.clone()), leaser(b.clone()));
        let (ga, gb) = (ga.await.unwrap(), gb.await.unwrap());
        let all: HashSet<i64> = ga.iter().chain(gb.iter()).copied().collect();
        assert_eq!(ga.len() + gb.len(), 300, "a recipient was leased twice");
        assert_eq!(all.len(), 300);
    }

    /// A second instance starting does not release the first one's leases; they come back
    /// only when they run out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leases_survive_another_instance_starting() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let a = h.open(100);
        a.insert_push(push("p", &["1"], t(0))).await.unwrap();
        assert_eq!(a.lease_due(t(1), 10, t(31)).await.unwrap().len(), 1);
        let b = h.open(100);
        assert!(b.lease_due(t(2), 10, t(32)).await.unwrap().is_empty());
        // deliver-before cannot expire it under the live lease either.
        assert!(b.expire_due(t(30), t(0)).await.unwrap().is_empty());
        let taken = b.lease_due(t(31), 10, t(61)).await.unwrap();
        assert_eq!(
            taken.len(),
            1,
            "the lease ran out: the other instance takes it"
        );
        assert_eq!(taken[0].attempts, 1);
        // The first instance's late outcome is still recorded (final once).
        assert!(
            a.record_final(
                taken[0].recipient_id,
                MessageState::Undeliverable,
                4000,
                "x",
                t(40)
            )
            .await
            .unwrap()
            .is_some()
        );
        assert!(
            b.record_final(
                taken[0].recipient_id,
                MessageState::Delivered,
                1000,
                "y",
                t(41)
            )
            .await
            .unwrap()
            .is_none()
        );
    }

    /// Every hot statement's generic plan (what the pool's sessions run, `SESSION_OPTIONS`)
    /// reaches rows by key: no sequential or bitmap scan, and no index read from end to end
    /// except the queue head (recipient_due, stopped by the lease's LIMIT). Checked where the
    /// planner is most easily fooled: a new, empty database (no statistics), and steady-state
    /// statistics (10^4 final recipients, a handful pending, ANALYZEd).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn generic_plans_probe_keys() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let _store = h.open(100); // migrates
        let mut cfg: tokio_postgres::Config = h.url.as_deref().unwrap().parse().unwrap();
        cfg.options(ppgd::store::postgres::SESSION_OPTIONS);
        let check = |stage: &'static str| {
            let cfg = cfg.clone();
            async move {
                let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                let mut bad = Vec::new();
                for (name, sql) in ppgd::store::postgres::HOT_STATEMENTS {
                    let params = (1..=20).filter(|n| sql.contains(&format!("${n}"))).count();
                    client
                        .batch_execute(&format!("PREPARE {name} AS {sql}"))
                        .await
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    let nulls = vec!["NULL"; params].join(", ");
                    let plan: Vec<String> = client
                        .query(&format!("EXPLAIN EXECUTE {name}({nulls})"), &[])
                        .await
                        .unwrap_or_else(|e| panic!("{name}: {e}"))
                        .iter()
                        .map(|r| r.get(0))
                        .collect();
                    for (i, line) in plan.iter().enumerate() {
                        let table_scan = ["push", "recipient", "segment", "notification"]
                            .iter()
                            .any(|t| line.contains(&format!(" on {t} ")));
                        if !table_scan {
                            continue;
                        }
                        let node = &plan[i + 1..];
                        let end = node
                            .iter()
                            .position(|l| l.contains("->") || !l.starts_with(' '))
                            .unwrap_or(node.len());
                        let keyed = node[..end].iter().any(|l| l.contains("Index Cond"));
                        let queue_head = line.contains("using recipient_due");
                        if line.contains("Seq Scan")
                            || line.contains("Bitmap")
                            || (line.contains("Index") && !keyed && !queue_head)
                        {
                            bad.push(format!("{stage} {name}: {}", line.trim()));
                        }
                    }
                }
                bad
            }
        };
        let mut bad = check("empty").await;
        let client = h.sql().await;
        client
            .batch_execute(
                "INSERT INTO push (push_id, pi, pap_version, received_at, priority, confirmed,
                     wsp_pdu)
                 SELECT 'p' || g, 'mmsc', '2.0', g, 1, TRUE, decode('00', 'hex')
                 FROM generate_series(1, 10000) AS g;
                 INSERT INTO recipient (push, address, msisdn, state, code, description,
                     updated_at, next_attempt_at, priority, received_at, submitted)
                 SELECT id, 'a', 'm', CASE WHEN id > 5 THEN 'delivered' ELSE 'pending' END,
                     1000, 'x', 0, 0, 1, 0, id > 5
                 FROM push;
                 INSERT INTO segment (recipient, seqnum, smsc, message_id)
                 SELECT id, 1, 'a', 'm' || id FROM recipient;
                 ANALYZE push; ANALYZE recipient; ANALYZE segment;",
            )
            .await
            .unwrap();
        bad.extend(check("steady").await);
        assert!(bad.is_empty(), "scans that read whole tables: {bad:#?}");
    }

    /// A database written by migration 4 opens at the newest version, and what it held keeps
    /// working: a pending push with a deliver-before time still expires (its recipients get the
    /// time copied by migration 5), a final one is still forgotten by the cleanup.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_version_4_database_upgrades_with_its_queue() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let client = h.sql().await;
        client
            .batch_execute(
                "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .await
            .unwrap();
        for (v, ddl) in ppgd::store::postgres::schema::MIGRATIONS
            .iter()
            .filter(|(v, _)| *v <= 4)
        {
            client.batch_execute(ddl).await.unwrap();
            client
                .execute("INSERT INTO schema_version VALUES ($1, 0)", &[v])
                .await
                .unwrap();
        }
        client
            .batch_execute(&format!(
                "INSERT INTO push (push_id, pi, pap_version, received_at, deliver_before,
                     priority, confirmed, wsp_pdu, final_at)
                 VALUES ('old-pending', 'mmsc', '2.0', {t0}, {t5}, 1, FALSE, decode('00', 'hex'), NULL),
                        ('old-final', 'mmsc', '2.0', {t0}, NULL, 1, FALSE, decode('00', 'hex'), {t1});
                 INSERT INTO recipient (push, address, msisdn, state, code, description,
                     updated_at, next_attempt_at, priority, received_at)
                 SELECT id, '+491700000001', '491700000001',
                     CASE WHEN final_at IS NULL THEN 'pending' ELSE 'delivered' END,
                     1001, 'x', {t0}, {t0}, 1, {t0}
                 FROM push;",
                t0 = t(0).0,
                t1 = t(1).0,
                t5 = t(5).0
            ))
            .await
            .unwrap();
        let s = h.open(100);
        let version: i64 = client
            .query_one("SELECT MAX(version) FROM schema_version", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            version,
            ppgd::store::postgres::schema::MIGRATIONS.last().unwrap().0
        );
        assert!(s.expire_due(t(4), t(-100)).await.unwrap().is_empty());
        let expired = s.expire_due(t(6), t(-100)).await.unwrap();
        assert_eq!(expired.len(), 1);
        assert_eq!(
            (expired[0].push_id.as_str(), expired[0].state),
            ("old-pending", MessageState::Expired)
        );
        assert_eq!(s.cleanup(t(2)).await.unwrap(), 1, "old-final forgotten");
        assert!(s.status("old-final", &[]).await.unwrap().is_none());
    }

    /// A batch that PostgreSQL aborts to break a deadlock or a serialization conflict is run
    /// again, also when the abort comes in the first of a receipt batch's two round trips (the
    /// transaction is then still open, aborted, and must be rolled back before the retry). The
    /// abort is injected: a trigger on segment raises 40001 on its first UPDATE only.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_receipt_batch_aborted_with_40001_is_retried() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let s = h.open(100);
        let mut p = push("conf", &["1"], t(0));
        p.confirmed = true;
        s.insert_push(p).await.unwrap();
        let jobs = s.lease_due(t(1), 10, t(31)).await.unwrap();
        s.record_submitted(jobs[0].recipient_id, "smsc-a", segs(&["m1"]), true, t(2))
            .await
            .unwrap();
        let client = h.sql().await;
        abort_first(&client, "UPDATE", "segment", "40001").await;
        let m = s
            .record_receipt(
                receipt("smsc-a", "m1", ReceiptOutcome::Delivered, "stat:DELIVRD"),
                t(3),
            )
            .await
            .expect("retried after the injected 40001");
        let ReceiptMatch::Final(ev) = m else {
            panic!("{m:?}")
        };
        assert_eq!(
            (ev.push_id.as_str(), ev.state),
            ("conf", MessageState::Delivered)
        );
        assert_eq!(
            aborts_injected(&client).await,
            2,
            "the first attempt aborted, the retry went through"
        );
    }

    /// An insert batch aborted with 40001/40P01 (a deadlock on the push-id index between two
    /// instances) is run once more: its pushes are stored and answered Ok, not refused. The
    /// abort is injected by a trigger on push's first INSERT.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_insert_batch_aborted_with_40p01_is_retried() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let s = h.open(100);
        let client = h.sql().await;
        abort_first(&client, "INSERT", "push", "40P01").await;
        s.insert_push(push("dl-1", &["1"], t(0)))
            .await
            .expect("retried after the injected 40P01");
        assert_eq!(s.status("dl-1", &[]).await.unwrap().unwrap().len(), 1);
        assert_eq!(
            aborts_injected(&client).await,
            2,
            "the first attempt aborted, the retry went through"
        );
    }

    fn connect_tls(
        url: &str,
        ca: &std::path::Path,
        server_name: &str,
    ) -> Result<ppgd::store::postgres::PgStore, ppgd::store::StoreError> {
        let tls = ppgd::config::TlsClientConfig {
            ca: ca.to_path_buf(),
            server_name: Some(server_name.to_string()),
        };
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(ppgd::store::postgres::PgStore::connect(
                url,
                Some(&tls),
                100,
                256,
                Metrics::new(),
            ))
        })
    }

    /// `[store] tls`: every connection of the store (the pool and the LISTEN connection) is TLS,
    /// verified against the CA for the configured name, and the store works over it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn store_over_tls_is_verified_and_encrypted() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let url = h.url.as_deref().unwrap();
        let ca = &super::super::pg::server().unwrap().ca;
        let s = connect_tls(url, ca, "localhost").expect("TLS store");
        s.insert_push(push("tls-1", &["1"], t(0))).await.unwrap();
        assert_eq!(s.status("tls-1", &[]).await.unwrap().unwrap().len(), 1);
        let client = h.sql().await;
        let row = client
            .query_one(
                "SELECT COUNT(*) FILTER (WHERE s.ssl), COUNT(*) FILTER (WHERE NOT s.ssl)
                 FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        let (tls, plain): (i64, i64) = (row.get(0), row.get(1));
        assert!(
            tls >= 2,
            "the LISTEN connection and a pooled one at least: {tls}"
        );
        assert_eq!(plain, 0, "no plain connection from the TLS store");
    }

    /// A server whose certificate the CA did not sign, or that names another host, is refused
    /// at connect (nothing is stored over an unverified connection); a URL asking for TLS
    /// without `[store] tls` to verify it with is refused before any connection.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn store_tls_refuses_what_it_cannot_verify() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let url = h.url.as_deref().unwrap();
        let ca = &super::super::pg::server().unwrap().ca;
        let other = tempfile::NamedTempFile::new().unwrap();
        let stranger = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        std::fs::write(other.path(), stranger.cert.pem()).unwrap();
        let err = connect_tls(url, other.path(), "localhost")
            .err()
            .expect("an unknown CA")
            .to_string();
        assert!(err.to_lowercase().contains("certificate"), "{err}");
        let err = connect_tls(url, ca, "db.example")
            .err()
            .expect("another name")
            .to_string();
        assert!(err.to_lowercase().contains("certificate"), "{err}");
        let err = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(ppgd::store::postgres::PgStore::connect(
                &format!("{url}?sslmode=require"),
                None,
                100,
                256,
                Metrics::new(),
            ))
        })
        .err()
        .expect("sslmode=require without [store] tls")
        .to_string();
        assert!(err.contains("[store] tls"), "{err}");
    }

    /// Cleanup removes a forgotten push's recipients and segments with it (migration 4 dropped
    /// the foreign keys whose ON DELETE CASCADE did it), and leaves other pushes' rows alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cleanup_leaves_no_orphan_recipient_or_segment() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let s = h.open(100);
        let mut confirmed = push("conf", &["1"], t(0));
        confirmed.confirmed = true;
        s.insert_push(confirmed).await.unwrap();
        s.insert_push(push("keep", &["2"], t(0))).await.unwrap();
        for j in s.lease_due(t(1), 10, t(31)).await.unwrap() {
            if j.push_id == "conf" {
                s.record_submitted(j.recipient_id, "smsc-a", segs(&["m1", "m2"]), true, t(2))
                    .await
                    .unwrap();
                s.record_final(j.recipient_id, MessageState::Delivered, 1000, "ok", t(3))
                    .await
                    .unwrap()
                    .unwrap();
            }
        }
        let client = h.sql().await;
        let count = |sql: &'static str| {
            let client = &client;
            async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
        };
        assert_eq!(count("SELECT COUNT(*) FROM segment").await, 2);
        assert_eq!(s.cleanup(t(4)).await.unwrap(), 1);
        assert_eq!(count("SELECT COUNT(*) FROM segment").await, 0);
        assert_eq!(
            count("SELECT COUNT(*) FROM recipient r WHERE NOT EXISTS (SELECT 1 FROM push p WHERE p.id = r.push)").await,
            0
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM recipient").await,
            1,
            "keep's recipient"
        );
    }

    /// An unconfirmed submission is submitted and final in one step: the recipient shows the
    /// SMSC and the time, and no segment is kept (no receipt is awaited).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unconfirmed_submission_is_final_with_its_smsc() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let s = h.open(100);
        s.insert_push(push("unconf", &["1"], t(0))).await.unwrap();
        let jobs = s.lease_due(t(1), 10, t(31)).await.unwrap();
        let ev = s
            .record_submitted(jobs[0].recipient_id, "smsc-b", segs(&["m9"]), false, t(2))
            .await
            .unwrap()
            .expect("final at once");
        assert_eq!((ev.state, ev.code), (MessageState::Delivered, 1000));
        let client = h.sql().await;
        let row = client
            .query_one(
                "SELECT r.submitted, r.smsc, r.state, r.updated_at, r.leased_until
                 FROM recipient r JOIN push p ON p.id = r.push WHERE p.push_id = 'unconf'",
                &[],
            )
            .await
            .unwrap();
        assert!(row.get::<_, bool>(0));
        assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("smsc-b"));
        assert_eq!(row.get::<_, String>(2), "delivered");
        assert_eq!(row.get::<_, Option<i64>>(3), Some(t(2).0));
        assert_eq!(row.get::<_, Option<i64>>(4), None);
        assert_eq!(
            client
                .query_one("SELECT COUNT(*) FROM segment", &[])
                .await
                .unwrap()
                .get::<_, i64>(0),
            0
        );
    }

    /// A push stored by one instance wakes the other (LISTEN/NOTIFY), without any poll.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn insert_on_one_instance_wakes_the_other() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let a = h.open(100);
        let b = Arc::new(h.open(100));
        // The wake at LISTEN time (whatever was stored before) is consumed first.
        tokio::time::timeout(std::time::Duration::from_secs(5), b.store_wake())
            .await
            .expect("initial wake");
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.store_wake().await })
        };
        a.insert_push(push("wake", &["1"], t(0))).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the other instance was woken")
            .unwrap();
        assert_eq!(b.lease_due(t(1), 10, t(31)).await.unwrap().len(), 1);
    }

    /// A push stored leased (the fast path) is its instance's already: it wakes no other
    /// instance into a lease query that would find nothing. A push stored unleased still does.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_push_stored_leased_wakes_nobody() {
        let Some(h) = PgHarness::if_installed() else {
            return;
        };
        let a = h.open(100);
        let b = Arc::new(h.open(100));
        tokio::time::timeout(std::time::Duration::from_secs(5), b.store_wake())
            .await
            .expect("initial wake");
        let mut waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.store_wake().await })
        };
        let mut leased = push("leased", &["1", "2"], t(0));
        leased.lease_until = Some(t(LEASE));
        assert_eq!(a.insert_push(leased).await.unwrap().len(), 2);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(500), &mut waiter)
                .await
                .is_err(),
            "a push stored leased woke the other instance"
        );
        a.insert_push(push("plain", &["1"], t(0))).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the other instance was woken")
            .unwrap();
        assert_eq!(b.lease_due(t(1), 10, t(31)).await.unwrap().len(), 1);
    }
}

mod sqlite {
    use super::*;

    store_suite!(SqliteHarness::new());

    /// The process died between storing a push leased (the fast path) and submitting it: at
    /// the next start the lease is released like any other, and the recipient is leased again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_push_stored_leased_comes_back_after_a_crash() {
        let h = SqliteHarness::new();
        let s = h.open(100);
        // The first lease query finds the store empty: the next push may be stored leased.
        assert!(lease_ids(&s, t(0)).await.is_empty());
        let mut p = push("fast", &["1"], t(0));
        p.lease_until = Some(t(100_000));
        let jobs = s.insert_push(p).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert!(lease_ids(&s, t(1)).await.is_empty());
        drop(s);
        let s = h.open(100);
        let again = s.lease_due(t(2), 10, t(32)).await.unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].recipient_id, jobs[0].recipient_id);
        assert_eq!(
            (again[0].attempts, again[0].first_attempt_at),
            (1, Some(t(0)))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reopen_after_drop_keeps_commits_and_releases_leases() {
        let h = SqliteHarness::new();
        let s = h.open(100);
        let mut p = push("kept", &["1", "2"], t(0));
        p.notify_to = Some("http://pi.example/n".into());
        s.insert_push(p).await.unwrap();
        s.insert_push(push("other", &["1"], t(1))).await.unwrap();
        let jobs = s.lease_due(t(2), 10, t(100_000)).await.unwrap();
        assert_eq!(jobs.len(), 3);
        s.record_final(
            jobs[2].recipient_id,
            MessageState::Undeliverable,
            4000,
            "x",
            t(3),
        )
        .await
        .unwrap();
        s.cancel("kept", &[], t(4)).await.unwrap(); // both leased: nothing cancelled
        let n = s.notifications_due(t(4), 10, t(100_000)).await.unwrap();
        assert!(n.is_empty());
        let first_lease = jobs[0].recipient_id;
        s.record_final(first_lease, MessageState::Timeout, 4000, "t", t(5))
            .await
            .unwrap();
        assert_eq!(
            s.notifications_due(t(5), 10, t(100_000))
                .await
                .unwrap()
                .len(),
            1
        );
        // No close: the store is dropped as a killed process would leave it (the file lock is
        // released by the kernel, the leases are still in the file).
        drop(s);
        let s = h.open(100);
        assert_eq!(s.status("kept", &[]).await.unwrap().unwrap().len(), 2);
        assert_eq!(
            state_of(&s, "other", "1").await.0,
            MessageState::Undeliverable
        );
        let st = s.queue_stats().await.unwrap();
        assert_eq!(st.depth, 1, "depth counter initialised from the file");
        let again = s.lease_due(t(6), 10, t(36)).await.unwrap();
        assert_eq!(
            again.len(),
            1,
            "lease left by the dead process not released"
        );
        assert_eq!(again[0].push_id, "kept");
        assert_eq!(again[0].attempts, 1);
        let n = s.notifications_due(t(6), 10, t(36)).await.unwrap();
        assert_eq!(n.len(), 1, "notification lease not released");
        assert!(matches!(
            s.insert_push(push("kept", &["9"], t(7))).await,
            Err(StoreError::DuplicatePushId { .. })
        ));
    }

    #[tokio::test]
    async fn second_open_of_a_store_is_refused() {
        let h = SqliteHarness::new();
        let _s = h.open(100);
        let err = SqliteStore::open(h.dir.path(), 100, 8, Metrics::new())
            .err()
            .expect("second open must fail");
        let text = err.to_string();
        assert!(text.contains("ppgd.lock"), "{text}");
        assert!(text.contains(&h.dir.path().display().to_string()), "{text}");
    }

    #[tokio::test]
    async fn queue_limit_counts_what_the_file_holds_at_open() {
        let h = SqliteHarness::new();
        let s = h.open(3);
        s.insert_push(push("a", &["1", "2", "3"], t(0)))
            .await
            .unwrap();
        drop(s);
        let s = h.open(3);
        assert!(matches!(
            s.insert_push(push("b", &["1"], t(1))).await,
            Err(StoreError::QueueFull { depth: 3, limit: 3 })
        ));
    }

    #[tokio::test]
    async fn schema_version_is_recorded_once() {
        let h = SqliteHarness::new();
        drop(h.open(1));
        drop(h.open(1));
        let c = rusqlite::Connection::open(h.dir.path().join("ppgd.sqlite")).unwrap();
        let rows: Vec<i64> = c
            .prepare("SELECT version FROM schema_version ORDER BY version")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let known: Vec<i64> = ppgd::store::sqlite::schema::MIGRATIONS
            .iter()
            .map(|m| m.0)
            .collect();
        assert_eq!(rows, known);
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_2000_inserts_from_200_tasks() {
        let h = SqliteHarness::new();
        let s = Arc::new(h.open(1_000_000));
        let mut tasks = Vec::new();
        for task in 0..200 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..10 {
                    let id = format!("g-{task}-{i}");
                    s.insert_push(push(&id, &["491701234567"], t(task))).await?;
                }
                Ok::<(), StoreError>(())
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        for task in 0..200 {
            for i in 0..10 {
                let id = format!("g-{task}-{i}");
                assert!(s.status(&id, &[]).await.unwrap().is_some(), "{id} missing");
            }
        }
        assert_eq!(s.queue_stats().await.unwrap().depth, 2000);
        let batches = h.metrics.store_commit_batch_size.get_sample_count();
        let writes = h.metrics.store_commit_batch_size.get_sample_sum();
        assert_eq!(writes, 2000.0);
        assert!(
            batches < 2000,
            "no group commit: {batches} commits for 2000 writes"
        );
        assert!(h.metrics.store_commit_duration.get_sample_count() == batches);
    }

    /// A store written by a ppgd with schema V1 (full queue indexes) opens under V2 (partial
    /// ones) with its queue intact: the pending recipient is counted, leased and finished.
    #[tokio::test]
    async fn v1_store_upgrades_to_partial_queue_indexes() {
        let h = SqliteHarness::new();
        {
            let c = rusqlite::Connection::open(h.dir.path().join("ppgd.sqlite")).unwrap();
            let (v, ddl) = ppgd::store::sqlite::schema::MIGRATIONS[0];
            assert_eq!(v, 1);
            c.execute_batch(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,
                     applied_at INTEGER NOT NULL);
                 INSERT INTO schema_version VALUES (1, 0);",
            )
            .unwrap();
            c.execute_batch(ddl).unwrap();
            c.execute_batch(
                "INSERT INTO push (id, push_id, pi, pap_version, received_at, priority, confirmed,
                     wsp_pdu) VALUES (1, 'old-1', 'pi', '2.0', 0, 1, 0, x'0106');
                 INSERT INTO recipient (id, push, address, msisdn, state, code, description,
                     updated_at, next_attempt_at, priority, received_at)
                 VALUES (1, 1, 'WAPPUSH=+491701234567/TYPE=PLMN@ppg', '491701234567', 'pending',
                     1001, 'accepted', 0, 0, 1, 0);",
            )
            .unwrap();
        }
        let s = h.open(10);
        assert_eq!(s.queue_stats().await.unwrap().depth, 1);
        let c = rusqlite::Connection::open(h.dir.path().join("ppgd.sqlite")).unwrap();
        let sql: String = c
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'recipient_lease'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            sql.contains("WHERE state = 'pending' AND submitted = 0"),
            "{sql}"
        );
        assert_eq!(lease_ids(&s, t(1)).await, vec![1]);
        let done = s
            .record_submitted(1, "smsc-a", segs(&["m1"]), false, t(2))
            .await
            .unwrap()
            .expect("final at submit");
        assert_eq!(done.push_id, "old-1");
        assert_eq!(done.state, MessageState::Delivered);
        assert_eq!(s.queue_stats().await.unwrap().depth, 0);
        assert!(lease_ids(&s, t(3)).await.is_empty());
    }

    #[tokio::test]
    async fn lease_query_walks_the_lease_index() {
        // The lease query must not sort the whole queue: its plan uses recipient_lease for the
        // ORDER BY (no "USE TEMP B-TREE FOR ORDER BY").
        let h = SqliteHarness::new();
        drop(h.open(1));
        let c = rusqlite::Connection::open(h.dir.path().join("ppgd.sqlite")).unwrap();
        let plan: Vec<String> = c
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                ppgd::store::sqlite::LEASE_DUE_SQL
            ))
            .unwrap()
            .query_map([1, 10], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("recipient_lease"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
