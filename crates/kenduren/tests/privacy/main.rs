//! A citizen's name, phone and e-mail reach only intake's sealed store and an authorised
//! OPD: never the NATS stream, a log line at any level, reporting, or Postgres in readable
//! form — and `kenduren erase --ticket T` makes them unreadable for good on every ticket
//! of that citizen while the questions and their figures stay.
//! Runs the real binary (`kenduren dev`) with logging at TRACE.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures::StreamExt;
use kenduren_auth::TokenKey;
use kenduren_proto::{
    answering::v1::{
        answering_service_client::AnsweringServiceClient, AnswerQuestionRequest, CitizenContact,
        GetQuestionRequest,
    },
    events::v1::{Channel, Location, QuestionKind},
    intake::v1::{
        intake_service_client::IntakeServiceClient, Citizen, EraseCitizenRequest, SubmitQuestionRequest,
        SubmitQuestionResponse, TrackQuestionRequest,
    },
    reporting::v1::{
        reporting_service_client::ReportingServiceClient, ExportQuestionsRequest, GetQuestionTimelineRequest,
        QuestionRow,
    },
};
use sqlx::PgConnection;

#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
mod harness;

use common::{
    authed_channel, backbone_env, binary, dev_addrs_env, free_port, mint, nats_url, Authed, Scratch,
};
use harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizens_identity_appears_nowhere_but_the_sealed_store_and_erasure_reaches_all_their_tickets() {
    let scratch = Scratch::new().await;
    let id = scratch.id.clone();
    let digits: String = id
        .chars()
        .filter(char::is_ascii_digit)
        .chain("98765432".chars())
        .take(8)
        .collect();
    // Siti submits twice, writing her number differently; Bambang once.
    let (siti, bambang) = (format!("812{digits}"), format!("813{digits}"));
    let siti_name = format!("Wulandari Kusumaningtyas {}", &id[..6]);
    let siti_phone = format!("0{siti}");
    let siti_phone_intl = format!("+62 {}-{}-{}", &siti[..3], &siti[3..7], &siti[7..]);
    let siti_email = format!("wulan.{}@example.id", &id[..6]);
    let bambang_name = format!("Bambang Hadiwijoyo {}", &id[..6]);
    let (bambang_phone, bambang_email) = (format!("0{bambang}"), format!("bambang.{}@example.id", &id[..6]));
    // Surnames and subscriber digits too, so a partial or reformatted copy is caught.
    let needles: Vec<String> = [
        siti_name.as_str(),
        "Kusumaningtyas",
        &siti,
        &siti_phone_intl,
        &siti_email,
        &bambang_name,
        "Hadiwijoyo",
        &bambang,
        &bambang_email,
    ]
    .map(str::to_owned)
    .to_vec();

    let stream = scratch.stream();
    let key_text = TokenKey::generate_base64();
    let key = TokenKey::from_base64(&key_text).expect("key");
    let ports = [free_port(), free_port(), free_port(), free_port()];
    let log = std::env::temp_dir().join(format!("kenduren-privacy-{id}.log"));
    let mut dev = start_dev(&scratch, &key_text, ports, &log);

    let desk = IntakeServiceClient::new(channel(ports[0], &key, "desk").await);
    let submit = |request: SubmitQuestionRequest| {
        let desk = desk.clone();
        eventually("intake to accept the submission", move || {
            let (mut desk, request) = (desk.clone(), request.clone());
            async move { desk.submit_question(request).await.ok().map(|r| r.into_inner()) }
        })
    };
    let first: SubmitQuestionResponse =
        submit(submission("privacy-1", &siti_name, &siti_phone, &siti_email)).await;
    let second = submit(submission("privacy-2", &siti_name, &siti_phone_intl, &siti_email)).await;
    let other = submit(submission(
        "privacy-3",
        &bambang_name,
        &bambang_phone,
        &bambang_email,
    ))
    .await;
    let ids = [
        first.question_id.as_str(),
        second.question_id.as_str(),
        other.question_id.as_str(),
    ];

    let opd = AnsweringServiceClient::new(channel(ports[2], &key, "opd:DISPENDUKCAPIL").await);
    let mut contacts = Vec::new();
    for id in ids {
        contacts.push(eventually("the contact in the OPD's inbox", || contact_of(&opd, id)).await);
    }
    let given = |name: &str, phone: &str, email: &str| (name.to_owned(), phone.to_owned(), email.to_owned());
    let shown: Vec<_> = contacts
        .iter()
        .map(|c| given(&c.name, &c.phone, &c.email))
        .collect();
    assert_eq!(
        shown,
        [
            given(&siti_name, &siti_phone, &siti_email),
            given(&siti_name, &siti_phone_intl, &siti_email),
            given(&bambang_name, &bambang_phone, &bambang_email),
        ],
        "the assigned OPD sees each contact as given"
    );
    opd.clone()
        .answer_question(AnswerQuestionRequest {
            question_id: first.question_id.clone(),
            answer: "Datang ke kantor dengan surat keterangan lahir.".into(),
            responder_name: "Budi".into(),
            ..Default::default()
        })
        .await
        .expect("answered");
    let reporting = ReportingServiceClient::new(channel(ports[3], &key, "analyst").await);
    let figures = eventually("reporting to see the answer", || {
        let reporting = reporting.clone();
        async move {
            let rows = export(&reporting, &ids).await;
            (rows.len() == 3 && rows.iter().any(|r| r.answered_at.is_some())).then_some(rows)
        }
    })
    .await;

    // Before erasure every readable column is searched too: identity in a column that
    // erasure clears would otherwise go unnoticed.
    let mut db = scratch.connect().await;
    let (mut found, control) = scan_postgres(&mut db, "before erasure", &needles, "akta kelahiran").await;
    assert!(
        control >= 4,
        "control failed: question text found in only {control} tables"
    );
    let keys: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM intake.citizen_keys),
                (SELECT count(DISTINCT citizen_ref) FROM intake.sealed_contacts WHERE sealed IS NOT NULL)",
    )
    .fetch_one(&mut db)
    .await
    .expect("keys");
    assert_eq!(keys, (2, 2), "one key per citizen: Siti's two tickets share hers");

    // Erase through one of Siti's tickets, as an admin runs it.
    let admin_token = token(&key, "admin");
    let (said, mut cli_logs) = erase_cli(ports[0], &admin_token, &first.ticket);
    assert!(
        said.contains("erased") && said.contains(&first.question_id),
        "{said}"
    );
    let again = IntakeServiceClient::new(channel(ports[0], &key, "admin").await)
        .erase_citizen(EraseCitizenRequest {
            ticket: second.ticket.clone(),
            reason: String::new(),
        })
        .await
        .expect("erasing again is harmless")
        .into_inner();
    assert!(!again.erased, "her other ticket was erased with the first");
    let (said, cli_log) = erase_cli(ports[0], &admin_token, &second.ticket);
    assert!(said.contains("holds no identity"), "{said}");
    cli_logs.push_str(&cli_log);

    assert_eq!(
        served_contact(&opd, ids[0]).await,
        None,
        "contact readable after erasure"
    );
    assert_eq!(
        served_contact(&opd, ids[1]).await,
        None,
        "her other ticket kept her identity"
    );
    assert_eq!(
        served_contact(&opd, ids[2]).await.as_ref(),
        contacts.get(2),
        "another citizen's contact stays"
    );
    for (ticket, erased) in [(&first, true), (&second, true), (&other, false)] {
        let tracked = desk
            .clone()
            .track_question(TrackQuestionRequest {
                ticket: ticket.ticket.clone(),
                tracking_pin: ticket.tracking_pin.clone(),
            })
            .await
            .expect("tracking still works")
            .into_inner();
        let audit = tracked
            .timeline
            .iter()
            .filter(|e| e.event_type == "CitizenErased")
            .count();
        assert_eq!(audit, usize::from(erased), "audit entries of {}", ticket.ticket);
    }
    // Reporting keeps no trace of the erasure (it never held identity); what it answers
    // about each question is searched below.
    let mut timelines = String::new();
    for id in ids {
        let t = eventually("each question's timeline in reporting", || {
            let mut reporting = reporting.clone();
            async move {
                let t = reporting
                    .get_question_timeline(GetQuestionTimelineRequest {
                        question_id: id.into(),
                    })
                    .await
                    .ok()?
                    .into_inner();
                (t.events.len() >= 2).then(|| format!("{t:?}"))
            }
        })
        .await;
        timelines.push_str(&t);
    }
    let figures_after = export(&reporting, &ids).await;
    assert_eq!(figures_after, figures, "the questions and their figures stay");

    let (after, _) = scan_postgres(&mut db, "after erasure", &needles, "akta kelahiran").await;
    found.extend(after);
    let rows: Vec<(String, bool, bool, bool)> = sqlx::query_as(
        "SELECT question_id::text, sealed IS NULL, citizen_ref IS NULL, erased_at IS NOT NULL
         FROM intake.sealed_contacts ORDER BY question_id",
    )
    .fetch_all(&mut db)
    .await
    .expect("sealed contacts");
    let mut expected: Vec<_> = ids
        .iter()
        .map(|q| {
            let siti = *q != ids[2];
            (q.to_string(), siti, siti, siti)
        })
        .collect();
    expected.sort();
    assert_eq!(rows, expected, "Siti's rows cleared and unlinked, Bambang's kept");
    let keys_left: (i64,) = sqlx::query_as("SELECT count(*) FROM intake.citizen_keys")
        .fetch_one(&mut db)
        .await
        .expect("keys");
    assert_eq!(keys_left.0, 1, "only Bambang's key is left");

    // Stop, then look in the logs, the stream and what reporting answered.
    let _ = Command::new("kill")
        .args(["-TERM", &dev.id().to_string()])
        .status();
    let _ = dev.wait();
    let logs = std::fs::read_to_string(&log).expect("log") + &cli_logs;
    assert!(
        logs.lines().count() > 100,
        "expected a TRACE-level log, got {} lines",
        logs.lines().count()
    );
    let reported = format!("{timelines}{figures:?}{figures_after:?}");
    for needle in &needles {
        if logs.contains(needle.as_str()) {
            found.push(format!("log contains {needle:?}"));
        }
        if reported.contains(needle.as_str()) {
            found.push(format!("reporting answered {needle:?}"));
        }
    }

    let js = async_nats::jetstream::new(async_nats::connect(nats_url()).await.expect("nats"));
    let mut s = js.get_stream(&stream).await.expect("stream");
    let total = s.info().await.expect("info").state.messages;
    let consumer = s
        .create_consumer(async_nats::jetstream::consumer::pull::OrderedConfig::default())
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages").take(total as usize);
    let (mut audited, mut text_seen) = (Vec::new(), false);
    while let Some(Ok(m)) = messages.next().await {
        let headers = format!("{:?}", m.headers);
        let payload = String::from_utf8_lossy(&m.payload);
        // Control: the search does see what is on the stream (the question's text is).
        text_seen |= payload.contains("akta kelahiran");
        if headers.contains("kenduren.events.v1.CitizenErased") {
            audited.extend(
                ids.iter()
                    .filter(|q| payload.contains(**q))
                    .map(|q| q.to_string()),
            );
        }
        for needle in &needles {
            if headers.contains(needle.as_str()) || payload.contains(needle.as_str()) {
                found.push(format!("stream message {} contains {needle:?}", m.subject));
            }
        }
    }
    audited.sort();
    let mut siti_ids = vec![first.question_id.clone(), second.question_id.clone()];
    siti_ids.sort();
    assert_eq!(audited, siti_ids, "one audit event per erased ticket");
    assert!(
        text_seen,
        "control failed: the question text was not found on the stream"
    );
    assert!(found.is_empty(), "identity leaked: {found:#?}");

    let _ = js.delete_stream(&stream).await;
    drop(db);
    scratch.drop_database().await;
    let _ = std::fs::remove_file(&log);
}
