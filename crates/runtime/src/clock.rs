//! The services' "now". In production it is the system clock; a simulation or a
//! demonstration shifts it by a fixed amount (`KENDUREN_CLOCK_SHIFT_SECONDS`) so a
//! season can start on a working morning whenever it is run. The shift is a constant,
//! so every service and every process given the same shift agrees on the time, and
//! time still passes at its real pace.

use chrono::{DateTime, TimeDelta, Utc};

/// The clock every timestamp a service writes comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    shift: TimeDelta,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// The system clock moved by `shift` (negative: into the past).
    pub fn shifted(shift: TimeDelta) -> Self {
        Self { shift }
    }

    /// The shift for a clock that reads `start` now.
    pub fn shift_to(start: DateTime<Utc>) -> TimeDelta {
        start - Utc::now()
    }

    /// How far this clock is from the system clock.
    pub fn shift(&self) -> TimeDelta {
        self.shift
    }

    /// The current instant on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.shift
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_reads_the_system_time_plus_its_shift_and_keeps_running() {
        let day = TimeDelta::days(1);
        let clock = Clock::shifted(day);
        let before = Utc::now();
        let read = clock.now();
        let after = Utc::now();
        assert!(read >= before + day && read <= after + day);
        assert_eq!(Clock::system().shift(), TimeDelta::zero());
    }

    #[test]
    fn shift_to_makes_a_clock_that_starts_at_the_chosen_instant() {
        let start = Utc::now() - TimeDelta::days(30);
        let clock = Clock::shifted(Clock::shift_to(start));
        let drift = clock.now() - start;
        assert!(
            drift >= TimeDelta::zero() && drift < TimeDelta::seconds(5),
            "{drift}"
        );
    }
}
