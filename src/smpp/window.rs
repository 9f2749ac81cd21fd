//! The request window of one session (SMPP 3.4 §2.6 "asynchronous" operation): up to N requests
//! outstanding, matched by sequence_number, each with its own response deadline.
//!
//! Pure: time is passed in. Sequence numbers run 0x00000001..=0x7FFFFFFF and wrap (§5.1.4).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

pub const SEQ_MAX: u32 = 0x7FFF_FFFF;

/// Allocates sequence numbers 1..=0x7FFFFFFF, wrapping to 1.
#[derive(Debug, Clone)]
pub struct Sequence {
    next: u32,
}

impl Default for Sequence {
    fn default() -> Self {
        Sequence { next: 1 }
    }
}

impl Sequence {
    pub fn starting_at(next: u32) -> Self {
        Sequence {
            next: next.clamp(1, SEQ_MAX),
        }
    }

    pub fn next_seq(&mut self) -> u32 {
        let s = self.next;
        self.next = if s >= SEQ_MAX { 1 } else { s + 1 };
        s
    }
}

#[derive(Debug)]
struct Slot<T> {
    item: T,
    deadline: Instant,
}

/// Hashes a sequence number with one multiplication (Fibonacci hashing): the keys are ours,
/// consecutive and few, so the default SipHash (keyed against flooding) buys nothing here.
#[derive(Debug, Default)]
struct SeqHasher(u64);

impl Hasher for SeqHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Up to `capacity` outstanding requests carrying a `T` (the job to hand back on timeout/drop).
#[derive(Debug)]
pub struct Window<T> {
    capacity: usize,
    slots: HashMap<u32, Slot<T>, BuildHasherDefault<SeqHasher>>,
}

impl<T> Window<T> {
    pub fn new(capacity: usize) -> Self {
        Window {
            capacity: capacity.max(1),
            slots: HashMap::with_capacity_and_hasher(capacity, BuildHasherDefault::default()),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.slots.len() >= self.capacity
    }

    /// Records an outstanding request. Gives the item back if the window is full or the
    /// sequence number is already outstanding (after a wrap, a very old request).
    pub fn insert(&mut self, seq: u32, item: T, deadline: Instant) -> Result<(), T> {
        if self.is_full() {
            return Err(item);
        }
        match self.slots.entry(seq) {
            Entry::Occupied(_) => Err(item),
            Entry::Vacant(v) => {
                v.insert(Slot { item, deadline });
                Ok(())
            }
        }
    }

    /// The response for `seq` arrived: the request leaves the window. None = not ours (late,
    /// after its timeout, or never sent).
    pub fn handle_response(&mut self, seq: u32) -> Option<T> {
        self.slots.remove(&seq).map(|s| s.item)
    }

    /// Every request whose deadline is at or before `now` leaves the window.
    pub fn poll_timeouts(&mut self, now: Instant) -> Vec<(u32, T)> {
        let expired: Vec<u32> = self
            .slots
            .iter()
            .filter(|(_, s)| s.deadline <= now)
            .map(|(seq, _)| *seq)
            .collect();
        let mut out = Vec::with_capacity(expired.len());
        for seq in expired {
            if let Some(s) = self.slots.remove(&seq) {
                out.push((seq, s.item));
            }
        }
        out.sort_by_key(|(seq, _)| *seq);
        out
    }

    /// The earliest deadline, if anything is outstanding.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots.values().map(|s| s.deadline).min()
    }

    /// Everything outstanding (the session dropped: the items go back to the pool).
    pub fn drain(&mut self) -> Vec<T> {
        let mut all: Vec<(u32, T)> = self.slots.drain().map(|(k, s)| (k, s.item)).collect();
        all.sort_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, t)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sequence_wraps_to_one() {
        let mut s = Sequence::starting_at(SEQ_MAX - 1);
        assert_eq!(s.next_seq(), SEQ_MAX - 1);
        assert_eq!(s.next_seq(), SEQ_MAX);
        assert_eq!(s.next_seq(), 1);
        assert_eq!(Sequence::starting_at(0).next_seq(), 1);
    }

    #[test]
    fn window_limits_matches_and_expires() {
        let t0 = Instant::now();
        let mut w = Window::new(2);
        assert!(w.insert(1, "a", t0 + Duration::from_secs(1)).is_ok());
        assert_eq!(w.insert(1, "dup", t0), Err("dup"));
        assert!(w.insert(2, "b", t0 + Duration::from_secs(2)).is_ok());
        assert!(w.is_full());
        assert_eq!(w.insert(3, "c", t0), Err("c"));
        assert_eq!(w.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(w.handle_response(7), None);
        assert_eq!(w.poll_timeouts(t0 + Duration::from_millis(999)), vec![]);
        assert_eq!(w.poll_timeouts(t0 + Duration::from_secs(1)), vec![(1, "a")]);
        assert!(!w.is_full());
        assert_eq!(w.handle_response(2), Some("b"));
        assert_eq!(w.handle_response(2), None);
        assert!(w.is_empty());
        w.insert(9, "x", t0).ok();
        w.insert(8, "y", t0).ok();
        assert_eq!(w.drain(), vec!["y", "x"]);
        assert_eq!(w.next_deadline(), None);
    }
}
