//! The inbox: filtered by status and by "overdue only", sorted by due date, and paged
//! so that no item is lost or repeated while new questions arrive.

use kenduren_proto::{answering::v1::ListInboxRequest, events::v1::QuestionStatus};
use tonic::Code;

use super::{act, stream_privacy::make_overdue, submission, submit_all, wait_in_inbox, Action};
use crate::support::TestSystem;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_filters_by_status_and_overdue_and_pages_without_loss_while_questions_arrive() {
    let mut sys = TestSystem::start().await;
    let requests = (0..7)
        .map(|i| submission(&format!("p-{i}"), "kependudukan"))
        .collect();
    let ids = submit_all(&mut sys, requests).await;
    let mut opd = sys.answering.clone();
    wait_in_inbox(&opd, &ids).await;
    for id in &ids[..2] {
        act(&mut opd, Action::Acknowledge, id, "", None)
            .await
            .expect("ack");
    }
    // Time passes for one question: its due date is now behind us.
    make_overdue(&sys, &ids[6]).await;

    let acknowledged = opd
        .list_inbox(ListInboxRequest {
            statuses: vec![QuestionStatus::Acknowledged as i32],
            ..Default::default()
        })
        .await
        .expect("filtered")
        .into_inner();
    let mut got: Vec<_> = acknowledged.items.iter().map(|i| i.question_id.clone()).collect();
    got.sort();
    let mut want = ids[..2].to_vec();
    want.sort();
    assert_eq!(got, want);

    let overdue = opd
        .list_inbox(ListInboxRequest {
            overdue_only: true,
            ..Default::default()
        })
        .await
        .expect("overdue")
        .into_inner();
    assert_eq!(overdue.items.len(), 1);
    assert_eq!(overdue.items[0].question_id, ids[6]);
    assert!(overdue.items[0].overdue);

    // Page through two at a time while more questions arrive: after each page one more
    // is submitted and reaches the inbox before the next page is asked for.
    let mut seen = Vec::new();
    let mut dues = Vec::new();
    let mut token = String::new();
    let mut arrived = Vec::new();
    loop {
        let page = opd
            .list_inbox(ListInboxRequest {
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("page")
            .into_inner();
        assert!(page.items.len() <= 2);
        for item in page.items {
            dues.push(item.due_at.map(|t| (t.seconds, t.nanos)));
            seen.push(item.question_id);
        }
        let late = submit_all(
            &mut sys,
            vec![submission(&format!("late-{}", arrived.len()), "kependudukan")],
        )
        .await;
        wait_in_inbox(&opd, &late).await;
        arrived.extend(late);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an item was repeated across pages");
    for id in &ids {
        assert!(seen.contains(id), "question {id} was lost while paging");
    }
    // Questions did arrive during the paging, and each one that was in the inbox before
    // the last page was asked for is listed too: it sorts after every earlier due date.
    assert!(arrived.len() >= 4, "only {} arrived while paging", arrived.len());
    for id in &arrived[..arrived.len() - 1] {
        assert!(
            seen.contains(id),
            "question {id} arrived while paging and was lost"
        );
    }
    assert!(
        dues.windows(2).all(|w| w[0] <= w[1]),
        "not sorted by due date: {dues:?}"
    );

    let err = opd
        .list_inbox(ListInboxRequest {
            page_size: -1,
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await
        .expect_err("bad paging");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("page_size") && err.message().contains("page_token"));
    sys.stop().await;
}
