//! `ppgd decode`: turns what an operator pastes from a trace into readable, indented fields with
//! every value in full. Each codec module contributes a `dissect` function writing into a
//! [`Dissection`]; this module only lays the tree out.

use std::fmt::{self, Display, Write as _};

/// An indented tree of labelled values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Dissection {
    lines: Vec<Line>,
    depth: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    depth: usize,
    label: String,
    value: String,
}

impl Dissection {
    pub fn new() -> Self {
        Self::default()
    }

    /// One field: `label: value`. The value is written in full, never truncated.
    pub fn field(&mut self, label: impl Into<String>, value: impl Display) {
        self.lines.push(Line {
            depth: self.depth,
            label: label.into(),
            value: value.to_string(),
        });
    }

    /// A heading with the fields `body` writes indented under it.
    pub fn nest(&mut self, label: impl Into<String>, body: impl FnOnce(&mut Self)) {
        self.lines.push(Line {
            depth: self.depth,
            label: label.into(),
            value: String::new(),
        });
        self.depth += 1;
        body(self);
        self.depth -= 1;
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

impl Display for Dissection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            let mut s = String::new();
            for _ in 0..line.depth {
                s.push_str("  ");
            }
            s.push_str(&line.label);
            if !line.value.is_empty() {
                s.push_str(": ");
                s.push_str(&line.value);
            }
            writeln!(f, "{s}")?;
        }
        Ok(())
    }
}

/// Octets as spaced upper-case hex, in full.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_nested_fields_in_full() {
        let mut d = Dissection::new();
        d.nest("WSP Push", |d| {
            d.field("TID", "0x01");
            d.field(
                "Content-Location",
                "http://mmsc.example/a-very-long-url-that-is-never-cut",
            );
        });
        assert_eq!(
            d.to_string(),
            "WSP Push\n  TID: 0x01\n  Content-Location: http://mmsc.example/a-very-long-url-that-is-never-cut\n"
        );
        assert_eq!(hex(&[0x0b, 0x84]), "0B 84");
    }
}

/// `ppgd decode` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct DecodeArgs {
    /// Hex octets (spaces and colons allowed inside one argument). Several arguments are several
    /// SMS segments of one message, in any order.
    pub hex: Vec<String>,
    /// Read the input from a file: hex text (one segment per line or paragraph) or raw octets,
    /// or a PAP / SI / SL XML document.
    #[arg(long, short)]
    pub file: Option<std::path::PathBuf>,
    /// What the input is (default: guessed): sms, wsp, mms, wbxml, smpp, xml.
    #[arg(long = "as")]
    pub kind: Option<Kind>,
}

/// The formats `ppgd decode` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// SMS user data with a UDH (short_message octets), one or more segments.
    Sms,
    /// A WSP Push / ConfirmedPush PDU.
    Wsp,
    /// An MMS encapsulation PDU.
    Mms,
    /// SI / SL / CO WBXML.
    Wbxml,
    /// A whole SMPP PDU (submit_sm, deliver_sm, ...).
    Smpp,
    /// A PAP document, or an SI / SL / CO text document.
    Xml,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("`{0}` is not hex")]
    NotHex(String),
    #[error("nothing to decode: give hex octets or --file")]
    Empty,
    #[error("could not recognise the input; tried: {0}")]
    Unrecognised(String),
    #[error("{kind}: {reason}")]
    Failed { kind: &'static str, reason: String },
}

/// Parses hex text, ignoring spaces, colons, `0x` prefixes and line breaks.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, DecodeError> {
    let cleaned: String = text
        .replace("0x", "")
        .replace("0X", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':' && *c != ',')
        .collect();
    if !cleaned.len().is_multiple_of(2) || !cleaned.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(DecodeError::NotHex(text.chars().take(60).collect()));
    }
    Ok((0..cleaned.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cleaned[i..i + 2], 16).expect("checked hex"))
        .collect())
}

/// The input items: segments of octets, or one XML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Octets(Vec<Vec<u8>>),
    Text(String),
}

