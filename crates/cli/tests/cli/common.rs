//! Runs the real `desk` binary against a sandbox started in this process.
//!
//! Every child starts from an empty environment: only `PATH`, a home and XDG directories inside
//! the test's temp directory, and the `DESK_*` variables the test means. So the developer's own
//! variables, settings, data directory and keyring never reach the binary (there is no session
//! bus in the child's environment, so a keyring lookup fails instead of reading a real one).

use rust_decimal::Decimal;
use sandbox::world::{CaptureOutcome, World};
use sandbox::{Config, Sandbox};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::time::{Duration, Instant};

pub const STAFF_TOKEN: &str = sandbox::DEMO_STAFF_TOKEN;
pub const CLIENT_ID: &str = sandbox::DEMO_CLIENT_ID;
pub const CLIENT_SECRET: &str = sandbox::DEMO_CLIENT_SECRET;
pub const STAFF: &str = "CLI Test Clerk";
/// The seed example of GATEWAY-API.md: USD 250.00, customer c_102 with EUR 40.50 in the wallet.
pub const SEED_INVOICE: u64 = sandbox::world::SEED_INVOICE;

/// How long one `desk` run may take before the test fails (it is killed then).
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// A sandbox, a temp directory (the desk's data directory, home and XDG dirs) and the
/// environment every `desk` run gets.
pub struct Harness {
    pub sb: Option<Sandbox>,
    pub url: String,
    pub config: Config,
    tmp: tempfile::TempDir,
}

/// Sandbox settings for a test: the rate limit off, and the given size and PENDING delay.
pub fn config(invoices: u64, pending_seconds: i64) -> Config {
    Config { invoices, pending_seconds, rate_limit: 0, ..Config::default() }
}

impl Harness {
    pub async fn start(config: Config) -> Harness {
        let sb = Sandbox::start(config.clone(), "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox starts");
        let url = sb.base_url();
        let tmp = tempfile::tempdir().expect("temp dir");
        for d in ["home", "config", "data", "cache", "state", "runtime"] {
            std::fs::create_dir_all(tmp.path().join(d)).expect("dir");
        }
        Harness { sb: Some(sb), url, config, tmp }
    }

    /// A harness whose desk has synced already.
    pub async fn synced(config: Config) -> Harness {
        let h = Harness::start(config).await;
        h.run(&["sync"]).await.code(0);
        h
    }

    pub fn tmp(&self) -> &Path {
        self.tmp.path()
    }

