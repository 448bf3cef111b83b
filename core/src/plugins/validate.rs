//! Checks on what plugins hand back. The canonical ABI already refuses
//! invalid UTF-8 and malformed values; these catch values that are well
//! formed but break the contract: out of range, too many, too large.

use super::bindings::v0_1::{CustomerPatch, DeliveryReceipt, Health, Identity, InboundMessage};

/// Most messages one webhook may carry.
pub const MAX_MESSAGES: usize = 100;
/// Largest message text.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// Longest id, key, name or subject.
pub const MAX_SHORT_BYTES: usize = 1024;
/// Most identities, references, reasons or attributes in one value.
pub const MAX_ITEMS: usize = 100;

/// Output of `parse-inbound`.
#[allow(clippy::ptr_arg, reason = "a check takes a reference to the hook's output type, here a Vec")]
pub fn inbound(messages: &Vec<InboundMessage>) -> Result<(), String> {
    if messages.len() > MAX_MESSAGES {
        return Err(format!("{} messages, over the limit of {MAX_MESSAGES}", messages.len()));
    }
    for (i, m) in messages.iter().enumerate() {
        let at = |why: String| format!("message {i}: {why}");
        identity(&m.sender).map_err(at)?;
        if m.other_identities.len() > MAX_ITEMS || m.references.len() > MAX_ITEMS {
            return Err(at(format!("over {MAX_ITEMS} identities or references")));
        }
        for other in &m.other_identities {
            identity(other).map_err(at)?;
        }
        if m.channel_message_id.trim().is_empty() {
            return Err(at("empty channel-message-id".into()));
        }
        short("channel-message-id", &m.channel_message_id).map_err(at)?;
        for (what, value) in [
            ("sender-name", m.sender_name.as_deref()),
            ("subject", m.subject.as_deref()),
            ("thread-key", m.thread_key.as_deref()),
            ("case-ref", m.case_ref.as_deref()),
        ] {
            if let Some(value) = value {
                short(what, value).map_err(at)?;
            }
        }
        for reference in &m.references {
            short("reference", reference).map_err(at)?;
        }
        if m.text.len() > MAX_TEXT_BYTES || m.full_text.as_ref().is_some_and(|t| t.len() > MAX_TEXT_BYTES) {
            return Err(at(format!("text over {} KiB", MAX_TEXT_BYTES / 1024)));
        }
    }
    Ok(())
}

/// Output of `deliver`.
pub fn receipt(receipt: &DeliveryReceipt) -> Result<(), String> {
    receipt.provider_id.as_deref().map_or(Ok(()), |id| short("provider-id", id))
}

/// Output of `enrich`.
pub fn patch(patch: &CustomerPatch) -> Result<(), String> {
    for (what, value) in [("name", &patch.name), ("company", &patch.company), ("tier", &patch.tier)] {
        if let Some(value) = value {
            short(what, value)?;
        }
    }
    if patch.attributes.len() > MAX_ITEMS {
        return Err(format!("{} attributes, over the limit of {MAX_ITEMS}", patch.attributes.len()));
    }
    for (key, value) in &patch.attributes {
        short("attribute name", key)?;
        if value.len() > 16 * 1024 {
            return Err(format!("attribute `{key}` over 16 KiB"));
        }
    }
    Ok(())
}

/// Output of `score`.
pub fn health(health: &Health) -> Result<(), String> {
    if health.score > 100 {
        return Err(format!("score {} is out of range (0-100)", health.score));
    }
    if health.reasons.len() > 20 {
        return Err(format!("{} reasons, over the limit of 20", health.reasons.len()));
    }
    health.reasons.iter().try_for_each(|r| short("reason", r))
}

fn identity(identity: &Identity) -> Result<(), String> {
    if !matches!(identity.kind.as_str(), "email" | "phone" | "handle") {
        return Err(format!("identity kind `{}` is not email, phone or handle", short_quote(&identity.kind)));
    }
    if identity.value.trim().is_empty() {
        return Err("empty identity".into());
    }
    short("identity", &identity.value)
}

fn short(what: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_SHORT_BYTES {
        return Err(format!("{what} over {MAX_SHORT_BYTES} bytes"));
    }
    Ok(())
}

fn short_quote(value: &str) -> String {
    value.chars().take(40).collect()
}
