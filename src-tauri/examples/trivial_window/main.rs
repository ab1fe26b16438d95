//! The baseline of `cargo xtask bench`'s start-up figures: a Tauri window with a tiny page and
//! nothing else (no engine, no database, no commands), built with the app's Tauri and features.
//! It prints "trivial window painted" with the milliseconds since `main` when WebKit has loaded
//! its page. It configures WebKit as the app does (`src/webkit.rs`, the same file: the renderer
//! for this machine, no JIT), so the two are compared on the same engine. Its window is Tauri's
//! default, created visible (the app creates its own hidden and shows it with its webview in it:
//! `show_window` in `src/main.rs`).

#[path = "../../src/webkit.rs"]
mod webkit;

fn main() {
    let started = std::time::Instant::now();
    webkit::configure_engine();
    let result = tauri::Builder::default()
        .on_page_load(move |_, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Finished {
                eprintln!("trivial window painted ms={}", started.elapsed().as_millis());
            }
        })
        .run(tauri::generate_context!("examples/trivial_window/tauri.conf.json"));
    if let Err(e) = result {
        eprintln!("trivial window: {e}");
        std::process::exit(1);
    }
}
