//! Connection pools confined to one service's schema.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};

use crate::StoreError;

/// Longest schema name such that `<schema>_outbox` still fits Postgres' 63-byte
/// identifier limit (a longer NOTIFY channel would be silently truncated).
const MAX_SCHEMA_LEN: usize = 63 - "_outbox".len();

/// Checks that `schema` is `[a-z_][a-z0-9_]*`, short enough and not reserved; it is
/// interpolated into DDL and channel names, so nothing else may pass.
pub fn validate_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && schema.len() <= MAX_SCHEMA_LEN && !schema.starts_with("pg_") {
        Ok(())
    } else {
        Err(StoreError::InvalidSchema {
            schema: schema.to_owned(),
        })
    }
}

/// Creates `schema` if missing and returns a pool whose connections use it as their
/// only `search_path`, so all of this crate's SQL (and the service's) is unqualified.
///
/// An active relay opens two more connections outside the pool (its lock and its
/// LISTEN), with the same options.
pub async fn connect_pool(
    database_url: &str,
    schema: &str,
    max_connections: u32,
) -> Result<PgPool, StoreError> {
    validate_schema(schema)?;
    let options = PgConnectOptions::from_str(database_url)?;

    let mut conn = PgConnection::connect_with(&options).await?;
    let created = sqlx::query(AssertSqlSafe(format!(
        r#"CREATE SCHEMA IF NOT EXISTS "{schema}""#
    )))
    .execute(&mut conn)
    .await;
    // Two processes starting together can both miss the schema and race to create it;
    // the loser's "already exists" is success.
    if let Err(error) = created {
        let lost_race = error
            .as_database_error()
            .and_then(|e| e.code())
            .is_some_and(|code| code == "23505" || code == "42P06");
        if !lost_race {
            return Err(error.into());
        }
    }
    conn.close().await?;

    let pool = PgPoolOptions::new()
        .max_connections(max_connections.max(1))
        .connect_with(options.options([("search_path", schema)]))
        .await?;
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for ok in ["intake", "_x", "kt_0195f6c2", "a1_b2"] {
            assert!(validate_schema(ok).is_ok(), "{ok}");
        }
        let too_long = "a".repeat(MAX_SCHEMA_LEN + 1);
        for bad in [
            "",
            "Intake",
            "1abc",
            "in take",
            "a-b",
            "a;drop",
            "\"x\"",
            "pg_catalog",
            "é",
            too_long.as_str(),
        ] {
            assert!(validate_schema(bad).is_err(), "{bad}");
        }
    }
}
