//! `cargo xtask test`'s "rust tests" step: the workspace's tests in groups side by side. The two
//! slowest test binaries (the CLI's, and billing's integration tests: minutes each, mostly
//! waiting on sandboxes, child processes and leases) each run in a group of their own beside
//! the rest, instead of one after the other. Every group is a `cargo test` over the same
//! packages as the build step (`WORKSPACE`) and with dev-dependencies, so features unify alike
//! and nothing is rebuilt. Each group's output goes to `target/xtask-tests/GROUP.log` and is
//! shown when the group ends.

use crate::group::cmd_with_timeout;
use crate::steps::{cargo, root, Result, WORKSPACE};
use std::time::{Duration, Instant};

/// Test targets that run in a group of their own.
const ALONE: [&str; 2] = ["cli", "billing"];
/// Tests at a time in each test binary (they wait far more than they compute).
const THREADS: &str = "--test-threads=3";
/// The most a group may take.
const LIMIT: Duration = Duration::from_secs(20 * 60);

/// One group: its name and the `cargo test` argument lists it runs in turn.
#[derive(Debug, PartialEq)]
struct Group {
    name: String,
    runs: Vec<Vec<String>>,
}

/// The groups for the workspace's test targets (`targets`: every `test` target of the packages
/// `WORKSPACE` selects).
fn groups(targets: &[String]) -> Result<Vec<Group>> {
    // `cargo test` over the workspace's packages with `select`, then `after` for the harness
    let cargo_test = |select: &[&str], after: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = vec!["test".into()];
        args.extend(WORKSPACE.iter().chain(select).chain(after).map(|a| a.to_string()));
        args
    };
    let run = |select: &[&str]| cargo_test(select, &["--", THREADS]);
    let mut out = Vec::new();
    for t in ALONE {
        if !targets.iter().any(|n| n == t) {
            return Err(format!("no test target named {t:?} in the workspace (xtask/src/rust_tests.rs)").into());
        }
        out.push(Group { name: t.to_string(), runs: vec![run(&["--test", t])] });
    }
    let mut rest = vec!["--lib", "--bins"];
    for t in targets.iter().filter(|t| !ALONE.contains(&t.as_str())) {
        rest.extend(["--test", t.as_str()]);
    }
    out.push(Group { name: "the-rest".into(), runs: vec![run(&rest), cargo_test(&["--doc"], &[])] });
    Ok(out)
}

/// The names of the `test` targets of the packages `WORKSPACE` selects (`cargo metadata`).
fn test_targets() -> Result<Vec<String>> {
    let out = cargo().args(["metadata", "--no-deps", "--format-version", "1"]).output()?;
    if !out.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    targets_in(&serde_json::from_slice(&out.stdout)?)
}

fn targets_in(metadata: &serde_json::Value) -> Result<Vec<String>> {
    let excluded: Vec<&str> = WORKSPACE.windows(2).filter(|w| w[0] == "--exclude").map(|w| w[1]).collect();
    let packages = metadata["packages"].as_array().ok_or("cargo metadata: no packages")?;
    let mut names = Vec::new();
    for p in packages.iter().filter(|p| !excluded.contains(&p["name"].as_str().unwrap_or_default())) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let is_test = t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "test"));
            if let (true, Some(name)) = (is_test, t["name"].as_str()) {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Runs every group at once; fails if any failed (after all have ended).
pub fn run() -> Result {
    let groups = groups(&test_targets()?)?;
    let dir = root().join("target/xtask-tests");
    std::fs::create_dir_all(&dir)?;
    let results: Vec<(String, std::result::Result<(), String>)> = std::thread::scope(|s| {
        let running: Vec<_> = groups.iter().map(|g| (g.name.clone(), s.spawn(|| run_group(g, &dir)))).collect();
        running
            .into_iter()
            .map(|(name, h)| (name, h.join().unwrap_or_else(|_| Err("the group's thread panicked".into()))))
            .collect()
    });
    let failed: Vec<String> =
        results.into_iter().filter_map(|(name, r)| r.err().map(|e| format!("{name}: {e}"))).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("; ").into())
    }
}

/// One group's runs in turn, output to its log, shown when it ends.
fn run_group(g: &Group, dir: &std::path::Path) -> std::result::Result<(), String> {
    let log = dir.join(format!("{}.log", g.name));
    let started = Instant::now();
    let result = (|| -> Result {
        let file = std::fs::File::create(&log)?;
        for args in &g.runs {
            let mut c = cargo();
            c.args(args).stdout(file.try_clone()?).stderr(file.try_clone()?);
            cmd_with_timeout(&mut c, LIMIT)?;
        }
        Ok(())
    })()
    .map_err(|e| e.to_string());
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!(
        "\n--- rust tests, group {} ({}, {:.0?}; log {}):\n{text}",
        g.name,
        if result.is_ok() { "ok" } else { "FAILED" },
        started.elapsed(),
        log.display()
    );
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slow_targets_run_alone_and_every_other_target_with_the_libraries_bins_and_doc_tests() {
        let targets: Vec<String> = ["against_sandbox", "billing", "cli", "paypal"].map(String::from).to_vec();
        let g = groups(&targets).expect("groups");
        assert_eq!(g.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["cli", "billing", "the-rest"]);
        let joined = |args: &Vec<String>| args.join(" ");
        assert_eq!(joined(&g[0].runs[0]), "test --workspace --exclude desk-e2e --test cli -- --test-threads=3");
        assert_eq!(
            joined(&g[2].runs[0]),
            "test --workspace --exclude desk-e2e --lib --bins --test against_sandbox --test paypal -- --test-threads=3"
        );
        assert_eq!(joined(&g[2].runs[1]), "test --workspace --exclude desk-e2e --doc");
    }

    #[test]
    fn a_slow_target_that_is_gone_is_an_error_not_a_group_that_tests_nothing() {
        let err = groups(&["billing".to_string()]).expect_err("cli missing");
        assert!(err.to_string().contains("\"cli\""), "{err}");
    }

    #[test]
    fn the_test_targets_are_those_of_the_selected_packages() {
        let metadata = serde_json::json!({"packages": [
            {"name": "billing", "targets": [{"name": "billing", "kind": ["lib"]}, {"name": "billing", "kind": ["test"]}]},
            {"name": "desk-e2e", "targets": [{"name": "e2e", "kind": ["test"]}]},
            {"name": "cli", "targets": [{"name": "desk", "kind": ["bin"]}, {"name": "cli", "kind": ["test"]}]},
        ]});
        assert_eq!(targets_in(&metadata).expect("targets"), ["billing", "cli"]);
    }
}
