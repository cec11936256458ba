//! Kenduren's domain rules — the question lifecycle, routing rules, working-day due
//! dates and input validation — as plain types and functions without I/O, so they
//! are unit-tested in microseconds and every service applies the same rules.

pub mod calendar;
pub mod catalogue;
pub mod ids;
pub mod lifecycle;
pub mod question;
pub mod routing;
pub mod session;

pub use calendar::{
    parse_holidays, Deadlines, Holiday, HolidayFileError, SlaPolicy, SlaTarget, WorkCalendar,
};
pub use catalogue::{CatalogueError, Opd, ReferenceData, ReferenceSources};
pub use ids::{CategoryCode, IdError, OpdCode, QuestionId, Ticket};
pub use lifecycle::{QuestionStatus, Transition, TransitionError};
pub use question::{Catalogue, Channel, FieldViolation, QuestionKind, Submission, SubmissionDraft};
pub use routing::{RouteDecision, RouteQuery, RoutingRule, RuleSet};
