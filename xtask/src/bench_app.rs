//! `cargo xtask bench-app [N]`: the app's start-up with N cached invoices (default 100,000).
//!
//! Fills a data directory through `desk sync` from a `desk-sandbox` of N invoices, then starts
//! the real app on it (under Xvfb) three times and reports, for each start, the time from
//! process start to the invoice list on screen (the app logs it when the UI reports its first
//! painted page) and the resident memory of the app and its WebKit processes at that moment.

use crate::setup::{self, Purpose};
use crate::steps::{build_app, build_ui, cmd, root, tempfile_dir, Result, Xvfb};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn run(args: &[String]) -> Result {
    let n: u64 = match args.first() {
        None => 100_000,
        Some(a) => a.parse().map_err(|_| format!("bench-app: {a:?} is not a number of invoices"))?,
    };
    setup::all(Purpose::Run)?;
    build_ui()?;
    build_app()?;
    let bin = root().join("target/debug");
    let data = tempfile_dir("desk-bench-app")?;
    let _ = std::fs::remove_dir_all(&data);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let url = format!("http://127.0.0.1:{port}");
    let mut sandbox = Command::new(bin.join("desk-sandbox"))
        .args(["--addr", &format!("127.0.0.1:{port}"), "--invoices", &n.to_string(), "--rate-limit", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let result = (|| -> Result {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(120) {
                return Err("desk-sandbox did not start".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let env: Vec<(&str, String)> = vec![
            ("DESK_DATA_DIR", data.display().to_string()),
            ("DESK_ENV", "sandbox".into()),
            ("DESK_GATEWAY_URL", url.clone()),
            ("DESK_PAYPAL_URL", url.clone()),
            ("DESK_PAYPAL_CLIENT_ID", "demo-client-id".into()),
            ("DESK_GATEWAY_TOKEN", "demo-staff-token".into()),
            ("DESK_PAYPAL_CLIENT_SECRET", "demo-client-secret".into()),
        ];
        let t = Instant::now();
        cmd(Command::new(bin.join("desk")).args(["sync", "--full"]).envs(env.iter().map(|(k, v)| (*k, v))))?;
        eprintln!("bench-app: {n} invoices cached in {:.1?}", t.elapsed());
        let x = Xvfb::start()?;
        let mut figures = Vec::new();
        for round in 1..=3 {
            let f = one_start(&bin.join("capture-desk"), &env, &x.display)?;
            println!(
                "bench-app: start {round}: list painted after {} ms ({} rows on the first page); RSS app {} MiB, WebKit web {} MiB, WebKit network {} MiB, total {} MiB",
                f.ms, f.rows, f.app_kib / 1024, f.web_kib / 1024, f.net_kib / 1024, (f.app_kib + f.web_kib + f.net_kib) / 1024
            );
            figures.push(f);
        }
        let mut ms: Vec<u64> = figures.iter().map(|f| f.ms).collect();
        ms.sort_unstable();
        println!("bench-app: {n} cached invoices: start to painted list, median of 3: {} ms", ms[1]);
        Ok(())
    })();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let _ = std::fs::remove_dir_all(&data);
    result
}

struct Figures {
    ms: u64,
    rows: u64,
    app_kib: u64,
    web_kib: u64,
    net_kib: u64,
}

fn one_start(app: &std::path::Path, env: &[(&str, String)], display: &str) -> Result<Figures> {
    let mut child = Command::new(app)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .env("DISPLAY", display)
        .env("NO_AT_BRIDGE", "1")
        .env("RUST_LOG", "info,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(std::result::Result::ok) {
            if line.contains("invoice list painted") {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(180));
    let pid = child.id();
    let memory = (rss_kib(pid), descendants(pid));
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait()?.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = line.map_err(|_| "the app did not report a painted list within 180 s")?;
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (app_kib, children) = memory;
    let sum = |needle: &str| children.iter().filter(|(name, _)| name.contains(needle)).map(|(_, k)| k).sum();
    Ok(Figures {
        ms: field("ms"),
        rows: field("rows"),
        app_kib,
        web_kib: sum("WebKitWebProces"),
        net_kib: sum("WebKitNetworkPr"),
    })
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().trim_end_matches("kB").trim().to_owned()))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Every process below `pid`: (command name, RSS KiB).
fn descendants(pid: u32) -> Vec<(String, u64)> {
    let mut parents = std::collections::HashMap::<u32, Vec<u32>>::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
            // the fields after the parenthesised name: state, ppid, ...
            let ppid =
                stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)).and_then(|v| v.parse().ok());
            if let Some(pp) = ppid {
                parents.entry(pp).or_default().push(p);
            }
        }
    }
    let mut out = Vec::new();
    let mut stack = parents.get(&pid).cloned().unwrap_or_default();
    while let Some(p) = stack.pop() {
        let name = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default().trim().to_owned();
        out.push((name, rss_kib(p)));
        stack.extend(parents.get(&p).cloned().unwrap_or_default());
    }
    out
}
