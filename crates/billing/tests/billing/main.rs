//! The engine against the real sandbox on port 0 (one test binary: links once).

mod capture;
mod capture_paths;
mod clock_ahead;
mod common;
mod environments;
mod journal;
mod legacy;
mod list;
mod recovery;
mod session;
mod sync;