impl Input {
    pub fn from_args(args: &DecodeArgs) -> Result<Input, DecodeError> {
        if let Some(path) = &args.file {
            let raw = std::fs::read(path).map_err(|e| DecodeError::Failed {
                kind: "file",
                reason: format!("{}: {e}", path.display()),
            })?;
            return Ok(Input::from_file_bytes(raw));
        }
        if args.hex.is_empty() {
            return Err(DecodeError::Empty);
        }
        let joined = args.hex.join(" ");
        if joined.trim_start().starts_with('<') {
            return Ok(Input::Text(joined));
        }
        let items = args
            .hex
            .iter()
            .map(|h| parse_hex(h))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Input::Octets(items))
    }

    /// A file: XML text; hex text (segments separated by blank lines; the lines of one segment
    /// are joined, so a wrapped hex dump is one segment); or raw octets.
    pub fn from_file_bytes(raw: Vec<u8>) -> Input {
        if let Ok(text) = std::str::from_utf8(&raw) {
            if text.trim_start().starts_with('<') {
                return Input::Text(text.to_string());
            }
            let normalized = text.replace("\r\n", "\n");
            let items: Result<Vec<_>, _> = normalized
                .split("\n\n")
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(parse_hex)
                .collect();
            if let Ok(items) = items
                && !items.is_empty()
            {
                return Input::Octets(items);
            }
        }
        Input::Octets(vec![raw])
    }
}

/// `ppgd decode`: prints the dissection.
pub fn run(args: DecodeArgs) -> anyhow::Result<()> {
    let input = Input::from_args(&args)?;
    let d = dissect_input(&input, args.kind)?;
    print!("{d}");
    Ok(())
}

/// Dissects the input: with `kind` given, as that; otherwise the format is guessed and every
/// layer found is shown (SMPP → UDH → WSP → MMS / WBXML).
pub fn dissect_input(input: &Input, kind: Option<Kind>) -> Result<Dissection, DecodeError> {
    let mut d = Dissection::new();
    match input {
        Input::Text(text) => dissect_xml(text, &mut d)?,
        Input::Octets(items) => {
            if items.iter().all(|i| i.is_empty()) {
                return Err(DecodeError::Empty);
            }
            let kind = match kind {
                Some(k) => k,
                None => guess(items).ok_or_else(|| {
                    DecodeError::Unrecognised(
                        "SMPP PDU, SMS user data with UDH, WSP push, MMS PDU, WBXML (use --as to force one)".into(),
                    )
                })?,
            };
            match kind {
                Kind::Smpp => dissect_smpp(items, &mut d)?,
                Kind::Sms => dissect_sms(items, &mut d)?,
                Kind::Xml => {
                    let text = String::from_utf8_lossy(&items.concat()).into_owned();
                    dissect_xml(&text, &mut d)?
                }
                single => {
                    let bytes = items.concat();
                    dissect_one(single, &bytes, &mut d)?
                }
            }
        }
    }
    Ok(d)
}

fn failed(kind: &'static str, e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Failed {
        kind,
        reason: e.to_string(),
    }
}

fn dissect_one(kind: Kind, bytes: &[u8], d: &mut Dissection) -> Result<(), DecodeError> {
    match kind {
        Kind::Wsp => crate::wsp::dissect(bytes, d).map_err(|e| failed("WSP", e)),
        Kind::Mms => crate::mms::dissect(bytes, d).map_err(|e| failed("MMS", e)),
        Kind::Wbxml => crate::wbxml::dissect(bytes, d).map_err(|e| failed("WBXML", e)),
        Kind::Smpp => dissect_smpp(&[bytes.to_vec()], d),
        Kind::Sms => dissect_sms(&[bytes.to_vec()], d),
        Kind::Xml => dissect_xml(&String::from_utf8_lossy(bytes), d),
    }
}

/// What a payload that arrived on a WDP port is, and its dissection.
fn dissect_payload(payload: &[u8], destination_port: Option<u16>, d: &mut Dissection) {
    let wsp_port = matches!(destination_port, Some(2948 | 2949 | 9200));
    if (wsp_port || destination_port.is_none()) && crate::wsp::PushPdu::decode(payload).is_ok() {
        if let Err(e) = crate::wsp::dissect(payload, d) {
            d.field("WSP error", e);
        }
    } else {
        d.field(format!("Payload ({} octets)", payload.len()), hex(payload));
    }
}

