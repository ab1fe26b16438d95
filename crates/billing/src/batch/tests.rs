//! The parts only the crate reaches: preflight's store function (which the preflight slice will
//! call) and the approval it makes possible, through the real sandbox.

use super::model::ItemVerdict;
use super::*;
use crate::secrets::{MemorySecrets, Secret, SecretKey, Secrets};
use crate::{audit, Desk, DeskOptions, EnvOverrides, Environment, ErrorCode, InvoiceFilter, Settings};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A sandbox desk on `url` in `dir`, with `vars` for its environment overrides.
pub(crate) async fn desk(url: &str, dir: &std::path::Path, vars: EnvOverrides) -> Desk {
    let secrets = Arc::new(MemorySecrets::default());
    let env = Environment::Sandbox;
    secrets.set(env, SecretKey::GatewayToken, &Secret::new("demo-staff-token")).expect("secret");
    secrets.set(env, SecretKey::PaypalClientSecret, &Secret::new("demo-client-secret")).expect("secret");
    let settings = Settings {
        environment: env,
        gateway_url: Some(url.to_owned()),
        paypal_url: Some(url.to_owned()),
        paypal_client_id: Some("demo-client-id".into()),
        staff_name: "Test Clerk".into(),
    };
    Desk::open(DeskOptions { data_dir: Some(dir.to_owned()), secrets, env_overrides: vars, settings: Some(settings) })
        .await
        .expect("desk opens")
}

async fn started() -> (sandbox::Sandbox, tempfile::TempDir) {
    let config = sandbox::Config { invoices: 120, seed: 3, rate_limit: 0, ..sandbox::Config::default() };
    let sb = sandbox::Sandbox::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox");
    (sb, tempfile::tempdir().expect("dir"))
}

/// A draft batch of the cached invoices with a PayPal approval, created by Alice.
async fn paypal_batch(d: &Desk) -> BatchView {
    d.sync(false, &|_| {}).await.expect("sync");
    let filter = InvoiceFilter { has_paypal: Some(true), ..InvoiceFilter::default() };
    let v = d.batch_create("Alice", Some("morning"), &BatchSource::Filter { filter }).await.expect("create");
    assert!(v.items.len() >= 3, "{} items", v.items.len());
    v
}

/// Every item `ready` except the first, which is `not_approved`.
fn verdicts(v: &BatchView) -> Vec<ItemVerdict> {
    v.items
        .iter()
        .enumerate()
        .map(|(k, i)| ItemVerdict {
            invoice_no: i.invoice_no,
            verdict: if k == 0 { Verdict::NotApproved } else { Verdict::Ready },
            reason: (k == 0).then(|| "no approval at PayPal".to_owned()),
            wallet_part: None,
            paypal_part: None,
        })
        .collect()
}

fn typed(v: &BatchView) -> BTreeMap<String, String> {
    v.totals.iter().map(|t| (t.currency.clone(), t.outstanding.clone())).collect()
}

async fn actions(d: &Desk) -> Vec<(String, String)> {
    let entries = audit::query(d.pool(), &audit::AuditFilter::default()).await.expect("audit");
    entries.into_iter().rev().filter(|e| e.action.starts_with("batch.")).map(|e| (e.action, e.staff)).collect()
}

