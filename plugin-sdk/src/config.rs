//! The plugin's configuration (manifest defaults overlaid with the
//! operator's `[plugins.NAME]`).

use crate::channel::PluginError;

/// The value for `key` (strings as they are, other values as JSON text).
pub fn get(key: &str) -> Option<String> {
    crate::channel::frontdesk::plugin::config::get(key)
}

/// The value for `key`, or an error naming the missing key.
///
/// # Errors
/// A permanent error when neither the manifest nor the operator sets `key`.
pub fn require(key: &str) -> Result<String, PluginError> {
    get(key).ok_or_else(|| PluginError { message: format!("config key `{key}` is not set"), retryable: false })
}

/// The value for `key`, or `None` when it is unset or blank. A manifest
/// lists every key its plugin reads, with an empty default for those that
/// have none, so an optional key the operator did not set arrives as `""`.
/// The value is returned as it is, not trimmed.
pub fn setting(key: &str) -> Option<String> {
    non_blank(get(key))
}

fn non_blank(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_settings_count_as_unset() {
        let cases = [
            (None, None),
            (Some(""), None),
            (Some("  \t\n"), None),
            (Some("http://127.0.0.1:9000"), Some("http://127.0.0.1:9000")),
            (Some(" key "), Some(" key ")),
            (Some("0"), Some("0")),
        ];
        for (value, expected) in cases {
            assert_eq!(non_blank(value.map(str::to_owned)).as_deref(), expected, "{value:?}");
        }
    }
}
