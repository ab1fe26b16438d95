//! The baseline of `cargo xtask bench`'s start-up figures: a Tauri window with a tiny page and
//! nothing else (no engine, no database, no commands), built with the app's Tauri and features.
//! It prints "trivial window painted" with the milliseconds since `main` when WebKit has loaded
//! its page. It chooses WebKit's renderer as the app does (`src/webkit.rs`, the same file), so
//! the two are compared on the same renderer.

#[path = "../../src/webkit.rs"]
mod webkit;

fn main() {
    let started = std::time::Instant::now();
    webkit::choose_renderer();
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
