//! Answer templates belong to one OPD: it lists, pages and replaces its own, and
//! another OPD neither sees nor writes them.

use kenduren_proto::answering::v1::{ListTemplatesRequest, UpsertTemplateRequest};
use tonic::Code;

use super::client_as;
use crate::support::TestSystem;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_templates_belong_to_one_opd_and_page() {
    let sys = TestSystem::start().await;
    let mut own = sys.answering.clone();
    for (id, title) in [
        ("ktp-hilang", "KTP hilang"),
        ("kk-baru", "KK baru"),
        ("akta-lahir", "Akta"),
    ] {
        own.upsert_template(UpsertTemplateRequest {
            template_id: id.into(),
            title: title.into(),
            body: format!("Jawaban untuk {title}."),
            category: "kependudukan".into(),
            ..Default::default()
        })
        .await
        .expect("upsert");
    }
    let replaced = own
        .upsert_template(UpsertTemplateRequest {
            template_id: "kk-baru".into(),
            title: "KK baru (revisi)".into(),
            body: "Bawa surat pengantar desa.".into(),
            ..Default::default()
        })
        .await
        .expect("replace")
        .into_inner()
        .template
        .expect("template");
    assert_eq!(replaced.title, "KK baru (revisi)");

    let first = own
        .list_templates(ListTemplatesRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let rest = own
        .list_templates(ListTemplatesRequest {
            page_size: 2,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let ids: Vec<_> = first
        .templates
        .iter()
        .chain(&rest.templates)
        .map(|t| t.template_id.as_str())
        .collect();
    assert_eq!(ids, ["akta-lahir", "kk-baru", "ktp-hilang"]);
    assert!(rest.next_page_token.is_empty());

    let mut other = client_as(&sys, "opd:DINKES").await;
    let theirs = other
        .list_templates(ListTemplatesRequest::default())
        .await
        .expect("own list")
        .into_inner();
    assert!(theirs.templates.is_empty());
    let err = other
        .upsert_template(UpsertTemplateRequest {
            opd_code: "DISPENDUKCAPIL".into(),
            template_id: "ktp-hilang".into(),
            title: "x".into(),
            body: "x".into(),
            ..Default::default()
        })
        .await
        .expect_err("write another OPD's template");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = own
        .upsert_template(UpsertTemplateRequest {
            template_id: "Bad Id".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad template");
    assert_eq!(err.code(), Code::InvalidArgument);
    for field in ["template_id", "title", "body"] {
        assert!(
            err.message().contains(field),
            "{field} missing from {}",
            err.message()
        );
    }
    sys.stop().await;
}
