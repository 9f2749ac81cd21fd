//! Reassembly of concatenated SMS (3GPP TS 23.040 §9.2.3.24.1/.8; SMPP 3.4 §5.3.2.22–24 for
//! the SAR TLVs).
//!
//! Segments arrive in any order. A message is identified by the caller's key (the originator,
//! say) plus the concatenation reference and its width: an 8-bit and a 16-bit reference of the
//! same value are different messages (they are different IEs). Memory is bounded: at most
//! `max_pending` partial messages are held and the oldest is evicted to make room; time is
//! an argument (any `Ord` value: `Instant`, `UtcTime`, a tick) so the caller's clock can expire
//! stale partial messages.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use super::udh::{Concat, UdhError, split_user_data};
use super::{Ports, Sar};

/// One received SMS, as the reassembler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// None: a message on its own (no concatenation IE, no SAR TLVs).
    pub concat: Option<Concat>,
    pub ports: Option<Ports>,
    /// The payload after the UDH.
    pub data: &'a [u8],
}

impl<'a> Fragment<'a> {
    /// From short_message octets sent with UDHI: the UDH's concat and port IEs.
    pub fn from_user_data(user_data: &'a [u8]) -> Result<Self, UdhError> {
        let (udh, data) = split_user_data(user_data)?;
        Ok(Self {
            concat: udh.concat(),
            ports: udh.ports(),
            data,
        })
    }

    /// From short_message (no UDH) with the SAR and port TLVs of the PDU. SAR references are
    /// 16 bits wide (sar_msg_ref_num).
    pub fn from_sar(data: &'a [u8], sar: Option<Sar>, ports: Option<Ports>) -> Self {
        Self {
            concat: sar.map(|s| Concat {
                reference: s.reference,
                wide: true,
                total: s.total,
                seqnum: s.seqnum,
            }),
            ports,
            data,
        }
    }
}

/// A whole message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    pub payload: Vec<u8>,
    /// The ports any segment carried (they agree, or the segment was rejected).
    pub ports: Option<Ports>,
    /// The concatenation it came from, if any.
    pub concat: Option<Concat>,
}

/// What one [`Reassembler::push`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The message is complete.
    Complete(Reassembled),
    /// Held; `received` of `total` segments so far.
    Pending { received: u8, total: u8 },
    /// The same segment, with the same content, was already held: ignored.
    Duplicate,
}

/// A segment inconsistent with itself or with the segments held for the same message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReassemblyError {
    #[error("reference {reference}: total number of segments is 0")]
    TotalZero { reference: u16 },
    #[error("reference {reference}: sequence number {seqnum} is outside 1..={total}")]
    SeqnumOutOfRange {
        reference: u16,
        seqnum: u8,
        total: u8,
    },
    #[error("reference {reference}: total {found} differs from {expected} in earlier segments")]
    TotalMismatch {
        reference: u16,
        expected: u8,
        found: u8,
    },
    #[error("reference {reference}: segment {seqnum} received again with different content")]
    DuplicateConflict { reference: u16, seqnum: u8 },
    #[error(
        "reference {reference}: segment {seqnum} has ports {found_destination}/{found_source}, \
         earlier segments {expected_destination}/{expected_source}"
    )]
    PortsMismatch {
        reference: u16,
        seqnum: u8,
        expected_destination: u16,
        expected_source: u16,
        found_destination: u16,
        found_source: u16,
    },
}

struct Pending<T> {
    parts: Vec<Option<Vec<u8>>>,
    received: u8,
    ports: Option<Ports>,
    first_seen: T,
    order: u64,
}

type MessageKey<K> = (K, u16, bool);

/// Holds partial messages until all their segments have arrived.
pub struct Reassembler<K, T> {
    pending: HashMap<MessageKey<K>, Pending<T>>,
    by_age: BTreeMap<u64, MessageKey<K>>,
    next_order: u64,
    max_pending: usize,
    evicted: u64,
}

impl<K: Eq + Hash + Clone, T: Ord + Copy> Reassembler<K, T> {
    /// `max_pending` partial messages at most (at least 1).
    pub fn new(max_pending: usize) -> Self {
        Self {
            pending: HashMap::new(),
            by_age: BTreeMap::new(),
            next_order: 0,
            max_pending: max_pending.max(1),
            evicted: 0,
        }
    }

