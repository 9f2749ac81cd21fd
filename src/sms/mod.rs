//! WDP over GSM SMS (3GPP TS 23.040 §9.2.3.24, WAP-259 WDP): the user data header, segmentation
//! of a WSP PDU into SMS, and reassembly.
//!
//! The types in this file are the contract between the codecs and the SMPP layer: [`Segment`] is
//! what `compile` hands to `smpp`, whatever [`Carriage`] the SMSC wants.

use bytes::Bytes;

/// The WDP port a handset listens on for connectionless WSP push (WAP-259 Appendix B).
pub const PORT_WSP_PUSH: u16 = 2948;
/// The WDP source port of a connectionless WSP server.
pub const PORT_WSP_SERVER: u16 = 9200;
/// The most octets of user data (UDH included) in one 8-bit SMS.
pub const MAX_USER_DATA: usize = 140;
/// The most segments one concatenated message may have (a one-octet counter).
pub const MAX_SEGMENTS: usize = 255;

/// How concatenation and the application ports travel to the SMSC.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Carriage {
    /// Our own UDH in short_message: port IE 0x05 plus concatenation IE 0x00 (8-bit reference).
    #[default]
    Udh8,
    /// Our own UDH: port IE 0x05 plus concatenation IE 0x08 (16-bit reference).
    Udh16,
    /// No UDH; SMPP TLVs sar_msg_ref_num/sar_total_segments/sar_segment_seqnum and
    /// source_port/destination_port let the SMSC build it.
    SarTlv,
    /// The whole PDU in one message_payload TLV (sm_length 0) with the port TLVs.
    MessagePayload,
}

/// SMPP 3.4 §5.3.2.22–24: the SAR TLVs of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sar {
    pub reference: u16,
    pub total: u8,
    /// 1-based.
    pub seqnum: u8,
}

/// WDP application ports (destination first, as IE 0x05 orders them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ports {
    pub destination: u16,
    pub source: u16,
}

impl Ports {
    /// 2948 ← 9200: connectionless WSP push.
    pub const WSP_PUSH: Ports = Ports {
        destination: PORT_WSP_PUSH,
        source: PORT_WSP_SERVER,
    };
}

/// One SMS ready for submit_sm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// short_message octets (the UDH first when `udhi`), or the message_payload value when
    /// `in_message_payload`.
    pub user_data: Bytes,
    /// esm_class bit 0x40 (UDHI) must be set: `user_data` begins with a UDH.
    pub udhi: bool,
    /// `user_data` goes in the message_payload TLV and sm_length is 0.
    pub in_message_payload: bool,
    /// SAR TLVs to send (Carriage::SarTlv).
    pub sar: Option<Sar>,
    /// source_port / destination_port TLVs to send (Carriage::SarTlv and MessagePayload).
    pub ports_tlv: Option<Ports>,
}