#[tokio::test]
async fn preflight_results_make_a_batch_approvable_by_a_second_person_and_voids_an_earlier_approval() {
    let (sb, dir) = started().await;
    let d = desk(&sb.base_url(), dir.path(), EnvOverrides::off()).await;
    let v = paypal_batch(&d).await;
    let id = v.id();
    assert!(d.four_eyes().expect("setting"), "four eyes is on unless DESK_FOUR_EYES=0");

    let b =
        store::record_preflight(d.pool(), id, "Alice", Environment::Sandbox, &verdicts(&v)).await.expect("preflight");
    assert_eq!((b.state, b.preflight_run, b.ready_count), (BatchState::Preflighted, 1, v.items.len() as i64 - 1));
    let v = d.batch(id).await.expect("show");
    assert_eq!(v.items[0].verdict, Some(Verdict::NotApproved));
    assert_eq!(v.items[0].verdict_reason.as_deref(), Some("no approval at PayPal"));
    assert!(v.items[0].verdict_at.is_some());
    // one `items` in the JSON: the list (the summary's counts have names of their own)
    let json = serde_json::to_string(&v).expect("json");
    assert_eq!(json.matches("\"items\"").count(), 1, "{json}");
    // the totals count the ready items only
    assert_eq!(v.totals.iter().map(|t| t.count).sum::<i64>(), v.items.len() as i64 - 1);

    // four eyes: the creator (any case, any spaces) is refused, and the refusal is audited
    let e =
        d.batch_approve(id, &Approval { approver: "  alice ".into(), typed_totals: None }).await.expect_err("creator");
    assert_eq!(e.code, ErrorCode::BadInput, "{e:?}");
    assert!(e.message.contains("someone else"), "{}", e.message);
    // typed totals that differ are refused
    let mut wrong = typed(&v);
    if let Some(first) = wrong.values_mut().next() {
        first.push('1');
    }
    let e =
        d.batch_approve(id, &Approval { approver: "Bob".into(), typed_totals: Some(wrong) }).await.expect_err("totals");
    assert!(e.message.contains("totals typed"), "{}", e.message);
    assert_eq!(d.batch(id).await.expect("show").state(), BatchState::Preflighted);
    assert!(!approval_holds(d.pool(), id).await.expect("pin"));

    // a second person with the right totals approves
    let a = d
        .batch_approve(id, &Approval { approver: "Bob".into(), typed_totals: Some(typed(&v)) })
        .await
        .expect("approve");
    assert_eq!((a.state(), a.batch.approved_by.as_deref()), (BatchState::Approved, Some("Bob")));
    assert!(approval_holds(d.pool(), id).await.expect("pin"));
    // approving twice is refused
    let e = d.batch_approve(id, &Approval { approver: "Carol".into(), typed_totals: None }).await.expect_err("twice");
    assert!(e.message.contains("is approved"), "{}", e.message);

    // preflight run again voids the approval
    store::record_preflight(d.pool(), id, "Alice", Environment::Sandbox, &verdicts(&v)).await.expect("again");
    let again = d.batch(id).await.expect("show");
    assert_eq!(
        (again.state(), again.batch.approved_by.as_deref(), again.batch.preflight_run),
        (BatchState::Preflighted, None, 2)
    );
    assert!(!approval_holds(d.pool(), id).await.expect("pin"));

    // so does excluding an item
    d.batch_approve(id, &Approval { approver: "Bob".into(), typed_totals: None }).await.expect("approve again");
    let x = d.batch_exclude("Alice", id, &[v.items[1].invoice_no]).await.expect("exclude");
    assert_eq!((x.state(), x.batch.approved_by.as_deref()), (BatchState::Preflighted, None));
    assert!(!approval_holds(d.pool(), id).await.expect("pin"));

    // a preflight naming an invoice outside the batch changes nothing
    let stray = vec![ItemVerdict {
        invoice_no: 1,
        verdict: Verdict::Ready,
        reason: None,
        wallet_part: None,
        paypal_part: None,
    }];
    let e = store::record_preflight(d.pool(), id, "Alice", Environment::Sandbox, &stray).await.expect_err("stray");
    assert_eq!(e.code, ErrorCode::BadInput);
    assert_eq!(d.batch(id).await.expect("show").batch.preflight_run, 2);

    assert_eq!(
        actions(&d).await,
        [
            ("batch.created", "Alice"),
            ("batch.preflighted", "Alice"),
            ("batch.approval_refused", "alice"),
            ("batch.approval_refused", "Bob"),
            ("batch.approved", "Bob"),
            ("batch.preflighted", "Alice"),
            ("batch.approved", "Bob"),
            ("batch.excluded", "Alice"),
        ]
        .map(|(a, s)| (a.to_owned(), s.to_owned()))
    );
    d.close().await;
    sb.shutdown().await;
}

#[tokio::test]
async fn with_four_eyes_off_the_creator_approves_and_after_a_cancel_nothing_runs() {
    let (sb, dir) = started().await;
    let off = EnvOverrides::from_fn(|n| (n == "DESK_FOUR_EYES").then(|| "0".to_owned()));
    let d = desk(&sb.base_url(), dir.path(), off).await;
    assert!(!d.four_eyes().expect("setting"));
    let v = paypal_batch(&d).await;
    store::record_preflight(d.pool(), v.id(), "Alice", Environment::Sandbox, &verdicts(&v)).await.expect("preflight");
    let a = d.batch_approve(v.id(), &Approval { approver: "ALICE".into(), typed_totals: None }).await.expect("approve");
    assert_eq!(a.state(), BatchState::Approved);

    let c = d.batch_cancel("Alice", v.id()).await.expect("cancel");
    assert_eq!(c.state(), BatchState::Cancelled);
    assert!(c.items.iter().all(|i| i.outcome == Some(ItemOutcome::Cancelled)));
    let e = store::record_preflight(d.pool(), v.id(), "Alice", Environment::Sandbox, &verdicts(&v))
        .await
        .expect_err("ended");
    assert!(e.message.contains("cancelled"), "{}", e.message);
    d.close().await;
    sb.shutdown().await;
}
