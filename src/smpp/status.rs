//! The SMPP command_status table (SMPP 3.4 §5.1.3, SMPP 5.0 §4.7.6 for 0x100–0x112) and the one
//! decision the gateway makes from it: retry, pause, or fail the push for that address.
//!
//! The classification follows Kannel (`smpp_status_to_smscconn_failure_reason`) and Jasmin
//! (digest §6.2): ESME_RTHROTTLED and ESME_RMSGQFUL pause the session; ESME_RSYSERR,
//! ESME_RX_T_APPN and bind/session-state errors are transient; everything about the message or the
//! address itself is permanent. Codes missing from the table are transient, but only
//! [`UNKNOWN_RETRY_CAP`] times. `docs/smpp-status.md` holds the same table; a test keeps them equal.

/// What to do with a request the SMSC answered with a non-zero command_status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// Transient: retry (possibly on another session) with backoff until the message deadline.
    Retry,
    /// The SMSC is overloaded: pause this session for `throttle_pause`, then retry.
    Throttle,
    /// The message or the address is refused: retrying cannot help.
    Permanent,
}

/// Unknown command_status values are retried at most this many times, then treated as permanent.
pub const UNKNOWN_RETRY_CAP: u32 = 3;

pub const ESME_ROK: u32 = 0x00;
pub const ESME_RINVCMDLEN: u32 = 0x02;
pub const ESME_RINVCMDID: u32 = 0x03;
pub const ESME_RSYSERR: u32 = 0x08;
pub const ESME_RINVPASWD: u32 = 0x0E;
pub const ESME_RINVSYSID: u32 = 0x0F;
pub const ESME_RMSGQFUL: u32 = 0x14;
pub const ESME_RINVSYSTYP: u32 = 0x53;
pub const ESME_RTHROTTLED: u32 = 0x58;
pub const ESME_RX_T_APPN: u32 = 0x64;
pub const ESME_RUNKNOWNERR: u32 = 0xFF;

use Disposition::{Permanent, Retry, Throttle};

/// (code, name, disposition). ESME_ROK is listed for its name; it is never classified.
pub const TABLE: &[(u32, &str, Disposition)] = &[
    (0x00, "ESME_ROK", Retry),
    (0x01, "ESME_RINVMSGLEN", Permanent),
    (0x02, "ESME_RINVCMDLEN", Permanent),
    (0x03, "ESME_RINVCMDID", Permanent),
    // Sent while the session was not (yet, or any longer) bound: another session may succeed.
    (0x04, "ESME_RINVBNDSTS", Retry),
    (0x05, "ESME_RALYBND", Retry),
    (0x06, "ESME_RINVPRTFLG", Permanent),
    (0x07, "ESME_RINVREGDLVFLG", Permanent),
    (0x08, "ESME_RSYSERR", Retry),
    (0x0A, "ESME_RINVSRCADR", Permanent),
    (0x0B, "ESME_RINVDSTADR", Permanent),
    (0x0C, "ESME_RINVMSGID", Permanent),
    (0x0D, "ESME_RBINDFAIL", Retry),
    (0x0E, "ESME_RINVPASWD", Retry),
    (0x0F, "ESME_RINVSYSID", Retry),
    (0x11, "ESME_RCANCELFAIL", Permanent),
    (0x13, "ESME_RREPLACEFAIL", Permanent),
    (0x14, "ESME_RMSGQFUL", Throttle),
    (0x15, "ESME_RINVSERTYP", Permanent),
    (0x33, "ESME_RINVNUMDESTS", Permanent),
    (0x34, "ESME_RINVDLNAME", Permanent),
    (0x40, "ESME_RINVDESTFLAG", Permanent),
    (0x42, "ESME_RINVSUBREP", Permanent),
    (0x43, "ESME_RINVESMCLASS", Permanent),
    (0x44, "ESME_RCNTSUBDL", Permanent),
    (0x45, "ESME_RSUBMITFAIL", Permanent),
    (0x48, "ESME_RINVSRCTON", Permanent),
    (0x49, "ESME_RINVSRCNPI", Permanent),
    (0x50, "ESME_RINVDSTTON", Permanent),
    (0x51, "ESME_RINVDSTNPI", Permanent),
    (0x53, "ESME_RINVSYSTYP", Retry),
    (0x54, "ESME_RINVREPFLAG", Permanent),
    (0x55, "ESME_RINVNUMMSGS", Permanent),
    (0x58, "ESME_RTHROTTLED", Throttle),
    (0x61, "ESME_RINVSCHED", Permanent),
    (0x62, "ESME_RINVEXPIRY", Permanent),
    (0x63, "ESME_RINVDFTMSGID", Permanent),
    (0x64, "ESME_RX_T_APPN", Retry),
    (0x65, "ESME_RX_P_APPN", Permanent),
    (0x66, "ESME_RX_R_APPN", Permanent),
    (0x67, "ESME_RQUERYFAIL", Permanent),
    (0xC0, "ESME_RINVOPTPARSTREAM", Permanent),
    (0xC1, "ESME_ROPTPARNOTALLWD", Permanent),
    (0xC2, "ESME_RINVPARLEN", Permanent),
    (0xC3, "ESME_RMISSINGOPTPARAM", Permanent),
    (0xC4, "ESME_RINVOPTPARAMVAL", Permanent),
    (0xFE, "ESME_RDELIVERYFAILURE", Permanent),
    (0xFF, "ESME_RUNKNOWNERR", Retry),
    (0x100, "ESME_RSERTYPUNAUTH", Permanent),
    (0x101, "ESME_RPROHIBITED", Permanent),
    (0x102, "ESME_RSERTYPUNAVAIL", Retry),
    (0x103, "ESME_RSERTYPDENIED", Permanent),
    (0x104, "ESME_RINVDCS", Permanent),
    (0x105, "ESME_RINVSRCADDRSUBUNIT", Permanent),
    (0x106, "ESME_RINVDSTADDRSUBUNIT", Permanent),
    (0x107, "ESME_RINVBCASTFREQINT", Permanent),
    (0x108, "ESME_RINVBCASTALIAS_NAME", Permanent),
    (0x109, "ESME_RINVBCASTAREAFMT", Permanent),
    (0x10A, "ESME_RINVNUMBCAST_AREAS", Permanent),
    (0x10B, "ESME_RINVBCASTCNTTYPE", Permanent),
    (0x10C, "ESME_RINVBCASTMSGCLASS", Permanent),
    (0x10D, "ESME_RBCASTFAIL", Retry),
    (0x10E, "ESME_RBCASTQUERYFAIL", Retry),
    (0x10F, "ESME_RBCASTCANCELFAIL", Retry),
    (0x110, "ESME_RINVBCAST_REP", Permanent),
    (0x111, "ESME_RINVBCASTSRVGRP", Permanent),
    (0x112, "ESME_RINVBCASTCHANIND", Permanent),
];

