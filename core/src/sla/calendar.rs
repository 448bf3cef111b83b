//! Business calendars and the SLA clock arithmetic over them.
//!
//! Owns: parsing and validating `[calendars.*]` config, "is this instant
//! business time", the due instant of `start + N business seconds`, and the
//! business time between two instants. It does not own policies, pauses or
//! the scheduler; everything here is pure and never reads the clock.
//!
//! # Semantics
//!
//! Hours are local wall-clock times, turned into instants the way jiff does
//! by default (`Disambiguation::Compatible`): a local time that does not
//! exist (in a spring-forward gap) moves forward by the length of the gap,
//! and an ambiguous one (in a fall-back fold) takes the earlier instant. So
//! for every local date that is not a holiday and every range `[start, end)`
//! of its weekday, the desk is open over the real-time interval
//! `[instant(date, start), instant(date, end))`, `24:00` being the next
//! date's `00:00` converted the same way. *Business time* is the union of
//! these intervals (an interval whose end is not after its start is empty,
//! and time covered twice counts once), counted in real elapsed seconds.
//!
//! What that means on a change night, with New York as the example:
//!
//! * Spring forward (2026-03-08, 02:00 EST becomes 03:00 EDT): `00:00-24:00`
//!   is 23 h; `02:30-04:00` opens at 02:30 moved forward, i.e. 03:30 EDT,
//!   and lasts 30 min; `01:30-03:00` runs from 01:30 EST to 03:00 EDT,
//!   30 min; `02:00-02:30` lies wholly in the gap and becomes
//!   03:00-03:30 EDT; `02:30-03:00` becomes empty.
//! * Fall back (2026-11-01, 02:00 EDT becomes 01:00 EST): `00:00-24:00` is
//!   25 h; `00:00-01:30` closes at the first 01:30 (EDT), 1.5 h, and does
//!   not reopen when the clock repeats; `01:30-02:00` runs from 01:30 EDT to
//!   02:00 EST, 1.5 h; `01:00-03:00` is 3 h.
//!
//! A deadline that falls exactly on a closing time is that closing time (the
//! *earliest* instant at which N seconds have elapsed), a start outside
//! business hours counts from the next opening, and a zero duration returns
//! the start unchanged even when it is outside business hours.
//!
//! # How the arithmetic avoids stepping
//!
//! Real time is cut into pieces of two kinds (see `Piece`):
//!
//! * **Shifted**, everything more than a day or so away from a change of the
//!   zone's UTC offset. Every local date there converts with one offset, so
//!   local time is real time plus a constant and the question becomes one
//!   about *local* time, where the calendar is a plain weekly pattern with
//!   holes (holidays). In local nanoseconds:
//!   * `F(x)`, the pattern's open time before `x`, is
//!     `weeks * weekly_total` plus a binary search in the sorted week
//!     (O(log ranges));
//!   * holidays subtract their pattern time through a prefix sum over the
//!     sorted holiday list (O(log holidays)); the result `G(x)` is the open
//!     business time before `x`, exact and monotone;
//!   * `G` is inverted in the same way: a binary search over holidays finds
//!     the holiday-free stretch the answer lies in, then `F` is inverted
//!     there.
//! * **Explicit**, the few local dates around each offset change (the dates
//!   touching the gap or fold, plus a margin). Their intervals are computed
//!   one by one with jiff's conversion, exactly as the rule above says, and
//!   merged. The margin is chosen so that these intervals and the shifted
//!   pieces on either side partition real time (no date's interval crosses
//!   into a neighbouring piece); changes whose margins meet share one piece.
//!
//! `due` and `business_seconds_between` walk these pieces between `start`
//! and the answer (two changes a year in a DST zone, none in a fixed-offset
//! zone) and do O(log ranges + log holidays) work per shifted piece and
//! O(ranges) jiff conversions for each of the three or four dates of an
//! explicit piece. A 2,000-hour target crosses a handful of pieces whatever
//! its length in minutes, days or weeks. `always_open` calendars (including
//! the built-in `24x7`) skip all of it: O(1).
//!
//! All internal arithmetic is in `i128` nanoseconds, which holds every jiff
//! instant and every `u64` number of seconds exactly.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Deserialize;

// Nanoseconds in a second, a day and a week.
const SEC: i128 = 1_000_000_000;
const DAY: i128 = 86_400 * SEC;
const WEEK: i128 = 7 * DAY;
/// 1969-12-29T00:00 (a Monday), in local nanoseconds since 1970-01-01T00:00:
/// the origin of the weekly pattern, so that week positions start on Monday.
const MONDAY_ORIGIN: i128 = -3 * DAY;
/// How far before an instant the piece walk starts looking for offset
/// changes: more than any explicit piece reaches from its change (see
/// `BusinessCalendar::walk`).
const LOOK_BEHIND: i128 = 8 * DAY;

/// Config keys for the days of the week, Monday first.
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Name of the built-in calendar that is always open.
pub const ALWAYS_OPEN_NAME: &str = "24x7";

/// One `[calendars.<name>]` table as written in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Ranges per day (`mon`..`sun`), e.g. `["09:00-12:00", "13:00-17:00"]`;
    /// days left out are closed.
    #[serde(default)]
    pub hours: BTreeMap<String, Vec<String>>,
    /// Local dates (`YYYY-MM-DD`) that are closed all day.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Why a calendar cannot be built, or a computation on it cannot finish.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// `time_zone` is not in the time zone database.
    #[error("calendar {calendar:?}: unknown time zone {zone:?}")]
    UnknownTimeZone {
        calendar: String,
        zone: String,
        #[source]
        source: jiff::Error,
    },
    /// A key in `hours` is not one of `mon`..`sun`.
    #[error("calendar {calendar:?}: unknown day {day:?} in hours (expected mon, tue, wed, thu, fri, sat or sun)")]
    UnknownDay { calendar: String, day: String },
    /// A range is not `HH:MM-HH:MM` with start before end.
    #[error("calendar {calendar:?}: invalid range {range:?} on {day}: {reason}")]
    InvalidRange { calendar: String, day: String, range: String, reason: &'static str },
    /// Two ranges of one day share time. Touching ranges (`09:00-12:00`,
    /// `12:00-13:00`) are fine and are joined.
    #[error("calendar {calendar:?}: ranges {first:?} and {second:?} on {day} overlap")]
    OverlappingRanges { calendar: String, day: String, first: String, second: String },
    /// A holiday is not a valid `YYYY-MM-DD` date.
    #[error("calendar {calendar:?}: invalid holiday {date:?}: {reason}")]
    InvalidHoliday { calendar: String, date: String, reason: &'static str },
    /// A positive duration was asked of a calendar with no business hours.
    #[error("calendar {calendar:?} has no business hours, so no deadline can be computed")]
    NeverOpen { calendar: String },
    /// The deadline lies beyond the last instant jiff can represent.
    #[error("calendar {calendar:?}: deadline is beyond the supported time range")]
    OutOfRange { calendar: String },
}

/// A weekly schedule of business hours in one time zone, with holidays.
///
/// Cheap to query; build it once per config load and share it.
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    name: String,
    tz: TimeZone,
    /// Every wall-clock instant is open: arithmetic is plain addition.
    always_open: bool,
    /// Per weekday (Monday first), the day's ranges in seconds of the day,
    /// sorted and disjoint; used for the explicit pieces.
    days: [Vec<(u32, u32)>; 7],
    /// Open ranges of the week in local nanoseconds from Monday 00:00,
    /// sorted, disjoint and not touching.
    week: Vec<(i128, i128)>,
    /// `week_prefix[i]` is the open time in the week before `week[i]`.
    week_prefix: Vec<i128>,
    /// Open time in a week without holidays.
    weekly_total: i128,
    /// Holidays as local day numbers (days since 1970-01-01), sorted, unique.
    holidays: Vec<i64>,
    /// `holiday_prefix[i]` is the pattern time closed by `holidays[..i]`;
    /// one entry longer than `holidays`.
    holiday_prefix: Vec<i128>,
    /// `G` (see module docs) at the local start of each holiday.
    open_before_holiday: Vec<i128>,
}

impl BusinessCalendar {
    /// The built-in `24x7` calendar: UTC, open all the time, no holidays.
    pub fn always_open() -> Self {
        let full_day = (0, 86_400);
        Self::from_parts(
            ALWAYS_OPEN_NAME.to_owned(),
            TimeZone::UTC,
            std::array::from_fn(|_| vec![full_day]),
            Vec::new(),
        )
    }

