//! How WebKitGTK runs the page: its renderer on a machine without a GPU, and JavaScript without
//! a JIT. Both are chosen through environment variables that WebKit's processes inherit, so
//! [`configure_engine`] runs first in `main`, before any other thread (and the bench's trivial
//! window calls the same function, so the two are compared on the same engine).
//!
//! **Renderer.** WebKitGTK (2.42 and later) composites pages through its DMA-BUF renderer by
//! default. Without a GPU render node (`/dev/dri/renderD*`: virtual machines, remote desktops,
//! Xvfb) that GL is emulated on the CPU, which here made the first frame of the invoice list come
//! 0.1–1.7 s after its rows were in the page, and doubled the web process's memory (PSS 236
//! against 121 MiB). On such a machine the app asks for WebKit's other renderer, as
//! `WEBKIT_DISABLE_DMABUF_RENDERER=1` does; with a GPU, or when the user set either variable,
//! WebKit's own choice stands.
//!
//! **No JIT** (`JSC_useJIT=false`, JavaScriptCore's own option: every tier off, the regular
//! expression JIT too; WebAssembly, which the UI does not use, needs a JIT). The page runs on
//! JSC's interpreter, as Apple's Lockdown Mode has WebKit do: the desk shows text that comes
//! from the gateway and PayPal, and the JIT is where a large share of engine exploits land. It
//! keeps the web process ~13 MiB smaller (compiled code and the compilers' memory; the trivial
//! window's page, with almost no script, ~2 MiB), which is what brings the app under 1.3× the
//! trivial window's memory. Measured in the release app on 100,000 invoices (docs/BENCHMARKS.md,
//! "Start-up"): the start no slower (no compiler threads taking one of the two cores), a scroll
//! step and a search as fast (frame- and query-bound), moving the selection with a key ~23 ms
//! to the next frame instead of ~16 ms. A user who sets `JSC_useJIT` themselves decides.

/// The variables by which a user chooses WebKit's renderer themselves.
const RENDERER_CHOICES: [&str; 2] = ["WEBKIT_DISABLE_DMABUF_RENDERER", "WEBKIT_DISABLE_COMPOSITING_MODE"];

/// JavaScriptCore's option for its JIT compilers (all tiers, regular expressions included).
const JIT: &str = "JSC_useJIT";

/// Whether to turn WebKit's DMA-BUF renderer off: no GPU render node, and no choice of the user's.
fn without_dmabuf(user_chose: bool, render_node: bool) -> bool {
    !user_chose && !render_node
}

/// Whether `dir` (`/dev/dri`) holds a render node.
fn has_render_node(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|e| e.file_name().to_str().is_some_and(|n| n.starts_with("renderD")))
    })
}

/// The variables to set, given what is set already (`set`) and whether the machine has a GPU
/// render node.
fn choices(set: impl Fn(&str) -> bool, render_node: bool) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if cfg!(target_os = "linux") && without_dmabuf(RENDERER_CHOICES.iter().any(|v| set(v)), render_node) {
        out.push((RENDERER_CHOICES[0], "1"));
    }
    if cfg!(target_os = "linux") && !set(JIT) {
        out.push((JIT, "false"));
    }
    out
}

/// Chooses WebKit's renderer for this machine and turns JavaScriptCore's JIT off, unless the user
/// chose. Call first in `main`: it sets environment variables, which must happen before any
/// other thread runs.
pub fn configure_engine() {
    let set = |name: &str| std::env::var_os(name).is_some();
    for (name, value) in choices(set, has_render_node(std::path::Path::new("/dev/dri"))) {
        std::env::set_var(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_machine_without_a_render_node_and_without_the_users_choice_turns_dmabuf_off() {
        assert!(without_dmabuf(false, false));
        assert!(!without_dmabuf(false, true), "a GPU: WebKit's default");
        assert!(!without_dmabuf(true, false), "the user's choice stands");
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_jit_is_off_unless_the_user_chose_and_each_choice_of_theirs_stands() {
        let nothing_set = |_: &str| false;
        assert_eq!(choices(nothing_set, false), [("WEBKIT_DISABLE_DMABUF_RENDERER", "1"), ("JSC_useJIT", "false")]);
        assert_eq!(choices(nothing_set, true), [("JSC_useJIT", "false")], "a GPU: WebKit's renderer");
        let jit_set = |name: &str| name == "JSC_useJIT";
        assert_eq!(choices(jit_set, true), [], "the user's JIT choice stands");
        let compositing_set = |name: &str| name == "WEBKIT_DISABLE_COMPOSITING_MODE";
        assert_eq!(choices(compositing_set, false), [("JSC_useJIT", "false")], "the user's renderer choice stands");
    }

    #[test]
    fn a_render_node_is_found_by_its_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!has_render_node(dir.path()));
        assert!(!has_render_node(&dir.path().join("missing")));
        std::fs::write(dir.path().join("card0"), "").expect("card0");
        assert!(!has_render_node(dir.path()), "a card alone is no render node");
        std::fs::write(dir.path().join("renderD128"), "").expect("renderD128");
        assert!(has_render_node(dir.path()));
    }
}