fn lookup(status: u32) -> Option<&'static (u32, &'static str, Disposition)> {
    TABLE.iter().find(|(code, ..)| *code == status)
}

/// The ESME_ name of a command_status, or "UNKNOWN" for a code outside the table.
pub fn name(status: u32) -> &'static str {
    lookup(status).map_or("UNKNOWN", |(_, n, _)| n)
}

/// Whether the code is in the SMPP 3.4/5.0 table.
pub fn is_known(status: u32) -> bool {
    lookup(status).is_some()
}

/// The one classification of a non-zero command_status. Unknown codes are [`Disposition::Retry`]
/// (the caller caps them at [`UNKNOWN_RETRY_CAP`] attempts).
pub fn disposition(status: u32) -> Disposition {
    lookup(status).map_or(Retry, |(_, _, d)| *d)
}

/// A bind refused with one of these is an operator problem (wrong credentials): Kannel stops
/// reconnecting; we log loudly and keep retrying at the maximum backoff.
pub fn is_credentials_error(status: u32) -> bool {
    matches!(status, ESME_RINVPASWD | ESME_RINVSYSID | ESME_RINVSYSTYP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_dispositions_follow_the_gateways() {
        assert_eq!(name(0x58), "ESME_RTHROTTLED");
        assert_eq!(disposition(ESME_RTHROTTLED), Throttle);
        assert_eq!(disposition(ESME_RMSGQFUL), Throttle);
        assert_eq!(disposition(ESME_RSYSERR), Retry);
        assert_eq!(disposition(ESME_RX_T_APPN), Retry);
        assert_eq!(disposition(0x0B), Permanent);
        assert_eq!(disposition(0x61), Permanent);
        assert_eq!(disposition(0x104), Permanent);
        assert_eq!(disposition(0x4242), Retry);
        assert_eq!(name(0x4242), "UNKNOWN");
        assert!(!is_known(0x4242));
        assert!(is_credentials_error(ESME_RINVPASWD));
        assert!(!is_credentials_error(ESME_RSYSERR));
    }

    #[test]
    fn codes_are_unique_and_sorted() {
        for w in TABLE.windows(2) {
            assert!(w[0].0 < w[1].0, "{:#x} then {:#x}", w[0].0, w[1].0);
        }
        assert_eq!(
            TABLE
                .iter()
                .filter(|(c, ..)| (0x100..=0x112).contains(c))
                .count(),
            19
        );
    }

    /// docs/smpp-status.md and TABLE say the same thing.
    #[test]
    fn doc_table_agrees_with_code() {
        let doc = include_str!("../../docs/smpp-status.md");
        let mut rows = Vec::new();
        for line in doc.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | 0x08 | ESME_RSYSERR | retry | why |
            if cells.len() < 5 || !cells[1].starts_with("0x") {
                continue;
            }
            let code = u32::from_str_radix(&cells[1][2..], 16).expect("hex code in doc");
            let disp = match cells[3] {
                "retry" | "—" => Retry,
                "throttle" => Throttle,
                "permanent" => Permanent,
                other => panic!("unknown disposition {other} in doc"),
            };
            rows.push((code, cells[2].to_string(), disp));
        }
        assert_eq!(rows.len(), TABLE.len(), "row count");
        for ((dc, dn, dd), (c, n, d)) in rows.iter().zip(TABLE) {
            assert_eq!((dc, dn.as_str(), dd), (c, *n, d));
        }
    }
}
