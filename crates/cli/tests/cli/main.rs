//! The real `desk` binary against a sandbox: every command of the README, its output and its
//! `--json`, and every exit code of the README's table.

mod batch;
mod batch_lease;
mod batch_run;
mod browse;
mod capture;
mod common;
mod exit_codes;
mod locks;
mod reauthorize;
