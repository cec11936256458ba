//! A citizen's submission: its kinds and channels, and the validation that turns a
//! raw draft into a [`Submission`] or reports every bad field at once.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::ids::CategoryCode;

/// Longest question text, in characters, after trimming.
pub const MAX_TEXT_CHARS: usize = 4000;

/// What a citizen brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QuestionKind {
    /// A question.
    Question,
    /// A complaint.
    Complaint,
    /// An idea or suggestion (urun rembug).
    Aspiration,
    /// A request for a service.
    ServiceRequest,
}

/// Where a submission was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Channel {
    /// At a Kenduren Mas session's desk.
    OnSite,
    /// The web form.
    Web,
    /// WhatsApp.
    Whatsapp,
    /// SMS.
    Sms,
    /// Phone.
    Phone,
    /// An Open311 client.
    Open311,
}

/// One bad field and what is wrong with it, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Dotted path of the field, as in the request (`location.kecamatan`).
    pub field: String,
    /// What to fix.
    pub description: String,
}

impl FieldViolation {
    fn new(field: &str, description: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            description: description.into(),
        }
    }
}

/// The category catalogue and the gazetteer that submissions are checked against.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// Category code → kinds it applies to (empty: all kinds).
    pub categories: BTreeMap<String, BTreeSet<QuestionKind>>,
    /// Kecamatan → its desa and kelurahan (empty set: villages not listed, any accepted).
    pub gazetteer: BTreeMap<String, BTreeSet<String>>,
    /// Kecamatan whose village list is known to be incomplete (`villages_complete: false`
    /// in the gazetteer): a desa missing from the list is accepted as written there.
    pub incomplete_villages: BTreeSet<String>,
}

impl Catalogue {
    /// The gazetteer's spelling of kecamatan `wanted` (matched ignoring ASCII case).
    pub fn kecamatan(&self, wanted: &str) -> Option<&str> {
        self.gazetteer
            .keys()
            .find(|k| k.eq_ignore_ascii_case(wanted))
            .map(String::as_str)
    }

    /// The gazetteer's spelling of `desa` in `kecamatan` (as [`Catalogue::kecamatan`]
    /// names it), or `desa` as written where that kecamatan's list is not complete;
    /// `None` when a complete list lacks it.
    pub fn village(&self, kecamatan: &str, desa: &str) -> Option<String> {
        let villages = self.gazetteer.get(kecamatan)?;
        match villages.iter().find(|v| v.eq_ignore_ascii_case(desa)) {
            Some(v) => Some(v.clone()),
            None if villages.is_empty() || self.incomplete_villages.contains(kecamatan) => {
                Some(desa.to_owned())
            }
            None => None,
        }
    }
}

/// A submission as it arrived, before validation (enum fields already decoded;
/// `None` means missing or unknown).
#[derive(Debug, Clone, Default)]
pub struct SubmissionDraft {
    /// Idempotency key.
    pub request_id: String,
    /// The kind, if known.
    pub kind: Option<QuestionKind>,
    /// The category code.
    pub category: String,
    /// What the citizen wrote.
    pub text: String,
    /// The channel, if known.
    pub channel: Option<Channel>,
    /// The session, for on-site submissions.
    pub session_id: String,
    /// Kecamatan name.
    pub kecamatan: String,
    /// Desa or kelurahan name.
    pub desa: String,
    /// Optional position.
    pub coordinates: Option<(f64, f64)>,
}

/// A submission that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// Idempotency key.
    pub request_id: String,
    /// The kind.
    pub kind: QuestionKind,
    /// The category.
    pub category: CategoryCode,
    /// The trimmed text.
    pub text: String,
    /// The channel.
    pub channel: Channel,
    /// The session (on-site only; empty otherwise).
    pub session_id: String,
    /// Kecamatan, as spelled in the gazetteer.
    pub kecamatan: String,
    /// Desa, as spelled in the gazetteer (may be empty).
    pub desa: String,
    /// Position inside the regency.
    pub coordinates: Option<(f64, f64)>,
}

/// Longest desa name accepted where the gazetteer's list is incomplete, in characters.
pub const MAX_DESA_CHARS: usize = 100;

/// Kabupaten Pasuruan's bounding box (latitude south, longitude east), with a margin.
/// It is a rectangle, not the regency's boundary: no boundary polygon ships with the
/// service (none can be fetched offline), so points just outside the regency — Kota
/// Pasuruan and Kota Malang among them — pass this check. It catches swapped signs,
/// swapped latitude and longitude, and positions elsewhere in Java.
const REGENCY_LAT: (f64, f64) = (-8.05, -7.45);
const REGENCY_LON: (f64, f64) = (112.50, 113.15);

