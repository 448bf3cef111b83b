//! Signed case references (`[#<ref>]` in email subjects): a reply that lost
//! its threading headers still finds its case, and a guessed or edited
//! reference does not.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::CaseId;

/// Hex characters of the MAC kept in a reference: 40 bits, enough that
/// guessing one is hopeless while the subject stays readable.
const MAC_HEX: usize = 10;

/// The server's key for case references.
#[derive(Clone)]
pub struct CaseRefKey(Vec<u8>);

impl std::fmt::Debug for CaseRefKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaseRefKey(..)")
    }
}

impl CaseRefKey {
    /// A key from secret bytes.
    pub fn new(secret: Vec<u8>) -> Self {
        Self(secret)
    }

    /// A fresh random key.
    ///
    /// # Panics
    /// When the OS has no randomness to give.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS gives randomness");
        Self(bytes)
    }

    /// The key's bytes, to store.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// `<case id>-<mac>`, for example `42-3fa9c01b7e`.
    pub fn sign(&self, case: CaseId) -> String {
        format!("{case}-{}", &hex::encode(self.mac(case).finalize().into_bytes())[..MAC_HEX])
    }

    /// The case a reference names, when its MAC checks out (compared in
    /// constant time).
    pub fn verify(&self, reference: &str) -> Option<CaseId> {
        let (id, mac) = reference.trim().rsplit_once('-')?;
        let case = CaseId::new(id.parse().ok()?);
        let given = hex::decode(mac).ok()?;
        if mac.len() != MAC_HEX || given.len() != MAC_HEX / 2 {
            return None;
        }
        self.mac(case).verify_truncated_left(&given).ok()?;
        Some(case)
    }

    fn mac(&self, case: CaseId) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("frontdesk case-ref {case}").as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_reference_verifies_and_a_forged_one_does_not() {
        let key = CaseRefKey::new(b"k".to_vec());
        let reference = key.sign(CaseId::new(42));
        assert!(reference.starts_with("42-"));
        assert_eq!(key.verify(&reference), Some(CaseId::new(42)));
        let forged = reference.replacen("42-", "43-", 1);
        assert_eq!(key.verify(&forged), None);
        assert_eq!(key.verify("42-0000000000"), None);
        assert_eq!(key.verify("42"), None);
        assert_eq!(key.verify("x-y"), None);
        assert_eq!(CaseRefKey::new(b"other".to_vec()).verify(&reference), None);
    }
}
