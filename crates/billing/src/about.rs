//! What the About part of Settings shows: the version, the environment in effect, and where the
//! desk keeps its data and its logs (paths a clerk can copy into a support request).

use crate::{log_files, Desk, Environment};
use serde::Serialize;
use std::path::Path;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct About {
    /// The app's version.
    pub version: String,
    /// The environment in effect; `None` when the desk could not open.
    pub environment: Option<Environment>,
    /// The data directory (`DESK_DATA_DIR`, else the OS app-data folder).
    pub data_dir: String,
    /// The environment's own database, when the desk is open.
    pub database: Option<String>,
    /// The logs folder.
    pub logs_dir: String,
    /// The log being written now (older ones beside it: `.1` the newest).
    pub log_file: String,
}

/// About the desk on `data_dir` (`desk`, when it could open) at `version`.
pub fn about(version: &str, data_dir: &Path, desk: Option<&Desk>) -> About {
    let logs = log_files::logs_dir(data_dir);
    About {
        version: version.to_owned(),
        environment: desk.map(Desk::environment),
        data_dir: data_dir.display().to_string(),
        database: desk.map(|d| d.database_path().display().to_string()),
        logs_dir: logs.display().to_string(),
        log_file: logs.join(log_files::APP_LOG).display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_desk_it_still_says_where_the_data_and_the_logs_are() {
        let about = about("1.2.3", Path::new("/data/desk"), None);
        assert_eq!(about.version, "1.2.3");
        assert_eq!(about.environment, None);
        assert_eq!(about.database, None);
        assert_eq!(Path::new(&about.data_dir), Path::new("/data/desk"));
        assert_eq!(Path::new(&about.logs_dir), Path::new("/data/desk/logs"));
        assert_eq!(Path::new(&about.log_file), Path::new("/data/desk/logs/capture-desk.log"));
    }
}
