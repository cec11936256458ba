//! Citizens' identity at rest (UU 27/2022). Every contact of one citizen is sealed with
//! that citizen's data key (ChaCha20-Poly1305); the data key is stored wrapped by the
//! deployment's key in `citizen_keys`, under the citizen's reference: an HMAC-SHA256 of
//! the normalised phone number, or of the normalised e-mail when there is no phone. A
//! contact with neither gets a data key of its own. Erasing a citizen deletes that one
//! key row, after which every ticket's sealed contact of that citizen is unreadable,
//! while the questions and their figures remain.

use base64::Engine;
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    ChaCha20Poly1305, Key, Nonce,
};
use hkdf::hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

mod rows;

pub(crate) use rows::{seal_legacy_contacts, store};

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

/// How intake recognises one citizen across tickets without keeping anything readable:
/// a keyed hash of an identifier, useless without the deployment key.
pub type CitizenRef = [u8; 32];

/// A citizen's data key, unwrapped; it seals and opens that citizen's contacts.
pub struct DataKey(ChaCha20Poly1305);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Seals and opens contacts with the deployment key.
#[derive(Clone)]
pub struct Vault {
    /// Wraps data keys (the key-encryption key).
    kek: ChaCha20Poly1305,
    /// Keys the citizen references; derived from the same secret with another label, so
    /// a reference never reveals anything about the wrapping key.
    refs: Hmac<Sha256>,
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

fn cipher_of(dek: &[u8]) -> Result<ChaCha20Poly1305, VaultError> {
    if dek.len() != 32 {
        return Err(VaultError::Open("data key has the wrong length"));
    }
    Ok(ChaCha20Poly1305::new(Key::from_slice(dek)))
}

/// The wrapped key is bound to its reference, so a key row copied onto another
/// citizen's reference does not open.
fn key_aad(citizen: &CitizenRef) -> Vec<u8> {
    [b"kenduren-citizen-key-v1:".as_slice(), citizen].concat()
}

/// A phone number in one national form, so that `+62 812-3456-7890`, `0062812…`,
/// `62812…`, `0812…` and `812…` are the same citizen. None without digits.
pub fn normalized_phone(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.strip_prefix("00").unwrap_or(&digits);
    let national = match digits.strip_prefix("62") {
        Some(rest) => format!("0{rest}"),
        // Forms that show "+62" as a fixed prefix get the number without its 0.
        None if digits.starts_with('8') => format!("0{digits}"),
        None => digits.to_owned(),
    };
    (!national.is_empty()).then_some(national)
}

/// An e-mail address as intake compares it: trimmed and in lower case. None when empty.
pub fn normalized_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    (!e.is_empty()).then_some(e)
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
            hkdf::Hkdf::<Sha256>::new(None, &ikm)
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
        let mut ref_key = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, &key)
            .expand(b"kenduren-citizen-ref-v1", &mut ref_key)
            .map_err(|e| VaultError::Key(e.to_string()))?;
        Ok(Self {
            kek: ChaCha20Poly1305::new(Key::from_slice(&key)),
            refs: <Hmac<Sha256> as Mac>::new_from_slice(&ref_key)
                .map_err(|e| VaultError::Key(e.to_string()))?,
        })
    }

    /// The reference of the citizen who left `contact`: from the phone number, else from
    /// the e-mail; None when there is neither (a name alone does not tell two people apart).
    pub fn citizen_ref(&self, contact: &Contact) -> Option<CitizenRef> {
        let (kind, id) = match normalized_phone(&contact.phone) {
            Some(phone) => (b"phone:".as_slice(), phone),
            None => (b"email:".as_slice(), normalized_email(&contact.email)?),
        };
        let mut mac = self.refs.clone();
        mac.update(kind);
        mac.update(id.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }

    /// A fresh data key for `citizen`, and the same key wrapped for storage.
    pub fn new_data_key(&self, citizen: &CitizenRef) -> (DataKey, Vec<u8>) {
        let dek = ChaCha20Poly1305::generate_key(&mut chacha20poly1305::aead::OsRng);
        let wrapped = seal_with(&self.kek, dek.as_slice(), &key_aad(citizen));
        (DataKey(ChaCha20Poly1305::new(&dek)), wrapped)
    }

    /// Unwraps `citizen`'s data key as stored by [`Vault::new_data_key`].
    pub fn data_key(&self, citizen: &CitizenRef, wrapped: &[u8]) -> Result<DataKey, VaultError> {
        let dek = open_with(&self.kek, wrapped, &key_aad(citizen))?;
        Ok(DataKey(cipher_of(&dek)?))
    }

    /// Seals `contact` of `question` with a citizen's data key.
    pub fn seal(&self, key: &DataKey, question: Uuid, contact: &Contact) -> Vec<u8> {
        let plain = serde_json::to_vec(contact).unwrap_or_default();
        seal_with(&key.0, &plain, question.as_bytes())
    }

    /// Opens a contact sealed by [`Vault::seal`] for the same question.
    pub fn open(&self, key: &DataKey, question: Uuid, sealed: &[u8]) -> Result<Contact, VaultError> {
        let plain = open_with(&key.0, sealed, question.as_bytes())?;
        serde_json::from_slice(&plain).map_err(|_| VaultError::Open("not a contact"))
    }

    /// Opens a contact of the first sealed version (1003), whose data key was one per
    /// question and wrapped for that question.
    fn open_per_question(
        &self,
        question: Uuid,
        wrapped: &[u8],
        sealed: &[u8],
    ) -> Result<Contact, VaultError> {
        let dek = open_with(&self.kek, wrapped, question.as_bytes())?;
        let plain = open_with(&cipher_of(&dek)?, sealed, question.as_bytes())?;
        serde_json::from_slice(&plain).map_err(|_| VaultError::Open("not a contact"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::new("", &base64::engine::general_purpose::STANDARD.encode([7u8; 32])).expect("vault")
    }

    fn contact(name: &str, phone: &str, email: &str) -> Contact {
        Contact {
            name: name.into(),
            phone: phone.into(),
            email: email.into(),
        }
    }

    #[test]
    fn a_sealed_contact_opens_only_for_its_question_and_hides_the_text() {
        let v = vault();
        let (q, c) = (
            Uuid::now_v7(),
            contact("Siti Aminah", "081234567890", "siti@example.id"),
        );
        let citizen = v.citizen_ref(&c).expect("has a phone");
        let (key, wrapped) = v.new_data_key(&citizen);
        let sealed = v.seal(&key, q, &c);
        let unwrapped = v.data_key(&citizen, &wrapped).expect("unwraps");
        assert_eq!(v.open(&unwrapped, q, &sealed).expect("opens"), c);
        assert!(
            v.open(&key, Uuid::now_v7(), &sealed).is_err(),
            "bound to the question"
        );
        let bytes = [wrapped.as_slice(), &sealed, &citizen].concat();
        for needle in [b"Aminah".as_slice(), b"08123", b"81234", b"siti@"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{needle:?} readable"
            );
        }
    }

    #[test]
    fn a_wrapped_key_opens_only_for_its_citizen_and_deployment() {
        let v = vault();
        let citizen = v.citizen_ref(&contact("", "0812345678", "")).expect("ref");
        let other = v.citizen_ref(&contact("", "0812345679", "")).expect("ref");
        let (_, wrapped) = v.new_data_key(&citizen);
        assert!(v.data_key(&other, &wrapped).is_err(), "bound to the citizen");
        let elsewhere =
            Vault::new(&base64::engine::general_purpose::STANDARD.encode([9u8; 32]), "").expect("vault");
        assert!(elsewhere.data_key(&citizen, &wrapped).is_err());
        assert!(Vault::new("short", "").is_err());
    }

    #[test]
    fn one_citizen_is_recognised_by_phone_in_any_notation_else_by_email() {
        let v = vault();
        let r = |name: &str, phone: &str, email: &str| v.citizen_ref(&contact(name, phone, email));
        let siti = r("Siti", "0812-3456-7890", "");
        assert!(siti.is_some());
        for same in [
            "+62 812 3456 7890",
            "62812345678 90",
            "0062 812 3456 7890",
            "812-3456-7890",
        ] {
            assert_eq!(r("Siti A.", same, "lain@example.id"), siti, "{same}");
        }
        assert_ne!(r("Siti", "0812-3456-7891", ""), siti);
        let by_mail = r("Budi", "", "Budi@Example.ID ");
        assert_eq!(by_mail, r("", "", "budi@example.id"));
        assert_ne!(by_mail, r("", "", "budi2@example.id"));
        assert_ne!(by_mail, siti);
        assert_eq!(r("Budi", "", ""), None, "a name alone recognises no one");
        let elsewhere = Vault::new(&base64::engine::general_purpose::STANDARD.encode([9u8; 32]), "")
            .expect("vault")
            .citizen_ref(&contact("Siti", "0812-3456-7890", ""));
        assert_ne!(elsewhere, siti, "references are keyed by the deployment");
    }

    #[test]
    fn a_contact_of_the_per_question_scheme_still_opens_for_re_sealing() {
        let v = vault();
        let (q, c) = (Uuid::now_v7(), contact("Siti", "0812", ""));
        let dek = ChaCha20Poly1305::generate_key(&mut chacha20poly1305::aead::OsRng);
        let wrapped = seal_with(&v.kek, dek.as_slice(), q.as_bytes());
        let sealed = seal_with(
            &ChaCha20Poly1305::new(&dek),
            &serde_json::to_vec(&c).expect("json"),
            q.as_bytes(),
        );
        assert_eq!(v.open_per_question(q, &wrapped, &sealed).expect("opens"), c);
        assert!(v.open_per_question(Uuid::now_v7(), &wrapped, &sealed).is_err());
    }
}