fn dissect_sms(items: &[Vec<u8>], d: &mut Dissection) -> Result<(), DecodeError> {
    let segments: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
    let ud = crate::sms::dissect_user_data(&segments, d).map_err(|e| failed("SMS user data", e))?;
    dissect_payload(&ud.payload, ud.destination_port, d);
    Ok(())
}

fn dissect_smpp(items: &[Vec<u8>], d: &mut Dissection) -> Result<(), DecodeError> {
    let mut with_udh = Vec::new();
    let mut sar: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut plain = Vec::new();
    let mut port = None;
    for item in items {
        let ud = crate::smpp::dissect::dissect_pdu(item, d).map_err(|e| failed("SMPP", e))?;
        let Some(ud) = ud else { continue };
        if let Some((dst, _)) = ud.ports {
            port = Some(dst);
        }
        if ud.udhi {
            with_udh.push(ud.user_data);
        } else if let Some((_, _, seq)) = ud.sar {
            sar.push((seq, ud.user_data));
        } else if !ud.user_data.is_empty() {
            plain.push(ud.user_data);
        }
    }
    if !with_udh.is_empty() {
        return dissect_sms(&with_udh, d);
    }
    if !sar.is_empty() {
        sar.sort_by_key(|(seq, _)| *seq);
        let payload: Vec<u8> = sar.into_iter().flat_map(|(_, b)| b).collect();
        d.nest(
            format!("Reassembled from SAR TLVs ({} octets)", payload.len()),
            |d| dissect_payload(&payload, port, d),
        );
        return Ok(());
    }
    for p in plain {
        dissect_payload(&p, port, d);
    }
    Ok(())
}

fn dissect_xml(text: &str, d: &mut Dissection) -> Result<(), DecodeError> {
    let bytes = text.as_bytes();
    if text.contains("<pap") {
        let doc = crate::pap::PapDocument::parse(bytes).map_err(|e| failed("PAP", e))?;
        doc.dissect(d);
        return Ok(());
    }
    let doc = crate::wbxml::Document::from_xml(bytes).map_err(|e| failed("SI/SL/CO", e))?;
    let wbxml = doc.to_wbxml().map_err(|e| failed("SI/SL/CO", e))?;
    d.nest(
        format!(
            "{} compiled to {}",
            doc.text_media_type(),
            doc.wbxml_media_type()
        ),
        |d| {
            d.field(format!("WBXML ({} octets)", wbxml.len()), hex(&wbxml));
            if let Err(e) = crate::wbxml::dissect(&wbxml, d) {
                d.field("WBXML error", e);
            }
        },
    );
    Ok(())
}

/// Guesses the format of octets an operator pasted.
pub fn guess(items: &[Vec<u8>]) -> Option<Kind> {
    let looks_smpp = |b: &[u8]| {
        b.len() >= 16
            && u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize == b.len()
            && crate::smpp::dissect::command_name(u32::from_be_bytes([b[4], b[5], b[6], b[7]]))
                != "unknown"
    };
    if items.iter().all(|b| looks_smpp(b)) {
        return Some(Kind::Smpp);
    }
    if items.len() > 1 {
        return Some(Kind::Sms);
    }
    let b = items.first()?.as_slice();
    if b.first() == Some(&crate::mms::FIELD_MESSAGE_TYPE) && crate::mms::MmsPdu::decode(b).is_ok() {
        return Some(Kind::Mms);
    }
    if b.len() >= 3 && matches!(b[1], 0x06 | 0x07) && crate::wsp::PushPdu::decode(b).is_ok() {
        return Some(Kind::Wsp);
    }
    if crate::sms::UserDataHeader::decode(b).is_ok() && b.first().is_some_and(|&l| l > 0) {
        return Some(Kind::Sms);
    }
    if matches!(b.first(), Some(1..=3)) && crate::wbxml::decompile(b).is_ok() {
        return Some(Kind::Wbxml);
    }
    None
}
