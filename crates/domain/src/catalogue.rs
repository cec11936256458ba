//! The data an admin edits — OPD directory, category catalogue, routing rules and
//! gazetteer — parsed and validated from the JSON files shipped under `data/`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::{
    ids::{CategoryCode, OpdCode},
    question::{Catalogue, QuestionKind},
    routing::{RoutingRule, RuleSet},
};

/// Why a catalogue file was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The file is not the expected JSON.
    #[error("{file}: {source}")]
    Json {
        /// Which file.
        file: &'static str,
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// The file parsed but says something inconsistent.
    #[error("{file}: {message}")]
    Invalid {
        /// Which file.
        file: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// An agency in the directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Opd {
    /// Stable code.
    pub code: OpdCode,
    /// Full name.
    pub name: String,
    /// Where to reach it.
    pub contact: String,
    /// Whether it receives questions.
    pub active: bool,
}

#[derive(Deserialize)]
struct CategoryEntry {
    code: CategoryCode,
    /// Shown to the desk and citizens; only checked here (the services route by code).
    name: String,
    #[serde(default)]
    kinds: Vec<QuestionKind>,
}

#[derive(Deserialize)]
struct Gazetteer {
    kecamatan: Vec<KecamatanEntry>,
}

#[derive(Deserialize)]
struct KecamatanEntry {
    name: String,
    #[serde(default)]
    villages: Vec<String>,
    /// Required, so an admin's replacement file says for every kecamatan whether a desa
    /// missing from `villages` is a typing mistake (true) or a gap in the list (false).
    villages_complete: bool,
}

/// The whole reference data set, validated against itself.
#[derive(Debug, Clone)]
pub struct ReferenceData {
    /// The OPD directory.
    pub opds: Vec<Opd>,
    /// Categories and gazetteer, for validating submissions.
    pub catalogue: Catalogue,
    /// The routing rules.
    pub rules: RuleSet,
}

/// The JSON texts of the four files.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceSources<'a> {
    /// `opds.json`.
    pub opds: &'a str,
    /// `categories.json`.
    pub categories: &'a str,
    /// `rules.json`.
    pub rules: &'a str,
    /// `gazetteer.json`.
    pub gazetteer: &'a str,
}

fn parse<'a, T: Deserialize<'a>>(file: &'static str, text: &'a str) -> Result<T, CatalogueError> {
    serde_json::from_str(text).map_err(|source| CatalogueError::Json { file, source })
}

