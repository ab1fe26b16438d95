//! Four eyes: with the setting on, a batch one staff name created must be approved by another,
//! and (in the app) the approver types the batch's totals per currency. A desk has no user
//! accounts, so this is an audit control, not authentication: the audit log names both people.

use super::error::BatchError;
use super::model::BatchTotal;
use crate::{EnvOverrides, Environment};
use std::collections::BTreeMap;

/// Whether four eyes applies: always in `live`; in `demo` and `sandbox` on unless
/// `DESK_FOUR_EYES=0` (scripts).
pub fn required(env: Environment, vars: &EnvOverrides) -> Result<bool, BatchError> {
    let set = match vars.get("DESK_FOUR_EYES") {
        None => None,
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" => Some(false),
            _ => return Err(BatchError::FourEyesSetting(v)),
        },
    };
    Ok(env == Environment::Live || set.unwrap_or(true))
}

/// The same person: names compared after trimming, case-insensitively.
pub fn same_person(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Whether `typed` (currency → total) names exactly the batch's currencies, each with the
/// amount outstanding on its ready items (what the run collects); the difference, if not.
pub fn totals_differ(typed: &BTreeMap<String, String>, totals: &[BatchTotal]) -> Option<String> {
    let typed: BTreeMap<String, &str> = typed.iter().map(|(c, v)| (c.trim().to_uppercase(), v.as_str())).collect();
    let mut problems = Vec::new();
    for t in totals {
        let want = money::parse_decimal_text(&t.outstanding).ok();
        match typed.get(&t.currency) {
            None => problems.push(format!("no total typed for {}", t.currency)),
            Some(v) => {
                let got = money::parse_decimal_text(v.trim()).ok();
                // the batch's own total is not told: the approver reads it from the review
                if got.is_none() || got != want {
                    problems.push(format!("{} {} is not the batch's total in {}", v.trim(), t.currency, t.currency));
                }
            }
        }
    }
    for c in typed.keys() {
        if !totals.iter().any(|t| &t.currency == c) {
            problems.push(format!("the batch holds nothing in {c}"));
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_trimmed_and_case_insensitively() {
        assert!(same_person(" Alice ", "alice"));
        assert!(same_person("ÉVA", "éva"));
        assert!(!same_person("alice", "bob"));
    }

    #[test]
    fn live_always_needs_four_eyes_and_the_variable_decides_elsewhere() {
        let off = EnvOverrides::from_fn(|n| (n == "DESK_FOUR_EYES").then(|| "0".to_owned()));
        let on = EnvOverrides::from_fn(|n| (n == "DESK_FOUR_EYES").then(|| "1".to_owned()));
        let bad = EnvOverrides::from_fn(|n| (n == "DESK_FOUR_EYES").then(|| "maybe".to_owned()));
        assert_eq!(required(Environment::Live, &off), Ok(true));
        assert_eq!(required(Environment::Sandbox, &off), Ok(false));
        assert_eq!(required(Environment::Demo, &on), Ok(true));
        assert_eq!(required(Environment::Sandbox, &EnvOverrides::off()), Ok(true));
        assert!(required(Environment::Sandbox, &bad).is_err());
    }

    #[test]
    fn typed_totals_must_name_every_currency_exactly() {
        let t = |c: &str, o: &str| BatchTotal {
            currency: c.into(),
            count: 1,
            total: o.into(),
            outstanding: o.into(),
            wallet_part: "0".into(),
            paypal_part: o.into(),
        };
        let totals = [t("EUR", "10.50"), t("JPY", "1200")];
        let typed = |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
        assert_eq!(totals_differ(&typed(&[("eur", "10.5"), ("JPY", "1200")]), &totals), None);
        assert!(totals_differ(&typed(&[("EUR", "10.50")]), &totals).is_some());
        let wrong = totals_differ(&typed(&[("EUR", "10.51"), ("JPY", "1200")]), &totals).expect("differs");
        assert!(wrong.contains("10.51 EUR") && !wrong.contains("10.50"), "the right total is not told: {wrong}");
        assert!(totals_differ(&typed(&[("EUR", "10.50"), ("JPY", "1200"), ("USD", "1")]), &totals).is_some());
    }
}
