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
