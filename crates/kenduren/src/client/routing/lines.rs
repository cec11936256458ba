//! One printed line per rule (`kenduren rules list`) and per triage item
//! (`kenduren triage list`), kept apart from the RPCs so what an admin reads is tested.

use kenduren_proto::routing::v1::{Rule, TriageItem};

use super::{policy::kind_label, when};

/// Priority, id, category, OPD, then every narrowing condition (kinds, keywords,
/// kecamatan): without them two rules for one category look alike.
pub(super) fn rule(r: &Rule) -> String {
    let mut narrow = Vec::new();
    if !r.kinds.is_empty() {
        let kinds: Vec<String> = r.kinds.iter().map(|k| kind_label(*k)).collect();
        narrow.push(format!("kinds {}", kinds.join("|")));
    }
    if !r.keywords.is_empty() {
        narrow.push(format!("keywords {}", r.keywords.join("|")));
    }
    if !r.kecamatan.is_empty() {
        narrow.push(format!("kecamatan {}", r.kecamatan.join("|")));
    }
    format!(
        "{:>4}  {:<24} {:<22} → {} {}",
        r.priority,
        r.rule_id,
        r.category,
        r.opd_code,
        narrow.join(", ")
    )
    .trim_end()
    .to_owned()
}

/// Id, ticket, category, when and why it is in triage, and which OPDs already rejected
/// it: routing never sends it back to them, so the admin picks another.
pub(super) fn triage(i: &TriageItem) -> String {
    let rejected = if i.rejected_by.is_empty() {
        String::new()
    } else {
        format!("  (rejected by {})", i.rejected_by.join(", "))
    };
    format!(
        "{}  {}  {:<18} {}  {}{rejected}",
        i.question_id,
        i.ticket,
        i.category,
        when(i.triaged_at),
        i.reason
    )
}

#[cfg(test)]
mod tests {
    use kenduren_proto::events::v1::QuestionKind;

    use super::*;

    #[test]
    fn a_rule_line_names_the_kinds_it_is_narrowed_to() {
        let line = rule(&Rule {
            rule_id: "pengaduan-dinsos".into(),
            category: "sosial".into(),
            opd_code: "DINSOS".into(),
            priority: 20,
            kinds: vec![QuestionKind::Complaint as i32, QuestionKind::Aspiration as i32],
            kecamatan: vec![],
            keywords: vec!["bansos".into()],
        });
        assert!(line.contains("kinds COMPLAINT|ASPIRATION"), "{line}");
        assert!(line.contains("keywords bansos"), "{line}");
        assert!(line.contains("DINSOS"), "{line}");
    }

    #[test]
    fn a_rule_for_every_kind_says_nothing_about_kinds() {
        let line = rule(&Rule {
            rule_id: "sosial-default".into(),
            category: "sosial".into(),
            opd_code: "DINSOS".into(),
            priority: 10,
            ..Default::default()
        });
        assert!(!line.contains("kinds"), "{line}");
    }

    #[test]
    fn a_triage_line_names_the_opds_that_rejected_it() {
        let item = TriageItem {
            question_id: "0190f5a4-0000-7000-8000-000000000001".into(),
            ticket: "KM-2026-000001".into(),
            category: "kependudukan".into(),
            reason: "no rule left".into(),
            rejected_by: vec!["DISPENDUKCAPIL".into(), "DINSOS".into()],
            ..Default::default()
        };
        let line = triage(&item);
        assert!(line.contains("rejected by DISPENDUKCAPIL, DINSOS"), "{line}");
        let fresh = triage(&TriageItem {
            rejected_by: vec![],
            ..item
        });
        assert!(!fresh.contains("rejected"), "{fresh}");
    }
}
