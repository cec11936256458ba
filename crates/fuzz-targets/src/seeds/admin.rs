//! Seeds of the targets for what admins and callers send beside submissions: reference
//! data, routing rules, holiday files, SLA deadlines and request fields.

use super::{seed, Seed};
use crate::{FIELD_SEPARATOR, RECORD_SEPARATOR};

/// The shipped reference data files, as the `reference_data` target reads them.
fn shipped_reference() -> Vec<u8> {
    [
        include_str!("../../../../data/opds.json"),
        include_str!("../../../../data/categories.json"),
        include_str!("../../../../data/rules.json"),
        include_str!("../../../../data/gazetteer.json"),
    ]
    .map(str::as_bytes)
    .join(&FIELD_SEPARATOR)
}

/// A small valid set with every kind of rule condition, so mutations reach each check
/// sooner than from the shipped files.
const SMALL_REFERENCE: [&str; 4] = [
    r#"[{"code":"DPUPR","name":"Dinas PUPR","contact":"","active":true},
 {"code":"DISHUB","name":"Dinas Perhubungan","contact":"","active":false}]"#,
    r#"[{"code":"jalan","name":"Jalan","kinds":["COMPLAINT"]},{"code":"lainnya","name":"Lainnya"}]"#,
    r#"[{"id":"jalan-default","category":"jalan","opd":"DPUPR","priority":10},
 {"id":"lampu","category":"jalan","opd":"DISHUB","priority":20,"kinds":["COMPLAINT"],
  "kecamatan":["Bangil"],"keywords":["lampu"]}]"#,
    r#"{"kecamatan":[{"name":"Bangil","villages":["Kalirejo","Kidul Dalem"],"villages_complete":true},
 {"name":"Gempol","villages_complete":false}]}"#,
];

/// A question and three rules, one of them narrowed by every condition.
fn routing_rules() -> Vec<u8> {
    let records: [[&str; 7]; 4] = [
        ["jalan", "\u{1}", "bangil", "Lampu jalan mati", "DPUPR", "", ""],
        ["jalan-default", "jalan", "DPUPR", "10", "", "", ""],
        [
            "lampu",
            "jalan",
            "DISHUB",
            "20",
            "\u{1}",
            "Bangil,Gempol",
            "lampu,penerangan",
        ],
        ["lainnya", "lainnya", "BAPPEDA", "-5", "", "", ""],
    ];
    records
        .map(|fields| fields.map(str::as_bytes).join(&FIELD_SEPARATOR))
        .join(&RECORD_SEPARATOR)
}

/// An on-site complaint under a policy with two targets, with holidays in its weeks.
fn sla_deadlines() -> Vec<u8> {
    let mut data = Vec::new();
    data.extend_from_slice(&4u16.to_le_bytes()); // answer: 5 working days
    data.extend_from_slice(&59u16.to_le_bytes()); // resolution: 60 days
    data.extend_from_slice(&2u16.to_le_bytes()); // level 2: 3 working days
                                                 // 2026-03-01T08:15:30Z (a Sunday), assigned two hours later.
    data.extend_from_slice(&194_516_130u32.to_le_bytes());
    data.extend_from_slice(&7_200u32.to_le_bytes());
    data.extend_from_slice(&[1, 0]); // a complaint, on site
    data.push(2);
    data.extend_from_slice(&[2, 0, 2, 29]); // complaints: 3 working days, 30 days
    data.extend_from_slice(&[2, 1, 0, 13]); // complaints on site: 1 working day, 14 days
    for day in [2u16, 3, 17] {
        data.extend_from_slice(&day.to_le_bytes());
    }
    data
}

/// A stored kind name and a refusal of two fields, one holding HTML and SQL as typed.
fn request_fields() -> Vec<u8> {
    let mut data = Vec::new();
    data.extend_from_slice(&2i32.to_le_bytes());
    data.extend_from_slice(&1_772_352_930i64.to_le_bytes());
    data.extend_from_slice(&500_000_000i32.to_le_bytes());
    let fields: [&str; 5] = [
        "COMPLAINT",
        "location.kecamatan",
        "kecamatan \"<b>Bangil</b>'; DROP TABLE questions; --\" tidak ada di Kabupaten Pasuruan",
        "dates[0]",
        "tanggal harus berbentuk YYYY-MM-DD",
    ];
    data.extend(fields.map(str::as_bytes).join(&FIELD_SEPARATOR));
    data
}

/// Every seed of the targets this module covers.
pub(super) fn all() -> Vec<Seed> {
    vec![
        seed("reference_data", "shipped", shipped_reference()),
        seed(
            "reference_data",
            "small",
            SMALL_REFERENCE.map(str::as_bytes).join(&FIELD_SEPARATOR),
        ),
        seed("routing_rules", "keyword_rule", routing_rules()),
        seed(
            "holiday_file",
            "shipped",
            include_bytes!("../../../../data/holidays.json").to_vec(),
        ),
        seed("sla_deadlines", "on_site_complaint", sla_deadlines()),
        seed("request_fields", "refusal", request_fields()),
    ]
}
