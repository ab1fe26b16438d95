//! `--state FILE`: the world is loaded at start and written (atomically) shortly after every
//! change and at shutdown, so a restarted sandbox finds the same world.

use crate::world::World;
use crate::AppState;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Loads a saved world; `Ok(None)` when there is none yet.
pub(crate) fn load(path: &Path) -> std::io::Result<Option<World>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes the world if it changed since the last write.
pub(crate) fn save_now(state: &AppState) {
    let Some(path) = state.config.state_file.as_deref() else {
        return;
    };
    if !state.dirty.swap(false, Ordering::AcqRel) {
        return;
    }
    let bytes = {
        let w = state.world();
        serde_json::to_vec(&*w)
    };
    let result = bytes.map_err(std::io::Error::other).and_then(|bytes| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path)
    });
    if let Err(e) = result {
        state.mark_dirty();
        tracing::error!(error = %e, path = %path.display(), "could not save the sandbox state");
    }
}

/// Saves every half second while anything changed; never returns.
pub(crate) async fn keep_saved(state: AppState) {
    if state.config.state_file.is_none() {
        std::future::pending::<()>().await;
    }
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let s = state.clone();
        let _ = tokio::task::spawn_blocking(move || save_now(&s)).await;
    }
}
