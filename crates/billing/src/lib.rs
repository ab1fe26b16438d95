//! Capture Desk's engine. Owns every state change (in SQLite transactions) and knows nothing
//! of Tauri: the desktop shell and the CLI are thin front ends over [`Desk`].
//!
//! * [`environments`]: one database per environment under the data directory, and the machine's
//!   settings; [`legacy_migration`] splits the single database of earlier versions;
//! * [`store`]: the SQLite files (sqlx, embedded migrations, WAL);
//! * [`invoices`]: the cached invoices and the one keyset-paginated list query;
//! * [`sync`]: pulling invoices from the gateway into the cache;
//! * [`settings`] and [`secrets`]: configuration, and credentials in the OS keyring only;
//! * [`audit`]: the append-only audit log;
//! * [`desk`]: the handle that ties them together, opened by its factory ([`DeskFactory`]); in
//!   `demo` with the world a front end hosts ([`demo`]: the seam, no simulator in the engine);
//! * [`detail`]: one invoice in full (cache, gateway payment history, live PayPal status);
//! * [`session`]: the desk the app holds, reopened when settings or credentials change;
//! * [`instance_lock`]: one app per data directory; [`log_files`]: the app's rotating log;
//!   [`about`]: the version, environment and paths Settings shows.

pub mod about;
pub mod audit;
pub mod batch;
pub mod capture;
pub mod demo;
pub mod desk;
pub mod detail;
pub mod environments;
pub mod error;
pub mod fnv;
pub mod instance_lock;
pub mod invoices;
mod lease_core;
pub mod legacy_migration;
pub mod log_files;
pub mod secrets;
pub mod session;
pub mod settings;
pub mod store;
pub mod sync;
mod time;

pub use desk::{Desk, DeskFactory, DeskOptions, DeskStatus};
pub use error::{DeskError, ErrorCode};
pub use invoices::{CurrencyTotal, InvoiceFilter, InvoicePage, InvoiceRow, ListRequest, SortKey};
pub use settings::{EnvOverrides, Environment, Settings};
pub use sync::{SyncProgress, SyncReport};