    /// Validates one `[calendars.<name>]` table and builds the calendar.
    ///
    /// Ranges are half-open `[start, end)` local wall-clock times; `24:00` is
    /// allowed as an end only. Overlapping ranges in a day are rejected as a
    /// likely typo; touching ones are joined. Duplicate holidays are ignored.
    ///
    /// # Errors
    ///
    /// A [`CalendarError`] naming the calendar, the day and the bad value for
    /// an unknown zone or day, a malformed or empty range, overlapping
    /// ranges, or an invalid holiday date.
    pub fn try_from_config(name: &str, config: &CalendarConfig) -> Result<Self, CalendarError> {
        let tz = jiff::tz::db().get(&config.time_zone).map_err(|source| CalendarError::UnknownTimeZone {
            calendar: name.to_owned(),
            zone: config.time_zone.clone(),
            source,
        })?;

        let mut days: [Vec<(u32, u32)>; 7] = Default::default();
        for (day, texts) in &config.hours {
            let index = DAY_NAMES
                .iter()
                .position(|d| d == day)
                .ok_or_else(|| CalendarError::UnknownDay { calendar: name.to_owned(), day: day.clone() })?;
            let mut ranges = Vec::with_capacity(texts.len());
            for text in texts {
                let range = parse_range(text).map_err(|reason| CalendarError::InvalidRange {
                    calendar: name.to_owned(),
                    day: day.clone(),
                    range: text.clone(),
                    reason,
                })?;
                ranges.push((range, text));
            }
            ranges.sort_by_key(|&(range, _)| range);
            for pair in ranges.windows(2) {
                let ((_, first_end), first) = pair[0];
                let ((second_start, _), second) = pair[1];
                if second_start < first_end {
                    return Err(CalendarError::OverlappingRanges {
                        calendar: name.to_owned(),
                        day: day.clone(),
                        first: first.clone(),
                        second: second.clone(),
                    });
                }
            }
            days[index] = ranges.into_iter().map(|(range, _)| range).collect();
        }

        let mut holidays = Vec::with_capacity(config.holidays.len());
        for text in &config.holidays {
            let date = parse_date(text).map_err(|reason| CalendarError::InvalidHoliday {
                calendar: name.to_owned(),
                date: text.clone(),
                reason,
            })?;
            holidays.push(day_number(date));
        }
        holidays.sort_unstable();
        holidays.dedup();

        Ok(Self::from_parts(name.to_owned(), tz, days, holidays))
    }

    /// Builds the precomputed tables from validated parts: per weekday
    /// (Monday first) sorted non-overlapping `[start, end)` seconds of the
    /// day, and sorted unique holiday day numbers.
    fn from_parts(name: String, tz: TimeZone, days: [Vec<(u32, u32)>; 7], holidays: Vec<i64>) -> Self {
        let mut week: Vec<(i128, i128)> = Vec::new();
        for (day, ranges) in days.iter().enumerate() {
            let day_start = day as i128 * DAY;
            for &(start, end) in ranges {
                let start = day_start + i128::from(start) * SEC;
                let end = day_start + i128::from(end) * SEC;
                // Join touching ranges, including across midnight, so that
                // `week` is a canonical set of maximal open stretches.
                match week.last_mut() {
                    Some(last) if last.1 == start => last.1 = end,
                    _ => week.push((start, end)),
                }
            }
        }
        let mut week_prefix = Vec::with_capacity(week.len());
        let mut weekly_total = 0;
        for &(start, end) in &week {
            week_prefix.push(weekly_total);
            weekly_total += end - start;
        }

        let mut calendar = Self {
            name,
            tz,
            always_open: holidays.is_empty() && week == [(0, WEEK)],
            days,
            week,
            week_prefix,
            weekly_total,
            holidays: Vec::new(),
            holiday_prefix: vec![0],
            open_before_holiday: Vec::new(),
        };
        let mut closed = 0;
        for &day in &holidays {
            let start = i128::from(day) * DAY;
            let before = calendar.pattern_before(start);
            // Every earlier holiday lies wholly before this one's start.
            calendar.open_before_holiday.push(before - closed);
            closed += calendar.pattern_before(start + DAY) - before;
            calendar.holiday_prefix.push(closed);
        }
        calendar.holidays = holidays;
        calendar
    }

    /// The calendar's name in config (`24x7` for the built-in one).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone whose wall clock the hours and holidays refer to.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Whether `t` is business time.
    pub fn is_open(&self, t: Timestamp) -> bool {
        if self.always_open {
            return true;
        }
        if self.weekly_total == 0 {
            return false;
        }
        let t = t.as_nanosecond();
        self.walk(t, |piece| match piece {
            Piece::Shifted { offset, .. } => Some(self.pattern_open(t + offset)),
            Piece::Explicit { open, .. } => {
                let i = open.partition_point(|&(_, end)| end <= t);
                Some(open.get(i).is_some_and(|&(start, _)| start <= t))
            }
        })
        .unwrap_or(false)
    }

    /// The first business instant at or after `t`: `t` itself when open.
    ///
    /// `None` when the calendar has no business hours, or the next opening
    /// is beyond the supported time range.
    pub fn next_open(&self, t: Timestamp) -> Option<Timestamp> {
        if self.always_open {
            return Some(t);
        }
        if self.weekly_total == 0 {
            return None;
        }
        // The first open nanosecond is the one just before the instant at
        // which one nanosecond of business time has elapsed.
        let after_one = self.advance(t.as_nanosecond(), 1)?;
        Timestamp::from_nanosecond(after_one - 1).ok()
    }

    /// The instant at which exactly `business_seconds` of business time have
    /// passed since `start`.
    ///
    /// This is the earliest such instant, so a deadline that lands on a
    /// closing time is that closing time. A start outside business hours
    /// counts from the next opening; zero returns `start` unchanged.
    ///
    /// # Errors
    ///
    /// [`CalendarError::NeverOpen`] for a positive duration on a calendar
    /// with no business hours, [`CalendarError::OutOfRange`] when the answer
    /// is beyond the range jiff supports (about year 9999).
    pub fn due(&self, start: Timestamp, business_seconds: u64) -> Result<Timestamp, CalendarError> {
        if business_seconds == 0 {
            return Ok(start);
        }
        if self.weekly_total == 0 {
            return Err(CalendarError::NeverOpen { calendar: self.name.clone() });
        }
        let amount = i128::from(business_seconds) * SEC;
        let out_of_range = || CalendarError::OutOfRange { calendar: self.name.clone() };
        let due = if self.always_open {
            start.as_nanosecond() + amount
        } else {
            self.advance(start.as_nanosecond(), amount).ok_or_else(out_of_range)?
        };
        Timestamp::from_nanosecond(due).map_err(|_| out_of_range())
    }

    /// Business time in `[a, b)`, in whole seconds (rounded down); 0 when
    /// `b <= a`.
    pub fn business_seconds_between(&self, a: Timestamp, b: Timestamp) -> u64 {
        if b <= a {
            return 0;
        }
        let (a, b) = (a.as_nanosecond(), b.as_nanosecond());
        let nanos = if self.always_open {
            b - a
        } else if self.weekly_total == 0 {
            0
        } else {
            let mut total = 0;
            self.walk(a, |piece| match piece {
                Piece::Shifted { start, end, offset } => {
                    let lo = start.max(a);
                    let hi = end.map_or(b, |end| end.min(b));
                    total += self.open_before(hi + offset) - self.open_before(lo + offset);
                    (hi >= b).then_some(())
                }
                Piece::Explicit { end, open, .. } => {
                    for &(s, e) in &open {
                        let (s, e) = (s.max(a), e.min(b));
                        if s < e {
                            total += e - s;
                        }
                    }
                    (end >= b).then_some(())
                }
            });
            total
        };
        // Cannot exceed u64: the span of jiff instants is about 2^38 seconds.
        u64::try_from(nanos / SEC).unwrap_or(u64::MAX)
    }

    /// The real instant (nanoseconds) at which `amount > 0` nanoseconds of
    /// business time have passed since `start`; `None` if never (only when
    /// it would be past the last instant jiff represents).
    fn advance(&self, start: i128, amount: i128) -> Option<i128> {
        // Business time never outruns real time; bail out early instead of
        // walking every DST change up to year 9999.
        if amount > Timestamp::MAX.as_nanosecond() - start {
            return None;
        }
        let mut remaining = amount;
        self.walk(start, |piece| match piece {
            Piece::Shifted { start: piece_start, end, offset } => {
                let open_at_start = self.open_before(piece_start.max(start) + offset);
                if let Some(end) = end {
                    let available = self.open_before(end + offset) - open_at_start;
                    if available < remaining {
                        remaining -= available;
                        return None;
                    }
                }
                Some(self.first_reaching(open_at_start + remaining) - offset)
            }
            Piece::Explicit { open, .. } => {
                for &(s, e) in &open {
                    let s = s.max(start);
                    if e <= s {
                        continue;
                    }
                    if e - s >= remaining {
                        return Some(s + remaining);
                    }
                    remaining -= e - s;
                }
                None
            }
        })
    }

