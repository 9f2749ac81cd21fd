//! The tolerant SMPP codec: rusmpp's `CommandCodec` framing, but a PDU whose body does not decode
//! becomes [`Frame::Malformed`] (answered with generic_nack, SMPP 3.4 §4.3) instead of an error
//! that would end the `Framed` stream. Only a command_length that makes resynchronisation
//! impossible (< 16 or > the maximum) is fatal.

use std::io;

use bytes::{Buf, BufMut, BytesMut};
use rusmpp::decode::DecodeWithLength;
use rusmpp::encode::Length;
use rusmpp::encode::owned::Encode;
use rusmpp::pdus::SubmitSm;
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::{Command, CommandId};
use tokio_util::codec::{Decoder, Encoder};

/// The SMPP header: command_length, command_id, command_status, sequence_number (§3.2).
pub const HEADER_LEN: usize = 16;
/// Default largest PDU we accept (a submit_sm with a 64 KiB message_payload would not fit, but
/// ours never exceed a few hundred octets; deliver_sm receipts are small).
pub const DEFAULT_MAX_LEN: usize = 8192;

/// One PDU off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Command(Box<Command>),
    /// The header was readable but the body was not: answer generic_nack with this sequence.
    Malformed {
        command_id: u32,
        sequence_number: u32,
        error: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(
        "command_length {length} is outside {min}..={max}: the stream cannot be resynchronised"
    )]
    Length {
        length: usize,
        min: usize,
        max: usize,
    },
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
}

#[derive(Debug)]
pub struct TolerantCodec {
    max_len: usize,
}

impl Default for TolerantCodec {
    fn default() -> Self {
        TolerantCodec {
            max_len: DEFAULT_MAX_LEN,
        }
    }
}

impl TolerantCodec {
    pub fn new(max_len: usize) -> Self {
        TolerantCodec {
            max_len: max_len.max(HEADER_LEN),
        }
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

impl Decoder for TolerantCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        if src.len() < HEADER_LEN {
            return Ok(None);
        }
        let length = be32(src, 0) as usize;
        if !(HEADER_LEN..=self.max_len).contains(&length) {
            return Err(CodecError::Length {
                length,
                min: HEADER_LEN,
                max: self.max_len,
            });
        }
        if src.len() < length {
            src.reserve(length - src.len());
            return Ok(None);
        }
        let mut pdu = src.split_to(length);
        let command_id = be32(&pdu, 4);
        let sequence_number = be32(&pdu, 12);
        pdu.advance(4);
        // Decode from a copy of exactly this PDU: whatever rusmpp consumes or fails on, the
        // stream stays aligned on the next command_length.
        match Command::decode(&mut pdu, length - 4) {
            Ok((command, _)) => Ok(Some(Frame::Command(Box::new(command)))),
            Err(e) => Ok(Some(Frame::Malformed {
                command_id,
                sequence_number,
                error: e.to_string(),
            })),
        }
    }
}

impl Encoder<Command> for TolerantCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Command, dst: &mut BytesMut) -> Result<(), CodecError> {
        CommandCodec::new()
            .encode(&item, dst)
            .map_err(|e| CodecError::Io(io::Error::other(e.to_string())))
    }
}

/// Appends one submit_sm with ESME_ROK and `sequence_number` to `dst`: the octets of
/// `Command::new(EsmeRok, sequence_number, sm)`, without moving or copying `sm` into a command
/// (the session keeps it in its window, for a retry).
pub fn encode_submit_sm(sequence_number: u32, sm: &SubmitSm, dst: &mut BytesMut) {
    let length = HEADER_LEN + sm.length();
    dst.reserve(length);
    dst.put_u32(length as u32);
    dst.put_u32(u32::from(CommandId::SubmitSm));
    dst.put_u32(0); // ESME_ROK
    dst.put_u32(sequence_number);
    sm.encode(dst);
}

/// Decodes every whole frame in `data`: each with the octets it consumed. Stops at the first
/// incomplete or fatal frame (tests, fuzzing, `ppgd decode`).
pub fn decode_frames(data: &[u8]) -> Vec<(usize, Frame)> {
    let mut codec = TolerantCodec::default();
    let mut buf = BytesMut::from(data);
    let mut out = Vec::new();
    loop {
        let before = buf.len();
        match codec.decode(&mut buf) {
            Ok(Some(frame)) => out.push((before - buf.len(), frame)),
            Ok(None) | Err(_) => return out,
        }
    }
}

/// One command as wire octets.
pub fn encode_command(cmd: &Command) -> Vec<u8> {
    let mut out = BytesMut::new();
    let _ = TolerantCodec::default().encode(cmd.clone(), &mut out);
    out.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusmpp::{CommandStatus, Pdu};

    #[test]
    fn good_bad_and_fatal_frames() {
        let mut c = TolerantCodec::default();
        let mut buf = BytesMut::new();
        c.encode(
            Command::new(CommandStatus::EsmeRok, 5, Pdu::EnquireLink),
            &mut buf,
        )
        .expect("encode");
        // A submit_sm (0x04) whose body is one octet that is not a C-string: malformed, not fatal.
        buf.extend_from_slice(&[0, 0, 0, 17, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 0xFF]);
        c.encode(
            Command::new(CommandStatus::EsmeRok, 6, Pdu::EnquireLink),
            &mut buf,
        )
        .expect("encode");
        buf.extend_from_slice(&[0, 0, 0, 3]);
        match c.decode(&mut buf).expect("ok") {
            Some(Frame::Command(cmd)) => assert_eq!(cmd.sequence_number(), 5),
            other => panic!("{other:?}"),
        }
        match c.decode(&mut buf).expect("ok") {
            Some(Frame::Malformed {
                command_id: 4,
                sequence_number: 9,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        match c.decode(&mut buf).expect("ok") {
            Some(Frame::Command(cmd)) => assert_eq!(cmd.sequence_number(), 6),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.decode(&mut buf).expect("partial header"), None);
        buf.extend_from_slice(&[0; 12]);
        assert!(matches!(
            c.decode(&mut buf),
            Err(CodecError::Length { length: 3, .. })
        ));
    }

    #[test]
    fn encode_submit_sm_gives_the_octets_of_its_command() {
        use crate::config::SmscConfig;
        use crate::smpp::pdu::build_submit_sm;
        use crate::sms::{Carriage, Ports, segment};

        let pdu: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        for carriage in [
            Carriage::Udh8,
            Carriage::Udh16,
            Carriage::SarTlv,
            Carriage::MessagePayload,
        ] {
            let cfg = SmscConfig {
                carriage,
                ..SmscConfig::default()
            };
            let segments = segment(&pdu, carriage, 7, Ports::WSP_PUSH).expect("segments");
            for (i, seg) in segments.iter().enumerate() {
                let validity = (i % 2 == 1).then(|| crate::util::UtcTime::now().plus_secs(3600));
                let sm = build_submit_sm(seg, &cfg, "4917012345", i == 0, validity).expect("sm");
                let seq = 0x0102_0304 + i as u32;
                let mut ours = BytesMut::new();
                encode_submit_sm(seq, &sm, &mut ours);
                let theirs = encode_command(&Command::new(CommandStatus::EsmeRok, seq, sm));
                assert_eq!(&ours[..], &theirs[..], "{carriage:?} segment {i}");
            }
        }
    }
}