    /// The desk's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("desk-data")
    }

    /// `desk ARGS` with the standard environment.
    pub fn desk(&self, args: &[&str]) -> DeskCmd {
        let tmp = self.tmp.path();
        let mut env = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            env.insert(k.to_owned(), v);
        };
        set("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()));
        // a test run under a fake clock (libfaketime: `faketime -f '+3600s' <test binary>`, to
        // check the suite at other dates and times of day) keeps it for the desks it starts: a
        // desk on the real clock and a sandbox on the fake one disagree by more than the sync's
        // margin
        if std::env::var_os("FAKETIME").is_some() {
            for (k, v) in std::env::vars().filter(|(k, _)| k == "LD_PRELOAD" || k.starts_with("FAKETIME")) {
                set(&k, v);
            }
        }
        set("HOME", tmp.join("home").display().to_string());
        set("XDG_CONFIG_HOME", tmp.join("config").display().to_string());
        set("XDG_DATA_HOME", tmp.join("data").display().to_string());
        set("XDG_CACHE_HOME", tmp.join("cache").display().to_string());
        set("XDG_STATE_HOME", tmp.join("state").display().to_string());
        set("XDG_RUNTIME_DIR", tmp.join("runtime").display().to_string());
        set("DESK_DATA_DIR", self.data_dir().display().to_string());
        set("DESK_ENV", "sandbox".into());
        set("DESK_GATEWAY_URL", self.url.clone());
        set("DESK_PAYPAL_URL", self.url.clone());
        set("DESK_PAYPAL_CLIENT_ID", CLIENT_ID.into());
        set("DESK_GATEWAY_TOKEN", STAFF_TOKEN.into());
        set("DESK_PAYPAL_CLIENT_SECRET", CLIENT_SECRET.into());
        set("DESK_STAFF", STAFF.into());
        DeskCmd { args: args.iter().map(|a| (*a).to_owned()).collect(), env }
    }

    /// `desk ARGS` with the standard environment, run to the end.
    pub async fn run(&self, args: &[&str]) -> Output {
        self.desk(args).run().await
    }

    /// `desk ARGS --json`, expecting exit 0, parsed.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        self.run(&a).await.code(0).json()
    }

    /// Stops the sandbox: the gateway and PayPal become unreachable.
    pub async fn stop_sandbox(&mut self) {
        if let Some(sb) = self.sb.take() {
            sb.shutdown().await;
        }
    }

    fn http() -> reqwest::Client {
        reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client")
    }

    /// `GET {sandbox}{path}` (control or API with the staff token), as text.
    pub async fn get_text(&self, path: &str) -> String {
        let r = Self::http()
            .get(format!("{}{path}", self.url))
            .bearer_auth(STAFF_TOKEN)
            .send()
            .await
            .expect("sandbox answers");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.text().await.expect("body")
    }

    /// `POST {sandbox}{path}` with a JSON body and the staff token; the status.
    pub async fn post(&self, path: &str, body: &Value) -> u16 {
        Self::http()
            .post(format!("{}{path}", self.url))
            .bearer_auth(STAFF_TOKEN)
            .json(body)
            .send()
            .await
            .expect("sandbox answers")
            .status()
            .as_u16()
    }

    /// `POST {sandbox}{path}` with `body` sent as it is (exact numbers) and the staff token.
    pub async fn post_raw(&self, path: &str, body: String) -> u16 {
        Self::http()
            .post(format!("{}{path}", self.url))
            .bearer_auth(STAFF_TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("sandbox answers")
            .status()
            .as_u16()
    }

    /// Replaces the sandbox's fault configuration through its control API.
    pub async fn set_faults(&self, faults: Value) {
        assert_eq!(self.post("/__sandbox/faults", &faults).await, 200, "faults {faults}");
    }

    /// Everything captured at PayPal and finalized at the gateway, amounts exact.
    pub async fn ledger(&self) -> Ledger {
        serde_json::from_str(&self.get_text("/__sandbox/ledger").await).expect("ledger")
    }

    /// Every invoice the gateway lists with `status` (outstanding, paid, all), amounts exact.
    pub async fn gateway_invoices(&self, status: &str) -> Vec<GatewayInvoice> {
        let mut all = Vec::new();
        for page in 1.. {
            let text = self
                .get_text(&format!(
                    "/api/v1/billing_admin/invoices?status={status}&limit=100&page={page}&sortBy=invoiceNo"
                ))
                .await;
            let p: GatewayPage = serde_json::from_str(&text).expect("invoice page");
            let n = p.data.len();
            all.extend(p.data);
            if n < 100 {
                break;
            }
        }
        all
    }

    /// The sandbox's world as seeded (the same seed and size give the same world): which
    /// approved order's capture will complete, stay PENDING or be DECLINED is decided here.
    /// (Seeded at another time the world is the same, shifted: only amounts and outcomes are read.)
    pub fn seeded_world(&self) -> World {
        let sb = self.sb.as_ref().expect("the sandbox is running");
        World::seeded(self.config.seed, self.config.invoices, sb.now(), sandbox::Clock::default())
    }

    /// The first invoice (by number) whose customer approved a PayPal order with intent
    /// CAPTURE whose capture will end as `outcome`. Never the seed example.
    pub fn order_fixture(&self, outcome: CaptureOutcome) -> Fixture {
        let w = self.seeded_world();
        w.invoices
            .values()
            .filter(|i| i.no != SEED_INVOICE)
            .find_map(|i| {
                let p = i.paypal.as_ref()?;
                let o = w.orders.get(&p.order_id)?;
                (p.intent == "CAPTURE" && o.status == "APPROVED" && o.outcome == outcome).then(|| Fixture {
                    invoice_no: i.no,
                    order_id: o.id.clone(),
                    currency: o.currency.clone(),
                    paypal_amount: o.value,
                })
            })
            .unwrap_or_else(|| {
                panic!("seed {} with {} invoices has no {outcome:?} order", self.config.seed, self.config.invoices)
            })
    }
}

/// An approved order of the seeded world.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub invoice_no: u64,
    pub order_id: String,
    pub currency: String,
    pub paypal_amount: Decimal,
}

impl Fixture {
    pub fn no(&self) -> String {
        self.invoice_no.to_string()
    }
}

/// A decimal from its exact text (a JSON string, or a JSON number's raw text).
pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text.trim_matches('"')).unwrap_or_else(|e| panic!("{text} is not a decimal: {e}"))
}

/// A JSON string field, which must be there.
pub fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_else(|| panic!("no string {field} in {v}"))
}

#[derive(Debug, Deserialize)]
pub struct Ledger {
    pub paypal_captures: Vec<LedgerCapture>,
    pub gateway_finalizations: Vec<LedgerFinalization>,
}

