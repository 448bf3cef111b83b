//! Password hashing for people: argon2id with the crate's default (OWASP)
//! parameters and a random salt, stored as a PHC string
//! (`$argon2id$v=19$m=...`). Hashing takes tens of milliseconds on purpose:
//! callers on an async runtime hash on `tokio::task::spawn_blocking`, never
//! on the writer thread. The clear text is never logged or stored; the
//! errors here never contain it.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// The longest password accepted, in bytes: enough for any passphrase, and
/// it bounds what one login attempt makes the server hash.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a password was not hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("a password needs at least {min} characters", min = MIN_PASSWORD_CHARS)]
    TooShort,
    /// More than [`MAX_PASSWORD_BYTES`] bytes.
    #[error("a password may have at most {max} bytes", max = MAX_PASSWORD_BYTES)]
    TooLong,
    /// The hasher failed (no randomness for the salt, for one).
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// Checks a password's length without hashing it.
///
/// # Errors
/// [`PasswordError::TooShort`] or [`PasswordError::TooLong`].
pub fn check_password(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// The argon2id PHC string of `password`, with a fresh random salt. Slow by
/// design: run it on a blocking thread.
///
/// # Errors
/// A password of the wrong length (see [`check_password`]), or a hasher failure.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    check_password(password)?;
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `phc` (constant time in the
/// hash comparison). A malformed `phc` matches nothing. Slow by design: run
/// it on a blocking thread.
pub fn verify_password(phc: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(hash) = PasswordHash::new(phc) else { return false };
    Argon2::default().verify_password(password.as_bytes(), &hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert!(!a.contains("correct horse"));
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "correct horse batterY"));
        assert_ne!(a, hash_password("correct horse battery").unwrap(), "a fresh salt each time");
    }

    #[test]
    fn short_long_and_malformed_are_refused() {
        assert!(matches!(hash_password("123456789"), Err(PasswordError::TooShort)));
        assert!(matches!(hash_password("ééééééééé"), Err(PasswordError::TooShort)), "characters, not bytes");
        assert!(check_password("éééééééééé").is_ok());
        assert!(matches!(hash_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)), Err(PasswordError::TooLong)));
        assert!(!verify_password("not a phc string", "whatever123"));
        assert!(!verify_password("", ""));
        let message = hash_password("short").unwrap_err().to_string();
        assert!(message.contains("10 characters") && !message.contains("short"), "{message}");
    }
}
