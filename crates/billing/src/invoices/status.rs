//! Where a cached invoice stands: the gateway's word for it, or `closed` when the gateway no
//! longer knows it.

use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// A cached invoice's status. Stored (and serialised) as its lower-case word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(rename_all = "lowercase")]
#[ts(export)]
pub enum InvoiceStatus {
    Outstanding,
    Paid,
    Cancelled,
    /// The gateway answers "Invoice not found" for it (it was outstanding in the cache).
    Closed,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 4] =
        [InvoiceStatus::Outstanding, InvoiceStatus::Paid, InvoiceStatus::Cancelled, InvoiceStatus::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Outstanding => "outstanding",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Cancelled => "cancelled",
            InvoiceStatus::Closed => "closed",
        }
    }

    /// The word (as stored and serialised), exactly.
    pub fn from_word(word: &str) -> Option<InvoiceStatus> {
        InvoiceStatus::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl From<gateway::InvoiceStatus> for InvoiceStatus {
    fn from(s: gateway::InvoiceStatus) -> Self {
        match s {
            gateway::InvoiceStatus::Outstanding => InvoiceStatus::Outstanding,
            gateway::InvoiceStatus::Paid => InvoiceStatus::Paid,
            gateway::InvoiceStatus::Cancelled => InvoiceStatus::Cancelled,
        }
    }
}

impl fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_serde_and_from_word() {
        for s in InvoiceStatus::ALL {
            assert_eq!(serde_json::to_string(&s).expect("json"), format!("\"{}\"", s.as_str()));
            assert_eq!(InvoiceStatus::from_word(s.as_str()), Some(s));
            assert_eq!(serde_json::from_str::<InvoiceStatus>(&format!("\"{s}\"")).expect("back"), s);
        }
        assert_eq!(InvoiceStatus::from_word("Outstanding"), None);
        assert_eq!(InvoiceStatus::from(gateway::InvoiceStatus::Paid), InvoiceStatus::Paid);
    }
}