    /// Calls `visit` with the pieces of real time (see [`Piece`]) that end
    /// after `from`, in order, until it returns a value. The first piece may
    /// start before `from`; callers clip. Pieces are contiguous and disjoint.
    ///
    /// Each offset change `o1 -> o2` at real instant `tr` makes the local
    /// times from `tr + min(o1, o2)` to `tr + max(o1, o2)` a gap or a fold;
    /// let `d = |o2 - o1|`. Every local time before `tr + max(o1, o2)`
    /// converts with `o1`, every later one with `o2` (that is jiff's
    /// compatible rule). The explicit piece covers the local dates from the
    /// one holding `tr + min - d`, less a day, up to the one holding
    /// `tr + max + d`, plus a day. Then a date before them maps with `o1`
    /// wholly before the piece, a date after them with `o2` wholly after it,
    /// and their own intervals land inside it (it reaches `d` past the
    /// change on both sides in real time, and a converted time is off by at
    /// most `d`). Intervals are still clipped to the piece, so the pieces
    /// partition real time whatever the zone. A piece reaches at most
    /// `2d + 2 days` from its change, well within [`LOOK_BEHIND`] for any
    /// real zone (`d` is at most a day).
    fn walk<T>(&self, from: i128, mut visit: impl FnMut(Piece) -> Option<T>) -> Option<T> {
        let origin = (from - LOOK_BEHIND).max(Timestamp::MIN.as_nanosecond());
        let origin_ts = Timestamp::from_nanosecond(origin).ok()?;
        let mut offset = i128::from(self.tz.to_offset(origin_ts).seconds()) * SEC;
        // Offset changes after `origin`, skipping those that keep the offset
        // (a change of name or DST flag only).
        let mut previous = offset;
        let mut changes = self.tz.following(origin_ts).filter_map(move |tr| {
            let after = i128::from(tr.offset().seconds()) * SEC;
            let keep = after != previous;
            previous = after;
            keep.then(|| (tr.timestamp().as_nanosecond(), after))
        });
        // The first and one-past-last local day numbers of the explicit
        // dates around a change, given the offsets either side.
        let dates = |tr: i128, before: i128, after: i128| {
            let d = (after - before).abs();
            let low = (tr + before.min(after) - d).div_euclid(DAY) - 1;
            let high = (tr + before.max(after) + d).div_euclid(DAY) + 2;
            (low, high)
        };
        let mut pos = origin;
        let mut next = changes.next();
        loop {
            let Some((tr, after)) = next else {
                return visit(Piece::Shifted { start: pos, end: None, offset });
            };
            let before = offset;
            let (first_day, mut end_day) = dates(tr, before, after);
            offset = after;
            next = changes.next();
            // Changes whose dates meet or overlap share one explicit piece.
            while let Some((tr, after)) = next {
                let (low, high) = dates(tr, offset, after);
                if low > end_day {
                    break;
                }
                end_day = end_day.max(high);
                offset = after;
                next = changes.next();
            }
            let explicit_start = first_day * DAY - before;
            let explicit_end = end_day * DAY - offset;
            if explicit_start > pos && explicit_start > from {
                let piece = Piece::Shifted { start: pos, end: Some(explicit_start), offset: before };
                if let Some(found) = visit(piece) {
                    return Some(found);
                }
            }
            if explicit_end > from {
                let lo = explicit_start.max(pos);
                let open = self.explicit_open(first_day..end_day, lo, explicit_end, before);
                let piece = Piece::Explicit { end: explicit_end, open };
                if let Some(found) = visit(piece) {
                    return Some(found);
                }
            }
            pos = explicit_end;
        }
    }

    /// The open intervals of the local dates `days` (day numbers), each
    /// range's ends converted with jiff's compatible disambiguation, clipped
    /// to `[lo, hi)`, merged: sorted, disjoint, not touching.
    /// `fallback_offset` converts a local time jiff cannot (only at the very
    /// ends of the supported range).
    fn explicit_open(
        &self,
        days: std::ops::Range<i128>,
        lo: i128,
        hi: i128,
        fallback_offset: i128,
    ) -> Vec<(i128, i128)> {
        let instant = |day: i128, second: u32| {
            let local = day * DAY + i128::from(second) * SEC;
            i64::try_from(local / SEC)
                .ok()
                .and_then(|s| Timestamp::from_second(s).ok())
                .and_then(|t| self.tz.to_timestamp(TimeZone::UTC.to_datetime(t)).ok())
                .map_or(local - fallback_offset, Timestamp::as_nanosecond)
        };
        let mut open: Vec<(i128, i128)> = Vec::new();
        for day in days {
            let Ok(number) = i64::try_from(day) else {
                continue;
            };
            if self.holidays.binary_search(&number).is_ok() {
                continue;
            }
            // 1970-01-01 (day 0) was a Thursday.
            let weekday = (day + 3).rem_euclid(7) as usize;
            for &(start, end) in &self.days[weekday] {
                let start = instant(day, start).max(lo);
                let end = instant(day, end).min(hi);
                if start < end {
                    open.push((start, end));
                }
            }
        }
        open.sort_unstable();
        let mut merged: Vec<(i128, i128)> = Vec::with_capacity(open.len());
        for (start, end) in open {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }

    /// Whether local time `x` (nanoseconds since 1970-01-01T00:00) is in the
    /// weekly pattern and not on a holiday.
    fn pattern_open(&self, x: i128) -> bool {
        let day = x.div_euclid(DAY) as i64;
        if self.holidays.binary_search(&day).is_ok() {
            return false;
        }
        let pos = (x - MONDAY_ORIGIN).rem_euclid(WEEK);
        let i = self.week.partition_point(|&(_, end)| end <= pos);
        self.week.get(i).is_some_and(|&(start, _)| start <= pos)
    }

    /// `F(x)`: open time of the weekly pattern (ignoring holidays) in local
    /// time before `x`, counted from the pattern origin.
    fn pattern_before(&self, x: i128) -> i128 {
        let rel = x - MONDAY_ORIGIN;
        let weeks = rel.div_euclid(WEEK);
        let pos = rel.rem_euclid(WEEK);
        let i = self.week.partition_point(|&(_, end)| end <= pos);
        let within = match self.week.get(i) {
            Some(&(start, _)) => self.week_prefix[i] + (pos - start).max(0),
            None => self.weekly_total,
        };
        weeks * self.weekly_total + within
    }

    /// Smallest local `x` with `F(x) >= v`. Requires `weekly_total > 0`.
    fn pattern_reaching(&self, v: i128) -> i128 {
        // Week `q` holds the answer when q * total < v <= (q + 1) * total.
        let weeks = (v - 1).div_euclid(self.weekly_total);
        let rest = v - weeks * self.weekly_total;
        // The range where the running total reaches `rest`: the first `i`
        // whose cumulative end (`week_prefix[i + 1]`, or the weekly total
        // for the last range) is at least `rest`.
        let i = self.week_prefix[1..].partition_point(|&before| before < rest);
        MONDAY_ORIGIN + weeks * WEEK + self.week[i].0 + (rest - self.week_prefix[i])
    }

    /// `G(x)`: business time (pattern minus holidays) in local time before
    /// `x`, counted from the pattern origin. Monotone in `x`.
    fn open_before(&self, x: i128) -> i128 {
        let day = x.div_euclid(DAY) as i64;
        let k = self.holidays.partition_point(|&h| h < day);
        let mut closed = self.holiday_prefix[k];
        if self.holidays.get(k) == Some(&day) {
            closed += self.pattern_before(x) - self.pattern_before(i128::from(day) * DAY);
        }
        self.pattern_before(x) - closed
    }

    /// Smallest local `x` with `G(x) >= v`. Requires `weekly_total > 0`.
    fn first_reaching(&self, v: i128) -> i128 {
        // `G` is flat across a holiday, so the answer lies after every
        // holiday whose start is still short of `v` and no later than the
        // next one's start. In that stretch `G = F - holiday_prefix[j]`.
        let j = self.open_before_holiday.partition_point(|&g| g < v);
        self.pattern_reaching(v + self.holiday_prefix[j])
    }
}

/// A stretch of real time, in nanoseconds, over which business time is
/// known in one of two ways. See [`BusinessCalendar::walk`].
#[derive(Debug)]
enum Piece {
    /// `[start, end)` (`end` is `None` after the zone's last offset change),
    /// far enough from offset changes that every local date in it converts
    /// with one offset: open where `real + offset` (local time) is in the
    /// weekly pattern and not on a holiday.
    Shifted { start: i128, end: Option<i128>, offset: i128 },
    /// Up to `end`, around one or more offset changes: open exactly on
    /// `open`, the merged intervals of the local dates there, computed with
    /// jiff and clipped to the piece.
    Explicit { end: i128, open: Vec<(i128, i128)> },
}

/// Parses `HH:MM-HH:MM` into `[start, end)` seconds of the day.
fn parse_range(text: &str) -> Result<(u32, u32), &'static str> {
    let (start, end) = text.split_once('-').ok_or("expected HH:MM-HH:MM, e.g. 09:00-17:00")?;
    let start = parse_clock(start)?;
    let end = parse_clock(end)?;
    if start == 86_400 {
        return Err("24:00 is only allowed as an end");
    }
    if start >= end {
        return Err("start must be before end");
    }
    Ok((start, end))
}

