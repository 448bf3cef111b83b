//! Timestamps as RFC 3339 text, exactly as jiff prints them
//! (`2026-12-02T03:51:07.25Z`), for the fields serialized on every request.
//! jiff's own `Serialize` goes through `Display` and its general printer,
//! about 900 instructions a timestamp (callgrind); a case with its SLA
//! carries a dozen, a listing hundreds. This writes the digits directly, and
//! hands anything outside 1970-9999 to jiff.

use jiff::Timestamp;
use serde::Serializer;

/// The longest text written here: `9999-12-30T22:00:00.999999999Z`.
const MAX_LEN: usize = 30;

/// `ts` as jiff's `Display` prints it, into `buf`; `None` outside the years
/// 1970 to 9999.
fn write(ts: Timestamp, buf: &mut [u8; MAX_LEN]) -> Option<&str> {
    let seconds = u64::try_from(ts.as_second()).ok()?;
    let nanos = u32::try_from(ts.subsec_nanosecond()).ok()?;
    let (year, month, day) = civil_from_days(seconds / 86_400);
    if year > 9999 {
        return None;
    }
    let of_day = seconds % 86_400;
    put(&mut buf[0..4], u64::from(year));
    buf[4] = b'-';
    put(&mut buf[5..7], u64::from(month));
    buf[7] = b'-';
    put(&mut buf[8..10], u64::from(day));
    buf[10] = b'T';
    put(&mut buf[11..13], of_day / 3600);
    buf[13] = b':';
    put(&mut buf[14..16], of_day / 60 % 60);
    buf[16] = b':';
    put(&mut buf[17..19], of_day % 60);
    let mut len = 19;
    if nanos != 0 {
        buf[19] = b'.';
        put(&mut buf[20..29], u64::from(nanos));
        len = 29;
        while buf[len - 1] == b'0' {
            len -= 1;
        }
    }
    buf[len] = b'Z';
    std::str::from_utf8(&buf[..=len]).ok()
}

/// Writes `value` as zero-padded decimal filling `out`.
fn put(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (u32::try_from(year).unwrap_or(u32::MAX), month as u32, day as u32)
}

/// Serializes a timestamp as jiff does, faster (`serialize_with`).
///
/// # Errors
/// The serializer's.
pub fn serialize<S: Serializer>(ts: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0; MAX_LEN];
    match write(*ts, &mut buf) {
        Some(text) => serializer.serialize_str(text),
        None => serializer.collect_str(ts),
    }
}

/// [`serialize`] for an optional timestamp (`null` for none).
///
/// # Errors
/// The serializer's.
pub fn serialize_opt<S: Serializer>(ts: &Option<Timestamp>, serializer: S) -> Result<S::Ok, S::Error> {
    match ts {
        Some(ts) => serialize(ts, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn text(ts: Timestamp) -> String {
        serialize(&ts, serde_json::value::Serializer).unwrap().as_str().unwrap().to_owned()
    }

    #[test]
    fn known_instants_print_as_jiff_prints_them() {
        let leap_day = Timestamp::new(951_782_400, 0).unwrap();
        let quarter = Timestamp::new(1_764_645_067, 250_000_000).unwrap();
        let one_nano = Timestamp::new(1_764_645_067, 1).unwrap();
        for ts in [Timestamp::UNIX_EPOCH, leap_day, quarter, one_nano, Timestamp::MAX] {
            assert_eq!(text(ts), ts.to_string());
        }
        assert_eq!(text(quarter), "2025-12-02T03:11:07.25Z");
        let before_1970 = Timestamp::new(-1, 500_000_000).unwrap();
        assert_eq!(text(before_1970), before_1970.to_string(), "jiff prints what this does not");
        assert_eq!(serialize_opt(&None, serde_json::value::Serializer).unwrap(), serde_json::Value::Null);
    }

    proptest! {
        #[test]
        fn every_instant_prints_as_jiff_prints_it(
            seconds in Timestamp::MIN.as_second()..=Timestamp::MAX.as_second(),
            nanos in prop_oneof![Just(0), 0..1_000_000_000i32, (0..1000i32).prop_map(|ms| ms * 1_000_000)],
        ) {
            let ts = Timestamp::new(seconds, nanos).unwrap_or(Timestamp::new(seconds, 0).unwrap());
            prop_assert_eq!(text(ts), ts.to_string());
        }

        #[test]
        fn recent_instants_print_as_jiff_prints_them(seconds in 0i64..4_102_444_800, nanos in 0..1_000_000_000i32) {
            let ts = Timestamp::new(seconds, nanos).unwrap();
            prop_assert_eq!(text(ts), ts.to_string());
        }
    }
}
