//! The subject scheme: `{prefix}.v1.question.{OPD|unassigned}.{event}` and
//! `{prefix}.v1.session.{event}`.
//!
//! The assigned OPD code is its own token so that NATS permissions can confine an OPD
//! to `{prefix}.v1.question.{CODE}.>`; the version token lets a v2 scheme live beside v1.

use crate::BusError;

/// Token used in question subjects while no OPD is assigned yet.
pub const UNASSIGNED: &str = "unassigned";

/// Checks that `token` can be one subject token: non-empty, printable ASCII, and none of
/// whitespace, `.`, `*` or `>` (which would split it or turn it into a wildcard).
pub fn validate_token(token: &str) -> Result<(), BusError> {
    let refuse = |reason| {
        Err(BusError::InvalidToken {
            token: token.to_owned(),
            reason,
        })
    };
    if token.is_empty() {
        return refuse("empty");
    }
    for c in token.chars() {
        match c {
            '.' => return refuse("contains '.'"),
            '*' | '>' => return refuse("contains a wildcard"),
            c if !c.is_ascii_graphic() => {
                return refuse("contains whitespace, control or non-ASCII characters")
            }
            _ => {}
        }
    }
    Ok(())
}

/// Builds the subjects of one deployment (or one test) from a validated prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Subjects {
    /// Validates `prefix` as a single subject token (e.g. `kenduren`, or `t1234` in tests).
    pub fn new(prefix: impl Into<String>) -> Result<Self, BusError> {
        let prefix = prefix.into();
        validate_token(&prefix)?;
        Ok(Self { prefix })
    }

    /// The prefix token.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Subject of a question event; `None` means not yet routed (`unassigned`).
    ///
    /// The tokens are not validated here (this is called on every write); the event store
    /// validates the whole subject when it appends, before anything reaches the outbox.
    pub fn question(&self, opd: Option<&str>, event_name: &str) -> String {
        format!(
            "{}.v1.question.{}.{}",
            self.prefix,
            opd.unwrap_or(UNASSIGNED),
            event_name
        )
    }

    /// Subject of a session event.
    pub fn session(&self, event_name: &str) -> String {
        format!("{}.v1.session.{}", self.prefix, event_name)
    }

    /// Subject of one of routing's own events about no question (directory, rules,
    /// SLA policy, holidays): `{prefix}.v1.routing.{event}`.
    pub fn routing(&self, event_name: &str) -> String {
        format!("{}.v1.routing.{}", self.prefix, event_name)
    }

    /// Every v1 event: the stream's subject filter.
    pub fn all(&self) -> String {
        format!("{}.v1.>", self.prefix)
    }

    /// Every question event, whichever OPD it is assigned to.
    pub fn questions(&self) -> String {
        format!("{}.v1.question.>", self.prefix)
    }

    /// The question events of one OPD: what its NATS permissions should allow.
    pub fn opd(&self, code: &str) -> String {
        format!("{}.v1.question.{}.>", self.prefix, code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_documented_subjects() {
        let s = Subjects::new("kenduren").expect("valid prefix");
        assert_eq!(
            s.question(Some("BAPENDA"), "QuestionRouted"),
            "kenduren.v1.question.BAPENDA.QuestionRouted"
        );
        assert_eq!(
            s.question(None, "QuestionSubmitted"),
            "kenduren.v1.question.unassigned.QuestionSubmitted"
        );
        assert_eq!(s.session("SessionOpened"), "kenduren.v1.session.SessionOpened");
        assert_eq!(s.all(), "kenduren.v1.>");
        assert_eq!(s.questions(), "kenduren.v1.question.>");
        assert_eq!(s.opd("DINKES"), "kenduren.v1.question.DINKES.>");
        assert_eq!(s.prefix(), "kenduren");
        assert_eq!(s.routing("ruleupserted"), "kenduren.v1.routing.ruleupserted");
    }

    #[test]
    fn refuses_prefixes_that_break_the_scheme() {
        for bad in ["", "a.b", "a b", "a*", ">", "tab\t", "é", "line\n"] {
            assert!(
                matches!(Subjects::new(bad), Err(BusError::InvalidToken { .. })),
                "{bad:?} should be refused"
            );
        }
        assert!(Subjects::new("t1234_x-Y").is_ok());
    }
}