/// Pairs a submission's optional latitude and longitude: both or neither. One without
/// the other is a violation naming the missing half, rather than a position silently
/// dropped.
pub fn pair_coordinates(
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> Result<Option<(f64, f64)>, FieldViolation> {
    match (latitude, longitude) {
        (Some(lat), Some(lon)) => Ok(Some((lat, lon))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(FieldViolation::new(
            "location.longitude",
            "isi juga bujur (longitude), atau kosongkan lintang dan bujur",
        )),
        (None, Some(_)) => Err(FieldViolation::new(
            "location.latitude",
            "isi juga lintang (latitude), atau kosongkan lintang dan bujur",
        )),
    }
}

impl SubmissionDraft {
    /// Checks every field against the rules and the catalogue; all problems at once.
    pub fn validate(&self, catalogue: &Catalogue) -> Result<Submission, Vec<FieldViolation>> {
        let mut bad = Vec::new();
        let request_id = self.request_id.trim();
        if request_id.is_empty() || request_id.len() > 128 {
            bad.push(FieldViolation::new(
                "request_id",
                "isi request_id (1–128 karakter), misalnya sebuah UUID, agar pengiriman ulang aman",
            ));
        }
        if self.kind.is_none() {
            bad.push(FieldViolation::new(
                "kind",
                "pilih jenis: QUESTION, COMPLAINT, ASPIRATION atau SERVICE_REQUEST",
            ));
        }
        let category = match CategoryCode::parse(self.category.trim()) {
            Ok(c) => match catalogue.categories.get(c.as_str()) {
                None => {
                    bad.push(FieldViolation::new(
                        "category",
                        format!("kategori {:?} tidak dikenal", c.as_str()),
                    ));
                    None
                }
                Some(kinds) => {
                    if let Some(kind) = self.kind {
                        if !kinds.is_empty() && !kinds.contains(&kind) {
                            bad.push(FieldViolation::new(
                                "category",
                                format!("kategori {} tidak berlaku untuk jenis {:?}", c, kind),
                            ));
                        }
                    }
                    Some(c)
                }
            },
            Err(_) => {
                bad.push(FieldViolation::new(
                    "category",
                    "isi kode kategori dari katalog, misalnya kependudukan",
                ));
                None
            }
        };
        let text = self.text.trim();
        let chars = text.chars().count();
        if chars == 0 {
            bad.push(FieldViolation::new(
                "text",
                "tuliskan pertanyaan atau aspirasi (tidak boleh kosong)",
            ));
        } else if chars > MAX_TEXT_CHARS {
            bad.push(FieldViolation::new(
                "text",
                format!("teks terlalu panjang: {chars} karakter, paling banyak {MAX_TEXT_CHARS}"),
            ));
        }
        if self.channel.is_none() {
            bad.push(FieldViolation::new(
                "channel",
                "pilih kanal: ON_SITE, WEB, WHATSAPP, SMS, PHONE atau OPEN311",
            ));
        }
        let session_id = self.session_id.trim();
        if self.channel == Some(Channel::OnSite) && session_id.is_empty() {
            bad.push(FieldViolation::new(
                "session_id",
                "pertanyaan di lokasi (ON_SITE) harus menyebut sesi Kenduren Mas",
            ));
        }
        let (kecamatan, desa) = self.place(catalogue, &mut bad);
        if let Some((lat, lon)) = self.coordinates {
            let inside = (REGENCY_LAT.0..=REGENCY_LAT.1).contains(&lat)
                && (REGENCY_LON.0..=REGENCY_LON.1).contains(&lon);
            if !inside {
                bad.push(FieldViolation::new(
                    "location.latitude",
                    format!("koordinat ({lat}, {lon}) berada di luar Kabupaten Pasuruan"),
                ));
            }
        }
        match (self.kind, category, self.channel) {
            (Some(kind), Some(category), Some(channel)) if bad.is_empty() => Ok(Submission {
                request_id: request_id.to_owned(),
                kind,
                category,
                text: text.to_owned(),
                channel,
                session_id: if channel == Channel::OnSite {
                    session_id.to_owned()
                } else {
                    String::new()
                },
                kecamatan,
                desa,
                coordinates: self.coordinates,
            }),
            _ => Err(bad),
        }
    }

    fn place(&self, catalogue: &Catalogue, bad: &mut Vec<FieldViolation>) -> (String, String) {
        let wanted = self.kecamatan.trim();
        let Some(kecamatan) = catalogue.kecamatan(wanted) else {
            bad.push(FieldViolation::new(
                "location.kecamatan",
                format!("kecamatan {wanted:?} tidak ada di Kabupaten Pasuruan"),
            ));
            return (String::new(), String::new());
        };
        let desa = self.desa.trim();
        if desa.is_empty() {
            return (kecamatan.to_owned(), String::new());
        }
        match catalogue.village(kecamatan, desa) {
            // An unlisted name taken as written is bounded like any free text.
            Some(v) if v.chars().count() > MAX_DESA_CHARS => {
                bad.push(FieldViolation::new(
                    "location.desa",
                    format!("nama desa/kelurahan paling banyak {MAX_DESA_CHARS} karakter"),
                ));
                (kecamatan.to_owned(), String::new())
            }
            Some(v) => (kecamatan.to_owned(), v),
            None => {
                bad.push(FieldViolation::new(
                    "location.desa",
                    format!("desa/kelurahan {desa:?} tidak ada di kecamatan {kecamatan}"),
                ));
                (kecamatan.to_owned(), String::new())
            }
        }
    }
}

#[cfg(test)]
mod tests;
