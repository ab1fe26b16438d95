//! WebKitGTK's renderer on a machine without a GPU.
//!
//! WebKitGTK (2.42 and later) composites pages through its DMA-BUF renderer by default. Without
//! a GPU render node (`/dev/dri/renderD*`: virtual machines, remote desktops, Xvfb) that GL is
//! emulated on the CPU, which here made the first frame of the invoice list come 0.1–1.7 s after
//! its rows were in the page, and doubled the web process's memory (PSS 236 against 121 MiB).
//! On such a machine the app asks for WebKit's other renderer, as `WEBKIT_DISABLE_DMABUF_RENDERER=1`
//! does; with a GPU, or when the user set either variable, WebKit's own choice stands.

/// The variables by which a user chooses WebKit's renderer themselves.
const CHOICES: [&str; 2] = ["WEBKIT_DISABLE_DMABUF_RENDERER", "WEBKIT_DISABLE_COMPOSITING_MODE"];

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

/// Chooses WebKit's renderer for this machine. Call first in `main`: it sets an environment
/// variable, which must happen before any other thread runs.
pub fn choose_renderer() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let user_chose = CHOICES.iter().any(|v| std::env::var_os(v).is_some());
    if without_dmabuf(user_chose, has_render_node(std::path::Path::new("/dev/dri"))) {
        std::env::set_var(CHOICES[0], "1");
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
