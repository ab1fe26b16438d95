//! The one timestamp text shape stored in SQLite: `2026-11-20T10:00:00Z` (sortable as text).

use chrono::{DateTime, SecondsFormat, Utc};

pub(crate) fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|d| d.with_timezone(&Utc))
}