/// Parses `HH:MM` (`00:00` to `24:00`) into seconds of the day.
fn parse_clock(text: &str) -> Result<u32, &'static str> {
    let bytes = text.as_bytes();
    let digit = |i: usize| match bytes.get(i) {
        Some(b @ b'0'..=b'9') => Ok(u32::from(b - b'0')),
        _ => Err("expected HH:MM-HH:MM, e.g. 09:00-17:00"),
    };
    if bytes.len() != 5 || bytes[2] != b':' {
        return Err("expected HH:MM-HH:MM, e.g. 09:00-17:00");
    }
    let hour = digit(0)? * 10 + digit(1)?;
    let minute = digit(3)? * 10 + digit(4)?;
    if minute > 59 {
        return Err("minutes must be 00-59");
    }
    match (hour, minute) {
        (24, 0) => Ok(86_400),
        (0..=23, _) => Ok(hour * 3_600 + minute * 60),
        _ => Err("hours must be 00-23 (or 24:00 as an end)"),
    }
}

/// Parses a strict `YYYY-MM-DD` date.
fn parse_date(text: &str) -> Result<Date, &'static str> {
    const FORMAT: &str = "expected YYYY-MM-DD";
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(FORMAT);
    }
    let number = |range: std::ops::Range<usize>| {
        bytes[range].iter().try_fold(0i16, |n, &b| match b {
            b'0'..=b'9' => Ok(n * 10 + i16::from(b - b'0')),
            _ => Err(FORMAT),
        })
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    // Month and day have two digits, so they fit in `i8`.
    Date::new(year, month as i8, day as i8).map_err(|_| "no such date")
}

