//! What `GET /__sandbox/stats` reports: the API requests received since the start or the last
//! reset, how many of them were answered 429, and the count per `METHOD /path`. The control API
//! is not counted.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Stats {
    /// Every API request received, those answered 429 included (what the clients sent).
    requests: u64,
    /// The requests answered 429, by the rate limit, a fault or a mocked `RATE_LIMIT_REACHED`.
    rate_limited: u64,
    /// Requests per `METHOD /path`.
    by_route: BTreeMap<String, u64>,
}

impl Stats {
    /// One request to `target` (`METHOD /path`) came in.
    pub(crate) fn received(&mut self, target: String) {
        self.requests += 1;
        *self.by_route.entry(target).or_insert(0) += 1;
    }

    /// A request already counted was answered 429.
    pub(crate) fn rate_limited(&mut self) {
        self.rate_limited += 1;
    }

    pub(crate) fn clear(&mut self) {
        *self = Stats::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_is_the_issue_s() {
        let mut s = Stats::default();
        s.received("GET /a".into());
        s.received("GET /a".into());
        s.received("POST /b".into());
        s.rate_limited();
        assert_eq!(
            serde_json::to_value(&s).expect("json"),
            serde_json::json!({ "requests": 3, "rate_limited": 1, "by_route": { "GET /a": 2, "POST /b": 1 } })
        );
        s.clear();
        assert_eq!(s, Stats::default());
    }
}
