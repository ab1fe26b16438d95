//! The real app, started by tauri-driver under Xvfb (`cargo xtask test` provides both and sets
//! `DESK_E2E_APP` to the built binary and `DISPLAY` to its virtual screen).

mod about;
mod batch_review;
mod capture;
mod commands;
mod driver;
mod invoice_list;
mod one_instance;
mod screenshot;
mod settings_offline;
