//! Human durations used in config and the CLI: `90s`, `30m`, `4h`, `2d`,
//! `1h30m`. Units go from largest to smallest, each at most once.

/// A duration string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {why} (examples: 90s, 30m, 4h, 2d, 1h30m)")]
pub struct DurationError {
    input: String,
    why: &'static str,
}

/// Parses a duration into whole seconds.
///
/// # Errors
/// [`DurationError`] for empty input, unknown or repeated units, units out of
/// order, missing numbers, or overflow.
pub fn parse_duration(input: &str) -> Result<u64, DurationError> {
    let err = |why| DurationError { input: input.to_owned(), why };
    let text = input.trim();
    if text.is_empty() {
        return Err(err("empty"));
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    let mut last_rank = usize::MAX;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            let n = number.unwrap_or(0).checked_mul(10).and_then(|n| n.checked_add(u64::from(d)));
            number = Some(n.ok_or_else(|| err("too large"))?);
            continue;
        }
        let (rank, unit) = match c {
            'd' => (3, 86_400),
            'h' => (2, 3_600),
            'm' => (1, 60),
            's' => (0, 1),
            _ => return Err(err("unknown unit (use d, h, m, s)")),
        };
        if rank >= last_rank {
            return Err(err("units must go from largest to smallest, each once"));
        }
        last_rank = rank;
        let n = number.take().ok_or_else(|| err("a unit without a number"))?;
        total = n.checked_mul(unit).and_then(|s| total.checked_add(s)).ok_or_else(|| err("too large"))?;
    }
    if number.is_some() {
        return Err(err("a number without a unit"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1_800));
        assert_eq!(parse_duration("4h"), Ok(14_400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert_eq!(parse_duration("1h30m"), Ok(5_400));
        assert_eq!(parse_duration("0s"), Ok(0));
    }

    #[test]
    fn refuses_garbage() {
        for bad in ["", "4", "h", "4x", "30m1h", "1h1h", "-1h", "99999999999999999999d", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
