//! The engine against the real sandbox on port 0 (one test binary: links once).

mod capture;
mod capture_paths;
mod clock_ahead;
mod common;
mod journal;
mod list;
mod session;
mod sync;
