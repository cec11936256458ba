//! Request fields as they go into span fields and log lines: a caller controls them and
//! they are logged before validation, so a 256 KiB "id" must not become a 256 KiB line.

use std::fmt;

/// Longest prefix of a caller's field that is logged, in characters.
pub const LOGGED_CHARS: usize = 64;

/// `field` for a span or log line: at most [`LOGGED_CHARS`] characters, then `…` and
/// how many characters were left out.
pub fn logged(field: &str) -> Logged<'_> {
    Logged(field)
}

/// A caller's field, shortened when displayed; see [`logged`].
#[derive(Debug, Clone, Copy)]
pub struct Logged<'a>(&'a str);

impl fmt::Display for Logged<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(LOGGED_CHARS) {
            None => f.write_str(self.0),
            Some((cut, _)) => {
                let left_out = self.0[cut..].chars().count();
                write!(f, "{}…(+{left_out} chars)", &self.0[..cut])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_fields_are_logged_whole_and_long_ones_cut_on_a_character() {
        assert_eq!(logged("DISPENDUKCAPIL").to_string(), "DISPENDUKCAPIL");
        let long = "é".repeat(100_000);
        let shown = logged(&long).to_string();
        assert_eq!(shown, format!("{}…(+99936 chars)", "é".repeat(LOGGED_CHARS)));
    }
}
