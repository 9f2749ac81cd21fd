//! The connectionless Push PDU (WAP-230-WSP §8.2.4.1, digest §2.1) and the multipart format
//! (WAP-230 §8.5).

use super::WspError;
use super::content_type::ContentType;
use super::header::Header;
use super::primitives::*;

/// WSP PDU type (WAP-230 Table 34). Only the push types are decoded as a `PushPdu`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduType {
    Push,
    ConfirmedPush,
    Unknown(u8),
}

impl PduType {
    pub fn from_u8(b: u8) -> Self {
        match b {
            0x06 => PduType::Push,
            0x07 => PduType::ConfirmedPush,
            o => PduType::Unknown(o),
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            PduType::Push => 0x06,
            PduType::ConfirmedPush => 0x07,
            PduType::Unknown(o) => o,
        }
    }

    /// The name of any WSP PDU type (Table 34), for dissection.
    pub fn name(b: u8) -> &'static str {
        match b {
            0x01 => "Connect",
            0x02 => "ConnectReply",
            0x03 => "Redirect",
            0x04 => "Reply",
            0x05 => "Disconnect",
            0x06 => "Push",
            0x07 => "ConfirmedPush",
            0x08 => "Suspend",
            0x09 => "Resume",
            0x40 => "Get",
            0x41 => "Options",
            0x42 => "Head",
            0x43 => "Delete",
            0x44 => "Trace",
            0x60 => "Post",
            0x61 => "Put",
            _ => "unassigned",
        }
    }
}

/// A connectionless WSP Push (or ConfirmedPush) PDU as carried to port 2948: TID, PDU type,
/// HeadersLen (uintvar), Content-Type, headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPdu {
    pub tid: u8,
    pub pdu_type: PduType,
    pub content_type: ContentType,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

impl PushPdu {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 64);
        self.encode_into(&mut out);
        out
    }

    /// Appends the PDU to `out`. One pass: HeadersLen is written as a 1-octet placeholder and
    /// widened in place only when the headers reach 128 octets.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        encode_push_into(
            out,
            self.tid,
            self.pdu_type,
            &self.content_type,
            &self.headers,
            &self.body,
        );
    }

    /// Decodes a Push or ConfirmedPush PDU; other PDU types are refused with `NotAPush`.
    pub fn decode(bytes: &[u8]) -> Result<PushPdu, WspError> {
        let mut r = Reader::new(bytes);
        let tid = r.u8("TID")?;
        let t = r.u8("PDU type")?;
        let pdu_type = PduType::from_u8(t);
        if let PduType::Unknown(pdu_type) = pdu_type {
            return Err(WspError::NotAPush {
                pdu_type,
                offset: 1,
            });
        }
        let (content_type, headers) = decode_headers_block(&mut r, "HeadersLen")?;
        Ok(PushPdu {
            tid,
            pdu_type,
            content_type,
            headers,
            body: r.take_rest().to_vec(),
        })
    }

    /// The first header of a kind, e.g. `pdu.header(|h| matches!(h, Header::ApplicationId(_)))`.
    pub fn header(&self, f: impl Fn(&Header) -> bool) -> Option<&Header> {
        self.headers.iter().find(|h| f(h))
    }
}

/// The Push PDU of these parts, as [`PushPdu::encode`] writes it, from a borrowed body: the
/// compiler forwards a PI's content without copying it into a `PushPdu` first.
pub fn encode_push(
    tid: u8,
    pdu_type: PduType,
    content_type: &ContentType,
    headers: &[Header],
    body: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    encode_push_into(&mut out, tid, pdu_type, content_type, headers, body);
    out
}

fn encode_push_into(
    out: &mut Vec<u8>,
    tid: u8,
    pdu_type: PduType,
    content_type: &ContentType,
    headers: &[Header],
    body: &[u8],
) {
    out.reserve(body.len() + 64);
    out.push(tid);
    out.push(pdu_type.to_u8());
    let at = out.len();
    out.push(0);
    content_type.encode_into(out);
    for h in headers {
        h.encode_into(out);
    }
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
    } else {
        let mut tmp = [0u8; 5];
        let n = uintvar_into(&mut tmp, u32::try_from(len).unwrap_or(u32::MAX));
        out.splice(at..at + 1, tmp[5 - n..].iter().copied());
    }
    out.extend_from_slice(body);
}

/// uintvar length + Content-Type + headers filling exactly that length.
fn decode_headers_block(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<(ContentType, Vec<Header>), WspError> {
    let len_at = r.offset();
    let len = r.uintvar(what)? as usize;
    if len > r.remaining() {
        return Err(WspError::PastEnd {
            what,
            offset: len_at,
            len,
            available: r.remaining(),
        });
    }
    let mut hr = r.sub(len, what)?;
    let ct = ContentType::decode(&mut hr)?;
    let mut headers = Vec::new();
    while !hr.is_empty() {
        headers.push(Header::decode(&mut hr)?);
    }
    Ok((ct, headers))
}

/// One entry of a WSP multipart body (§8.5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartEntry {
    pub content_type: ContentType,
    pub headers: Vec<Header>,
    pub data: Vec<u8>,
    /// Absolute offset of the entry's HeadersLen in the decoded input (0 when built).
    pub offset: usize,
}

/// Decodes `application/vnd.wap.multipart.*` (§8.5.2–8.5.3): nEntries uintvar, then per entry
/// HeadersLen uintvar, DataLen uintvar, ContentType, Headers, Data. `base` is the absolute offset
/// of `bytes[0]` (for error offsets inside a larger PDU).
pub fn decode_multipart(bytes: &[u8], base: usize) -> Result<Vec<MultipartEntry>, WspError> {
    let mut r = Reader::with_base(bytes, base);
    let n = r.uintvar("multipart nEntries")?;
    // Each entry needs at least 3 octets: cap the pre-allocation by what the input can hold.
    let mut entries = Vec::with_capacity((n as usize).min(r.remaining() / 3));
    for _ in 0..n {
        let offset = r.offset();
        let hlen = r.uintvar("multipart HeadersLen")? as usize;
        let dlen_at = r.offset();
        let dlen = r.uintvar("multipart DataLen")? as usize;
        let mut hr = r.sub(hlen, "multipart HeadersLen")?;
        let content_type = ContentType::decode(&mut hr)?;
        let mut headers = Vec::new();
        while !hr.is_empty() {
            headers.push(Header::decode(&mut hr)?);
        }
        if dlen > r.remaining() {
            return Err(WspError::PastEnd {
                what: "multipart DataLen",
                offset: dlen_at,
                len: dlen,
                available: r.remaining(),
            });
        }
        let data = r.take(dlen, "multipart Data")?.to_vec();
        entries.push(MultipartEntry {
            content_type,
            headers,
            data,
            offset,
        });
    }
    if !r.is_empty() {
        return Err(WspError::TrailingOctets {
            what: "multipart body",
            offset: r.offset(),
        });
    }
    Ok(entries)
}

/// Encodes a multipart body (for tests and MMS bodies we build).
pub fn encode_multipart(entries: &[MultipartEntry], out: &mut Vec<u8>) {
    put_uintvar(out, entries.len() as u32);
    let mut hdr = Vec::new();
    for e in entries {
        hdr.clear();
        e.content_type.encode_into(&mut hdr);
        for h in &e.headers {
            h.encode_into(&mut hdr);
        }
        put_uintvar(out, hdr.len() as u32);
        put_uintvar(out, e.data.len() as u32);
        out.extend_from_slice(&hdr);
        out.extend_from_slice(&e.data);
    }
}
