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
    #[allow(dead_code)]
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
        let gazetteer = r#"{"kecamatan":[{"name":"Bangil","villages":["Raci","raci"]}]}"#;
        let err = ReferenceData::parse(ReferenceSources {
            gazetteer,
            ..shipped()
        })
        .unwrap_err();
        assert!(err.to_string().contains("appears twice"), "{err}");
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
