//! The four roles and their text form, as carried in tokens and typed on the command line.

use std::{fmt, str::FromStr};

use kenduren_domain::OpdCode;

/// What a caller may do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// The citizen desk at a session (and the web and chat channels).
    Desk,
    /// Staff or a system of one OPD: sees and answers only that OPD's questions.
    Opd(OpdCode),
    /// Administrators: directory, rules, triage, reassignment.
    Admin,
    /// Analysts: reporting, without citizen identity.
    Analyst,
    /// Another Kenduren service (e.g. answering asking intake for a citizen's contact).
    Service,
}

/// A role string that is none of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: use desk, opd:<CODE>, admin, analyst or service")]
pub struct RoleError(pub String);

impl Role {
    /// The OPD this role acts for, if it is an OPD role.
    pub fn opd(&self) -> Option<&OpdCode> {
        match self {
            Role::Opd(code) => Some(code),
            _ => None,
        }
    }
}

impl FromStr for Role {
    type Err = RoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "desk" => Ok(Role::Desk),
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            "service" => Ok(Role::Service),
            other => other
                .strip_prefix("opd:")
                .and_then(|code| OpdCode::parse(code).ok())
                .map(Role::Opd)
                .ok_or_else(|| RoleError(other.to_owned())),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Desk => f.write_str("desk"),
            Role::Opd(code) => write!(f, "opd:{code}"),
            Role::Admin => f.write_str("admin"),
            Role::Analyst => f.write_str("analyst"),
            Role::Service => f.write_str("service"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_text() {
        for text in ["desk", "admin", "analyst", "service", "opd:DINKES"] {
            assert_eq!(text.parse::<Role>().map(|r| r.to_string()), Ok(text.to_owned()));
        }
    }

    #[test]
    fn unknown_roles_and_bad_opd_codes_are_refused() {
        for bad in ["", "root", "opd:", "opd:dinkes", "OPD:DINKES"] {
            assert!(bad.parse::<Role>().is_err(), "{bad:?} accepted");
        }
    }
}
