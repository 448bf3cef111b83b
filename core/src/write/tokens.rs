//! API tokens on the write path: creating one, revoking one, and noting when
//! one was last used. Tokens are no case's events.

use jiff::Timestamp;

use crate::auth::ApiToken;
use crate::store::WriteTxn;
use crate::write::command::{CommandError, Outcome, Refusal, check_name};

/// Stores a new token; refused if the name is taken (by a revoked token too).
///
/// # Errors
/// [`Refusal::TokenNameTaken`], an invalid name, storage failures.
pub fn create_token(txn: &mut dyn WriteTxn, token: &ApiToken) -> Result<Outcome, CommandError> {
    check_name("token name", &token.name)?;
    if txn.token_named(&token.name)?.is_some() {
        return Err(Refusal::TokenNameTaken(token.name.clone()).into());
    }
    txn.put_token(token)?;
    Ok(Outcome::Token(token.clone()))
}

/// Marks the token `name` revoked at `now`. It is kept, so its name stays
/// taken; a second revoke keeps the first time.
///
/// # Errors
/// [`Refusal::TokenNotFound`], storage failures.
pub fn revoke_token(txn: &mut dyn WriteTxn, name: &str, now: Timestamp) -> Result<Outcome, CommandError> {
    let mut token = txn.token_named(name)?.ok_or_else(|| Refusal::TokenNotFound(name.to_owned()))?;
    if token.revoked_at.is_none() {
        token.revoked_at = Some(now);
        txn.put_token(&token)?;
    }
    Ok(Outcome::Token(token))
}

/// Moves a token's `last_used_at` forward to `at`; [`Outcome::Nothing`] if
/// the token is gone.
///
/// # Errors
/// Storage failures.
pub fn touch_token(txn: &mut dyn WriteTxn, hash: &str, at: Timestamp) -> Result<Outcome, CommandError> {
    let Some(mut token) = txn.token_by_hash(hash)? else { return Ok(Outcome::Nothing) };
    if token.last_used_at.is_none_or(|seen| seen < at) {
        token.last_used_at = Some(at);
        txn.put_token(&token)?;
    }
    Ok(Outcome::Token(token))
}