    /// Partial messages held.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Partial messages dropped so far to respect `max_pending`.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Drops the partial messages whose first segment arrived before `before`; returns how many.
    pub fn expire(&mut self, before: T) -> usize {
        let stale: Vec<u64> = self
            .pending
            .values()
            .filter(|p| p.first_seen < before)
            .map(|p| p.order)
            .collect();
        for order in &stale {
            if let Some(key) = self.by_age.remove(order) {
                self.pending.remove(&key);
            }
        }
        stale.len()
    }

    /// Takes one segment. On error nothing held changes.
    pub fn push(
        &mut self,
        key: K,
        fragment: Fragment<'_>,
        now: T,
    ) -> Result<Progress, ReassemblyError> {
        let Some(concat) = fragment.concat else {
            return Ok(Progress::Complete(Reassembled {
                payload: fragment.data.to_vec(),
                ports: fragment.ports,
                concat: None,
            }));
        };
        let Concat {
            reference,
            total,
            seqnum,
            wide,
        } = concat;
        // UDH decoding already checks these; SAR TLV values arrive unchecked.
        if total == 0 {
            return Err(ReassemblyError::TotalZero { reference });
        }
        if seqnum == 0 || seqnum > total {
            return Err(ReassemblyError::SeqnumOutOfRange {
                reference,
                seqnum,
                total,
            });
        }
        let map_key = (key, reference, wide);
        let index = usize::from(seqnum - 1);
        if let Some(p) = self.pending.get_mut(&map_key) {
            let expected = u8::try_from(p.parts.len()).unwrap_or(u8::MAX);
            if expected != total {
                return Err(ReassemblyError::TotalMismatch {
                    reference,
                    expected,
                    found: total,
                });
            }
            if let (Some(e), Some(f)) = (p.ports, fragment.ports)
                && e != f
            {
                return Err(ReassemblyError::PortsMismatch {
                    reference,
                    seqnum,
                    expected_destination: e.destination,
                    expected_source: e.source,
                    found_destination: f.destination,
                    found_source: f.source,
                });
            }
            let Some(slot) = p.parts.get_mut(index) else {
                // index < total == parts.len(), checked above.
                return Err(ReassemblyError::SeqnumOutOfRange {
                    reference,
                    seqnum,
                    total,
                });
            };
            if let Some(held) = slot {
                return if held.as_slice() == fragment.data {
                    Ok(Progress::Duplicate)
                } else {
                    Err(ReassemblyError::DuplicateConflict { reference, seqnum })
                };
            }
            *slot = Some(fragment.data.to_vec());
            p.received += 1;
            if p.ports.is_none() {
                p.ports = fragment.ports;
            }
            if p.received < total {
                return Ok(Progress::Pending {
                    received: p.received,
                    total,
                });
            }
            let Some(done) = self.pending.remove(&map_key) else {
                return Ok(Progress::Duplicate);
            };
            self.by_age.remove(&done.order);
            let len = done.parts.iter().flatten().map(Vec::len).sum();
            let mut payload = Vec::with_capacity(len);
            for part in done.parts.iter().flatten() {
                payload.extend_from_slice(part);
            }
            return Ok(Progress::Complete(Reassembled {
                payload,
                ports: done.ports,
                concat: Some(concat),
            }));
        }

        // A message of one part (legal, §9.2.3.24.1; the dsv SI does it) is complete at once,
        // unless it contradicts a held message of the same reference (TotalMismatch above).
        if total == 1 {
            return Ok(Progress::Complete(Reassembled {
                payload: fragment.data.to_vec(),
                ports: fragment.ports,
                concat: Some(concat),
            }));
        }
        while self.pending.len() >= self.max_pending {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.pending.remove(&oldest);
            self.evicted += 1;
        }
        let mut parts = vec![None; usize::from(total)];
        if let Some(slot) = parts.get_mut(index) {
            *slot = Some(fragment.data.to_vec());
        }
        let order = self.next_order;
        self.next_order += 1;
        self.by_age.insert(order, map_key.clone());
        self.pending.insert(
            map_key,
            Pending {
                parts,
                received: 1,
                ports: fragment.ports,
                first_seen: now,
                order,
            },
        );
        Ok(Progress::Pending { received: 1, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(reference: u16, total: u8, seqnum: u8, data: &[u8]) -> Fragment<'_> {
        Fragment {
            concat: Some(Concat {
                reference,
                wide: false,
                total,
                seqnum,
            }),
            ports: Some(Ports::WSP_PUSH),
            data,
        }
    }

    #[test]
    fn any_order_and_duplicates() {
        let mut r = Reassembler::<&str, u32>::new(4);
        assert_eq!(
            r.push("a", frag(9, 3, 3, b"ef"), 0),
            Ok(Progress::Pending {
                received: 1,
                total: 3
            })
        );
        assert_eq!(
            r.push("a", frag(9, 3, 1, b"ab"), 1),
            Ok(Progress::Pending {
                received: 2,
                total: 3
            })
        );
        assert_eq!(
            r.push("a", frag(9, 3, 1, b"ab"), 1),
            Ok(Progress::Duplicate)
        );
        assert_eq!(
            r.push("a", frag(9, 3, 1, b"XX"), 1),
            Err(ReassemblyError::DuplicateConflict {
                reference: 9,
                seqnum: 1
            })
        );
        assert_eq!(
            r.push("a", frag(9, 4, 2, b"cd"), 1),
            Err(ReassemblyError::TotalMismatch {
                reference: 9,
                expected: 3,
                found: 4
            })
        );
        let mut other_ports = frag(9, 3, 2, b"cd");
        other_ports.ports = Some(Ports {
            destination: 9204,
            source: 9200,
        });
        assert!(matches!(
            r.push("a", other_ports, 1),
            Err(ReassemblyError::PortsMismatch { seqnum: 2, .. })
        ));
        // Another originator with the same reference is another message.
        assert!(matches!(
            r.push("b", frag(9, 3, 2, b"cd"), 1),
            Ok(Progress::Pending { .. })
        ));
        let Ok(Progress::Complete(done)) = r.push("a", frag(9, 3, 2, b"cd"), 2) else {
            panic!("not complete")
        };
        assert_eq!(done.payload, b"abcdef");
        assert_eq!(done.ports, Some(Ports::WSP_PUSH));
        assert_eq!(r.pending(), 1);
    }

    #[test]
    fn one_part_message_must_agree_with_held_reference() {
        let mut r = Reassembler::<u8, u32>::new(2);
        r.push(1, frag(7, 3, 1, b"a"), 0).unwrap();
        assert_eq!(
            r.push(1, frag(7, 1, 1, b"b"), 0),
            Err(ReassemblyError::TotalMismatch {
                reference: 7,
                expected: 3,
                found: 1
            })
        );
        assert!(matches!(
            r.push(2, frag(7, 1, 1, b"b"), 0),
            Ok(Progress::Complete(_))
        ));
        assert_eq!(r.pending(), 1);
    }

    #[test]
    fn bounded_and_expirable() {
        let mut r = Reassembler::<u8, u32>::new(2);
        r.push(1, frag(1, 2, 1, b"a"), 10).unwrap();
        r.push(2, frag(1, 2, 1, b"a"), 20).unwrap();
        r.push(3, frag(1, 2, 1, b"a"), 30).unwrap();
        assert_eq!(r.pending(), 2);
        assert_eq!(r.evicted(), 1);
        // key 1 was evicted: its second segment starts a new message.
        assert_eq!(
            r.push(1, frag(1, 2, 2, b"b"), 40),
            Ok(Progress::Pending {
                received: 1,
                total: 2
            })
        );
        assert_eq!(r.expire(35), 1);
        assert_eq!(r.pending(), 1);
    }

    #[test]
    fn sar_values_are_checked() {
        let mut r = Reassembler::<u8, u32>::new(2);
        let f = Fragment::from_sar(
            b"x",
            Some(Sar {
                reference: 5,
                total: 2,
                seqnum: 3,
            }),
            None,
        );
        assert_eq!(
            r.push(0, f, 0),
            Err(ReassemblyError::SeqnumOutOfRange {
                reference: 5,
                seqnum: 3,
                total: 2
            })
        );
        let f = Fragment::from_sar(
            b"x",
            Some(Sar {
                reference: 5,
                total: 0,
                seqnum: 0,
            }),
            None,
        );
        assert_eq!(
            r.push(0, f, 0),
            Err(ReassemblyError::TotalZero { reference: 5 })
        );
    }
}
