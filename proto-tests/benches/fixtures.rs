//! The test push both store benchmarks insert (`store` and `scaleout`), so their figures compare.

use std::sync::atomic::{AtomicU64, Ordering};

use ppgd::store::{NewPush, NewRecipient, Priority};
use ppgd::util::UtcTime;

/// How many pushes this benchmark binary has built (each gets its own push-id and number).
pub static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// One push to one recipient with a 150-octet PDU, received at `now`.
pub fn new_push(now: UtcTime) -> NewPush {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    NewPush {
        push_id: format!("bench-{n}@ppg.example"),
        pi: "mmsc".into(),
        pap_version: "2.0".into(),
        received_at: now,
        deliver_after: None,
        deliver_before: Some(now.plus_secs(86_400)),
        priority: Priority::Medium,
        confirmed: false,
        notify_to: None,
        // A typical m-notification-ind push PDU is about 150 octets.
        wsp_pdu: vec![0x5a; 150],
        recipients: vec![NewRecipient {
            address: format!("WAPPUSH=+4917{n:08}/TYPE=PLMN@ppg.example"),
            msisdn: format!("4917{n:08}"),
        }],
        lease_until: None,
    }
}
