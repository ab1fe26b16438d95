//! `cargo xtask bench-app [N] [--no-build] [--runs K]`: the release app's start-up with N cached
//! invoices (default 100,000), beside a trivial Tauri window (`src-tauri/examples/trivial_window`);
//! `--no-build` measures the release binaries already built (to iterate on start-up); `--runs K`
//! starts each K times instead of 3. `BENCH_APP_SMAPS=DIR` keeps, for each start, every process's
//! PSS by mapping 3 s after paint (`/proc/PID/smaps`, summed per file and kind) in DIR.
//!
//! Fills a data directory through `desk sync --full` from a `desk-sandbox` of N invoices, then
//! starts the real app on it (under Xvfb) and the trivial window, in turns, three times each (`cargo xtask bench`: [`RELEASE_RUNS`] times).
//! For each start: the time from spawning the process to the line that says the page is on
//! screen (the app's "invoice list painted", logged when the UI reports its first painted page;
//! the trivial window's "trivial window painted", when WebKit has loaded its page), the app's own
//! figure (from `main`, so without loading its libraries), when the app's UI had taken over its
//! first screen (its "invoice list interactive": the first screen is HTML rendered from the
//! opening page, painted before the UI's bundle is read; `ui/src/first.ts`), and the memory of the process and
//! every process below it (WebKit's web and network processes) as PSS (`/proc/PID/smaps_rollup`:
//! shared pages divided among the processes sharing them), at that moment and 3 s later.

use crate::steps::{cmd, tempfile_dir, Result, Xvfb};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn run(args: &[String]) -> Result {
    // `--no-build`: the release binaries already in target/release (to iterate on start-up)
    let (mut build, mut n, mut runs) = (true, 100_000u64, 3usize);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-build" => build = false,
            "--runs" => {
                runs = it.next().and_then(|v| v.parse().ok()).filter(|r| *r > 0).ok_or("--runs needs a number > 0")?
            }
            _ => n = a.parse().map_err(|_| format!("bench-app: {a:?} is not a number of invoices"))?,
        }
    }
    let release =
        if build { crate::bench_release::build_release()? } else { crate::steps::root().join("target/release") };
    println!("{}", measure_runs(&release, n, runs)?);
    Ok(())
}

/// Starts of each that the release bench makes: about one start in four (the trivial window's
/// too) waits ~0.5 s longer for WebKit's web process, so the median of three could land on one.
pub const RELEASE_RUNS: usize = 7;

/// The start-up figures with `n` cached invoices, the binaries in `bin` (`target/release`), as
/// text: [`RELEASE_RUNS`] starts of each.
pub fn measure(bin: &Path, n: u64) -> Result<String> {
    measure_runs(bin, n, RELEASE_RUNS)
}

