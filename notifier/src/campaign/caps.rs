//! Frequency caps and quiet hours: the two reasons a targeted installation is not sent
//! to even though a campaign matched.
//!
//! Caps count sends per (campaign, installation) over a sliding hour and day. State is
//! bounded: each installation keeps at most `per_day` timestamps from the last 24
//! hours, and [`CapState::evict`] drops installations with none left. It is rebuilt
//! from `planned` delivery records on restart.
//!
//! Quiet hours are a local-time window (`23:00`–`08:00`, may cross midnight) at a fixed
//! UTC offset (`+01:00`) per campaign or per venue.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const MINUTE_MS: i64 = 60_000;

/// A fixed offset from UTC, in minutes (`+01:00`, `-05:30`, `Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UtcOffset(pub i32);

impl UtcOffset {
    /// Local minute of the day (0..1440) at `time_ms`.
    pub fn minute_of_day(self, time_ms: i64) -> i64 {
        let local = time_ms + i64::from(self.0) * MINUTE_MS;
        local.rem_euclid(DAY_MS) / MINUTE_MS
    }

    /// `HH:MM` local time at `time_ms`.
    pub fn local_hhmm(self, time_ms: i64) -> String {
        let m = self.minute_of_day(time_ms);
        format!("{:02}:{:02}", m / 60, m % 60)
    }
}

impl FromStr for UtcOffset {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "Z" || s == "UTC" {
            return Ok(Self(0));
        }
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return Err(format!("UTC offset {s:?} must look like +01:00 or -05:30")),
        };
        let minutes = parse_hhmm(rest)
            .map_err(|_| format!("UTC offset {s:?} must look like +01:00 or -05:30"))?;
        if minutes > 14 * 60 {
            return Err(format!("UTC offset {s:?} is beyond ±14:00"));
        }
        Ok(Self(sign * minutes))
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let m = self.0.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

impl Serialize for UtcOffset {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UtcOffset {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Minutes since midnight of `HH:MM` (00:00..=23:59).
pub fn parse_hhmm(s: &str) -> Result<i32, String> {
    let err = || format!("time {s:?} must look like HH:MM (00:00 to 23:59)");
    let (h, m) = s.split_once(':').ok_or_else(err)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(err());
    }
    let h: i32 = h.parse().map_err(|_| err())?;
    let m: i32 = m.parse().map_err(|_| err())?;
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return Err(err());
    }
    Ok(h * 60 + m)
}

/// A local-time window in which a campaign sends nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Local start, `HH:MM` (inclusive).
    pub start: String,
    /// Local end, `HH:MM` (exclusive); before `start` means it crosses midnight.
    pub end: String,
}

impl QuietHours {
    /// Checks both times parse.
    pub fn validate(&self) -> Result<(), String> {
        parse_hhmm(&self.start)?;
        parse_hhmm(&self.end)?;
        Ok(())
    }

    /// True when `time_ms` falls inside the window at `offset`.
    pub fn contains(&self, time_ms: i64, offset: UtcOffset) -> bool {
        let (Ok(start), Ok(end)) = (parse_hhmm(&self.start), parse_hhmm(&self.end)) else {
            return false;
        };
        let (start, end) = (i64::from(start), i64::from(end));
        let m = offset.minute_of_day(time_ms);
        if start <= end {
            start <= m && m < end
        } else {
            m >= start || m < end
        }
    }
}

/// Sends per hour and per day allowed to one installation by one campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    /// At most this many in any 60 minutes (none: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_hour: Option<u32>,
    /// At most this many in any 24 hours (none: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<u32>,
}

/// Which cap stopped a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapHit {
    /// The hourly cap.
    Hour,
    /// The daily cap.
    Day,
}

impl CapHit {
    /// The suppression reason written to delivery records.
    pub fn reason(self) -> &'static str {
        match self {
            CapHit::Hour => "frequency_cap_hour",
            CapHit::Day => "frequency_cap_day",
        }
    }
}

/// Recent send times per (campaign, installation).
#[derive(Debug, Default)]
pub struct CapState {
    sends: HashMap<(String, String), VecDeque<i64>>,
}

impl CapState {
    /// Would one more send at `now_ms` break `caps`?
    pub fn check(
        &mut self,
        campaign: &str,
        installation: &str,
        caps: Caps,
        now_ms: i64,
    ) -> Option<CapHit> {
        if caps.per_hour.is_none() && caps.per_day.is_none() {
            return None;
        }
        let key = (campaign.to_owned(), installation.to_owned());
        let times = self.sends.get_mut(&key)?;
        while times.front().is_some_and(|&t| t <= now_ms - DAY_MS) {
            times.pop_front();
        }
        let day = times.len();
        let hour = times.iter().filter(|&&t| t > now_ms - HOUR_MS).count();
        if caps.per_hour.is_some_and(|cap| hour >= cap as usize) {
            return Some(CapHit::Hour);
        }
        if caps.per_day.is_some_and(|cap| day >= cap as usize) {
            return Some(CapHit::Day);
        }
        None
    }

    /// Counts a send at `time_ms` (kept sorted; at most `keep` entries kept).
    pub fn record(&mut self, campaign: &str, installation: &str, time_ms: i64, keep: usize) {
        let times = self
            .sends
            .entry((campaign.to_owned(), installation.to_owned()))
            .or_default();
        let at = times.partition_point(|&t| t <= time_ms);
        times.insert(at, time_ms);
        while times.len() > keep.max(1) {
            times.pop_front();
        }
    }

    /// Drops send times older than a day and installations with none left.
    pub fn evict(&mut self, now_ms: i64) {
        self.sends.retain(|_, times| {
            while times.front().is_some_and(|&t| t <= now_ms - DAY_MS) {
                times.pop_front();
            }
            !times.is_empty()
        });
    }

    /// How many (campaign, installation) pairs are tracked.
    pub fn len(&self) -> usize {
        self.sends.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.sends.is_empty()
    }
}

#[cfg(test)]
#[path = "caps_tests.rs"]
mod tests;
