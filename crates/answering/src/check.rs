//! Request validation that collects every bad field before refusing, so a caller
//! fixes all of them in one round trip.

use std::fmt::Display;

use kenduren_domain::{FieldViolation, OpdCode, QuestionId};
use kenduren_runtime::ApiError;

/// Collects field violations.
#[derive(Debug, Default)]
pub(crate) struct Check {
    bad: Vec<FieldViolation>,
}

/// The question a write targets and the OPD acting on it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub id: QuestionId,
    pub opd: OpdCode,
}

impl Check {
    /// Records `field` as bad.
    pub fn fail(&mut self, field: &str, description: impl Into<String>) {
        self.bad.push(FieldViolation {
            field: field.to_owned(),
            description: description.into(),
        });
    }

    /// The parsed value, or `None` with the error recorded against `field`.
    pub fn parse<T, E: Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        parsed.map_err(|e| self.fail(field, e.to_string())).ok()
    }

    /// Checks that trimmed `text` has `min..=max` characters; returns it trimmed.
    pub fn text<'a>(&mut self, field: &str, text: &'a str, min: usize, max: usize) -> &'a str {
        let text = text.trim();
        let n = text.chars().count();
        if n < min || n > max {
            let need = if min == 0 {
                format!("at most {max} characters")
            } else {
                format!("{min}–{max} characters")
            };
            self.fail(field, format!("{field} must have {need}"));
        }
        text
    }

    /// Parses the question id and acting OPD of a write.
    pub fn target(&mut self, question_id: &str, opd_code: &str) -> Option<Target> {
        let id = self.parse("question_id", QuestionId::parse(question_id));
        let opd = self.parse("opd_code", OpdCode::parse(opd_code));
        Some(Target { id: id?, opd: opd? })
    }

    /// `value` when nothing was bad; otherwise INVALID_ARGUMENT listing every bad field.
    pub fn done<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(v) if self.bad.is_empty() => Ok(v),
            _ => Err(ApiError::InvalidArgument(self.bad)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_listed() {
        let mut c = Check::default();
        let t = c.target("nope", "lower");
        c.text("reason", "  ", 1, 10);
        let Err(ApiError::InvalidArgument(v)) = c.done(t) else {
            panic!("expected invalid argument");
        };
        let fields: Vec<_> = v.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["question_id", "opd_code", "reason"]);
    }
}
