//! Citizens' identity at rest (UU 27/2022). Each contact is sealed with a data key of
//! its own (ChaCha20-Poly1305); the data key is stored wrapped by the deployment's key
//! in `citizen_keys`. Erasing a citizen deletes that one row, after which every copy of
//! the sealed contact is unreadable, while the question and its figures remain.

use base64::Engine;
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    ChaCha20Poly1305, Key, Nonce,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why the vault could not be set up or a contact opened.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// `KENDUREN_PII_KEY` is not base64 of 32 bytes.
    #[error("KENDUREN_PII_KEY: {0}")]
    Key(String),
    /// The sealed bytes do not open with this deployment's key (wrong key or tampering).
    #[error("sealed contact does not open: {0}")]
    Open(&'static str),
}

/// What intake keeps of a citizen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Name as given.
    pub name: String,
    /// Phone as given.
    pub phone: String,
    /// E-mail as given.
    pub email: String,
}

/// A contact sealed for storage.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The data key, wrapped by the deployment key (nonce ‖ ciphertext).
    pub wrapped_key: Vec<u8>,
    /// The contact, sealed by the data key (nonce ‖ ciphertext).
    pub sealed: Vec<u8>,
}

/// Seals and opens contacts with the deployment key.
#[derive(Clone)]
pub struct Vault {
    kek: ChaCha20Poly1305,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

const NONCE_LEN: usize = 12;

fn seal_with(cipher: &ChaCha20Poly1305, plain: &[u8], aad: &[u8]) -> Vec<u8> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        // Encryption fails only for inputs beyond 256 GiB; a contact is a few hundred bytes.
        .unwrap_or_default();
    [nonce.as_slice(), &sealed].concat()
}

fn open_with(cipher: &ChaCha20Poly1305, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
    if sealed.len() <= NONCE_LEN {
        return Err(VaultError::Open("too short"));
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| VaultError::Open("authentication failed"))
}

impl Vault {
    /// The vault for `KENDUREN_PII_KEY` (base64 of 32 bytes), or, when that is empty, a
    /// key derived from the token key with HKDF-SHA256 (label `kenduren-pii-v1`).
    pub fn new(pii_key: &str, auth_key: &str) -> Result<Self, VaultError> {
        let engine = base64::engine::general_purpose::STANDARD;
        let key: [u8; 32] = if pii_key.trim().is_empty() {
            let ikm = engine
                .decode(auth_key.trim())
                .map_err(|e| VaultError::Key(format!("deriving from KENDUREN_AUTH_KEY: {e}")))?;
            let mut okm = [0u8; 32];
            hkdf::Hkdf::<sha2::Sha256>::new(None, &ikm)
                .expand(b"kenduren-pii-v1", &mut okm)
                .map_err(|e| VaultError::Key(e.to_string()))?;
            okm
        } else {
            engine
                .decode(pii_key.trim())
                .map_err(|e| VaultError::Key(format!("not base64: {e}")))?
                .try_into()
                .map_err(|v: Vec<u8>| VaultError::Key(format!("32 bytes are needed, got {}", v.len())))?
        };
        Ok(Self {
            kek: ChaCha20Poly1305::new(Key::from_slice(&key)),
        })
    }

    /// Seals `contact` of `question` under a fresh data key.
    pub fn seal(&self, question: Uuid, contact: &Contact) -> Sealed {
        let dek = ChaCha20Poly1305::generate_key(&mut chacha20poly1305::aead::OsRng);
        let plain = serde_json::to_vec(contact).unwrap_or_default();
        Sealed {
            wrapped_key: seal_with(&self.kek, dek.as_slice(), question.as_bytes()),
            sealed: seal_with(&ChaCha20Poly1305::new(&dek), &plain, question.as_bytes()),
        }
    }

    /// Opens a contact sealed by [`Vault::seal`] for the same question.
    pub fn open(&self, question: Uuid, wrapped_key: &[u8], sealed: &[u8]) -> Result<Contact, VaultError> {
        let dek = open_with(&self.kek, wrapped_key, question.as_bytes())?;
        if dek.len() != 32 {
            return Err(VaultError::Open("data key has the wrong length"));
        }
        let plain = open_with(
            &ChaCha20Poly1305::new(Key::from_slice(&dek)),
            sealed,
            question.as_bytes(),
        )?;
        serde_json::from_slice(&plain).map_err(|_| VaultError::Open("not a contact"))
    }
}

/// Seals what an older version kept in plaintext (`contacts`) and empties that table.
pub(crate) async fn seal_legacy_contacts(pool: &sqlx::PgPool, vault: &Vault) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows: Vec<(Uuid, String, String, String, bool, bool)> = sqlx::query_as(
        "SELECT question_id, name, phone, email, anonymous, confidential FROM contacts FOR UPDATE",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (id, name, phone, email, anonymous, confidential) in &rows {
        store(
            &mut tx,
            vault,
            *id,
            &Contact {
                name: name.clone(),
                phone: phone.clone(),
                email: email.clone(),
            },
            *anonymous,
            *confidential,
        )
        .await?;
    }
    sqlx::query("DELETE FROM contacts").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// Writes a sealed contact and its wrapped key inside the caller's transaction.
pub(crate) async fn store(
    conn: &mut sqlx::PgConnection,
    vault: &Vault,
    question: Uuid,
    contact: &Contact,
    anonymous: bool,
    confidential: bool,
) -> Result<(), sqlx::Error> {
    let sealed = vault.seal(question, contact);
    sqlx::query("INSERT INTO citizen_keys (question_id, wrapped_key) VALUES ($1, $2)")
        .bind(question)
        .bind(&sealed.wrapped_key)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sealed_contacts (question_id, sealed, anonymous, confidential) VALUES ($1, $2, $3, $4)",
    )
    .bind(question)
    .bind(&sealed.sealed)
    .bind(anonymous)
    .bind(confidential)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::new("", &base64::engine::general_purpose::STANDARD.encode([7u8; 32])).expect("vault")
    }

    #[test]
    fn a_sealed_contact_opens_only_for_its_question_and_hides_the_text() {
        let v = vault();
        let q = Uuid::now_v7();
        let c = Contact {
            name: "Siti Aminah".into(),
            phone: "081234567890".into(),
            email: String::new(),
        };
        let s = v.seal(q, &c);
        assert_eq!(v.open(q, &s.wrapped_key, &s.sealed).expect("opens"), c);
        assert!(
            v.open(Uuid::now_v7(), &s.wrapped_key, &s.sealed).is_err(),
            "bound to the question"
        );
        let bytes = [s.wrapped_key.as_slice(), &s.sealed].concat();
        assert!(!bytes
            .windows(5)
            .any(|w| w == b"Aminah"[..5].as_ref() || w == b"08123"));
    }

    #[test]
    fn another_deployment_key_cannot_open_it() {
        let q = Uuid::now_v7();
        let s = vault().seal(q, &Contact::default());
        let other =
            Vault::new(&base64::engine::general_purpose::STANDARD.encode([9u8; 32]), "").expect("vault");
        assert!(other.open(q, &s.wrapped_key, &s.sealed).is_err());
        assert!(Vault::new("short", "").is_err());
    }
}
