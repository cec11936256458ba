//! Migrations: the store's base tables plus each service's read models, tracked in one
//! `_sqlx_migrations` table inside the service's schema.
//!
//! sqlx cannot run two migrators against one tracking table (each would refuse the
//! other's applied versions as missing), so the two lists are merged into one
//! [`Migrator`] with the public `Migrator::with_migrations`. Service migrations are
//! numbered from [`SERVICE_MIGRATIONS_START`] so they never collide with the base ones.

use sqlx::migrate::Migrator;
use sqlx::PgPool;

use crate::StoreError;

/// First version a service may use for its own migrations; lower ones belong to the store.
pub const SERVICE_MIGRATIONS_START: i64 = 1000;

static BASE: Migrator = sqlx::migrate!("./migrations");

/// The store's own migrations (event store, outbox, inbox, positions, dead letters).
pub fn base_migrator() -> &'static Migrator {
    &BASE
}

/// One migrator running the base migrations and then `service`'s.
pub fn migrator(service: &Migrator) -> Result<Migrator, StoreError> {
    let mut migrations: Vec<_> = BASE.iter().cloned().collect();
    for migration in service.iter() {
        if migration.version < SERVICE_MIGRATIONS_START {
            return Err(StoreError::InvalidMigrations {
                reason: format!(
                    "service migration {} ({}) is below {SERVICE_MIGRATIONS_START}, which is reserved for the store",
                    migration.version, migration.description
                ),
            });
        }
        migrations.push(migration.clone());
    }
    let merged = Migrator::with_migrations(migrations);
    // A reversible migration's up and down halves share a version; two ups must not.
    let ups: Vec<i64> = merged
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| m.version)
        .collect();
    if let Some(pair) = ups.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(StoreError::InvalidMigrations {
            reason: format!("version {} appears twice", pair[0]),
        });
    }
    Ok(merged)
}

/// Applies the base and `service` migrations to the pool's schema.
pub async fn migrate(pool: &PgPool, service: &Migrator) -> Result<(), StoreError> {
    let merged = migrator(service)?;
    let mut conn = pool.acquire().await?;
    // `run` trips rustc's "Acquire is not general enough" once the future is spawned; `run_direct`
    // is sqlx's own way around it.
    let result = merged.run_direct(None, &mut *conn, false).await;
    if result.is_err() {
        // sqlx leaves its session-level migration lock held when a migration fails;
        // closing the connection releases it instead of returning it to the pool.
        conn.close_on_drop();
    }
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::migrate::{Migration, MigrationType};
    use sqlx::SqlSafeStr;

    fn migration(version: i64) -> Migration {
        Migration::new(
            version,
            "m".into(),
            MigrationType::Simple,
            "SELECT 1".into_sql_str(),
            false,
        )
    }

    #[test]
    fn merges_base_and_service_in_version_order() {
        let service = Migrator::with_migrations(vec![migration(1001), migration(1000)]);
        let merged = migrator(&service).expect("valid");
        let versions: Vec<i64> = merged.iter().map(|m| m.version).collect();
        assert_eq!(versions, [1, 1000, 1001]);
    }

    #[test]
    fn refuses_duplicate_versions() {
        let service = Migrator::with_migrations(vec![migration(1000), migration(1000)]);
        assert!(matches!(
            migrator(&service),
            Err(StoreError::InvalidMigrations { .. })
        ));
    }

    #[test]
    fn refuses_service_versions_in_the_store_range() {
        let service = Migrator::with_migrations(vec![migration(2)]);
        assert!(matches!(
            migrator(&service),
            Err(StoreError::InvalidMigrations { .. })
        ));
    }
}
