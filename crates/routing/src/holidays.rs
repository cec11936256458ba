//! The shipped holiday calendar: seeding an empty calendar from `holidays.json`,
//! announcing it to other services, and warning at every start about years the file
//! marks incomplete that no admin has replaced yet.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use kenduren_domain::calendar::{parse_holiday_file, HolidayCalendar};
use kenduren_proto::{events::v1 as ev, EventMessage};
use kenduren_runtime::{timestamp, RuntimeError, ServiceContext};
use prost::Message;
use sqlx::PgConnection;

use crate::sla::holiday_to_proto;

/// The holidays shipped with the service, used to seed an empty calendar.
const SHIPPED_HOLIDAYS: &str = include_str!("../../../data/holidays.json");

/// Who the seeded calendar's `HolidaysSet` events name as actor.
const SEED_ACTOR: &str = "seed";

/// The holiday file in force: `holidays.json` in the reference directory if it has one,
/// else the shipped file; refused whole if anything in it is malformed.
fn load_file(reference_dir: Option<&std::path::Path>) -> Result<HolidayCalendar, RuntimeError> {
    let text = match reference_dir
        .map(|d| d.join("holidays.json"))
        .filter(|p| p.exists())
    {
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|e| RuntimeError::Config(format!("{}: {e}", path.display())))?,
        None => SHIPPED_HOLIDAYS.to_owned(),
    };
    parse_holiday_file(&text).map_err(|e| RuntimeError::Config(e.to_string()))
}

/// Seeds the calendar from the holiday file unless it has holidays or an admin has ever
/// set them, and announces the calendar in force as one `HolidaysSet` per year (actor
/// `seed`) unless one was ever announced — without that, consumers such as reporting
/// would count working hours on holidays until an admin first set a year. Then warns
/// about every year the file marks incomplete that an admin has not replaced.
pub(crate) async fn seed(
    ctx: &ServiceContext,
    reference_dir: Option<&std::path::Path>,
) -> Result<(), RuntimeError> {
    let file = load_file(reference_dir)?;
    let mut tx = ctx.pool.begin().await?;
    // Serialises concurrent first starts of several instances.
    sqlx::query("LOCK TABLE holidays IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let (seeded, announced): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM holidays), EXISTS (SELECT 1 FROM events WHERE event_type = $1)",
    )
    .bind(ev::HolidaysSet::TYPE)
    .fetch_one(&mut *tx)
    .await?;
    if !announced {
        if !seeded {
            for h in &file.holidays {
                sqlx::query("INSERT INTO holidays (day, name) VALUES ($1, $2)")
                    .bind(h.date)
                    .bind(&h.name)
                    .execute(&mut *tx)
                    .await?;
            }
            tracing::info!(holidays = file.holidays.len(), "seeded the holiday calendar");
        }
        announce(ctx, &mut tx).await?;
    }
    warn_incomplete(&mut tx, &file).await?;
    tx.commit().await?;
    Ok(())
}

/// Appends one `HolidaysSet` per year of the calendar in force.
async fn announce(ctx: &ServiceContext, conn: &mut PgConnection) -> Result<(), RuntimeError> {
    let in_force: Vec<(NaiveDate, String)> = sqlx::query_as("SELECT day, name FROM holidays ORDER BY day")
        .fetch_all(&mut *conn)
        .await?;
    let mut years: BTreeMap<i32, Vec<ev::Holiday>> = BTreeMap::new();
    for (day, name) in in_force {
        years
            .entry(day.year())
            .or_default()
            .push(holiday_to_proto(day, name));
    }
    for (year, holidays) in years {
        let event = ev::HolidaysSet {
            year,
            holidays,
            actor: SEED_ACTOR.to_owned(),
            set_at: Some(timestamp(ctx.clock.now())),
        };
        crate::audit::record(ctx, conn, &format!("holidays-{year}"), &event).await?;
    }
    Ok(())
}

/// Logs a warning for each year the file marks incomplete whose list in force is still
/// the seeded one: its due dates may fall on holidays nobody has entered yet.
async fn warn_incomplete(conn: &mut PgConnection, file: &HolidayCalendar) -> Result<(), RuntimeError> {
    for year in file.incomplete_years() {
        if replaced_by_admin(conn, year.year).await? {
            continue;
        }
        tracing::warn!(
            year = year.year,
            note = %year.note,
            "the holiday calendar for this year is incomplete: replace it with SetHolidays \
             (kenduren holidays set --year {}) once the SKB is published",
            year.year
        );
    }
    Ok(())
}

/// Whether anyone but the seed has set `year`'s holidays.
async fn replaced_by_admin(conn: &mut PgConnection, year: i32) -> Result<bool, RuntimeError> {
    let payloads: Vec<(Vec<u8>,)> =
        sqlx::query_as("SELECT payload FROM events WHERE stream_id = $1 AND event_type = $2")
            .bind(format!("holidays-{year}"))
            .bind(ev::HolidaysSet::TYPE)
            .fetch_all(&mut *conn)
            .await?;
    Ok(payloads.iter().any(|(payload,)| set_by_admin(payload)))
}

/// Whether a stored `HolidaysSet` payload is an admin's list rather than the seed's.
fn set_by_admin(payload: &[u8]) -> bool {
    // An undecodable payload was not written by this service's seed: count it as an admin's.
    ev::HolidaysSet::decode(payload).map_or(true, |e| e.actor != SEED_ACTOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_admins_holiday_file_in_the_reference_directory_replaces_the_shipped_one() {
        let dir = std::env::temp_dir().join(format!("kenduren-holidays-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let one_day = r#"{"years": [{"year": 2030, "complete": true}],
                          "holidays": [{"date": "2030-01-01", "name": "Tahun Baru"}]}"#;
        std::fs::write(dir.join("holidays.json"), one_day).expect("written");
        let replaced = load_file(Some(&dir)).map(|c| c.holidays.len());
        let shipped = load_file(None).map(|c| c.holidays.len());
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(replaced.ok(), Some(1));
        assert!(shipped.is_ok_and(|n| n > 1), "the shipped calendar has many days");
    }

    fn set_by(actor: &str) -> Vec<u8> {
        ev::HolidaysSet {
            year: 2027,
            holidays: vec![],
            actor: actor.to_owned(),
            set_at: None,
        }
        .encode_to_vec()
    }

    #[test]
    fn only_the_seeds_own_list_leaves_a_year_unreplaced() {
        assert!(!set_by_admin(&set_by(SEED_ACTOR)));
        assert!(set_by_admin(&set_by("admin@pasuruankab.go.id")));
    }

    #[test]
    fn the_shipped_file_is_valid_and_names_2027_as_incomplete() {
        let file = parse_holiday_file(SHIPPED_HOLIDAYS).expect("shipped file");
        let years: Vec<i32> = file.incomplete_years().map(|y| y.year).collect();
        assert_eq!(years, [2027]);
    }
}
