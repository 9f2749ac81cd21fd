//! Loader for the annotated vectors under `proto-tests/vectors/`.
//!
//! Format of a `.hex` file: `#` starts a comment (to the end of the line); the rest of each line
//! is hex octets (`0B 84`, or `0B84`) and double-quoted ASCII text (`"mms.ua"`, with `\"` and `\\`
//! escapes) that stands for its octets. Write one protocol field a line with a comment naming
//! the field and the spec section; a header comment cites where the vector comes from.

use std::path::PathBuf;

/// The directory holding the vectors.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto-tests/vectors")
}

/// Reads a file under `proto-tests/vectors/` as text.
pub fn text(rel: &str) -> String {
    let path = dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads an annotated `.hex` vector under `proto-tests/vectors/` into its octets.
pub fn load(rel: &str) -> Vec<u8> {
    parse(&text(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Parses annotated hex text (see the module doc).
pub fn parse(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut chars = line.chars().peekable();
        let mut nibble: Option<u8> = None;
        while let Some(c) = chars.next() {
            match c {
                '#' => break,
                '"' => {
                    if nibble.is_some() {
                        return Err(format!("line {}: odd number of hex digits", n + 1));
                    }
                    loop {
                        match chars.next() {
                            None => return Err(format!("line {}: unterminated string", n + 1)),
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some(e @ ('"' | '\\')) => out.push(e as u8),
                                _ => return Err(format!("line {}: bad escape", n + 1)),
                            },
                            Some(ch) if ch.is_ascii() => out.push(ch as u8),
                            Some(ch) => {
                                let mut buf = [0u8; 4];
                                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            }
                        }
                    }
                }
                c if c.is_ascii_whitespace() => {
                    if nibble.is_some() {
                        return Err(format!("line {}: odd number of hex digits", n + 1));
                    }
                }
                c if c.is_ascii_hexdigit() => {
                    let v = c.to_digit(16).expect("hex digit") as u8;
                    match nibble.take() {
                        None => nibble = Some(v),
                        Some(hi) => out.push(hi << 4 | v),
                    }
                }
                other => return Err(format!("line {}: unexpected {other:?}", n + 1)),
            }
        }
        if nibble.is_some() {
            return Err(format!("line {}: odd number of hex digits", n + 1));
        }
    }
    Ok(out)
}

#[test]
fn parses_hex_text_and_comments() {
    let v = parse("# header\n01 06 # TID, Push\n\"ab\" 00\n0B84 # ports\n").unwrap();
    assert_eq!(v, [0x01, 0x06, b'a', b'b', 0x00, 0x0b, 0x84]);
    assert!(parse("0").is_err());
    assert!(parse("\"x").is_err());
    assert!(parse("zz").is_err());
}