/// [`measure`] with `runs` starts of each.
fn measure_runs(bin: &Path, n: u64, runs: usize) -> Result<String> {
    let data = tempfile_dir("desk-bench-app")?;
    let _ = std::fs::remove_dir_all(&data);
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let url = format!("http://127.0.0.1:{port}");
    let mut sandbox = Command::new(bin.join("desk-sandbox"))
        .args(["--addr", &format!("127.0.0.1:{port}"), "--invoices", &n.to_string(), "--rate-limit", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let result = (|| -> Result<String> {
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
        let mut out = format!(
            "\nstart-up with {n} cached invoices (filled by `desk sync --full` in {:.1?}), under Xvfb\n",
            t.elapsed()
        );
        let x = Xvfb::start()?;
        let trivial = bin.join("examples/trivial_window");
        let (mut apps, mut trivials) = (Vec::new(), Vec::new());
        for round in 1..=runs {
            let a = one_start(
                &bin.join("capture-desk"),
                &env,
                &x.display,
                "invoice list painted",
                &format!("app-{round}"),
            )?;
            out.push_str(&a.line(&format!("app, start {round}")));
            apps.push(a);
            let t = one_start(&trivial, &[], &x.display, "trivial window painted", &format!("trivial-{round}"))?;
            out.push_str(&t.line(&format!("trivial window, start {round}")));
            trivials.push(t);
        }
        let (a, t) = (median(&apps), median(&trivials));
        out.push_str(&format!(
            "start to painted list, median of {runs}: {} ms (app's own figure from main: {} ms; goal <= 400 ms); trivial window: {} ms\n",
            a.wall_ms, a.own_ms, t.wall_ms
        ));
        let mut interactive: Vec<u64> = apps.iter().filter_map(|s| s.interactive_ms).collect();
        interactive.sort_unstable();
        let i = interactive.get(interactive.len() / 2).ok_or(format!("the app logged no {INTERACTIVE:?} line"))?;
        out.push_str(&format!("start to the UI's own list (interactive), median of {}: {i} ms\n", interactive.len()));
        out.push_str(&format!(
            "memory (PSS, 3 s after painted), median of {runs}: app {} MiB, trivial window {} MiB, ratio {} (goal <= 1.300)\n",
            mib(a.settled.total()),
            mib(t.settled.total()),
            thousandths(a.settled.total(), t.settled.total())
        ));
        Ok(out)
    })();
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let _ = std::fs::remove_dir_all(&data);
    result
}

/// The app's line once its UI has taken the list over (`list_painted` in src-tauri).
const INTERACTIVE: &str = "invoice list interactive";

/// PSS in KiB: the process itself, WebKit's web processes, its network process, anything else.
#[derive(Clone, Copy, Default)]
struct Memory {
    main: u64,
    web: u64,
    net: u64,
    other: u64,
}

impl Memory {
    fn total(&self) -> u64 {
        self.main + self.web + self.net + self.other
    }

    fn of(pid: u32) -> Memory {
        let mut m = Memory { main: pss_kib(pid), ..Memory::default() };
        for (name, kib) in descendants(pid) {
            if name.starts_with("WebKitWebProces") {
                m.web += kib;
            } else if name.starts_with("WebKitNetworkPr") {
                m.net += kib;
            } else {
                m.other += kib;
            }
        }
        m
    }

    fn text(&self) -> String {
        format!(
            "{} MiB (process {}, WebKit web {}, network {}, other {})",
            mib(self.total()),
            mib(self.main),
            mib(self.web),
            mib(self.net),
            mib(self.other)
        )
    }
}

#[derive(Clone, Copy)]
struct Start {
    wall_ms: u64,
    /// When the app's UI had taken over the list (the app's "invoice list interactive").
    interactive_ms: Option<u64>,
    own_ms: u64,
    rows: u64,
    painted: Memory,
    settled: Memory,
}

impl Start {
    fn line(&self, what: &str) -> String {
        let interactive = self.interactive_ms.map(|ms| format!(", interactive after {ms} ms")).unwrap_or_default();
        format!(
            "{what}: painted after {} ms ({} ms from main; {} rows){interactive}; PSS then {}, 3 s later {}\n",
            self.wall_ms,
            self.own_ms,
            self.rows,
            self.painted.text(),
            self.settled.text()
        )
    }
}

fn median(starts: &[Start]) -> Start {
    let mut by_time: Vec<Start> = starts.to_vec();
    by_time.sort_by_key(|s| s.wall_ms);
    let mut by_memory: Vec<Start> = starts.to_vec();
    by_memory.sort_by_key(|s| s.settled.total());
    let (t, m) = (by_time[by_time.len() / 2], by_memory[by_memory.len() / 2]);
    Start { settled: m.settled, painted: m.painted, ..t }
}

fn mib(kib: u64) -> String {
    format!("{}.{}", kib / 1024, kib % 1024 * 10 / 1024)
}

/// `a / b` to three decimals, rounded up (a ratio compared with a goal's upper bound: never
/// shown under it when it is over).
fn thousandths(a: u64, b: u64) -> String {
    let b = b.max(1);
    let r = (a * 1000).div_ceil(b);
    format!("{}.{:03}", r / 1000, r % 1000)
}

fn one_start(
    program: &Path,
    env: &[(&str, String)],
    display: &str,
    painted: &'static str,
    name: &str,
) -> Result<Start> {
    // WebKit's data and caches (and anything else per user) in a folder of this start's
    let xdg = tempfile_dir("desk-bench-xdg")?;
    let result = start_in(program, env, display, painted, &xdg, name);
    let _ = std::fs::remove_dir_all(&xdg);
    result
}

fn start_in(
    program: &Path,
    env: &[(&str, String)],
    display: &str,
    painted: &'static str,
    xdg: &Path,
    name: &str,
) -> Result<Start> {
    let spawned = Instant::now();
    let mut child = Command::new(program)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .env("XDG_DATA_HOME", xdg.join("data"))
        .env("XDG_CACHE_HOME", xdg.join("cache"))
        .env("XDG_CONFIG_HOME", xdg.join("config"))
        .env("DISPLAY", display)
        .env("NO_AT_BRIDGE", "1")
        .env("RUST_LOG", "info,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = mpsc::channel();
    let (interactive_tx, interactive_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(std::result::Result::ok) {
            if line.contains(painted) {
                let _ = tx.send((spawned.elapsed(), line));
            } else if line.contains(INTERACTIVE) {
                let _ = interactive_tx.send(spawned.elapsed());
            }
        }
    });
    let seen = rx.recv_timeout(Duration::from_secs(180));
    let pid = child.id();
    let at_paint = Memory::of(pid);
    std::thread::sleep(Duration::from_secs(3));
    let settled = Memory::of(pid);
    if let Some(dir) = std::env::var_os("BENCH_APP_SMAPS") {
        keep_smaps(Path::new(&dir), name, pid);
    }
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait()?.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let (wall, line) = seen.map_err(|_| format!("{}: no {painted:?} line within 180 s", program.display()))?;
    let field = |name: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
            .unwrap_or(0)
    };
    // logged after "painted" (right after it when the app painted without a first screen)
    let interactive = interactive_rx.try_recv().ok().map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
    Ok(Start {
        wall_ms: u64::try_from(wall.as_millis()).unwrap_or(u64::MAX),
        interactive_ms: interactive,
        own_ms: field("ms"),
        rows: field("rows"),
        painted: at_paint,
        settled,
    })
}

/// `Pss:` of `/proc/PID/smaps_rollup`, in KiB.
fn pss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("Pss:").map(|v| v.trim().trim_end_matches("kB").trim().to_owned()))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Every process below `pid`: (command name, PSS KiB).
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
        out.push((name, pss_kib(p)));
        stack.extend(parents.get(&p).cloned().unwrap_or_default());
    }
    out
}