impl ReferenceData {
    /// Parses the four files and checks that rules name known categories and OPDs.
    pub fn parse(src: ReferenceSources<'_>) -> Result<Self, CatalogueError> {
        let opds: Vec<Opd> = parse("opds.json", src.opds)?;
        let categories: Vec<CategoryEntry> = parse("categories.json", src.categories)?;
        let rules: Vec<RoutingRule> = parse("rules.json", src.rules)?;
        let gazetteer: Gazetteer = parse("gazetteer.json", src.gazetteer)?;

        let invalid = |file, message: String| CatalogueError::Invalid { file, message };
        let opd_codes: BTreeSet<&OpdCode> = opds.iter().map(|o| &o.code).collect();
        if opd_codes.len() != opds.len() {
            return Err(invalid("opds.json", "an OPD code appears twice".into()));
        }
        let mut catalogue = Catalogue::default();
        for c in categories {
            let code = c.code.as_str().to_owned();
            if c.name.trim().is_empty() {
                return Err(invalid(
                    "categories.json",
                    format!("category {code} has an empty name"),
                ));
            }
            if catalogue
                .categories
                .insert(code.clone(), c.kinds.into_iter().collect())
                .is_some()
            {
                return Err(invalid(
                    "categories.json",
                    format!("category {code} appears twice"),
                ));
            }
        }
        let mut ids = BTreeSet::new();
        for r in &rules {
            if !ids.insert(r.id.as_str()) {
                return Err(invalid("rules.json", format!("rule id {} appears twice", r.id)));
            }
            if !catalogue.categories.contains_key(r.category.as_str()) {
                return Err(invalid(
                    "rules.json",
                    format!("rule {} names unknown category {}", r.id, r.category),
                ));
            }
            if !opd_codes.contains(&r.opd) {
                return Err(invalid(
                    "rules.json",
                    format!("rule {} names unknown OPD {}", r.id, r.opd),
                ));
            }
        }
        let mut places: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for k in gazetteer.kecamatan {
            let name = k.name.trim().to_owned();
            // Names are matched case-insensitively, so two spellings of one name are a mistake.
            if name.is_empty() || places.keys().any(|p| p.eq_ignore_ascii_case(&name)) {
                return Err(invalid(
                    "gazetteer.json",
                    format!("kecamatan {name:?} is empty or appears twice"),
                ));
            }
            let mut villages = BTreeSet::new();
            for v in k.villages {
                let v = v.trim().to_owned();
                if v.is_empty() || villages.iter().any(|x: &String| x.eq_ignore_ascii_case(&v)) {
                    return Err(invalid(
                        "gazetteer.json",
                        format!("village {v:?} of {name} is empty or appears twice"),
                    ));
                }
                villages.insert(v);
            }
            if k.villages_complete && villages.is_empty() {
                return Err(invalid(
                    "gazetteer.json",
                    format!("kecamatan {name} is marked villages_complete but lists no villages"),
                ));
            }
            if !k.villages_complete {
                catalogue.incomplete_villages.insert(name.clone());
            }
            places.insert(name, villages);
        }
        if places.is_empty() {
            return Err(invalid("gazetteer.json", "no kecamatan".into()));
        }
        catalogue.gazetteer = places;
        Ok(Self {
            opds,
            catalogue,
            rules: RuleSet::new(rules),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{RouteDecision, RouteQuery};

    fn shipped() -> ReferenceSources<'static> {
        ReferenceSources {
            opds: include_str!("../../../data/opds.json"),
            categories: include_str!("../../../data/categories.json"),
            rules: include_str!("../../../data/rules.json"),
            gazetteer: include_str!("../../../data/gazetteer.json"),
        }
    }

    #[test]
    fn the_shipped_data_is_valid_and_names_all_24_kecamatan() {
        let data = ReferenceData::parse(shipped()).expect("shipped data parses");
        assert_eq!(data.catalogue.gazetteer.len(), 24);
        assert!(data.opds.iter().any(|o| o.code.as_str() == "DISPENDUKCAPIL"));
    }

    #[test]
    fn the_shipped_gazetteer_lists_all_365_desa_and_kelurahan() {
        let data = ReferenceData::parse(shipped()).expect("shipped data parses");
        let villages: usize = data.catalogue.gazetteer.values().map(BTreeSet::len).sum();
        assert_eq!(villages, 365);
        assert!(data.catalogue.gazetteer.values().all(|v| !v.is_empty()));
    }

    #[test]
    fn a_village_listed_twice_in_one_kecamatan_is_refused() {
        let gazetteer =
            r#"{"kecamatan":[{"name":"Bangil","villages_complete":true,"villages":["Raci","raci"]}]}"#;
        let err = ReferenceData::parse(ReferenceSources {
            gazetteer,
            ..shipped()
        })
        .unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
    }

    #[test]
    fn a_kecamatan_with_an_incomplete_list_accepts_unlisted_villages_and_others_do_not() {
        let gazetteer = r#"{"kecamatan":[
            {"name":"Bangil","villages_complete":true,"villages":["Raci"]},
            {"name":"Tutur","villages_complete":false,"villages":["Andonosari"]}]}"#;
        let data = ReferenceData::parse(ReferenceSources {
            gazetteer,
            ..shipped()
        })
        .expect("parses");
        assert!(data.catalogue.incomplete_villages.contains("Tutur"));
        assert!(!data.catalogue.incomplete_villages.contains("Bangil"));
        let draft = |kecamatan: &str, desa: &str| crate::SubmissionDraft {
            request_id: "r".into(),
            kind: Some(QuestionKind::Question),
            category: "kependudukan".into(),
            text: "KTP".into(),
            channel: Some(crate::Channel::Web),
            kecamatan: kecamatan.into(),
            desa: desa.into(),
            ..Default::default()
        };
        let unlisted = draft("Tutur", "Ngadirejo").validate(&data.catalogue);
        assert_eq!(unlisted.map(|s| s.desa).ok().as_deref(), Some("Ngadirejo"));
        let refused = draft("Bangil", "Ngadirejo").validate(&data.catalogue);
        let fields: Vec<String> = refused
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(fields, ["location.desa"]);
    }

