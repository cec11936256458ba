//! Identifiers that cannot hold an invalid value: each has a `parse` constructor.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The value is not a UUID.
    #[error("not a valid question id: {0:?}")]
    QuestionId(String),
    /// The value is not an OPD code (upper-case letters, digits, `_`, 2–32 long).
    #[error("not a valid OPD code: {0:?} (expected upper-case letters, digits or _, e.g. DINKES)")]
    OpdCode(String),
    /// The value is not a category code (lower-case letters, digits, `_` or `-`).
    #[error("not a valid category code: {0:?}")]
    CategoryCode(String),
    /// The value is not a ticket like `KM-2026-000123`.
    #[error("not a valid ticket: {0:?} (expected e.g. KM-2026-000123)")]
    Ticket(String),
}

/// The tracked unit's identity; also the event stream id of the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QuestionId(Uuid);

impl QuestionId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses the textual form of a question id.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Uuid::parse_str(s.trim())
            .map(Self)
            .map_err(|_| IdError::QuestionId(s.to_owned()))
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for QuestionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for QuestionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An agency's stable code, e.g. `DISPENDUKCAPIL`; also a NATS subject token.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OpdCode(String);

impl OpdCode {
    /// Parses an OPD code; it must be safe to use as a NATS subject token.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = (2..=32).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::OpdCode(s.to_owned()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OpdCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A code from the category catalogue, e.g. `kependudukan`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CategoryCode(String);

impl CategoryCode {
    /// Parses a category code.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdError::CategoryCode(s.to_owned()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The human ticket code citizens quote, e.g. `KM-2026-000123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ticket(String);

impl Ticket {
    /// The ticket for the `number`-th submission of `year`.
    pub fn new(year: i32, number: u64) -> Self {
        Self(format!("KM-{year}-{number:06}"))
    }

    /// Parses a ticket, tolerating lower case and surrounding spaces from a citizen's typing.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let t = s.trim().to_ascii_uppercase();
        let mut parts = t.splitn(3, '-');
        let ok = parts.next() == Some("KM")
            && parts
                .next()
                .is_some_and(|y| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()))
            && parts
                .next()
                .is_some_and(|n| n.len() >= 6 && n.len() <= 12 && n.chars().all(|c| c.is_ascii_digit()));
        if ok {
            Ok(Self(t))
        } else {
            Err(IdError::Ticket(s.to_owned()))
        }
    }

    /// The ticket as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reading one from a file or the wire goes through `parse`, like every other way in.
macro_rules! parsed_on_deserialize {
    ($($id:ident),*) => {$(
        impl TryFrom<String> for $id {
            type Error = IdError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$id> for String {
            fn from(v: $id) -> Self {
                v.0
            }
        }
    )*};
}

parsed_on_deserialize!(OpdCode, CategoryCode, Ticket);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_from_json_are_parsed_like_any_other() {
        let opd: OpdCode = serde_json::from_str("\"DINKES\"").expect("a valid code");
        assert_eq!(serde_json::to_string(&opd).ok().as_deref(), Some("\"DINKES\""));
        assert!(
            serde_json::from_str::<OpdCode>("\"dp.>\"").is_err(),
            "a subject wildcard"
        );
        assert!(serde_json::from_str::<CategoryCode>("\"\"").is_err());
        assert!(serde_json::from_str::<Ticket>("\"KM-26-1\"").is_err());
    }

    #[test]
    fn opd_codes_are_upper_case_subject_tokens() {
        assert!(OpdCode::parse("DISPENDUKCAPIL").is_ok());
        assert!(OpdCode::parse("DPUPR_2").is_ok());
        for bad in ["", "dinkes", "DIN KES", "DINKES.>", "D", "1DINKES", "DIN*"] {
            assert!(OpdCode::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn tickets_are_formatted_and_parsed_alike() {
        let t = Ticket::new(2026, 123);
        assert_eq!(t.as_str(), "KM-2026-000123");
        assert_eq!(Ticket::parse(" km-2026-000123 ").ok(), Some(t));
        for bad in ["KM-26-000123", "XX-2026-000123", "KM-2026-12", "KM-2026-00012a"] {
            assert!(Ticket::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn category_codes_are_lower_case() {
        assert!(CategoryCode::parse("kependudukan").is_ok());
        assert!(CategoryCode::parse("Kependudukan").is_err());
        assert!(CategoryCode::parse("").is_err());
    }

    #[test]
    fn question_ids_round_trip() {
        let id = QuestionId::new();
        assert_eq!(QuestionId::parse(&id.to_string()), Ok(id));
        assert!(QuestionId::parse("nope").is_err());
    }
}
