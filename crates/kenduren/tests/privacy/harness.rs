//! The privacy test's harness: `kenduren dev` as a process, clients, and the scans.

use super::*;

/// A token for `role`, as the privacy test's subject.
pub(crate) fn token(key: &TokenKey, role: &str) -> String {
    mint(key, "privacy-test", role)
}

/// A channel to the service on `port` with a token for `role`, once it listens.
pub(crate) async fn channel(port: u16, key: &TokenKey, role: &str) -> Authed {
    authed_channel(port, &token(key, role), Duration::from_secs(60)).await
}

pub(crate) async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `kenduren dev` on `scratch` and `ports`, logging JSON at TRACE into `log`.
pub(crate) fn start_dev(scratch: &Scratch, key: &str, ports: [u16; 4], log: &std::path::Path) -> Child {
    let file = std::fs::File::create(log).expect("log file");
    let mut command = Command::new(binary());
    command.arg("dev");
    backbone_env(&mut command, scratch, &nats_url(), key);
    dev_addrs_env(&mut command, ports)
        .env("RUST_LOG", "trace")
        .env("KENDUREN_LOG_FORMAT", "json")
        .stdout(Stdio::from(file.try_clone().expect("log file")))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("kenduren dev starts")
}

/// `kenduren erase --ticket T` as an admin runs it, logging at TRACE; its stdout and
/// its log.
pub(crate) fn erase_cli(port: u16, admin_token: &str, ticket: &str) -> (String, String) {
    let out = Command::new(binary())
        .args(["erase", "--ticket", ticket, "--reason", "permintaan warga no. 17"])
        .env("KENDUREN_INTAKE_URL", format!("http://127.0.0.1:{port}"))
        .env("KENDUREN_TOKEN", admin_token)
        .env("RUST_LOG", "trace")
        .output()
        .expect("kenduren erase runs");
    let (stdout, log) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "kenduren erase failed: {stdout}{log}");
    (stdout, log)
}

/// `needle` as text, and as Postgres prints it inside bytea (`\x…` hex).
pub(crate) fn forms(needle: &str) -> [String; 2] {
    [
        needle.to_owned(),
        needle.bytes().map(|b| format!("{b:02x}")).collect(),
    ]
}

/// The only columns allowed to hold identity, and only sealed: the ciphertext and the
/// wrapped data keys (of this scheme and of the per-question one it replaced).
pub(crate) const SEALED: [&str; 3] = [
    "intake.sealed_contacts.sealed",
    "intake.citizen_keys.wrapped_key",
    "intake.submission_keys.wrapped_key",
];

/// Every column of every table, except [`SEALED`], that holds one of `needles` (as text or
/// inside bytea); and how many tables hold `control`, to show the search sees rows.
pub(crate) async fn scan_postgres(
    db: &mut PgConnection,
    when: &str,
    needles: &[String],
    control: &str,
) -> (Vec<String>, usize) {
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.table_schema, c.table_name, c.column_name
         FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
         ORDER BY 1, 2, c.ordinal_position",
    )
    .fetch_all(&mut *db)
    .await
    .expect("columns");
    let names: Vec<String> = columns.iter().map(|(s, t, c)| format!("{s}.{t}.{c}")).collect();
    for sealed in &SEALED[..2] {
        assert!(
            names.contains(&sealed.to_string()),
            "no column {sealed}: update SEALED"
        );
    }
    let (mut found, mut control_tables) = (Vec::new(), std::collections::BTreeSet::new());
    for ((schema, table, column), name) in columns.iter().zip(&names) {
        if SEALED.contains(&name.as_str()) {
            continue;
        }
        let values: Vec<(Option<String>,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            r#"SELECT "{column}"::text FROM "{schema}"."{table}""#
        )))
        .fetch_all(&mut *db)
        .await
        .expect("values");
        let holds = |needle: &str| {
            forms(needle).iter().any(|f| {
                values
                    .iter()
                    .any(|(v,)| v.as_deref().is_some_and(|v| v.contains(f.as_str())))
            })
        };
        if holds(control) {
            control_tables.insert(format!("{schema}.{table}"));
        }
        found.extend(
            needles
                .iter()
                .filter(|n| holds(n))
                .map(|n| format!("{when}: {name} holds {n:?}")),
        );
    }
    (found, control_tables.len())
}

/// Our questions in reporting's export, by question id.
pub(crate) async fn export(reporting: &ReportingServiceClient<Authed>, ids: &[&str]) -> Vec<QuestionRow> {
    let mut stream = reporting
        .clone()
        .export_questions(ExportQuestionsRequest::default())
        .await
        .expect("export")
        .into_inner();
    let mut rows = Vec::new();
    while let Some(m) = stream.next().await {
        let row = m.expect("export row").question.expect("question");
        if ids.contains(&row.question_id.as_str()) {
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| a.question_id.cmp(&b.question_id));
    rows
}

pub(crate) async fn contact_of(opd: &AnsweringServiceClient<Authed>, id: &str) -> Option<CitizenContact> {
    let request = GetQuestionRequest {
        question_id: id.into(),
        opd_code: String::new(),
    };
    opd.clone()
        .get_question(request)
        .await
        .ok()?
        .into_inner()
        .question?
        .contact
}

/// The contact GetQuestion shows for `id`, which must be served (no contact is `None`;
/// a refused call fails the test rather than passing for an erased contact).
pub(crate) async fn served_contact(opd: &AnsweringServiceClient<Authed>, id: &str) -> Option<CitizenContact> {
    let request = GetQuestionRequest {
        question_id: id.into(),
        opd_code: String::new(),
    };
    opd.clone()
        .get_question(request)
        .await
        .expect("GetQuestion still served")
        .into_inner()
        .question
        .expect("the question")
        .contact
}

pub(crate) fn submission(request_id: &str, name: &str, phone: &str, email: &str) -> SubmitQuestionRequest {
    SubmitQuestionRequest {
        request_id: request_id.into(),
        kind: QuestionKind::Question as i32,
        category: "kependudukan".into(),
        text: "Bagaimana mengurus akta kelahiran?".into(),
        channel: Channel::Web as i32,
        location: Some(Location {
            kecamatan: "Bangil".into(),
            ..Default::default()
        }),
        citizen: Some(Citizen {
            name: name.into(),
            phone: phone.into(),
            email: email.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}
