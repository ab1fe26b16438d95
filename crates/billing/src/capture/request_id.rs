//! The PayPal request id (`PayPal-Request-Id`) of a capture attempt: made once when the attempt
//! is planned (`journal::plan`), stored on the entry, and sent on every try.

/// PayPal keeps a `PayPal-Request-Id` of at most this many characters (`paypal_request_id` in
/// `checkout_orders_v2.json`).
pub const REQUEST_ID_MAX: usize = 108;

/// `capture-desk-{desk id}-{journal id}-{order or authorization id}-capture`. The PayPal id is in
/// the key so that a restored or copied database, whose journal ids start over, never replays an
/// old key against another order. An id that would make the key longer than PayPal keeps is
/// replaced by a 64-bit FNV-1a hash of it (PayPal's own ids are at most 20 characters).
pub fn capture_request_id(desk_id: &str, journal_id: i64, resource: Option<&str>) -> String {
    let resource = resource.filter(|r| !r.is_empty()).unwrap_or("none");
    let key = format!("capture-desk-{desk_id}-{journal_id}-{resource}-capture");
    if key.len() <= REQUEST_ID_MAX && key.bytes().all(|b| b.is_ascii_graphic()) {
        return key;
    }
    let hash = crate::fnv::fnv1a(resource.as_bytes());
    let key = format!("capture-desk-{desk_id}-{journal_id}-h{hash:016x}-capture");
    key.chars().take(REQUEST_ID_MAX).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_id_names_the_paypal_resource_and_fits_paypals_limit() {
        assert_eq!(
            capture_request_id("0123456789abcdef", 42, Some("5O190127TN364715T")),
            "capture-desk-0123456789abcdef-42-5O190127TN364715T-capture"
        );
        assert_eq!(capture_request_id("d", 1, None), "capture-desk-d-1-none-capture");
        // another order, the same journal id (a restored database): another key
        assert_ne!(capture_request_id("d", 1, Some("A1")), capture_request_id("d", 1, Some("A2")));
        let long = "X".repeat(200);
        let k = capture_request_id("0123456789abcdef", i64::MAX, Some(&long));
        assert!(
            k.len() <= REQUEST_ID_MAX && k.starts_with("capture-desk-0123456789abcdef-9223372036854775807-h"),
            "{k}"
        );
        assert_eq!(k, capture_request_id("0123456789abcdef", i64::MAX, Some(&long)), "the same every time");
        assert_ne!(k, capture_request_id("0123456789abcdef", i64::MAX, Some(&"Y".repeat(200))));
    }
}
