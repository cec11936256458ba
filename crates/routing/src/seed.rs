//! The shipped OPD directory and rules, written once into an empty routing schema.

use kenduren_domain::ReferenceData;
use kenduren_runtime::convert::kind_name;
use sqlx::PgPool;

/// Seeds the directory and rules unless an admin has data there already.
pub(crate) async fn seed_if_empty(pool: &PgPool, reference: &ReferenceData) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Serialises concurrent first starts of several instances.
    sqlx::query("LOCK TABLE opds IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM opds")
        .fetch_one(&mut *tx)
        .await?;
    if count > 0 {
        return tx.commit().await;
    }
    for opd in &reference.opds {
        sqlx::query("INSERT INTO opds (code, name, contact, active) VALUES ($1, $2, $3, $4)")
            .bind(opd.code.as_str())
            .bind(&opd.name)
            .bind(&opd.contact)
            .bind(opd.active)
            .execute(&mut *tx)
            .await?;
    }
    for rule in reference.rules.rules() {
        let kinds: Vec<&str> = rule.kinds.iter().map(|k| kind_name(*k)).collect();
        sqlx::query(
            "INSERT INTO rules (rule_id, category, opd_code, priority, kinds, kecamatan, keywords)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&rule.id)
        .bind(rule.category.as_str())
        .bind(rule.opd.as_str())
        .bind(rule.priority)
        .bind(&kinds)
        .bind(&rule.kecamatan)
        .bind(&rule.keywords)
        .execute(&mut *tx)
        .await?;
    }
    tracing::info!(
        opds = reference.opds.len(),
        rules = reference.rules.rules().len(),
        "seeded routing data"
    );
    tx.commit().await
}
