//! The sandbox's one clock: the world is seeded around it, every rule reads it, and tests move
//! it on purpose. Nothing here depends on the day the suite runs.

use crate::{issue, start, Http};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use sandbox::Config;
use serde_json::Value;

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time, not {v}")))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

async fn clock(h: &Http) -> DateTime<Utc> {
    let (s, v) = h.send("GET", "/__sandbox/clock", None, None, &[]).await;
    assert_eq!(s, 200, "{v}");
    at(&v["now"])
}

async fn advance(h: &Http, body: &str) -> (u16, Value) {
    h.send("POST", "/__sandbox/clock", None, Some(body), &[]).await
}

async fn seed_invoice(h: &Http) -> Value {
    let (s, v) = h.gw("GET", "/api/v1/billing_admin/invoices/458732", None).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn quiet_at(days: i64) -> Config {
    Config { rate_limit: 0, clock_offset: Duration::days(days), ..Config::default() }
}

const REPRESENTATION: (&str, &str) = ("Prefer", "return=representation");

#[tokio::test]
async fn the_clock_starts_at_real_time_plus_its_offset() {
    for days in [0, 40] {
        // the clock answers to the millisecond
        let before = (Utc::now() + Duration::days(days)).trunc_subsecs(3);
        let (sb, h) = start(quiet_at(days)).await;
        let now = clock(&h).await;
        let after = Utc::now() + Duration::days(days);
        assert!(before <= now && now <= after, "offset {days}: {before} <= {now} <= {after}");
        assert!((sb.now() - now).abs() < Duration::seconds(5));
    }
}

#[tokio::test]
async fn the_world_is_seeded_around_the_clock_and_the_seed_example_keeps_its_shape() {
    for days in [0, 40] {
        let (_sb, h) = start(quiet_at(days)).await;
        let now = clock(&h).await;
        let inv = seed_invoice(&h).await;
        let approved = at(&inv["paypal"]["approvedAt"]);
        // GATEWAY-API.md's example: issued 18 days 45 minutes, due 11 days 14 hours, approved
        // 2 minutes before "this morning" (10:00 UTC), the latest one not after the clock's now
        let base = approved + Duration::minutes(2);
        assert_eq!(base.format("%H:%M:%S").to_string(), "10:00:00");
        assert!(base <= now && now - base < Duration::days(1), "base {base}, now {now}");
        assert_eq!(base - at(&inv["issuedAt"]), Duration::days(18) + Duration::minutes(45));
        assert_eq!(at(&inv["dueAt"]) - base, Duration::days(11) + Duration::hours(14));
        assert_eq!(at(&inv["updatedAt"]), base);
        // nothing of the seeded world lies in the clock's future
        let (_, list) = h.gw("GET", "/api/v1/billing_admin/invoices?status=all&limit=100", None).await;
        for i in list["data"].as_array().expect("data") {
            assert!(at(&i["updatedAt"]) <= now && at(&i["issuedAt"]) <= now, "{i}");
            if !i["paypal"].is_null() {
                assert!(at(&i["paypal"]["approvedAt"]) <= now, "{i}");
            }
        }
    }
}

#[tokio::test]
async fn the_same_seed_gives_the_same_world_shifted_in_time() {
    let (_a, ha) = start(quiet_at(0)).await;
    let (_b, hb) = start(quiet_at(40)).await;
    let shift = at(&seed_invoice(&hb).await["issuedAt"]) - at(&seed_invoice(&ha).await["issuedAt"]);
    assert_eq!(shift.num_seconds() % 86_400, 0, "whole days: {shift}");
    assert!((shift - Duration::days(40)).abs() <= Duration::days(1), "{shift}");
    let page = |h: &Http| {
        let h = Http { base: h.base.clone(), client: h.client.clone() };
        async move { h.gw("GET", "/api/v1/billing_admin/invoices?status=all&limit=100&page=2", None).await.1 }
    };
    let (a, b) = (page(&ha).await, page(&hb).await);
    let (a, b) = (a["data"].as_array().expect("a"), b["data"].as_array().expect("b"));
    assert_eq!(a.len(), 100);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        let mut moved = x.clone();
        for key in ["issuedAt", "dueAt", "updatedAt"] {
            let t = at(&x[key]) + shift;
            moved[key] = Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        if !x["paypal"].is_null() {
            let t = at(&x["paypal"]["approvedAt"]) + shift;
            moved["paypal"]["approvedAt"] = Value::from(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        assert_eq!(&moved, y, "the same invoice, {shift} later");
    }
}

/// The first authorization of the seed that can be captured, and a token.
async fn created_authorization(h: &Http) -> (String, String) {
    let t = h.paypal_token().await;
    for inv in crate::paypal::approved(h, "AUTHORIZE").await {
        let id = inv["paypal"]["authorizationId"].as_str().expect("authorization id").to_owned();
        let (_, a) = h.send("GET", &format!("/v2/payments/authorizations/{id}"), Some(&t), None, &[]).await;
        if a["status"] == "CREATED" {
            return (id, t);
        }
    }
    panic!("the seed has a CREATED authorization")
}

#[tokio::test]
async fn an_authorization_expires_when_the_clock_passes_its_expiration_time() {
    let (_sb, h) = start(quiet_at(0)).await;
    let (id, t) = created_authorization(&h).await;
    let path = format!("/v2/payments/authorizations/{id}");
    let (_, a) = h.send("GET", &path, Some(&t), None, &[]).await;
    let expires = at(&a["expiration_time"]);
    let now = clock(&h).await;
    assert!(expires > now && expires - at(&a["create_time"]) == Duration::days(29), "{a}");
    // a day before it expires it still captures; this one is left alone and moved past its end
    let days = (expires - now).num_days() + 1;
    let (s, v) = advance(&h, &format!(r#"{{"advance_days":{days}}}"#)).await;
    assert_eq!(s, 200, "{v}");
    assert!(at(&v["now"]) > expires);
    let t = h.paypal_token().await;
    let (_, a) = h.send("GET", &path, Some(&t), None, &[]).await;
    // PayPal's schema has no EXPIRED status: it keeps its status, past its expiration_time
    assert_eq!(a["status"], "CREATED", "{a}");
    assert!(at(&a["expiration_time"]) < clock(&h).await, "{a}");
    let (s, e) =
        h.send("POST", &format!("{path}/capture"), Some(&t), Some("{}"), &[("PayPal-Request-Id", "late")]).await;
    assert_eq!((s, issue(&e)), (422, "AUTHORIZATION_EXPIRED"), "{e}");
    let (_, ledger) = h.send("GET", "/__sandbox/ledger", None, None, &[]).await;
    assert_eq!(ledger["paypal_captures"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn a_pending_capture_completes_when_its_time_comes_by_the_clock() {
    let (_sb, h) = start(Config { pending_seconds: 3600, ..quiet_at(0) }).await;
    let (id, t) = crate::control::first_pending_capture(&h).await;
    let path = format!("/v2/payments/captures/{id}");
    let get = || h.send("GET", &path, Some(&t), None, &[]);
    assert_eq!(get().await.1["status"], "PENDING");
    assert_eq!(advance(&h, r#"{"advance_seconds":1800}"#).await.0, 200);
    assert_eq!(get().await.1["status"], "PENDING", "half an hour of an hour");
    assert_eq!(advance(&h, r#"{"advance_seconds":1800}"#).await.0, 200);
    let (_, c) = get().await;
    assert_eq!(c["status"], "COMPLETED", "{c}");
}

#[tokio::test]
async fn changes_are_stamped_by_the_clock_and_updated_since_finds_them() {
    let (_sb, h) = start(quiet_at(40)).await;
    assert_eq!(advance(&h, r#"{"advance_days":2}"#).await.0, 200);
    // the gateway stamps to the second
    let before = clock(&h).await.trunc_subsecs(0);
    let body = r#"{"amount":250,"invoiceNo":458732,"paymentId":"PAYPAL-CLOCK","currencyCode":"USD","partPaymentFromWalletBalance":{"currency":"USD","exchangeRate":1,"chargeTotalBefore":250,"chargeTotalCurrent":0}}"#;
    assert_eq!(h.gw("POST", "/api/v1/billing/invoice/paypal/capture", Some(body)).await.0, 200);
    let after = clock(&h).await;
    let inv = seed_invoice(&h).await;
    let updated = at(&inv["updatedAt"]);
    assert!(before <= updated && updated <= after, "{before} <= {updated} <= {after}");
    let since = (before - Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (s, v) = h.gw("GET", &format!("/api/v1/billing_admin/invoices?status=all&updatedSince={since}"), None).await;
    assert_eq!(s, 200, "{v}");
    let found: Vec<u64> = v["data"].as_array().expect("data").iter().filter_map(|i| i["invoiceNo"].as_u64()).collect();
    assert_eq!(found, vec![458_732], "only what changed since the clock's {since}");
}

#[tokio::test]
async fn the_clock_moves_only_forward_and_refuses_bad_requests() {
    let (_sb, h) = start(quiet_at(0)).await;
    for bad in
        [r#"{"advance_days":-1}"#, r#"{"advance_days":"1"}"#, r#"{"days":1}"#, "[", r#"{"advance_days":99999999}"#]
    {
        let (s, v) = advance(&h, bad).await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
    let (s, v) = h.send("GET", "/__sandbox/clock", None, None, &[]).await;
    assert_eq!((s, v["offset_seconds"].as_i64()), (200, Some(0)), "refused moves changed nothing");
    let (s, v) = advance(&h, r#"{"advance_days":1,"advance_seconds":60}"#).await;
    assert_eq!((s, v["offset_seconds"].as_i64()), (200, Some(86_460)), "{v}");
}

#[tokio::test]
async fn a_saved_world_keeps_its_clock() {
    let dir = tempfile::tempdir().expect("dir");
    let config = Config { state_file: Some(dir.path().join("world.json")), ..quiet_at(0) };
    let (sb, h) = start(config.clone()).await;
    assert_eq!(advance(&h, r#"{"advance_days":30}"#).await.0, 200);
    sb.shutdown().await;
    let (_sb, h) = start(config).await;
    let (_, v) = h.send("GET", "/__sandbox/clock", None, None, &[]).await;
    assert_eq!(v["offset_seconds"].as_i64(), Some(30 * 86_400), "{v}");
}

#[tokio::test]
async fn past_the_honour_period_an_authorization_still_captures_within_its_29_days() {
    // PayPal guarantees the funds for 3 days; after that it tries again at capture time. The
    // sandbox's stance: the capture goes through (its seeded outcome decides, as on day one).
    let (_sb, h) = start(quiet_at(0)).await;
    let (id, _) = created_authorization(&h).await;
    assert_eq!(advance(&h, r#"{"advance_days":4}"#).await.0, 200);
    let t = h.paypal_token().await;
    let path = format!("/v2/payments/authorizations/{id}");
    let (_, a) = h.send("GET", &path, Some(&t), None, &[]).await;
    assert!(at(&a["expiration_time"]) > clock(&h).await, "{a}");
    assert_eq!(a["status"], "CREATED", "{a}");
    let (s, c) = h
        .send(
            "POST",
            &format!("{path}/capture"),
            Some(&t),
            Some("{}"),
            &[("PayPal-Request-Id", "day-5"), REPRESENTATION],
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["amount"], a["amount"], "no amount: the whole authorization");
}

#[tokio::test]
async fn a_replayed_capture_answers_its_state_by_the_clock() {
    // PayPal answers a replayed request with the resource's latest state: a PENDING capture
    // whose time has come answers COMPLETED, to the replay as to a GET
    let (_sb, h) = start(Config { invoices: 1200, pending_seconds: 3600, ..quiet_at(0) }).await;
    let t = h.paypal_token().await;
    let mut pending = None;
    for inv in crate::paypal::approved(&h, "AUTHORIZE").await {
        let id = inv["paypal"]["authorizationId"].as_str().expect("authorization id").to_owned();
        let path = format!("/v2/payments/authorizations/{id}/capture");
        let key = format!("replay-{id}");
        let (s, c) = h.send("POST", &path, Some(&t), Some("{}"), &[("PayPal-Request-Id", &key)]).await;
        if s == 201 && c["status"] == "PENDING" {
            pending = Some((path, key, c["id"].clone()));
            break;
        }
    }
    let (path, key, capture_id) = pending.expect("the seed has an authorization whose capture goes PENDING");
    assert_eq!(advance(&h, r#"{"advance_seconds":3600}"#).await.0, 200);
    let (s, c) = h.send("POST", &path, Some(&t), Some("{}"), &[("PayPal-Request-Id", &key)]).await;
    assert_eq!((s, &c["id"], c["status"].as_str()), (200, &capture_id, Some("COMPLETED")), "{c}");
}
