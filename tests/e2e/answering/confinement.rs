//! An OPD reaches only its own questions: another OPD's inbox is PERMISSION_DENIED, and
//! reading or writing another OPD's question is NOT_FOUND, exactly like a missing one.

use kenduren_proto::answering::v1::{GetQuestionRequest, ListInboxRequest};
use tonic::Code;

use super::{act, client_as, submission, submit_all, wait_in_inbox, ACTIONS};
use crate::support::TestSystem;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opd_cannot_list_read_or_answer_another_opds_questions() {
    let mut sys = TestSystem::start().await;
    let mut confidential = submission("x-2", "kependudukan");
    if let Some(c) = confidential.citizen.as_mut() {
        c.confidential = true;
    }
    let ids = submit_all(&mut sys, vec![submission("x-1", "kependudukan"), confidential]).await;
    let owner = sys.answering.clone();
    wait_in_inbox(&owner, &ids).await;
    let mut dinkes = client_as(&sys, "opd:DINKES").await;

    let own = dinkes
        .list_inbox(ListInboxRequest::default())
        .await
        .expect("own inbox")
        .into_inner();
    assert!(own.items.iter().all(|i| !ids.contains(&i.question_id)));
    let err = dinkes
        .list_inbox(ListInboxRequest {
            opd_code: "DISPENDUKCAPIL".into(),
            ..Default::default()
        })
        .await
        .expect_err("another OPD's inbox");
    assert_eq!(err.code(), Code::PermissionDenied);

    for id in &ids {
        for opd_code in ["", "DISPENDUKCAPIL"] {
            let err = dinkes
                .get_question(GetQuestionRequest {
                    question_id: id.clone(),
                    opd_code: opd_code.into(),
                })
                .await
                .expect_err("read another OPD's question");
            assert_eq!(err.code(), Code::NotFound, "GetQuestion as {opd_code:?}");
            for action in ACTIONS {
                let err = act(&mut dinkes, action, id, opd_code, None)
                    .await
                    .expect_err("write another OPD's question");
                assert_eq!(err.code(), Code::NotFound, "{action:?} as {opd_code:?}");
            }
        }
    }

    // Nothing changed for the owner, and roles without OPD work are refused outright.
    let after = wait_in_inbox(&owner, &ids).await;
    assert!(
        ids.iter().all(|id| after[id].version == 2),
        "versions changed: {after:?}"
    );
    let mut desk = client_as(&sys, "desk").await;
    let err = desk
        .get_question(GetQuestionRequest {
            question_id: ids[0].clone(),
            opd_code: String::new(),
        })
        .await
        .expect_err("desk reads");
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut admin = client_as(&sys, "admin").await;
    let err = act(&mut admin, super::Action::Answer, &ids[0], "DISPENDUKCAPIL", None)
        .await
        .expect_err("admin answers");
    assert_eq!(err.code(), Code::PermissionDenied);
    sys.stop().await;
}