    #[test]
    fn villages_complete_is_required_and_must_be_a_boolean() {
        for (gazetteer, complaint) in [
            (
                r#"{"kecamatan":[{"name":"Bangil","villages":["Raci"]}]}"#,
                "missing field `villages_complete`",
            ),
            (
                r#"{"kecamatan":[{"name":"Bangil","villages_complete":"yes","villages":["Raci"]}]}"#,
                "expected a boolean",
            ),
        ] {
            let err = ReferenceData::parse(ReferenceSources {
                gazetteer,
                ..shipped()
            })
            .unwrap_err();
            assert!(err.to_string().contains(complaint), "{err}");
        }
        let empty = r#"{"kecamatan":[{"name":"Bangil","villages_complete":true,"villages":[]}]}"#;
        let err = ReferenceData::parse(ReferenceSources {
            gazetteer: empty,
            ..shipped()
        })
        .unwrap_err();
        assert!(err.to_string().contains("lists no villages"), "{err}");
    }

    #[test]
    fn a_category_without_a_name_is_refused() {
        let categories = r#"[{"code":"kependudukan","name":"  ","kinds":[]}]"#;
        let err = ReferenceData::parse(ReferenceSources {
            categories,
            ..shipped()
        })
        .unwrap_err();
        assert!(err.to_string().contains("empty name"), "{err}");
    }

    /// What an admin does: copy the shipped files to a directory, edit them, and start
    /// the services on that directory (whose loader reads each file and calls `parse`).
    #[test]
    fn an_admins_replacement_directory_is_loaded_as_edited() {
        let dir = std::env::temp_dir().join(format!("kenduren-reference-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let src = shipped();
        let categories = src.categories.replacen(
            "[",
            r#"[{"code":"pemakaman","name":"Tempat pemakaman umum","kinds":["COMPLAINT"]},"#,
            1,
        );
        let gazetteer = src.gazetteer.replacen(
            r#"{"name": "Tutur", "villages_complete": true"#,
            r#"{"name": "Tutur", "villages_complete": false"#,
            1,
        );
        assert_ne!(gazetteer, src.gazetteer, "the shipped Tutur entry was edited");
        for (name, text) in [
            ("opds.json", src.opds),
            ("categories.json", categories.as_str()),
            ("rules.json", src.rules),
            ("gazetteer.json", gazetteer.as_str()),
        ] {
            std::fs::write(dir.join(name), text).expect("write");
        }
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("read");
        let (opds, categories, rules, gazetteer) = (
            read("opds.json"),
            read("categories.json"),
            read("rules.json"),
            read("gazetteer.json"),
        );
        let loaded = ReferenceData::parse(ReferenceSources {
            opds: &opds,
            categories: &categories,
            rules: &rules,
            gazetteer: &gazetteer,
        });
        std::fs::remove_dir_all(&dir).expect("clean up");
        let data = loaded.expect("the edited files load");
        let kinds = data.catalogue.categories.get("pemakaman").expect("new category");
        assert_eq!(
            kinds.iter().copied().collect::<Vec<_>>(),
            [QuestionKind::Complaint]
        );
        assert_eq!(
            data.catalogue.incomplete_villages.iter().collect::<Vec<_>>(),
            ["Tutur"]
        );
    }

    #[test]
    fn every_shipped_category_but_lainnya_has_a_rule() {
        let data = ReferenceData::parse(shipped()).expect("shipped data parses");
        for (category, kinds) in &data.catalogue.categories {
            let kind = kinds.iter().next().copied().unwrap_or(QuestionKind::Question);
            let q = RouteQuery {
                category,
                kind,
                kecamatan: "Bangil",
                text: "",
            };
            let routed = matches!(data.rules.route(&q, &[]), RouteDecision::Routed { .. });
            assert_eq!(routed, category != "lainnya", "category {category}");
        }
    }

    #[test]
    fn a_rule_naming_an_unknown_opd_is_refused() {
        let rules = r#"[{"id":"x","category":"kependudukan","opd":"NOPE","priority":1}]"#;
        let err = ReferenceData::parse(ReferenceSources { rules, ..shipped() }).unwrap_err();
        assert!(err.to_string().contains("unknown OPD NOPE"), "{err}");
    }
}
