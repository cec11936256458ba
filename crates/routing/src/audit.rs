//! Routing's own events about no question — directory, rules, SLA policy, holidays —
//! appended in the transaction that changes the tables, so every change is audited
//! with who made it.

use kenduren_proto::EventMessage;
use kenduren_runtime::{new_event, ServiceContext};
use kenduren_store::{ExpectedVersion, StoreError};
use sqlx::PgConnection;

/// Appends `message` to `stream` (e.g. `opd-DINKES`) on `<prefix>.v1.routing.<name>`.
pub(crate) async fn record<M: EventMessage>(
    ctx: &ServiceContext,
    conn: &mut PgConnection,
    stream: &str,
    message: &M,
) -> Result<(), StoreError> {
    let subject = ctx.subjects.routing(M::NAME);
    // Any version: the row lock taken by the caller orders writers; a concurrent append
    // that still collides is refused by the store as a conflict (ABORTED).
    ctx.store
        .append(
            conn,
            stream,
            ExpectedVersion::Any,
            vec![new_event(message, subject, None, ctx.clock.now())],
        )
        .await
        .map(drop)
}
