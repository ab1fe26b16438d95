//! One process hosts a data directory's demo world; another joins it and sees the same world;
//! when the host lets go, the one that joined takes over from the saved world.

use billing::secrets::MemorySecrets;
use billing::{Desk, DeskFactory, DeskOptions, EnvOverrides, Environment, ErrorCode, Settings};
use demo::DemoConfig;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn factory() -> DeskFactory {
    DeskFactory::with_demo(demo::host_with(DemoConfig { invoices: 60, ..DemoConfig::default() }))
}

async fn open(f: &DeskFactory, dir: &Path) -> Desk {
    let settings = Settings { environment: Environment::Demo, staff_name: "Demo Clerk".into(), ..Settings::default() };
    f.open(DeskOptions {
        data_dir: Some(dir.to_owned()),
        secrets: Arc::new(MemorySecrets::default()),
        env_overrides: EnvOverrides::off(),
        settings: Some(settings),
    })
    .await
    .expect("a demo desk opens")
}

fn world(d: &Desk) -> String {
    d.demo_world().map(|w| w.describe()).expect("a demo world")
}

/// The gateway's word on one invoice, through this desk's own connection.
async fn gateway_status(d: &Desk, no: i64) -> String {
    let live = d.invoice_live(no).await.expect("live");
    assert!(live.gateway_error.is_none(), "{:?}", live.gateway_error);
    live.invoice.expect("the gateway's invoice").status.as_str().to_owned()
}

#[tokio::test]
async fn two_desks_share_one_world_and_the_guest_takes_over_when_the_host_leaves() {
    let dir = tempfile::tempdir().expect("dir");
    let f = factory();
    let a = open(&f, dir.path()).await;
    let b = open(&f, dir.path()).await;
    assert!(world(&a).starts_with("hosted by this program"), "{}", world(&a));
    assert!(world(&b).starts_with("hosted by another Capture Desk program"), "{}", world(&b));
    assert_eq!(a.gateway_url(), b.gateway_url(), "one world, one address");

    a.sync(true, &|_| {}).await.expect("sync");
    let page = a
        .list(&billing::ListRequest {
            filter: billing::InvoiceFilter { has_paypal: Some(true), ..Default::default() },
            ..Default::default()
        })
        .await
        .expect("list");
    let no = 458_732;
    assert!(page.rows.iter().any(|r| r.invoice_no == no), "the seed example is approved");
    let done = a.capture(no).await.expect("capture");
    assert_eq!(done.state, billing::capture::State::Finalized, "{done:?}");
    assert_eq!(gateway_status(&b, no).await, "paid", "the other desk sees the same world");

    // the host leaves (saving the world); the guest takes over on the same address
    a.close().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !world(&b).starts_with("hosted by this program") {
        assert!(Instant::now() < deadline, "the guest did not take over: {}", world(&b));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gateway_status(&b, no).await, "paid", "the saved world, through the same connection");

    // a third desk joins the new host
    let c = open(&f, dir.path()).await;
    assert!(world(&c).starts_with("hosted by another Capture Desk program"), "{}", world(&c));
    assert_eq!(gateway_status(&c, no).await, "paid");
    c.close().await;
    b.close().await;

    // nobody hosts now: the next desk hosts the same world from its file
    let d = open(&f, dir.path()).await;
    assert!(world(&d).starts_with("hosted by this program"), "{}", world(&d));
    assert_eq!(gateway_status(&d, no).await, "paid");
    d.close().await;
}

#[tokio::test]
async fn a_world_locked_by_a_process_that_does_not_answer_is_reported_as_in_use() {
    let dir = tempfile::tempdir().expect("dir");
    let demo_dir = dir.path().join("demo");
    std::fs::create_dir_all(&demo_dir).expect("dir");
    let held = std::fs::File::create(demo_dir.join("world.lock")).expect("lock file");
    held.try_lock().expect("held by 'another process'");
    let host = demo::host_with(DemoConfig { join_wait: Duration::from_millis(300), ..DemoConfig::default() });
    let e = host.open(&demo_dir).await.err().expect("in use");
    assert_eq!(e.code, ErrorCode::Conflict);
    assert!(e.message.contains("in use by another Capture Desk program"), "{}", e.message);
    drop(held);
    let world = host.open(&demo_dir).await.expect("free again");
    assert!(world.describe().starts_with("hosted by this program"));
    world.close().await;
}