#[derive(Debug, Deserialize)]
pub struct LedgerCapture {
    pub id: String,
    pub order_id: Option<String>,
    pub amount: PaypalAmount,
    pub status: String,
}

#[derive(Debug, Deserialize)]
pub struct PaypalAmount {
    pub currency_code: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerFinalization {
    pub invoice_no: u64,
    pub payment_id: String,
    pub amount: Box<serde_json::value::RawValue>,
    pub currency_code: String,
}

impl LedgerFinalization {
    pub fn amount(&self) -> Decimal {
        dec(self.amount.get())
    }
}

impl Ledger {
    /// Exactly one capture and one finalization, of this order and invoice, for `amount`; the
    /// capture's id.
    pub fn assert_one(&self, invoice_no: u64, order_id: &str, currency: &str, amount: Decimal) -> String {
        assert_eq!(self.paypal_captures.len(), 1, "one PayPal capture: {self:?}");
        assert_eq!(self.gateway_finalizations.len(), 1, "one gateway finalization: {self:?}");
        let c = &self.paypal_captures[0];
        let f = &self.gateway_finalizations[0];
        assert_eq!(c.order_id.as_deref(), Some(order_id));
        assert_eq!(c.status, "COMPLETED");
        assert_eq!(c.amount.currency_code, currency);
        assert_eq!(dec(&c.amount.value), amount);
        assert_eq!(f.invoice_no, invoice_no);
        assert_eq!(f.payment_id, c.id);
        assert_eq!(f.currency_code, currency);
        assert_eq!(f.amount(), amount);
        c.id.clone()
    }

    pub fn assert_nothing_moved(&self) {
        assert!(self.paypal_captures.is_empty(), "no capture expected: {self:?}");
        assert!(self.gateway_finalizations.is_empty(), "no finalization expected: {self:?}");
    }
}

#[derive(Debug, Deserialize)]
struct GatewayPage {
    data: Vec<GatewayInvoice>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayInvoice {
    pub invoice_no: u64,
    pub customer: GatewayCustomer,
    pub currency: String,
    pub total: Box<serde_json::value::RawValue>,
    pub outstanding: Box<serde_json::value::RawValue>,
    pub status: String,
    pub due_at: Option<String>,
    pub updated_at: String,
    pub paypal: Option<GatewayPaypal>,
}

impl GatewayInvoice {
    pub fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(&self.updated_at).expect("updatedAt").to_utc()
    }
}

#[derive(Debug, Deserialize)]
pub struct GatewayCustomer {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayPaypal {
    pub intent: String,
    pub order_id: String,
    pub authorization_id: Option<String>,
}

/// One `desk` invocation being prepared.
pub struct DeskCmd {
    args: Vec<String>,
    env: BTreeMap<String, String>,
}

impl DeskCmd {
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.insert(key.to_owned(), value.into());
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.env.remove(key);
        self
    }

    /// Started, stdin closed (not a terminal), output captured; killed if dropped.
    pub fn spawn(self) -> tokio::process::Child {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_desk"))
            .args(&self.args)
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("desk starts")
    }

    pub async fn run(self) -> Output {
        let what = self.args.join(" ");
        Output::of(&what, self.spawn()).await
    }
}

/// What a finished `desk` run printed and returned.
#[derive(Debug)]
pub struct Output {
    pub what: String,
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Waits for `child` (bounded) and collects its output.
    pub async fn of(what: &str, child: tokio::process::Child) -> Output {
        Output::within(what, child, RUN_TIMEOUT).await
    }

    /// Waits for `child` at most `bound` and collects its output.
    pub async fn within(what: &str, child: tokio::process::Child, bound: std::time::Duration) -> Output {
        let out = tokio::time::timeout(bound, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("desk {what} did not finish within {bound:?}"))
            .expect("desk runs");
        Output {
            what: what.to_owned(),
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts the exit code (showing everything the run printed when it differs).
    #[track_caller]
    pub fn code(self, expected: i32) -> Output {
        assert_eq!(
            self.status,
            Some(expected),
            "desk {}: exit {:?}, expected {expected}\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("desk {}: stdout is not JSON ({e}):\n{}", self.what, self.stdout))
    }

    /// The stdout line that starts with `prefix` (after trimming), which must be there.
    #[track_caller]
    pub fn line(&self, prefix: &str) -> &str {
        self.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("desk {}: no line starting {prefix:?} in\n{}", self.what, self.stdout))
    }
}

/// Polls `check` until it returns `Some`, failing after `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
