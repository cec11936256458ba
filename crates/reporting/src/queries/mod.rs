//! The read side: one module per figure, each a plain function over the read models
//! that the thin RPC handlers in `api` call.

pub mod export;
pub mod scorecards;
pub mod session;
pub mod trends;
pub mod unanswered;

use chrono::{DateTime, Utc};
use kenduren_domain::FieldViolation;
use kenduren_runtime::{to_datetime, ApiError};

/// A half-open period `[from, to)`; either end may be open.
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Period {
    /// Reads a request's bounds, listing every bad field.
    pub fn parse(
        from: &Option<prost_types::Timestamp>,
        to: &Option<prost_types::Timestamp>,
    ) -> Result<Self, ApiError> {
        let mut violations = Vec::new();
        let mut bound = |ts: &Option<prost_types::Timestamp>, field: &str| match ts {
            None => None,
            Some(t) => {
                let parsed = to_datetime(t);
                if parsed.is_none() {
                    violations.push(FieldViolation {
                        field: field.to_owned(),
                        description: "not a valid timestamp".into(),
                    });
                }
                parsed
            }
        };
        let period = Self {
            from: bound(from, "from"),
            to: bound(to, "to"),
        };
        if let (Some(f), Some(t)) = (period.from, period.to) {
            if t <= f {
                violations.push(FieldViolation {
                    field: "to".into(),
                    description: "must be after from".into(),
                });
            }
        }
        if violations.is_empty() {
            Ok(period)
        } else {
            Err(ApiError::InvalidArgument(violations))
        }
    }
}

/// A SQL count as an unsigned figure.
pub fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Statuses of a question that still waits for an answer.
pub const OPEN_STATUSES: &str = "('SUBMITTED', 'TRIAGE', 'ROUTED', 'ACKNOWLEDGED')";