/// Writes `DIR/NAME.txt`: for `pid` and every process below it, PSS by mapping (summed per file;
/// the mappings of no file as `[anon]`), with the anonymous (private, written) part of each, largest
/// first.
fn keep_smaps(dir: &Path, name: &str, pid: u32) {
    let mut text = String::new();
    let mut pids = vec![(std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default(), pid)];
    pids.extend(descendant_pids(pid));
    for (comm, p) in pids {
        // path -> (PSS, anonymous) in KiB
        let mut by = std::collections::BTreeMap::<String, (u64, u64)>::new();
        let smaps = std::fs::read_to_string(format!("/proc/{p}/smaps")).unwrap_or_default();
        let mut current = String::new();
        for line in smaps.lines() {
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or_default();
            let kib = || -> u64 { line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0) };
            if first.contains('-') && !first.ends_with(':') {
                // a mapping's header: range perms offset dev inode [path]
                let path: Vec<&str> = words.skip(4).collect();
                current = if path.is_empty() { "[anon]".into() } else { path.join(" ") };
            } else if first == "Pss:" {
                by.entry(current.clone()).or_default().0 += kib();
            } else if first == "Anonymous:" {
                by.entry(current.clone()).or_default().1 += kib();
            }
        }
        let mut rows: Vec<_> = by.into_iter().collect();
        rows.sort_by_key(|(_, (pss, _))| std::cmp::Reverse(*pss));
        let (pss, anon) = rows.iter().fold((0, 0), |t, (_, (p, a))| (t.0 + p, t.1 + a));
        text.push_str(&format!("== {} ({p}): PSS {pss} KiB (anonymous {anon} KiB)\n", comm.trim()));
        for (path, (pss, anon)) in rows.iter().take(30) {
            text.push_str(&format!("{pss:>8} {anon:>8}  {path}\n"));
        }
    }
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(dir.join(format!("{name}.txt")), text);
}

/// Every process below `pid`: (command name, pid).
fn descendant_pids(pid: u32) -> Vec<(String, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![pid];
    while let Some(parent) = stack.pop() {
        let Ok(entries) = std::fs::read_dir("/proc") else { break };
        for e in entries.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { continue };
            let ppid: Option<u32> =
                stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)).and_then(|v| v.parse().ok());
            if ppid == Some(parent) {
                out.push((std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default().trim().to_owned(), p));
                stack.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousandths;

    #[test]
    fn a_ratio_over_its_goal_is_never_shown_under_it() {
        assert_eq!(thousandths(1300, 1000), "1.300");
        assert_eq!(thousandths(13_001, 10_000), "1.301");
        assert_eq!(thousandths(248_730, 191_078), "1.302");
        assert_eq!(thousandths(999, 1000), "0.999");
        assert_eq!(thousandths(5, 0), "5.000");
    }
}
