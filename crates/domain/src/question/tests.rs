use super::*;

fn catalogue() -> Catalogue {
    let mut c = Catalogue::default();
    c.categories.insert("kependudukan".into(), BTreeSet::new());
    c.categories
        .insert("usulan_pembangunan".into(), [QuestionKind::Aspiration].into());
    c.gazetteer.insert(
        "Bangil".into(),
        ["Kalirejo".to_owned(), "Kidul Dalem".to_owned()].into(),
    );
    c.gazetteer.insert("Tosari".into(), BTreeSet::new());
    c.gazetteer
        .insert("Tutur".into(), ["Andonosari".to_owned()].into());
    c.incomplete_villages.insert("Tutur".into());
    c
}

fn good() -> SubmissionDraft {
    SubmissionDraft {
        request_id: "r-1".into(),
        kind: Some(QuestionKind::Question),
        category: "kependudukan".into(),
        text: "  Bagaimana mengurus KTP yang hilang?  ".into(),
        channel: Some(Channel::Web),
        kecamatan: "bangil".into(),
        desa: "kalirejo".into(),
        ..Default::default()
    }
}

fn fields(r: Result<Submission, Vec<FieldViolation>>) -> Vec<String> {
    r.err().unwrap_or_default().into_iter().map(|v| v.field).collect()
}

#[test]
fn a_good_draft_is_trimmed_and_spelled_as_in_the_gazetteer() {
    let s = good().validate(&catalogue()).expect("valid");
    assert_eq!(s.text, "Bagaimana mengurus KTP yang hilang?");
    assert_eq!((s.kecamatan.as_str(), s.desa.as_str()), ("Bangil", "Kalirejo"));
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let draft = SubmissionDraft {
        request_id: " ".into(),
        kind: None,
        category: "Nope".into(),
        text: "   ".into(),
        channel: None,
        kecamatan: "Atlantis".into(),
        coordinates: Some((0.0, 0.0)),
        ..Default::default()
    };
    assert_eq!(
        fields(draft.validate(&catalogue())),
        [
            "request_id",
            "kind",
            "category",
            "text",
            "channel",
            "location.kecamatan",
            "location.latitude"
        ]
    );
}

#[test]
fn text_is_limited_to_4000_characters_not_bytes() {
    let mut d = good();
    d.text = "é".repeat(MAX_TEXT_CHARS);
    assert!(d.validate(&catalogue()).is_ok());
    d.text.push('é');
    assert_eq!(fields(d.validate(&catalogue())), ["text"]);
}

#[test]
fn on_site_needs_a_session() {
    let mut d = good();
    d.channel = Some(Channel::OnSite);
    assert_eq!(fields(d.validate(&catalogue())), ["session_id"]);
}

#[test]
fn a_category_only_takes_its_kinds() {
    let mut d = good();
    d.category = "usulan_pembangunan".into();
    assert_eq!(fields(d.validate(&catalogue())), ["category"]);
    d.kind = Some(QuestionKind::Aspiration);
    assert!(d.validate(&catalogue()).is_ok());
}

#[test]
fn an_unknown_desa_is_refused_unless_villages_are_not_listed() {
    let mut d = good();
    d.desa = "Nowhere".into();
    assert_eq!(fields(d.validate(&catalogue())), ["location.desa"]);
    d.kecamatan = "Tosari".into();
    assert!(d.validate(&catalogue()).is_ok());
}

#[test]
fn a_desa_missing_from_an_incomplete_list_is_accepted_as_written() {
    let mut d = good();
    d.kecamatan = "tutur".into();
    d.desa = "  Desa Baru  ".into();
    let s = d
        .validate(&catalogue())
        .expect("incomplete list: unlisted desa accepted");
    assert_eq!((s.kecamatan.as_str(), s.desa.as_str()), ("Tutur", "Desa Baru"));
    d.desa = "andonosari".into();
    let s = d.validate(&catalogue()).expect("listed desa");
    assert_eq!(
        s.desa, "Andonosari",
        "a listed desa keeps the gazetteer's spelling"
    );
    d.desa = "x".repeat(MAX_DESA_CHARS + 1);
    assert_eq!(fields(d.validate(&catalogue())), ["location.desa"]);
    // The kecamatan is still checked.
    d.kecamatan = "Atlantis".into();
    d.desa = "Desa Baru".into();
    assert_eq!(fields(d.validate(&catalogue())), ["location.kecamatan"]);
}

#[test]
fn half_a_position_names_the_missing_half() {
    assert_eq!(pair_coordinates(None, None), Ok(None));
    assert_eq!(pair_coordinates(Some(-7.6), Some(112.9)), Ok(Some((-7.6, 112.9))));
    let field = |r: Result<Option<(f64, f64)>, FieldViolation>| r.err().map(|v| v.field);
    assert_eq!(
        field(pair_coordinates(Some(-7.6), None)).as_deref(),
        Some("location.longitude")
    );
    assert_eq!(
        field(pair_coordinates(None, Some(112.9))).as_deref(),
        Some("location.latitude")
    );
}

#[test]
fn the_bounding_box_is_not_the_boundary() {
    // Kota Malang (-7.98, 112.63) lies outside the regency but inside its bounding
    // box: the check is a rectangle, as its doc comment says.
    let mut d = good();
    d.coordinates = Some((-7.98, 112.63));
    assert!(d.validate(&catalogue()).is_ok());
}

#[test]
fn coordinates_inside_the_regency_are_accepted() {
    let mut d = good();
    d.coordinates = Some((-7.64, 112.9));
    assert!(d.validate(&catalogue()).is_ok());
}
