//! One desk: the `desk` binary on a data directory of its own, in the sandbox environment,
//! with a home of its own (nothing of the developer's is read or touched). Each run is logged
//! to the desk's log, and may be killed with SIGKILL at a chosen moment.

use crate::steps::Result;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Longest a desk run may take before it counts as hung (and is killed): well past what the
/// desk may wait on its own (a wallet lease a killed process left, PayPal's retry pauses).
const HUNG: Duration = Duration::from_secs(300);

pub(crate) struct Desk {
    pub(crate) name: String,
    binary: PathBuf,
    data: PathBuf,
    home: PathBuf,
    sandbox: String,
    log: PathBuf,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Exited by itself with this code.
    Exited(i32),
    /// Killed by us (SIGKILL) at the planned moment.
    Killed,
    /// Ended by a signal we did not send (a crash).
    Crashed(String),
    /// Still running after [`HUNG`]; killed.
    Hung,
}

pub(crate) struct Run {
    pub(crate) ended: Ended,
    pub(crate) stdout: String,
}

impl Desk {
    /// A desk named `name` with its data, home and log under `dir`.
    pub(crate) fn new(name: &str, binary: &Path, dir: &Path, sandbox: &str) -> Result<Desk> {
        let data = dir.join(format!("data-{name}"));
        let home = dir.join(format!("home-{name}"));
        for sub in ["", ".config", ".local/share", ".cache", "run"] {
            std::fs::create_dir_all(home.join(sub))?;
        }
        std::fs::set_permissions(home.join("run"), std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        std::fs::create_dir_all(&data)?;
        Ok(Desk {
            name: name.into(),
            binary: binary.into(),
            data,
            home,
            sandbox: sandbox.into(),
            log: dir.join(format!("desk-{name}.log")),
        })
    }

    fn command(&self, args: &[String], env: &[(&str, &str)]) -> Command {
        let mut c = Command::new(&self.binary);
        c.args(args).env_clear();
        for keep in ["PATH", "LANG", "TZ"] {
            if let Some(v) = std::env::var_os(keep) {
                c.env(keep, v);
            }
        }
        c.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("XDG_RUNTIME_DIR", self.home.join("run"))
            .env("DESK_DATA_DIR", &self.data)
            .env("DESK_ENV", "sandbox")
            .env("DESK_GATEWAY_URL", &self.sandbox)
            .env("DESK_PAYPAL_URL", &self.sandbox)
            .env("DESK_GATEWAY_TOKEN", super::sandbox::STAFF_TOKEN)
            .env("DESK_PAYPAL_CLIENT_ID", "demo-client-id")
            .env("DESK_PAYPAL_CLIENT_SECRET", "demo-client-secret")
            .env("DESK_STAFF", format!("chaos-{}", self.name))
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// Runs `desk <args>`; with `kill_after`, SIGKILLs it then if it is still running.
    pub(crate) fn run(&self, args: &[String], kill_after: Option<Duration>) -> Result<Run> {
        self.run_with(args, kill_after, &[])
    }

    /// [`Desk::run`] with more environment (`DESK_STAFF`, `DESK_FOUR_EYES`, ...).
    pub(crate) fn run_with(&self, args: &[String], kill_after: Option<Duration>, env: &[(&str, &str)]) -> Result<Run> {
        let mut log = OpenOptions::new().create(true).append(true).open(&self.log)?;
        let plan = kill_after.map_or(String::new(), |k| format!("   (SIGKILL after {} ms)", k.as_millis()));
        let vars: String = env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        writeln!(log, "\n$ {vars}desk {}{plan}", args.join(" "))?;
        let out_path = self.log.with_extension("stdout");
        let stdout = File::create(&out_path)?;
        let mut child = self
            .command(args, env)
            .stdout(stdout)
            .stderr(log.try_clone()?)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.binary.display()))?;
        let started = Instant::now();
        let ended = loop {
            if let Some(status) = child.try_wait()? {
                break ended_by(status);
            }
            let elapsed = started.elapsed();
            if kill_after.is_some_and(|k| elapsed >= k) {
                // Child::kill is SIGKILL on Unix: no chance to clean up, as in a power cut
                child.kill()?;
                let status = child.wait()?;
                // it may have finished in the meantime
                break match ended_by(status) {
                    Ended::Crashed(_) => Ended::Killed,
                    other => other,
                };
            }
            if elapsed >= HUNG {
                child.kill()?;
                child.wait()?;
                break Ended::Hung;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let took = started.elapsed();
        let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
        let _ = std::fs::remove_file(&out_path);
        if args.iter().any(|a| a == "--json") {
            writeln!(log, "({} bytes of JSON on stdout)", stdout.len())?;
        } else {
            log.write_all(stdout.as_bytes())?;
        }
        writeln!(log, "-> {} after {} ms", describe(&ended), took.as_millis())?;
        Ok(Run { ended, stdout })
    }

    /// `desk journal --json` (every entry: filtering is the checker's).
    pub(crate) fn journal(&self) -> Result<(String, Vec<super::evidence::Entry>)> {
        let run = self.run(&["journal".into(), "--json".into(), "--limit".into(), "1000000".into()], None)?;
        if run.ended != Ended::Exited(0) {
            return Err(format!("desk {}: `desk journal` {}", self.name, describe(&run.ended)).into());
        }
        let v: serde_json::Value = serde_json::from_str(&run.stdout)
            .map_err(|e| format!("desk {}: the journal is not JSON: {e}", self.name))?;
        Ok((run.stdout.clone(), super::evidence::journal(&v)?))
    }
}

fn ended_by(status: ExitStatus) -> Ended {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Ended::Exited(code),
        (None, Some(signal)) => Ended::Crashed(format!("signal {signal}")),
        (None, None) => Ended::Crashed("no exit code".into()),
    }
}

pub(crate) fn describe(e: &Ended) -> String {
    match e {
        Ended::Exited(code) => format!("exit {code}"),
        Ended::Killed => "killed (SIGKILL)".into(),
        Ended::Crashed(how) => format!("crashed ({how})"),
        Ended::Hung => format!("hung (killed after {} s)", HUNG.as_secs()),
    }
}
