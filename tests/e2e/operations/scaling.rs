//! Two instances of every service share the work once, and the survivor takes over.

use crate::{
    support::{eventually, TestSystem},
    walking_skeleton::ktp_question,
};

async fn relay_locks_held(database_url: &str) -> i64 {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(database_url).await.expect("database");
    let (held,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
         WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()",
    )
    .fetch_one(&mut db)
    .await
    .expect("pg_locks");
    held
}

async fn routed_events(database_url: &str) -> Vec<(String, i64)> {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(database_url).await.expect("database");
    sqlx::query_as(
        "SELECT stream_id, count(*) FROM routing.events
         WHERE event_type = 'kenduren.events.v1.QuestionRouted' GROUP BY stream_id",
    )
    .fetch_all(&mut db)
    .await
    .expect("routing events")
}

/// For `consumer`'s inbox: how many of intake's submissions it holds, and how many event
/// ids it holds more than once.
async fn inbox_counts(database_url: &str, consumer: &str) -> (i64, i64) {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(database_url).await.expect("database");
    let applied: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {consumer}.inbox i JOIN intake.events e USING (event_id)
         WHERE i.consumer = $1 AND e.event_type = 'kenduren.events.v1.QuestionSubmitted'"
    )))
    .bind(consumer)
    .fetch_one(&mut db)
    .await
    .expect("inbox");
    let repeated: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM (SELECT event_id FROM {consumer}.inbox WHERE consumer = $1
         GROUP BY event_id HAVING count(*) > 1) AS twice"
    )))
    .bind(consumer)
    .fetch_one(&mut db)
    .await
    .expect("inbox");
    (applied, repeated)
}

/// Events one instance's four consumers handled.
fn handled(instance: &kenduren::RunningSystem) -> u64 {
    instance.backbone.handled.total()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_once_and_the_survivor_takes_over() {
    let sys = TestSystem::start().await;
    let url = sys.settings.database_url.clone();
    let alone = eventually("the first instance's relays active", || {
        let url = url.clone();
        async move {
            let held = relay_locks_held(&url).await;
            (held >= 4).then_some(held)
        }
    })
    .await;
    let second = sys.start_another_instance().await;
    let mut first_intake = sys.intake.clone();
    let mut second_intake = sys.intake_at(second.addrs.intake).await;
    let mut submitted = Vec::new();
    for n in 0..20 {
        let client = if n % 2 == 0 {
            &mut first_intake
        } else {
            &mut second_intake
        };
        submitted.push(
            client
                .submit_question(ktp_question(&format!("twin-{n}")))
                .await
                .expect("submit")
                .into_inner(),
        );
    }
    let routed = eventually("every question routed", || {
        let url = url.clone();
        async move {
            let routed = routed_events(&url).await;
            (routed.len() == 20).then_some(routed)
        }
    })
    .await;
    assert!(
        routed.iter().all(|(_, n)| *n == 1),
        "a question was routed twice: {routed:?}"
    );
    // Each consumer's inbox holds every submission once, and both instances did work.
    eventually("every consumer applied every submission", || {
        let url = url.clone();
        async move {
            let mut counts = Vec::new();
            for consumer in ["intake", "routing", "answering", "reporting"] {
                counts.push(inbox_counts(&url, consumer).await);
            }
            counts.iter().all(|&(applied, _)| applied == 20).then_some(())
        }
    })
    .await;
    for consumer in ["intake", "routing", "answering", "reporting"] {
        let (_, repeated) = inbox_counts(&url, consumer).await;
        assert_eq!(repeated, 0, "{consumer}'s inbox holds an event twice");
    }
    let first_handled = handled(sys.system.as_ref().expect("running"));
    let second_handled = handled(&second);
    assert!(
        first_handled > 0 && second_handled > 0,
        "both instances consume: first handled {first_handled}, second {second_handled}"
    );
    // Still one relay per service, whichever instance holds it.
    assert_eq!(relay_locks_held(&url).await, alone);

    // The first instance stops; the second takes over publishing and consuming.
    let TestSystem { system, .. } = sys;
    let first = system.expect("running");
    let settings = first.backbone.settings.clone();
    first.stop().await.expect("first instance stops");
    for n in 20..25 {
        second_intake
            .submit_question(ktp_question(&format!("twin-{n}")))
            .await
            .expect("submit to the survivor");
    }
    let routed = eventually("questions submitted after the stop routed", || {
        let url = url.clone();
        async move {
            let routed = routed_events(&url).await;
            (routed.len() == 25).then_some(routed)
        }
    })
    .await;
    assert!(routed.iter().all(|(_, n)| *n == 1));
    second.stop().await.expect("second instance stops");
    crate::support::drop_deployment(&settings).await;
}
