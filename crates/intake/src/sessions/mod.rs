//! Kenduren Mas sessions and OPD attendance. Sessions and check-ins are intake's events
//! (stream id = session id); the `sessions` and `check_ins` tables are filled from them
//! in the transaction that appends them. Whether an OPD was late is decided once, at
//! check-in, by [`starts_at`]; "absent" is computed when reading.

mod checkin;
mod read;
mod schedule;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use kenduren_domain::calendar::wib;
use kenduren_proto::{
    events::v1::ProgrammeItem,
    intake::v1::{AttendanceStatus, OpdAttendance},
};
use kenduren_runtime::timestamp;

/// Local time (WIB) on day one from which a check-in is late: the programme opens
/// in the afternoon (Gebyar UMKM and the jagongan with the Bupati).
pub const START_LOCAL_TIME: (u32, u32) = (13, 0);

/// The instant a session starts: [`START_LOCAL_TIME`] on its first day, in WIB.
pub fn starts_at(first_day: NaiveDate) -> DateTime<Utc> {
    let time = NaiveTime::from_hms_opt(START_LOCAL_TIME.0, START_LOCAL_TIME.1, 0).unwrap_or_default();
    local_instant(first_day.and_time(time))
}

/// The instant a session is over (midnight WIB after its last day): the domain's
/// definition, which reporting's session report shares.
pub use kenduren_domain::session::ends_at;

fn local_instant(local: chrono::NaiveDateTime) -> DateTime<Utc> {
    // WIB has no daylight saving, so every local time maps to exactly one instant.
    wib()
        .from_local_datetime(&local)
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

/// The programme a session gets when the admin gives none.
pub fn standard_programme(days: usize) -> Vec<ProgrammeItem> {
    let mut items = vec![ProgrammeItem {
        day: 1,
        time: "13:00".into(),
        activity: "Gebyar UMKM dan jagongan bersama Bupati dan Wakil Bupati".into(),
    }];
    if days >= 2 {
        items.push(ProgrammeItem {
            day: 2,
            time: "08:00".into(),
            activity: "Layanan OPD: dokumen kependudukan, pajak, perizinan".into(),
        });
    }
    items
}

/// Stored form of a programme entry: `day|HH:MM|activity`.
fn encode_item(item: &ProgrammeItem) -> String {
    format!("{}|{}|{}", item.day, item.time, item.activity)
}

fn decode_item(text: &str) -> ProgrammeItem {
    let mut parts = text.splitn(3, '|');
    let day = parts.next().and_then(|d| d.parse().ok()).unwrap_or(0);
    let time = parts.next().unwrap_or_default().to_owned();
    let activity = parts.next().unwrap_or_default().to_owned();
    ProgrammeItem { day, time, activity }
}

/// A check-in as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CheckIn {
    pub(crate) session_id: String,
    pub(crate) opd_code: String,
    pub(crate) representative: String,
    pub(crate) late: bool,
    pub(crate) checked_in_at: DateTime<Utc>,
}

/// Every expected OPD (checked in or not) and every other OPD that checked in, as of `now`.
pub fn attendance(
    expected: &[String],
    check_ins: &[CheckIn],
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<OpdAttendance> {
    let status_of = |c: &CheckIn| {
        if c.late {
            AttendanceStatus::Late
        } else {
            AttendanceStatus::Present
        }
    };
    let mut rows: Vec<OpdAttendance> = expected
        .iter()
        .map(|code| match check_ins.iter().find(|c| &c.opd_code == code) {
            Some(c) => present(c, true, status_of(c)),
            None => OpdAttendance {
                opd_code: code.clone(),
                expected: true,
                status: if now >= ends_at {
                    AttendanceStatus::Absent
                } else {
                    AttendanceStatus::Awaited
                } as i32,
                representative: String::new(),
                checked_in_at: None,
            },
        })
        .collect();
    rows.extend(
        check_ins
            .iter()
            .filter(|c| !expected.contains(&c.opd_code))
            .map(|c| present(c, false, status_of(c))),
    );
    rows
}

fn present(c: &CheckIn, expected: bool, status: AttendanceStatus) -> OpdAttendance {
    OpdAttendance {
        opd_code: c.opd_code.clone(),
        expected,
        status: status as i32,
        representative: c.representative.clone(),
        checked_in_at: Some(timestamp(c.checked_in_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("valid date")
    }

    fn check_in(code: &str, late: bool) -> CheckIn {
        CheckIn {
            session_id: "s".into(),
            opd_code: code.into(),
            representative: "Budi".into(),
            late,
            checked_in_at: starts_at(day(4)),
        }
    }

    #[test]
    fn a_session_starts_at_one_in_the_afternoon_wib_of_day_one() {
        // 13:00 WIB is 06:00 UTC.
        assert_eq!(starts_at(day(4)).to_rfc3339(), "2026-03-04T06:00:00+00:00");
        assert_eq!(ends_at(day(5)).to_rfc3339(), "2026-03-05T17:00:00+00:00");
    }

    #[test]
    fn expected_opds_that_never_came_are_absent_only_once_the_session_is_over() {
        let expected = vec!["DINKES".to_owned(), "BAPENDA".to_owned()];
        let ins = [check_in("DINKES", true), check_in("DPUPR", false)];
        let statuses = |now| {
            attendance(&expected, &ins, ends_at(day(5)), now)
                .into_iter()
                .map(|a| (a.opd_code, a.expected, a.status))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            statuses(ends_at(day(5))),
            [
                ("DINKES".to_owned(), true, AttendanceStatus::Late as i32),
                ("BAPENDA".to_owned(), true, AttendanceStatus::Absent as i32),
                ("DPUPR".to_owned(), false, AttendanceStatus::Present as i32),
            ]
        );
        assert_eq!(statuses(starts_at(day(4)))[1].2, AttendanceStatus::Awaited as i32);
    }

    #[test]
    fn programme_entries_survive_storage_even_with_a_bar_in_the_activity() {
        let item = ProgrammeItem {
            day: 2,
            time: "08:00".into(),
            activity: "Layanan | KTP".into(),
        };
        assert_eq!(decode_item(&encode_item(&item)), item);
    }
}
