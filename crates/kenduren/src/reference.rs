//! Reference data: the files shipped in `data/` (compiled in), or an admin's
//! replacements from a directory, validated before any service starts.

use std::path::Path;

use kenduren_domain::{ReferenceData, ReferenceSources};

const OPDS: &str = include_str!("../../../data/opds.json");
const CATEGORIES: &str = include_str!("../../../data/categories.json");
const RULES: &str = include_str!("../../../data/rules.json");
const GAZETTEER: &str = include_str!("../../../data/gazetteer.json");

/// Why reference data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// A replacement file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is invalid.
    #[error(transparent)]
    Invalid(#[from] kenduren_domain::CatalogueError),
}

/// The shipped data, or the files in `dir` where present (others stay the shipped ones).
pub fn load(dir: Option<&Path>) -> Result<ReferenceData, ReferenceError> {
    let read = |name: &str, shipped: &'static str| -> Result<String, ReferenceError> {
        match dir.map(|d| d.join(name)) {
            Some(path) if path.exists() => {
                std::fs::read_to_string(&path).map_err(|source| ReferenceError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
            _ => Ok(shipped.to_owned()),
        }
    };
    let (opds, categories, rules, gazetteer) = (
        read("opds.json", OPDS)?,
        read("categories.json", CATEGORIES)?,
        read("rules.json", RULES)?,
        read("gazetteer.json", GAZETTEER)?,
    );
    Ok(ReferenceData::parse(ReferenceSources {
        opds: &opds,
        categories: &categories,
        rules: &rules,
        gazetteer: &gazetteer,
    })?)
}