/// Days from 1970-01-01 to `date` (negative before).
fn day_number(date: Date) -> i64 {
    date.duration_since(jiff::civil::date(1970, 1, 1)).as_secs() / 86_400
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use jiff::civil::{Date, DateTime};
    use jiff::tz::TimeZone;
    use jiff::{SignedDuration, Timestamp, ToSpan};
    use proptest::prelude::*;

    use super::{BusinessCalendar, CalendarConfig, CalendarError};

    const HOUR: u64 = 3_600;

    fn config(zone: &str, hours: &[(&str, &[&str])], holidays: &[&str]) -> CalendarConfig {
        CalendarConfig {
            time_zone: zone.to_owned(),
            hours: hours
                .iter()
                .map(|(day, ranges)| {
                    let ranges = ranges.iter().map(|r| (*r).to_owned()).collect();
                    ((*day).to_owned(), ranges)
                })
                .collect(),
            holidays: holidays.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    fn cal(zone: &str, hours: &[(&str, &[&str])], holidays: &[&str]) -> BusinessCalendar {
        BusinessCalendar::try_from_config("test", &config(zone, hours, holidays)).expect("valid calendar")
    }

    const WEEKDAYS_9_TO_5: &[(&str, &[&str])] = &[
        ("mon", &["09:00-17:00"]),
        ("tue", &["09:00-17:00"]),
        ("wed", &["09:00-17:00"]),
        ("thu", &["09:00-17:00"]),
        ("fri", &["09:00-17:00"]),
    ];

    /// Local wall-clock time in `zone` (compatible disambiguation).
    fn local(zone: &str, datetime: &str) -> Timestamp {
        let tz = jiff::tz::db().get(zone).unwrap();
        let dt: DateTime = datetime.parse().unwrap();
        dt.to_zoned(tz).unwrap().timestamp()
    }

    fn utc(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn days(n: i64) -> SignedDuration {
        SignedDuration::from_hours(24 * n)
    }

    // ---- config validation ----

    #[test]
    fn rejects_bad_config_with_named_values() {
        let cases: &[(CalendarConfig, &[&str])] = &[
            (config("Mars/Olympus", &[], &[]), &["\"ops\"", "Mars/Olympus"]),
            (config("", &[], &[]), &["time zone \"\""]),
            (config("UTC", &[("monday", &["09:00-17:00"])], &[]), &["\"monday\""]),
            (config("UTC", &[("Mon", &["09:00-17:00"])], &[]), &["\"Mon\""]),
            (config("UTC", &[("tue", &["9:00-17:00"])], &[]), &["tue", "9:00-17:00"]),
            (config("UTC", &[("tue", &["09:00-17:00 "])], &[]), &["tue"]),
            (config("UTC", &[("tue", &["09:00"])], &[]), &["\"09:00\""]),
            (config("UTC", &[("tue", &["09:60-17:00"])], &[]), &["minutes"]),
            (config("UTC", &[("tue", &["25:00-26:00"])], &[]), &["hours"]),
            (config("UTC", &[("tue", &["24:00-24:00"])], &[]), &["only allowed as an end"]),
            (config("UTC", &[("tue", &["23:00-24:01"])], &[]), &["hours"]),
            (config("UTC", &[("tue", &["17:00-09:00"])], &[]), &["before end"]),
            (config("UTC", &[("tue", &["09:00-09:00"])], &[]), &["before end"]),
            (
                config("UTC", &[("wed", &["13:00-17:00", "09:00-13:01"])], &[]),
                &["overlap", "wed", "09:00-13:01", "13:00-17:00"],
            ),
            (config("UTC", &[("wed", &["09:00-17:00", "09:00-17:00"])], &[]), &["overlap"]),
            (config("UTC", &[], &["2026-02-30"]), &["2026-02-30", "no such date"]),
            (config("UTC", &[], &["2026-2-3"]), &["YYYY-MM-DD"]),
            (config("UTC", &[], &["20261225"]), &["YYYY-MM-DD"]),
            (config("UTC", &[], &["2026-12-25T00:00"]), &["YYYY-MM-DD"]),
            (config("UTC", &[], &["+2026-1-25"]), &["YYYY-MM-DD"]),
        ];
        for (config, needles) in cases {
            let err =
                BusinessCalendar::try_from_config("ops", config).expect_err(&format!("{config:?} should be rejected"));
            let message = err.to_string();
            assert!(message.contains("\"ops\""), "{message}");
            for needle in *needles {
                assert!(message.contains(needle), "{message:?} lacks {needle:?}");
            }
        }
    }

    #[test]
    fn accepts_touching_ranges_24_00_ends_and_duplicate_holidays() {
        let c = cal(
            "Europe/Berlin",
            &[("mon", &["12:00-24:00", "00:00-12:00"]), ("tue", &[]), ("wed", &["09:00-12:00", "12:00-13:00"])],
            &["2026-12-25", "2026-12-25"],
        );
        let monday = local("Europe/Berlin", "2026-03-02T00:00");
        assert_eq!(c.business_seconds_between(monday, monday + days(7)), 24 * HOUR + 4 * HOUR);
    }

    #[test]
    fn config_rejects_unknown_keys_and_defaults_hours_and_holidays() {
        use serde::Deserialize;
        use serde::de::value::{Error, MapDeserializer};

        let only_zone = MapDeserializer::<_, Error>::new([("time_zone", "UTC")].into_iter());
        let parsed = CalendarConfig::deserialize(only_zone).expect("hours and holidays default");
        assert_eq!(parsed, config("UTC", &[], &[]));

        let typo = MapDeserializer::<_, Error>::new([("time_zone", "UTC"), ("holiday", "2026-12-25")].into_iter());
        let err = CalendarConfig::deserialize(typo).unwrap_err();
        assert!(err.to_string().contains("holiday"), "{err}");

        let no_zone = MapDeserializer::<_, Error>::new(std::iter::empty::<(&str, &str)>());
        assert!(CalendarConfig::deserialize(no_zone).is_err());
    }

    // ---- DESIGN.md examples ----

    #[test]
    fn deadline_on_closing_time_is_that_closing_time() {
        let c = cal("UTC", WEEKDAYS_9_TO_5, &[]);
        let mon_10 = utc("2026-03-02T10:00Z");
        assert_eq!(c.due(mon_10, 7 * HOUR).unwrap(), utc("2026-03-02T17:00Z"));
        assert_eq!(c.due(mon_10, 7 * HOUR + 1).unwrap(), utc("2026-03-03T09:00:01Z"));
    }

    #[test]
    fn start_outside_hours_counts_from_next_opening() {
        let c = cal("UTC", WEEKDAYS_9_TO_5, &[]);
        let cases = [
            ("2026-03-02T07:00Z", HOUR, "2026-03-02T10:00Z"),      // before opening
            ("2026-03-02T17:00Z", HOUR, "2026-03-03T10:00Z"),      // at closing
            ("2026-03-06T18:00Z", HOUR, "2026-03-09T10:00Z"),      // Friday evening
            ("2026-03-07T12:00Z", 8 * HOUR, "2026-03-09T17:00Z"),  // Saturday
            ("2026-03-02T09:00Z", 40 * HOUR, "2026-03-06T17:00Z"), // one full week
            ("2026-03-02T09:00Z", 41 * HOUR, "2026-03-09T10:00Z"),
        ];
        for (start, n, want) in cases {
            assert_eq!(c.due(utc(start), n).unwrap(), utc(want), "{start} + {n}s");
        }
    }

    #[test]
    fn zero_duration_returns_start_unchanged() {
        let c = cal("UTC", WEEKDAYS_9_TO_5, &[]);
        let saturday = utc("2026-03-07T12:34:56.789Z");
        assert_eq!(c.due(saturday, 0).unwrap(), saturday);
        let never = cal("UTC", &[], &[]);
        assert_eq!(never.due(saturday, 0).unwrap(), saturday);
    }

    #[test]
    fn split_days_skip_the_lunch_break() {
        let c = cal("UTC", &[("tue", &["09:00-12:00", "13:00-17:00"])], &[]);
        let tue = |t: &str| utc(&format!("2026-03-03T{t}Z"));
        assert_eq!(c.due(tue("11:00"), 2 * HOUR).unwrap(), tue("14:00"));
        assert_eq!(c.due(tue("11:00"), HOUR).unwrap(), tue("12:00"));
        assert_eq!(c.due(tue("12:30"), 1).unwrap(), tue("13:00:01"));
        assert_eq!(c.due(tue("09:00"), 7 * HOUR).unwrap(), tue("17:00"));
        assert_eq!(c.due(tue("09:00"), 7 * HOUR + 60).unwrap(), utc("2026-03-10T09:01Z"));
        assert_eq!(c.business_seconds_between(tue("10:00"), tue("14:00")), 3 * HOUR);
    }

    #[test]
    fn ranges_ending_at_24_00_run_into_the_next_day() {
        let c = cal("UTC", &[("mon", &["20:00-24:00"]), ("tue", &["00:00-02:00"])], &[]);
        let mon_23 = utc("2026-03-02T23:00Z");
        assert_eq!(c.due(mon_23, HOUR).unwrap(), utc("2026-03-03T00:00Z"));
        assert_eq!(c.due(mon_23, 2 * HOUR).unwrap(), utc("2026-03-03T01:00Z"));
        assert_eq!(c.due(mon_23, 3 * HOUR).unwrap(), utc("2026-03-03T02:00Z"));
        assert_eq!(c.due(mon_23, 3 * HOUR + 1).unwrap(), utc("2026-03-09T20:00:01Z"));
        assert!(c.is_open(utc("2026-03-02T23:59:59.999999999Z")));
        assert!(c.is_open(utc("2026-03-03T00:00Z")));
    }

    #[test]
    fn holidays_close_the_whole_local_day() {
        // 2026-12-25 is a Friday.
        let c = cal("America/New_York", WEEKDAYS_9_TO_5, &["2026-12-25"]);
        let ny = |t: &str| local("America/New_York", t);
        assert_eq!(c.due(ny("2026-12-24T16:00"), 2 * HOUR).unwrap(), ny("2026-12-28T10:00"));
        assert_eq!(c.due(ny("2026-12-24T16:00"), HOUR).unwrap(), ny("2026-12-24T17:00"));
        assert_eq!(c.due(ny("2026-12-25T10:00"), HOUR).unwrap(), ny("2026-12-28T10:00"));
        assert!(!c.is_open(ny("2026-12-25T12:00")));
        assert_eq!(c.next_open(ny("2026-12-25T12:00")), Some(ny("2026-12-28T09:00")));
        assert_eq!(c.business_seconds_between(ny("2026-12-21T00:00"), ny("2026-12-28T00:00")), 32 * HOUR);
        // The holiday is a local date, not a UTC one: Friday 19:00 New York
        // is already Saturday in UTC, and Thursday 20:00 is Friday in UTC.
        let h24 = cal("America/New_York", &[("thu", &["00:00-24:00"]), ("fri", &["00:00-24:00"])], &["2026-12-25"]);
        assert!(h24.is_open(ny("2026-12-24T23:59")));
        assert!(!h24.is_open(ny("2026-12-25T00:00")));
        assert!(!h24.is_open(ny("2026-12-25T23:59")));
    }

    #[test]
    fn consecutive_holidays_and_a_holiday_at_the_start() {
        let c = cal("UTC", WEEKDAYS_9_TO_5, &["2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01"]);
        assert_eq!(c.due(utc("2026-12-23T16:00Z"), 2 * HOUR).unwrap(), utc("2026-12-28T10:00Z"));
        // Mon..Wed of that week are 24 h; then the new year's holidays.
        assert_eq!(c.due(utc("2026-12-28T09:00Z"), 25 * HOUR).unwrap(), utc("2027-01-04T10:00Z"));
        assert_eq!(c.due(utc("2026-12-24T09:00Z"), 8 * HOUR).unwrap(), utc("2026-12-28T17:00Z"));
    }

    #[test]
    fn no_business_hours_is_an_error_not_a_hang() {
        let c = cal("Europe/Paris", &[("mon", &[])], &[]);
        let t = utc("2026-03-02T10:00Z");
        assert!(matches!(c.due(t, 1), Err(CalendarError::NeverOpen { .. })));
        assert_eq!(c.next_open(t), None);
        assert_eq!(c.business_seconds_between(t, t + days(1000)), 0);
        assert!(!c.is_open(t));
    }

    #[test]
    fn deadlines_past_year_9999_are_errors() {
        let c = cal("America/New_York", WEEKDAYS_9_TO_5, &[]);
        let t = utc("2026-03-02T10:00Z");
        assert!(matches!(c.due(t, u64::MAX), Err(CalendarError::OutOfRange { .. })));
        let end = utc("9999-12-27T00:00Z");
        assert!(matches!(c.due(end, 100 * HOUR), Err(CalendarError::OutOfRange { .. })));
        let always = BusinessCalendar::always_open();
        assert!(matches!(always.due(t, u64::MAX), Err(CalendarError::OutOfRange { .. })));
        assert!(c.due(utc("-009999-01-03T00:00Z"), 100 * HOUR).is_ok());
    }

    #[test]
    fn always_open_is_plain_addition() {
        let c = BusinessCalendar::always_open();
        assert_eq!(c.name(), "24x7");
        let t = utc("2026-03-08T06:59:59.5Z");
        assert_eq!(c.due(t, 90).unwrap(), utc("2026-03-08T07:01:29.5Z"));
        assert_eq!(c.due(t, 2_000 * HOUR).unwrap(), t + SignedDuration::from_hours(2_000));
        assert_eq!(c.business_seconds_between(t, t + days(3)), 3 * 24 * HOUR);
        assert_eq!(c.next_open(t), Some(t));
        assert!(c.is_open(t));
        // Any zone: every wall-clock instant is open, DST or not.
        let ny = cal(
            "America/New_York",
            &[
                ("mon", &["00:00-24:00"]),
                ("tue", &["00:00-24:00"]),
                ("wed", &["00:00-24:00"]),
                ("thu", &["00:00-24:00"]),
                ("fri", &["00:00-24:00"]),
                ("sat", &["00:00-24:00"]),
                ("sun", &["00:00-24:00"]),
            ],
            &[],
        );
        assert!(ny.always_open);
        assert_eq!(ny.due(t, 2_000 * HOUR).unwrap(), t + SignedDuration::from_hours(2_000));
    }

    #[test]
    fn sub_second_starts_keep_their_fraction_inside_hours() {
        let c = cal("UTC", WEEKDAYS_9_TO_5, &[]);
        let t = utc("2026-03-02T16:59:59.25Z");
        assert_eq!(c.due(t, 1).unwrap(), utc("2026-03-03T09:00:00.25Z"));
        assert_eq!(c.business_seconds_between(t, utc("2026-03-03T09:00:00.25Z")), 1);
        assert_eq!(c.business_seconds_between(t, utc("2026-03-03T09:00:00.2Z")), 0);
        // Outside hours the fraction is lost: counting starts at the opening.
        assert_eq!(c.due(utc("2026-03-02T08:00:00.5Z"), 1).unwrap(), utc("2026-03-02T09:00:01Z"));
    }

    #[test]
    fn next_open_and_is_open_at_edges() {
        let c = cal("UTC", WEEKDAYS_9_TO_5, &[]);
        assert!(c.is_open(utc("2026-03-02T09:00Z")));
        assert!(!c.is_open(utc("2026-03-02T17:00Z")));
        assert!(!c.is_open(utc("2026-03-02T08:59:59.999999999Z")));
        assert_eq!(c.next_open(utc("2026-03-02T09:30Z")), Some(utc("2026-03-02T09:30Z")));
        assert_eq!(c.next_open(utc("2026-03-02T17:00Z")), Some(utc("2026-03-03T09:00Z")));
        assert_eq!(c.next_open(utc("2026-03-06T17:00Z")), Some(utc("2026-03-09T09:00Z")));
    }

    // ---- DST ----

    #[test]
    fn new_york_spring_forward() {
        // 2026-03-08 (Sunday): 02:00 EST (07:00Z) becomes 03:00 EDT.
        let whole = cal("America/New_York", &[("sun", &["00:00-24:00"])], &[]);
        let sun = utc("2026-03-08T05:00Z");
        let mon = utc("2026-03-09T04:00Z");
        assert_eq!(whole.business_seconds_between(sun, mon), 23 * HOUR);
        assert_eq!(whole.due(sun, 23 * HOUR).unwrap(), mon);
        assert_eq!(whole.due(sun, 3 * HOUR).unwrap(), utc("2026-03-08T08:00Z"));
        assert_eq!(
            whole.business_seconds_between(
                local("America/New_York", "2026-03-02T00:00"),
                local("America/New_York", "2026-03-16T00:00")
            ),
            47 * HOUR
        );

        let early = cal("America/New_York", &[("sun", &["01:00-03:00"])], &[]);
        assert_eq!(early.business_seconds_between(sun, mon), HOUR);
        assert_eq!(early.due(utc("2026-03-08T06:30Z"), HOUR).unwrap(), utc("2026-03-15T05:30Z"));
        assert_eq!(early.due(utc("2026-03-08T06:30Z"), HOUR / 2).unwrap(), utc("2026-03-08T07:00Z"));

        // A time inside the gap moves forward by the gap: 02:30 is 03:30 EDT.
        let gap = cal("America/New_York", &[("sun", &["02:30-04:00"])], &[]);
        assert_eq!(gap.business_seconds_between(sun, mon), HOUR / 2);
        assert_eq!(gap.next_open(sun), Some(utc("2026-03-08T07:30Z")));
        assert!(!gap.is_open(utc("2026-03-08T07:29:59Z")));
        assert!(gap.is_open(utc("2026-03-08T07:30Z")));
        assert_eq!(gap.due(sun, HOUR / 2).unwrap(), utc("2026-03-08T08:00Z"));
        let gap_end = cal("America/New_York", &[("sun", &["01:00-02:30"])], &[]);
        assert_eq!(gap_end.business_seconds_between(sun, mon), 90 * 60);
        assert_eq!(gap_end.due(sun, 90 * 60).unwrap(), utc("2026-03-08T07:30Z"));
        // 01:30 EST to 03:00 EDT.
        let across = cal("America/New_York", &[("sun", &["01:30-03:00"])], &[]);
        assert_eq!(across.business_seconds_between(sun, mon), HOUR / 2);
        assert_eq!(across.due(sun, HOUR / 2).unwrap(), utc("2026-03-08T07:00Z"));
        // Wholly inside the gap: 03:00-03:30 EDT.
        let inside = cal("America/New_York", &[("sun", &["02:00-02:30"])], &[]);
        assert_eq!(inside.business_seconds_between(sun, mon), HOUR / 2);
        assert_eq!(inside.next_open(sun), Some(utc("2026-03-08T07:00Z")));
        // 02:30 moves to 03:30 EDT, after 03:00 EDT: empty that day.
        let empty = cal("America/New_York", &[("sun", &["02:30-03:00"])], &[]);
        assert_eq!(empty.business_seconds_between(sun, mon), 0);
        assert_eq!(empty.next_open(sun), Some(utc("2026-03-15T06:30Z")));
        // Touching ranges stay joined across the gap; split ranges whose
        // converted intervals overlap count the overlap once.
        let joined = cal("America/New_York", &[("sun", &["01:00-02:30", "02:30-04:00"])], &[]);
        assert_eq!(joined.business_seconds_between(sun, mon), 2 * HOUR);
        let overlap = cal("America/New_York", &[("sun", &["01:00-02:45", "03:00-04:00"])], &[]);
        // [06:00Z, 07:45Z) and [07:00Z, 08:00Z).
        assert_eq!(overlap.business_seconds_between(sun, mon), 2 * HOUR);
        assert_eq!(overlap.due(sun, 2 * HOUR).unwrap(), utc("2026-03-08T08:00Z"));
    }

    #[test]
    fn new_york_fall_back() {
        // 2026-11-01 (Sunday): 02:00 EDT (06:00Z) becomes 01:00 EST.
        let sun = utc("2026-11-01T04:00Z");
        let mon = utc("2026-11-02T05:00Z");
        let whole = cal("America/New_York", &[("sun", &["00:00-24:00"])], &[]);
        assert_eq!(whole.business_seconds_between(sun, mon), 25 * HOUR);
        assert_eq!(whole.due(sun, 25 * HOUR).unwrap(), mon);

        let early = cal("America/New_York", &[("sun", &["01:00-03:00"])], &[]);
        assert_eq!(early.business_seconds_between(sun, mon), 3 * HOUR);
        assert_eq!(early.next_open(sun), Some(utc("2026-11-01T05:00Z")));
        assert_eq!(early.due(utc("2026-11-01T05:00Z"), 3 * HOUR).unwrap(), utc("2026-11-01T08:00Z"));

        // 01:30 is ambiguous and takes the earlier instant (EDT); 02:00 is
        // 02:00 EST: the range runs 05:30Z-07:00Z.
        let fold = cal("America/New_York", &[("sun", &["01:30-02:00"])], &[]);
        assert_eq!(fold.business_seconds_between(sun, mon), 90 * 60);
        assert_eq!(fold.next_open(sun), Some(utc("2026-11-01T05:30Z")));
        assert_eq!(fold.due(utc("2026-11-01T05:45Z"), HOUR / 2).unwrap(), utc("2026-11-01T06:15Z"));
        assert!(fold.is_open(utc("2026-11-01T06:15Z")));
        assert!(!fold.is_open(utc("2026-11-01T07:00Z")));

        // Closing inside the fold closes at the earlier 01:30 (EDT) and
        // does not reopen when the wall clock repeats 01:00-01:30.
        let closing = cal("America/New_York", &[("sun", &["00:00-01:30"])], &[]);
        assert_eq!(closing.business_seconds_between(sun, mon), 90 * 60);
        assert!(closing.is_open(utc("2026-11-01T05:29:59Z")));
        assert!(!closing.is_open(utc("2026-11-01T05:30Z")));
        assert!(!closing.is_open(utc("2026-11-01T06:00Z")));
        assert_eq!(closing.due(sun, 90 * 60).unwrap(), utc("2026-11-01T05:30Z"));
        // The next Sunday is EST: 00:00 is 05:00Z.
        assert_eq!(closing.due(sun, 90 * 60 + 1).unwrap(), utc("2026-11-08T05:00:01Z"));

        let gap_in_fall = cal("America/New_York", &[("sun", &["02:30-04:00"])], &[]);
        assert_eq!(gap_in_fall.business_seconds_between(sun, mon), 90 * 60);
        let in_fold = cal("America/New_York", &[("sun", &["01:00-01:30"])], &[]);
        assert_eq!(in_fold.business_seconds_between(sun, mon), HOUR / 2);
        assert_eq!(in_fold.next_open(sun), Some(utc("2026-11-01T05:00Z")));
    }

    #[test]
    fn london_changes() {
        // 2026-03-29: 01:00 GMT -> 02:00 BST; 2026-10-25: 02:00 BST -> 01:00 GMT.
        let whole = cal("Europe/London", &[("sun", &["00:00-24:00"])], &[]);
        assert_eq!(whole.business_seconds_between(utc("2026-03-29T00:00Z"), utc("2026-03-29T23:00Z")), 23 * HOUR);
        assert_eq!(whole.business_seconds_between(utc("2026-10-24T23:00Z"), utc("2026-10-26T00:00Z")), 25 * HOUR);

        let office = cal("Europe/London", WEEKDAYS_9_TO_5, &[]);
        assert_eq!(office.due(utc("2026-03-27T16:00Z"), 2 * HOUR).unwrap(), utc("2026-03-30T09:00Z"));
        assert_eq!(office.due(utc("2026-10-23T15:00Z"), 2 * HOUR).unwrap(), utc("2026-10-26T10:00Z"));
        assert_eq!(office.business_seconds_between(utc("2026-03-23T00:00Z"), utc("2026-04-06T00:00Z")), 80 * HOUR);
    }

    #[test]
    fn sydney_changes() {
        // 2026-04-05: 03:00 AEDT -> 02:00 AEST; 2026-10-04: 02:00 AEST -> 03:00 AEDT.
        let whole = cal("Australia/Sydney", &[("sun", &["00:00-24:00"])], &[]);
        let sun = local("Australia/Sydney", "2026-04-05T00:00");
        assert_eq!(sun, utc("2026-04-04T13:00Z"));
        assert_eq!(whole.business_seconds_between(sun, utc("2026-04-05T14:00Z")), 25 * HOUR);
        assert_eq!(whole.business_seconds_between(utc("2026-10-03T14:00Z"), utc("2026-10-04T13:00Z")), 23 * HOUR);

        let fold = cal("Australia/Sydney", &[("sun", &["02:00-03:00"])], &[]);
        assert_eq!(fold.business_seconds_between(sun, sun + days(1)), 2 * HOUR);
        assert_eq!(fold.due(sun, 2 * HOUR).unwrap(), utc("2026-04-04T17:00Z"));
        let gap = cal("Australia/Sydney", &[("sun", &["02:00-03:00"])], &[]);
        assert_eq!(gap.business_seconds_between(utc("2026-10-03T14:00Z"), utc("2026-10-04T13:00Z")), 0);
        assert_eq!(gap.due(utc("2026-10-03T14:00Z"), 1).unwrap(), utc("2026-10-10T15:00:01Z"));
    }

    #[test]
    fn kolkata_half_hour_offset() {
        let c = cal("Asia/Kolkata", &[("mon", &["09:00-17:00"])], &[]);
        let mon = utc("2026-03-02T03:30Z");
        assert_eq!(local("Asia/Kolkata", "2026-03-02T09:00"), mon);
        assert_eq!(c.due(mon, 8 * HOUR).unwrap(), utc("2026-03-02T11:30Z"));
        assert_eq!(c.due(mon, 8 * HOUR + 1).unwrap(), utc("2026-03-09T03:30:01Z"));
        assert_eq!(c.due(utc("2026-03-01T23:00Z"), 1).unwrap(), utc("2026-03-02T03:30:01Z"));
        assert_eq!(c.business_seconds_between(utc("2026-01-01T00:00Z"), utc("2027-01-01T00:00Z")), 52 * 8 * HOUR);
    }

    // ---- references ----

    /// A calendar as plain data, interpreted independently of the module:
    /// ranges in minutes of the day, Monday first.
    #[derive(Debug, Clone)]
    struct Spec {
        zone: &'static str,
        days: [Vec<(u32, u32)>; 7],
        holidays: Vec<Date>,
    }

    impl Spec {
        fn build(&self) -> BusinessCalendar {
            let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
            let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
            let config = CalendarConfig {
                time_zone: self.zone.to_owned(),
                hours: names
                    .iter()
                    .zip(&self.days)
                    .map(|(name, ranges)| {
                        let ranges = ranges.iter().map(|&(s, e)| format!("{}-{}", hm(s), hm(e))).collect();
                        ((*name).to_owned(), ranges)
                    })
                    .collect(),
                holidays: self.holidays.iter().map(|d| d.to_string()).collect(),
            };
            BusinessCalendar::try_from_config("spec", &config).expect("generated config is valid")
        }

        fn naive(&self) -> Naive {
            Naive {
                tz: jiff::tz::db().get(self.zone).unwrap(),
                days: self.days.clone(),
                holidays: self.holidays.iter().copied().collect(),
            }
        }
    }

    /// The specification, executed literally: each non-holiday local date
    /// opens `[instant(date, start), instant(date, end))` for each range of
    /// its weekday, converting with jiff's default (compatible)
    /// disambiguation, `24:00` being the next date's `00:00`; an instant is
    /// open when it is inside one of these intervals.
    struct Naive {
        tz: TimeZone,
        days: [Vec<(u32, u32)>; 7],
        holidays: HashSet<Date>,
    }

    /// Sorted, disjoint open intervals.
    type OpenSet = Vec<(Timestamp, Timestamp)>;

    impl Naive {
        /// The open intervals of one local date (empty ones left out),
        /// straight from the rule.
        fn intervals(&self, date: Date) -> Vec<(Timestamp, Timestamp)> {
            if self.holidays.contains(&date) {
                return Vec::new();
            }
            let at = |minute: u32| {
                let (date, minute) = if minute == 1440 { (date.tomorrow().unwrap(), 0) } else { (date, minute) };
                let dt = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
                // `to_zoned` disambiguates with `Compatible`.
                dt.to_zoned(self.tz.clone()).unwrap().timestamp()
            };
            let weekday = date.weekday().to_monday_zero_offset() as usize;
            self.days[weekday].iter().map(|&(s, e)| (at(s), at(e))).filter(|(s, e)| s < e).collect()
        }

        /// The union of the intervals of every local date from two days
        /// before `from`'s to two days after `to`'s (a date's intervals lie
        /// within a day or so of its local span), merged.
        fn open_set(&self, from: Timestamp, to: Timestamp) -> OpenSet {
            let mut date = self.tz.to_datetime(from).date().checked_sub(2.days()).unwrap();
            let last = self.tz.to_datetime(to).date().checked_add(2.days()).unwrap();
            let mut all = Vec::new();
            while date <= last {
                all.extend(self.intervals(date));
                date = date.tomorrow().unwrap();
            }
            all.sort();
            let mut union: OpenSet = Vec::new();
            for (s, e) in all {
                match union.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => union.push((s, e)),
                }
            }
            union
        }

        fn is_open(&self, t: Timestamp) -> bool {
            inside(&self.open_set(t, t), t)
        }

        /// Whole-second instants only. Steps a second at a time, or a minute
        /// at a time from minute-aligned instants: every boundary, offset
        /// and transition of the zones used is minute-aligned, so a whole
        /// UTC minute is either all open or all closed.
        fn step(&self, t: Timestamp, wanted: u64) -> i64 {
            if t.as_second() % 60 == 0 && wanted >= 60 { 60 } else { 1 }
        }

        /// Due time by walking; `None` if not reached within `limit`.
        fn due(&self, start: Timestamp, n: u64, limit: SignedDuration) -> Option<Timestamp> {
            if n == 0 {
                return Some(start);
            }
            let open = self.open_set(start, start + limit);
            let (mut t, mut left) = (start, n);
            while t < start + limit {
                let step = self.step(t, left);
                if inside(&open, t) {
                    if left <= step as u64 {
                        return Some(t + SignedDuration::from_secs(left as i64));
                    }
                    left -= step as u64;
                }
                t += SignedDuration::from_secs(step);
            }
            None
        }

        fn between(&self, a: Timestamp, b: Timestamp) -> u64 {
            let open = self.open_set(a, b);
            let (mut t, mut total) = (a, 0);
            while t < b {
                let remaining = b.duration_since(t).as_secs() as u64;
                let step = self.step(t, remaining);
                if inside(&open, t) {
                    total += step as u64;
                }
                t += SignedDuration::from_secs(step);
            }
            total
        }
    }

    fn inside(open: &OpenSet, t: Timestamp) -> bool {
        let i = open.partition_point(|&(_, e)| e <= t);
        open.get(i).is_some_and(|&(s, _)| s <= t)
    }

    /// Reference for long spans: the union of every date's intervals from
    /// the rule, walked interval by interval.
    fn day_by_day_due(spec: &Spec, start: Timestamp, n: u64) -> Timestamp {
        let union = spec.naive().open_set(start, start + days(3 * 366));
        let mut left = i64::try_from(n).unwrap();
        for (s, e) in union {
            let s = s.max(start);
            if e <= s {
                continue;
            }
            let len = e.duration_since(s).as_secs();
            if len >= left {
                return s + SignedDuration::from_secs(left);
            }
            left -= len;
        }
        panic!("not reached within three years");
    }

    fn weekdays(ranges: &[(u32, u32)]) -> [Vec<(u32, u32)>; 7] {
        std::array::from_fn(|d| if d < 5 { ranges.to_vec() } else { Vec::new() })
    }

    #[test]
    fn two_thousand_hours_match_a_day_by_day_walk() {
        let holidays =
            ["2026-01-19", "2026-05-25", "2026-07-03", "2026-09-07", "2026-11-26", "2026-12-25", "2027-01-01"]
                .map(|d| d.parse::<Date>().unwrap())
                .to_vec();
        let specs = [
            Spec { zone: "America/New_York", days: weekdays(&[(540, 720), (780, 1020)]), holidays: holidays.clone() },
            Spec { zone: "Australia/Sydney", days: weekdays(&[(480, 1080)]), holidays: holidays.clone() },
            Spec {
                zone: "Europe/London",
                days: std::array::from_fn(|d| if d == 6 { vec![(0, 150)] } else { vec![(60, 180), (1200, 1440)] }),
                holidays,
            },
        ];
        for spec in specs {
            let c = spec.build();
            for start in ["2026-01-05T14:00:07Z", "2026-03-07T23:59:59Z", "2026-10-03T15:30:00Z"] {
                let start = utc(start);
                for n in [2_000 * HOUR, 2_000 * HOUR + 17, 1_234 * HOUR + 59] {
                    let due = c.due(start, n).unwrap();
                    assert_eq!(due, day_by_day_due(&spec, start, n), "{} {start} + {n}", spec.zone);
                    assert_eq!(c.business_seconds_between(start, due), n);
                }
            }
        }
    }

    #[test]
    fn unusual_zones_match_the_rule_around_their_changes() {
        // A skipped day (Apia, 2011-12-30), half-hour DST (Lord Howe), a
        // two-hour DST (Troll), changes at midnight (Sao Paulo, Havana),
        // Tehran's half-hour offset, Dublin's negative DST.
        let zones = [
            "Pacific/Apia",
            "Australia/Lord_Howe",
            "Antarctica/Troll",
            "America/Sao_Paulo",
            "America/Havana",
            "Asia/Tehran",
            "Europe/Dublin",
        ];
        let awkward = |d: usize| match d {
            0 => vec![(0, 30), (90, 150), (1380, 1440)],
            3 => vec![(0, 1440)],
            4 => vec![(30, 60), (60, 1410)],
            5 => vec![],
            _ => vec![(0, 90), (120, 180), (1410, 1440)],
        };
        for zone in zones {
            let tz = jiff::tz::db().get(zone).unwrap();
            let changes: Vec<Timestamp> =
                tz.following(utc("2011-06-01T00:00Z")).take(3).map(|tr| tr.timestamp()).collect();
            let specs = [
                Spec { zone, days: std::array::from_fn(awkward), holidays: Vec::new() },
                Spec {
                    zone,
                    days: std::array::from_fn(|d| if d == 2 { vec![] } else { vec![(0, 1440)] }),
                    holidays: vec![tz.to_datetime(changes[0]).date()],
                },
            ];
            for spec in &specs {
                let c = spec.build();
                let naive = spec.naive();
                for &change in &changes {
                    let a = change - days(4);
                    let b = change + days(4);
                    assert_eq!(c.business_seconds_between(a, b), naive.between(a, b), "{zone} around {change}");
                    let open = naive.open_set(a, b);
                    let mut t = a;
                    while t < b {
                        assert_eq!(c.is_open(t), inside(&open, t), "{zone} at {t}");
                        t += SignedDuration::from_mins(15);
                    }
                    for n in [1, HOUR, 30 * HOUR] {
                        let due = c.due(a, n).unwrap();
                        assert_eq!(c.business_seconds_between(a, due), n, "{zone} {a} + {n}");
                        if let Some(want) = naive.due(a, n, days(30)) {
                            assert_eq!(due, want, "{zone} {a} + {n}");
                        }
                    }
                }
            }
        }
    }

    // ---- properties ----

    const ZONES: [&str; 5] = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"];

    /// 2026 dates at or next to the DST changes of the zones above.
    const CHANGE_DATES: [&str; 6] =
        ["2026-03-08", "2026-03-29", "2026-04-05", "2026-10-04", "2026-10-25", "2026-11-01"];

    fn boundary() -> impl Strategy<Value = u32> {
        // Bias towards midnight, the DST hours and office hours.
        prop_oneof![
            prop::sample::select(vec![0, 60, 90, 120, 150, 180, 210, 240, 540, 720, 780, 1020, 1439, 1440]),
            // Inside the gaps and folds of the zones above (01:00-03:00).
            (61..180u32),
            0..=1440u32,
        ]
    }

    fn day_ranges() -> impl Strategy<Value = Vec<(u32, u32)>> {
        (prop::collection::vec(boundary(), 0..6), prop::collection::vec(any::<bool>(), 6)).prop_map(
            |(mut cuts, keep)| {
                cuts.sort_unstable();
                cuts.dedup();
                // Consecutive cuts make ranges, some touching each other.
                cuts.windows(2).zip(keep).filter(|(_, k)| *k).map(|(w, _)| (w[0], w[1])).collect()
            },
        )
    }

    /// The change dates of `zone` among [`CHANGE_DATES`] (all of them for a
    /// zone without changes, as plain neighbouring dates).
    fn own_change_dates(zone: &str) -> Vec<&'static str> {
        let own: &[&str] = match zone {
            "America/New_York" => &["2026-03-08", "2026-11-01"],
            "Europe/London" => &["2026-03-29", "2026-10-25"],
            "Australia/Sydney" => &["2026-04-05", "2026-10-04"],
            _ => &CHANGE_DATES,
        };
        own.to_vec()
    }

    fn near(dates: Vec<&'static str>) -> impl Strategy<Value = Date> {
        let shift = prop_oneof![-1..=1i64, -8..=8i64];
        (prop::sample::select(dates), shift)
            .prop_map(|(d, shift)| d.parse::<Date>().unwrap().checked_add(shift.days()).unwrap())
    }

    fn near_change_date() -> impl Strategy<Value = Date> {
        near(CHANGE_DATES.to_vec())
    }

    fn spec() -> impl Strategy<Value = Spec> {
        let days = prop::array::uniform7(day_ranges());
        let holidays = prop::collection::vec(near_change_date(), 0..4);
        (prop::sample::select(ZONES.to_vec()), days, holidays)
            .prop_map(|(zone, days, holidays)| Spec { zone, days, holidays })
            .prop_filter("some business hours", |s| s.days.iter().any(|d| !d.is_empty()))
    }

    /// A whole-second instant, mostly near a DST change of `zone` (or of
    /// any of the zones), sometimes anywhere in 2026.
    fn start_for(zone: &'static str) -> impl Strategy<Value = Timestamp> {
        let anchor = prop_oneof![
            3 => near(own_change_dates(zone)),
            1 => near_change_date(),
            1 => (0..365i64).prop_map(|d| jiff::civil::date(2026, 1, 1).checked_add(d.days()).unwrap()),
        ];
        let within = prop_oneof![
            0..2 * 86_400i64,
            (0..96i64).prop_map(|k| k * 1_800),
            (0..96i64, -1..=1i64).prop_map(|(k, j)| k * 1_800 + j),
        ];
        (anchor, within).prop_map(|(date, secs)| {
            let midnight_utc = date.to_zoned(TimeZone::UTC).unwrap().timestamp();
            midnight_utc + SignedDuration::from_secs(secs)
        })
    }

    /// A calendar and an instant near one of its zone's changes.
    fn spec_and_start() -> impl Strategy<Value = (Spec, Timestamp)> {
        spec().prop_flat_map(|spec| {
            let zone = spec.zone;
            (Just(spec), start_for(zone))
        })
    }

    fn duration() -> impl Strategy<Value = u64> {
        prop_oneof![
            prop::sample::select(vec![0, 1, 59, 60, 61, 1_800, 3_600, 86_400]),
            0..=4 * 3_600u64,
            0..=3 * 86_400u64,
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn due_matches_naive_walk((spec, start) in spec_and_start(), n in duration()) {
            let c = spec.build();
            let naive = spec.naive();
            let due = c.due(start, n).unwrap();
            // Sparse calendars may need a long walk; skip those, not fail.
            if let Some(want) = naive.due(start, n, SignedDuration::from_hours(24 * 60)) {
                prop_assert_eq!(due, want);
            }
            prop_assert_eq!(c.business_seconds_between(start, due), n);
            if n > 0 {
                prop_assert!(c.is_open(due - SignedDuration::from_secs(1)));
                prop_assert!(due > start);
            }
        }

        #[test]
        fn between_matches_naive_walk(
            (spec, a) in spec_and_start(),
            len in prop_oneof![0..=7_200i64, 0..=5 * 86_400i64],
        ) {
            let c = spec.build();
            let b = a + SignedDuration::from_secs(len);
            prop_assert_eq!(c.business_seconds_between(a, b), spec.naive().between(a, b));
            prop_assert_eq!(c.business_seconds_between(b, a), 0);
        }

        #[test]
        fn is_open_and_next_open_match_naive((spec, t) in spec_and_start()) {
            let c = spec.build();
            let naive = spec.naive();
            prop_assert_eq!(c.is_open(t), naive.is_open(t));
            let next = c.next_open(t).unwrap();
            prop_assert!(next >= t);
            prop_assert!(naive.is_open(next));
            if next > t {
                // Closed all the way to `next`: no business time in between.
                prop_assert_eq!(c.business_seconds_between(t, next), 0);
                prop_assert!(!naive.is_open(next - SignedDuration::from_secs(1)));
            }
        }

        #[test]
        fn round_trip_holds_for_any_start_and_long_targets(
            (spec, start) in spec_and_start(),
            n in 0..=5_000 * 3_600u64,
            nanos in 0..1_000_000_000i64,
        ) {
            let c = spec.build();
            let start = start + SignedDuration::from_nanos(nanos);
            let due = c.due(start, n).unwrap();
            prop_assert_eq!(c.business_seconds_between(start, due), n);
            if n > 0 {
                // Earliest such instant: one nanosecond earlier is short.
                prop_assert_eq!(c.business_seconds_between(start, due - SignedDuration::from_nanos(1)), n - 1);
            }
        }
    }
}
