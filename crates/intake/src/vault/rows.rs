//! Where sealed contacts and citizens' keys are written: a submission's contact under
//! its citizen's key, and what older versions stored brought under the same scheme.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{CitizenRef, Contact, DataKey, Vault, VaultError};

/// A stored key that does not open is a broken row, reported as such to the caller.
fn undecodable(e: VaultError) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

/// `citizen`'s data key, created if the citizen has none (yet, or any more since an
/// erasure). Holds a key-share lock on the row until the transaction ends, so an
/// erasure of the same citizen waits for this submission and then reaches it too.
async fn key_for(
    conn: &mut PgConnection,
    vault: &Vault,
    citizen: &CitizenRef,
) -> Result<DataKey, sqlx::Error> {
    // An erasure can delete the row between the insert and the select; the next round
    // then creates a fresh key (the citizen asked to be forgotten before this contact).
    for _ in 0..3 {
        let (key, wrapped) = vault.new_data_key(citizen);
        let created = sqlx::query(
            "INSERT INTO citizen_keys (citizen_ref, wrapped_key) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(citizen.as_slice())
        .bind(&wrapped)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if created == 1 {
            return Ok(key);
        }
        let stored: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT wrapped_key FROM citizen_keys WHERE citizen_ref = $1 FOR KEY SHARE")
                .bind(citizen.as_slice())
                .fetch_optional(&mut *conn)
                .await?;
        if let Some((wrapped,)) = stored {
            return vault.data_key(citizen, &wrapped).map_err(undecodable);
        }
    }
    Err(sqlx::Error::Protocol(
        "a citizen's key was erased three times while a contact was being stored".into(),
    ))
}

/// Writes a sealed contact under its citizen's key inside the caller's transaction.
pub(crate) async fn store(
    conn: &mut PgConnection,
    vault: &Vault,
    question: Uuid,
    contact: &Contact,
    anonymous: bool,
    confidential: bool,
) -> Result<(), sqlx::Error> {
    // Without a phone or e-mail the contact is its own citizen: a random reference
    // links it to nothing.
    let citizen = vault.citizen_ref(contact).unwrap_or_else(rand::random);
    let key = key_for(conn, vault, &citizen).await?;
    sqlx::query(
        "INSERT INTO sealed_contacts (question_id, citizen_ref, sealed, anonymous, confidential)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(question)
    .bind(citizen.as_slice())
    .bind(vault.seal(&key, question, contact))
    .bind(anonymous)
    .bind(confidential)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Brings what older versions stored under the current scheme and reports how many
/// plaintext contacts (`contacts`, before 1003) it sealed. Contacts sealed with a key per
/// question (1003) are re-sealed under their citizen's key and their old keys deleted.
pub(crate) async fn seal_legacy_contacts(pool: &sqlx::PgPool, vault: &Vault) -> Result<u64, sqlx::Error> {
    let rekeyed = rekey_per_question(pool, vault).await?;
    if rekeyed > 0 {
        tracing::info!(rekeyed, "re-sealed contacts under their citizen's key");
    }
    let mut tx = pool.begin().await?;
    let rows: Vec<(Uuid, String, String, String, bool, bool)> = sqlx::query_as(
        "SELECT question_id, name, phone, email, anonymous, confidential FROM contacts FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, name, phone, email, anonymous, confidential) in &rows {
        let contact = Contact {
            name: name.clone(),
            phone: phone.clone(),
            email: email.clone(),
        };
        store(&mut tx, vault, *id, &contact, *anonymous, *confidential).await?;
    }
    sqlx::query("DELETE FROM contacts").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// Re-seals contacts of the per-question scheme (1003) under their citizen's key.
async fn rekey_per_question(pool: &sqlx::PgPool, vault: &Vault) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Locked, so a second replica starting at the same time waits and then finds none.
    let rows: Vec<(Uuid, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT c.question_id, k.wrapped_key, c.sealed
         FROM sealed_contacts c JOIN submission_keys k USING (question_id)
         WHERE c.citizen_ref IS NULL AND c.sealed IS NOT NULL
         FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (question, wrapped, sealed) in &rows {
        let contact = vault
            .open_per_question(*question, wrapped, sealed)
            .map_err(undecodable)?;
        let citizen = vault.citizen_ref(&contact).unwrap_or_else(rand::random);
        let key = key_for(&mut tx, vault, &citizen).await?;
        sqlx::query("UPDATE sealed_contacts SET citizen_ref = $2, sealed = $3 WHERE question_id = $1")
            .bind(question)
            .bind(citizen.as_slice())
            .bind(vault.seal(&key, *question, &contact))
            .execute(&mut *tx)
            .await?;
    }
    // Keys of erased contacts were deleted by the erasure; any left belong to the rows
    // just re-sealed.
    sqlx::query("DELETE FROM submission_keys")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows.len() as u64)
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use chacha20poly1305::{aead::KeyInit, ChaCha20Poly1305};
    use sqlx::{Connection, Executor, PgPool};

    use super::*;

    fn admin_url() -> String {
        std::env::var("KENDUREN_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    async fn question(pool: &PgPool, ticket: &str) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO questions (question_id, ticket, pin_hash, status, kind, category, channel,
                                    kecamatan, desa, submitted_at, updated_at)
             VALUES ($1, $2, '', 'SUBMITTED', 'QUESTION', 'kependudukan', 'WEB', 'Bangil', '', now(), now())",
        )
        .bind(id)
        .bind(ticket)
        .execute(pool)
        .await
        .expect("question");
        id
    }

    /// The citizen reference and the contact as the current scheme opens it.
    async fn opened(pool: &PgPool, vault: &Vault, q: Uuid) -> (Option<Vec<u8>>, Option<Contact>) {
        type Row = (Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);
        let (citizen, wrapped, sealed): Row = sqlx::query_as(
            "SELECT c.citizen_ref, k.wrapped_key, c.sealed
                 FROM sealed_contacts c LEFT JOIN citizen_keys k USING (citizen_ref) WHERE question_id = $1",
        )
        .bind(q)
        .fetch_one(pool)
        .await
        .expect("sealed contact");
        let contact = match (&citizen, wrapped, sealed) {
            (Some(citizen), Some(wrapped), Some(sealed)) => {
                let citizen: CitizenRef = citizen.as_slice().try_into().expect("32 bytes");
                let key = vault.data_key(&citizen, &wrapped).expect("key opens");
                Some(vault.open(&key, q, &sealed).expect("contact opens"))
            }
            _ => None,
        };
        (citizen, contact)
    }

    #[tokio::test]
    async fn contacts_of_older_versions_are_brought_under_their_citizens_key_at_start() {
        let db = format!("kv_{}", Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url()).await.expect("postgres");
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
            .await
            .expect("create database");
        let base = admin_url();
        let pool = PgPool::connect(&format!("{}{db}", &base[..=base.rfind('/').expect("path")]))
            .await
            .expect("pool");
        let vault =
            Vault::new("", &base64::engine::general_purpose::STANDARD.encode([7u8; 32])).expect("vault");

        // What the version with a key per question (1003) left: a sealed contact, an
        // erased one, and a plaintext contact of the version before.
        crate::MIGRATIONS
            .run_to(1003, &pool)
            .await
            .expect("migrations to 1003");
        let siti = |phone: &str| Contact {
            name: "Siti Aminah".into(),
            phone: phone.into(),
            email: "siti@example.id".into(),
        };
        let (sealed_q, plain_q, erased_q) = (
            question(&pool, "KDR-1").await,
            question(&pool, "KDR-2").await,
            question(&pool, "KDR-3").await,
        );
        let dek = ChaCha20Poly1305::generate_key(&mut chacha20poly1305::aead::OsRng);
        let plain = serde_json::to_vec(&siti("081234567890")).expect("json");
        sqlx::query("INSERT INTO citizen_keys (question_id, wrapped_key) VALUES ($1, $2)")
            .bind(sealed_q)
            .bind(super::super::seal_with(
                &vault.kek,
                dek.as_slice(),
                sealed_q.as_bytes(),
            ))
            .execute(&pool)
            .await
            .expect("legacy key");
        sqlx::query(
            "INSERT INTO sealed_contacts (question_id, sealed, anonymous, confidential, erased_at)
             VALUES ($1, $2, false, false, NULL), ($3, NULL, false, false, now())",
        )
        .bind(sealed_q)
        .bind(super::super::seal_with(
            &ChaCha20Poly1305::new(&dek),
            &plain,
            sealed_q.as_bytes(),
        ))
        .bind(erased_q)
        .execute(&pool)
        .await
        .expect("legacy sealed contacts");
        sqlx::query(
            "INSERT INTO contacts (question_id, name, phone, email, anonymous, confidential)
             VALUES ($1, 'Siti Aminah', '+62 812-3456-7890', 'siti@example.id', false, false)",
        )
        .bind(plain_q)
        .execute(&pool)
        .await
        .expect("plaintext contact");

        crate::MIGRATIONS.run(&pool).await.expect("migrations");
        assert_eq!(seal_legacy_contacts(&pool, &vault).await.expect("start-up"), 1);
        assert_eq!(
            seal_legacy_contacts(&pool, &vault).await.expect("again"),
            0,
            "once only"
        );

        let (sealed_ref, sealed_contact) = opened(&pool, &vault, sealed_q).await;
        let (plain_ref, plain_contact) = opened(&pool, &vault, plain_q).await;
        assert_eq!(sealed_contact, Some(siti("081234567890")));
        assert_eq!(plain_contact, Some(siti("+62 812-3456-7890")));
        assert!(
            sealed_ref.is_some() && sealed_ref == plain_ref,
            "one citizen, one key"
        );
        assert_eq!(
            opened(&pool, &vault, erased_q).await,
            (None, None),
            "erased stays erased"
        );
        let left: (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM submission_keys), (SELECT count(*) FROM contacts),
                    (SELECT count(*) FROM citizen_keys)",
        )
        .fetch_one(&pool)
        .await
        .expect("counts");
        assert_eq!(
            left,
            (0, 0, 1),
            "old keys and plaintext gone, one key per citizen"
        );

        pool.close().await;
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
            )))
            .await
            .expect("drop database");
    }
}
