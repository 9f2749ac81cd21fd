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
