//! `kenduren session schedule|list|get|checkin`: Kenduren Mas sessions and attendance.

use anyhow::Result;
use clap::{Args, Subcommand};
use kenduren_proto::{
    events::v1::ProgrammeItem,
    intake::v1::{
        intake_service_client::IntakeServiceClient, AttendanceStatus, CheckInOpdRequest, GetSessionRequest,
        ListSessionsRequest, OpdAttendance, ScheduleSessionRequest, Session,
    },
};

use super::IntakeTarget;
use crate::client::{connect, when};

/// Session subcommands.
#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Schedule a session (admin) (IntakeService.ScheduleSession).
    Schedule(ScheduleArgs),
    /// List sessions by date (IntakeService.ListSessions).
    List(ListArgs),
    /// Show one session with its attendance (IntakeService.GetSession).
    Get(GetArgs),
    /// Check an OPD's representative in at a session (IntakeService.CheckInOpd).
    Checkin(CheckinArgs),
}

/// Runs a session subcommand.
pub async fn run(command: SessionCommand) -> Result<()> {
    match command {
        SessionCommand::Schedule(args) => schedule(args).await,
        SessionCommand::List(args) => list(args).await,
        SessionCommand::Get(args) => get(args).await,
        SessionCommand::Checkin(args) => checkin(args).await,
    }
}

/// Options of `kenduren session schedule`.
#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub target: IntakeTarget,
    /// A session date (YYYY-MM-DD, WIB); repeat for a two-day session.
    #[arg(long = "date", required = true)]
    pub dates: Vec<String>,
    /// Kecamatan, e.g. Bangil.
    #[arg(long)]
    pub kecamatan: String,
    /// Desa or kelurahan where the session is held.
    #[arg(long)]
    pub desa: String,
    /// An OPD expected to attend (directory code); repeat for each OPD.
    #[arg(long = "expect", required = true)]
    pub expected: Vec<String>,
    /// A programme entry as DAY@HH:MM=activity, e.g. "1@13:00=Gebyar UMKM"; repeat for
    /// each entry. Without any, the standard two-day programme is used.
    #[arg(long = "programme")]
    pub programme: Vec<String>,
    /// Stable session id (letters, digits, _ and -); a fresh one when omitted.
    #[arg(long, default_value = "")]
    pub id: String,
}

/// `DAY@HH:MM=activity` as a programme entry.
fn programme_item(text: &str) -> Result<ProgrammeItem> {
    let parsed = text.split_once('=').and_then(|(when, activity)| {
        let (day, time) = when.split_once('@')?;
        Some(ProgrammeItem {
            day: day.trim().parse().ok()?,
            time: time.trim().to_owned(),
            activity: activity.trim().to_owned(),
        })
    });
    parsed.ok_or_else(|| anyhow::anyhow!("programme entry {text:?} is not DAY@HH:MM=activity"))
}

async fn client(target: &IntakeTarget) -> Result<IntakeServiceClient<crate::client::Authed>> {
    Ok(IntakeServiceClient::new(
        connect(&target.intake_url, &target.token).await?,
    ))
}

/// Runs `kenduren session schedule`.
pub async fn schedule(args: ScheduleArgs) -> Result<()> {
    let programme = args
        .programme
        .iter()
        .map(|p| programme_item(p))
        .collect::<Result<Vec<_>>>()?;
    let session = client(&args.target)
        .await?
        .schedule_session(ScheduleSessionRequest {
            session_id: args.id,
            dates: args.dates,
            kecamatan: args.kecamatan,
            desa: args.desa,
            programme,
            expected_opd_codes: args.expected,
        })
        .await?
        .into_inner()
        .session;
    if let Some(s) = session {
        print_session(&s);
    }
    Ok(())
}

/// Options of `kenduren session list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub target: IntakeTarget,
    /// Only sessions in this kecamatan.
    #[arg(long, default_value = "")]
    pub kecamatan: String,
    /// Sessions per page (at most 200).
    #[arg(long, default_value_t = 50)]
    pub page_size: i32,
    /// The next_page_token printed by the previous page.
    #[arg(long, default_value = "")]
    pub page_token: String,
}

/// Runs `kenduren session list`.
pub async fn list(args: ListArgs) -> Result<()> {
    let page = client(&args.target)
        .await?
        .list_sessions(ListSessionsRequest {
            page_size: args.page_size,
            page_token: args.page_token,
            kecamatan: args.kecamatan,
        })
        .await?
        .into_inner();
    for s in &page.sessions {
        let came = s.attendance.iter().filter(|a| a.checked_in_at.is_some()).count();
        println!(
            "{:<34} {:<24} {}, {}  checked in {}/{} expected",
            s.session_id,
            s.dates.join(" "),
            s.desa,
            s.kecamatan,
            came,
            s.expected_opd_codes.len()
        );
    }
    if !page.next_page_token.is_empty() {
        println!("next_page_token {}", page.next_page_token);
    }
    Ok(())
}

/// Options of `kenduren session get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub target: IntakeTarget,
    /// The session id.
    pub session_id: String,
}

/// Runs `kenduren session get`.
pub async fn get(args: GetArgs) -> Result<()> {
    let session = client(&args.target)
        .await?
        .get_session(GetSessionRequest {
            session_id: args.session_id,
        })
        .await?
        .into_inner()
        .session;
    if let Some(s) = session {
        print_session(&s);
    }
    Ok(())
}

/// Options of `kenduren session checkin`.
#[derive(Debug, Args)]
pub struct CheckinArgs {
    #[command(flatten)]
    pub target: IntakeTarget,
    /// The session id.
    pub session_id: String,
    /// The OPD checking in (directory code); an OPD token may check in only itself.
    pub opd_code: String,
    /// Who came for the OPD: name and position.
    #[arg(long)]
    pub representative: String,
}

/// Runs `kenduren session checkin`.
pub async fn checkin(args: CheckinArgs) -> Result<()> {
    let attendance = client(&args.target)
        .await?
        .check_in_opd(CheckInOpdRequest {
            session_id: args.session_id,
            opd_code: args.opd_code,
            representative: args.representative,
        })
        .await?
        .into_inner()
        .attendance;
    if let Some(a) = attendance {
        print_attendance(&a);
    }
    Ok(())
}

fn print_session(s: &Session) {
    println!("session   {}", s.session_id);
    println!("dates     {}", s.dates.join(", "));
    println!("place     {}, {}", s.desa, s.kecamatan);
    println!("starts    {}", when(s.starts_at));
    for p in &s.programme {
        println!("  day {} {}  {}", p.day, p.time, p.activity);
    }
    println!("attendance");
    for a in &s.attendance {
        print_attendance(a);
    }
}

fn print_attendance(a: &OpdAttendance) {
    let status = AttendanceStatus::try_from(a.status)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("ATTENDANCE_STATUS_")
                .to_owned()
        })
        .unwrap_or_else(|_| a.status.to_string());
    println!(
        "  {:<16} {:<8} {}{}  {}",
        a.opd_code,
        status,
        when(a.checked_in_at),
        if a.expected { "" } else { "  (not expected)" },
        a.representative
    );
}
