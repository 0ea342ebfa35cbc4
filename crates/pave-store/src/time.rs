//! Time as the store keeps it: UTC, RFC 3339, fixed microsecond precision, so
//! that text order is time order on both backends.

use jiff::Timestamp;

/// The current time, truncated to what the store keeps (microseconds).
pub fn now() -> Timestamp {
    let now = Timestamp::now();
    // Truncation cannot fail for a time between year 1 and 9999.
    Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
}

/// Formats a time the way every table stores it: `2026-11-23T20:23:00.000000Z`.
pub fn format_time(time: Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses a stored (or user-given RFC 3339) time.
pub fn parse_time(text: &str) -> Result<Timestamp, jiff::Error> {
    text.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_sort_as_text_and_round_trip() {
        let early: Timestamp = "2026-01-02T03:04:05.5Z".parse().unwrap();
        let late: Timestamp = "2026-01-02T03:04:05.123456Z".parse().unwrap();
        let (a, b) = (format_time(late), format_time(early));
        assert_eq!(a, "2026-01-02T03:04:05.123456Z");
        assert_eq!(b, "2026-01-02T03:04:05.500000Z");
        assert!(a < b);
        assert_eq!(parse_time(&a).unwrap(), late);
    }
}
