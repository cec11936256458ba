//! `ScheduleSession`: validate every field, append `SessionScheduled` and fill the
//! `sessions` row in the same transaction. Scheduling an id again with the same content
//! answers the existing session (a safe retry); with other content it is ALREADY_EXISTS.

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveTime};
use kenduren_domain::FieldViolation;
use kenduren_proto::{
    events::v1::{ProgrammeItem, SessionScheduled},
    intake::v1::{ScheduleSessionRequest, ScheduleSessionResponse},
};
use kenduren_runtime::{new_event, timestamp, ApiError};
use kenduren_store::ExpectedVersion;

use super::{encode_item, read, standard_programme, starts_at};
use crate::api::Intake;

/// Most days one session may span.
const MAX_DAYS: usize = 7;
const MAX_TEXT: usize = 200;

/// A request that passed validation.
#[derive(Debug, PartialEq)]
struct Plan {
    session_id: String,
    dates: Vec<NaiveDate>,
    kecamatan: String,
    desa: String,
    programme: Vec<ProgrammeItem>,
    expected: Vec<String>,
}

fn violation(field: impl Into<String>, description: impl Into<String>) -> FieldViolation {
    FieldViolation {
        field: field.into(),
        description: description.into(),
    }
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Intake {
    /// Checks every field against the gazetteer and the OPD directory; all problems at once.
    fn plan(&self, req: &ScheduleSessionRequest) -> Result<Plan, Vec<FieldViolation>> {
        let mut bad = Vec::new();
        let session_id = match req.session_id.trim() {
            "" => uuid::Uuid::now_v7().simple().to_string(),
            id if valid_id(id) => id.to_owned(),
            _ => {
                bad.push(violation("session_id", "1–64 karakter: huruf, angka, _ atau -"));
                String::new()
            }
        };
        let mut dates = BTreeSet::new();
        for (i, text) in req.dates.iter().enumerate() {
            match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                Ok(d) if dates.insert(d) => {}
                Ok(_) => bad.push(violation(format!("dates[{i}]"), "tanggal disebut dua kali")),
                Err(_) => bad.push(violation(
                    format!("dates[{i}]"),
                    "tanggal harus berbentuk YYYY-MM-DD",
                )),
            }
        }
        if req.dates.is_empty() || req.dates.len() > MAX_DAYS {
            bad.push(violation(
                "dates",
                format!("isi 1 sampai {MAX_DAYS} tanggal sesi"),
            ));
        }
        let catalogue = &self.reference.catalogue;
        let wanted = req.kecamatan.trim();
        let kecamatan = match catalogue.kecamatan(wanted) {
            Some(k) => k.to_owned(),
            None => {
                bad.push(violation(
                    "kecamatan",
                    format!("kecamatan {wanted:?} tidak ada di Kabupaten Pasuruan"),
                ));
                String::new()
            }
        };
        let desa_text = req.desa.trim();
        let desa = if desa_text.is_empty() || desa_text.chars().count() > MAX_TEXT {
            bad.push(violation("desa", "isi nama desa/kelurahan tempat sesi"));
            String::new()
        } else if kecamatan.is_empty() {
            // The kecamatan is already refused; the desa cannot be checked against it.
            desa_text.to_owned()
        } else {
            match catalogue.village(&kecamatan, desa_text) {
                Some(v) => v,
                None => {
                    bad.push(violation(
                        "desa",
                        format!("desa/kelurahan {desa_text:?} tidak ada di kecamatan {kecamatan}"),
                    ));
                    String::new()
                }
            }
        };
        let mut expected = Vec::new();
        for (i, code) in req.expected_opd_codes.iter().enumerate() {
            let code = code.trim();
            let field = format!("expected_opd_codes[{i}]");
            if !self.reference.opds.iter().any(|o| o.code.as_str() == code) {
                bad.push(violation(field, format!("OPD {code:?} tidak ada di direktori")));
            } else if expected.iter().any(|c| c == code) {
                bad.push(violation(field, format!("OPD {code} disebut dua kali")));
            } else {
                expected.push(code.to_owned());
            }
        }
        if req.expected_opd_codes.is_empty() {
            bad.push(violation(
                "expected_opd_codes",
                "sebut paling sedikit satu OPD yang diharapkan hadir",
            ));
        }
        let days = dates.len().max(1);
        for (i, item) in req.programme.iter().enumerate() {
            if item.day == 0 || item.day as usize > days {
                bad.push(violation(
                    format!("programme[{i}].day"),
                    format!("hari ke-1 sampai ke-{days}"),
                ));
            }
            if NaiveTime::parse_from_str(&item.time, "%H:%M").is_err() || item.time.len() != 5 {
                bad.push(violation(
                    format!("programme[{i}].time"),
                    "jam berbentuk HH:MM, misalnya 13:00",
                ));
            }
            let chars = item.activity.trim().chars().count();
            if chars == 0 || chars > MAX_TEXT {
                bad.push(violation(
                    format!("programme[{i}].activity"),
                    format!("isi kegiatan (1–{MAX_TEXT} karakter)"),
                ));
            }
        }
        if !bad.is_empty() {
            return Err(bad);
        }
        let mut programme: Vec<ProgrammeItem> = if req.programme.is_empty() {
            standard_programme(days)
        } else {
            req.programme
                .iter()
                .map(|p| ProgrammeItem {
                    day: p.day,
                    time: p.time.clone(),
                    activity: p.activity.trim().to_owned(),
                })
                .collect()
        };
        programme.sort_by(|a, b| (a.day, &a.time).cmp(&(b.day, &b.time)));
        Ok(Plan {
            session_id,
            dates: dates.into_iter().collect(),
            kecamatan,
            desa,
            programme,
            expected,
        })
    }

    pub(crate) async fn schedule_session(
        &self,
        req: ScheduleSessionRequest,
    ) -> Result<ScheduleSessionResponse, ApiError> {
        let plan = self.plan(&req).map_err(ApiError::InvalidArgument)?;
        tracing::Span::current().record("session_id", plan.session_id.as_str());
        let mut tx = self.ctx.pool.begin().await?;
        if let Some(existing) = read::find(&mut tx, &plan.session_id, true).await? {
            let same = existing.dates == plan.dates
                && existing.kecamatan == plan.kecamatan
                && existing.desa == plan.desa
                && existing.expected_opds == plan.expected
                && existing.programme == plan.programme.iter().map(encode_item).collect::<Vec<_>>();
            if !same {
                return Err(ApiError::AlreadyExists(format!(
                    "session {:?} is already scheduled with other details",
                    plan.session_id
                )));
            }
            let session = read::load(&mut tx, &plan.session_id, self.ctx.clock.now()).await?;
            return Ok(ScheduleSessionResponse {
                session: Some(session),
            });
        }
        let first = plan.dates.first().copied().unwrap_or_default();
        let start = starts_at(first);
        let now = self.ctx.clock.now();
        let event = SessionScheduled {
            session_id: plan.session_id.clone(),
            dates: plan.dates.iter().map(|d| d.to_string()).collect(),
            kecamatan: plan.kecamatan.clone(),
            desa: plan.desa.clone(),
            expected_opd_codes: plan.expected.clone(),
            scheduled_at: Some(timestamp(now)),
            programme: plan.programme.clone(),
            starts_at: Some(timestamp(start)),
        };
        let new = new_event(&event, self.ctx.subjects.session("scheduled"), None, now);
        self.ctx
            .store
            .append(&mut tx, &plan.session_id, ExpectedVersion::NoStream, vec![new])
            .await?;
        sqlx::query(
            "INSERT INTO sessions (session_id, kecamatan, desa, dates, expected_opds, programme, starts_at, scheduled_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&plan.session_id)
        .bind(&plan.kecamatan)
        .bind(&plan.desa)
        .bind(&plan.dates)
        .bind(&plan.expected)
        .bind(plan.programme.iter().map(encode_item).collect::<Vec<_>>())
        .bind(start)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let session = read::load(&mut tx, &plan.session_id, self.ctx.clock.now()).await?;
        tx.commit().await?;
        Ok(ScheduleSessionResponse {
            session: Some(session),
        })
    }
}
