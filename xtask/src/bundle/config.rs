//! The Tauri CLI's config, derived from the root `tauri.conf.json` (the one source of every
//! value): paths rewritten to resolve from `src-tauri/`; on Linux the package named after the
//! main binary, with a desktop entry template that shows the product name; on Windows `desk.exe`
//! carried beside the app (a resource: installed in the install folder, which the installers'
//! hooks put on PATH: `src-tauri/windows/`).

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
    Mac,
}

impl Os {
    pub fn current() -> Option<Os> {
        if cfg!(target_os = "linux") {
            Some(Os::Linux)
        } else if cfg!(target_os = "windows") {
            Some(Os::Windows)
        } else if cfg!(target_os = "macos") {
            Some(Os::Mac)
        } else {
            None
        }
    }

    /// What `cargo xtask bundle` makes here. Linux leaves out the AppImage: its bundler
    /// downloads linuxdeploy at bundle time (`--bundles appimage` where that works).
    pub fn default_bundles(self) -> &'static str {
        match self {
            Os::Linux => "deb,rpm",
            Os::Windows => "nsis,msi",
            Os::Mac => "app,dmg",
        }
    }
}

/// The settings whose values are paths relative to the config's folder (`*`: any key or
/// index). A path anywhere else in the root config fails a test below.
pub const PATH_SETTINGS: &[&str] = &[
    "/build/frontendDist",
    "/bundle/icon/*",
    "/bundle/licenseFile",
    "/bundle/linux/deb/files/*",
    "/bundle/linux/deb/desktopTemplate",
    "/bundle/linux/rpm/files/*",
    "/bundle/linux/rpm/desktopTemplate",
    "/bundle/linux/appimage/files/*",
    "/bundle/macOS/files/*",
    "/bundle/macOS/dmg/background",
    "/bundle/macOS/infoPlist",
    "/bundle/macOS/entitlements",
    "/bundle/windows/nsis/installerIcon",
    "/bundle/windows/nsis/headerImage",
    "/bundle/windows/nsis/sidebarImage",
    "/bundle/windows/nsis/installerHooks",
    "/bundle/windows/wix/fragmentPaths/*",
    "/bundle/windows/wix/bannerPath",
    "/bundle/windows/wix/dialogImagePath",
];

/// `desk` as the release build makes it on Windows, relative to the repository root.
pub const WINDOWS_DESK: &str = "target/release/desk.exe";

/// The Linux packages that carry a desktop entry.
const DESKTOP_PACKAGES: [&str; 2] = ["deb", "rpm"];

pub struct Derived {
    pub config: Value,
    /// The Linux desktop entry's template (handlebars, as Tauri's bundler renders it).
    pub desktop_template: Option<String>,
}

/// The CLI's config for `os` from the root config. `template` is where the desktop entry's
/// template is written, relative to the repository root.
pub fn derive(root_config: &Value, os: Os, template: &str) -> Result<Derived, String> {
    let mut config = root_config.clone();
    rewrite_paths(&mut config, &mut Vec::new());
    match os {
        Os::Linux => {}
        Os::Windows => {
            // Only here, not in the root config: `tauri-build` (which reads that one at every
            // build of the app) would require the resource to exist before `desk` is built.
            let bundle = object_at(&mut config, &["bundle"])?;
            if bundle.contains_key("resources") {
                return Err("bundle.resources is derived on Windows: remove it from tauri.conf.json".into());
            }
            let mut resources = Map::new();
            resources.insert(from_src_tauri(WINDOWS_DESK), Value::from("desk.exe"));
            bundle.insert("resources".into(), Value::Object(resources));
            return Ok(Derived { config, desktop_template: None });
        }
        Os::Mac => return Ok(Derived { config, desktop_template: None }),
    }
    let text =
        |key: &str| root_config.get(key).and_then(Value::as_str).ok_or_else(|| format!("tauri.conf.json has no {key}"));
    let (product, main_binary) = (text("productName")?, text("mainBinaryName")?);
    if main_binary.contains(char::is_whitespace) || product.contains(['{', '}', '\n']) {
        return Err(format!("unusable names for a desktop entry: {main_binary:?}, {product:?}"));
    }
    // The bundler names the package, its file and the desktop entry after the product name.
    config["productName"] = Value::from(main_binary);
    for package in DESKTOP_PACKAGES {
        let settings = object_at(&mut config, &["bundle", "linux", package])?;
        if settings.contains_key("desktopTemplate") {
            return Err(format!("bundle.linux.{package}.desktopTemplate is derived: remove it from tauri.conf.json"));
        }
        settings.insert("desktopTemplate".into(), Value::from(from_src_tauri(template)));
    }
    let desktop_template = format!(
        "[Desktop Entry]\nType=Application\nName={product}\n{{{{#if comment}}}}\nComment={{{{comment}}}}\n{{{{/if}}}}\n\
         Exec={{{{exec}}}}\nIcon={{{{icon}}}}\nCategories={{{{categories}}}}\nTerminal=false\n\
         {{{{#if mime_type}}}}\nMimeType={{{{mime_type}}}}\n{{{{/if}}}}\n"
    );
    Ok(Derived { config, desktop_template: Some(desktop_template) })
}

/// A path relative to the repository root, as seen from `src-tauri/`.
pub fn from_src_tauri(path: &str) -> String {
    let absolute = path.starts_with('/') || path.as_bytes().get(1) == Some(&b':');
    if absolute {
        path.to_string()
    } else {
        format!("../{path}")
    }
}

/// Whether a setting (its keys from the root) is one of [`PATH_SETTINGS`].
pub fn is_path_setting(at: &[String]) -> bool {
    PATH_SETTINGS.iter().any(|pattern| {
        let parts: Vec<&str> = pattern.split('/').skip(1).collect();
        parts.len() == at.len() && parts.iter().zip(at).all(|(p, k)| *p == "*" || p == k)
    })
}

fn rewrite_paths(value: &mut Value, at: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                at.push(key.clone());
                rewrite_paths(v, at);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                at.push(i.to_string());
                rewrite_paths(v, at);
                at.pop();
            }
        }
        Value::String(s) if is_path_setting(at) => *s = from_src_tauri(s),
        _ => {}
    }
}

/// The object at `keys`, made (empty) where missing.
fn object_at<'a>(value: &'a mut Value, keys: &[&str]) -> Result<&'a mut Map<String, Value>, String> {
    let mut here = value;
    for key in keys {
        let map = here.as_object_mut().ok_or_else(|| format!("tauri.conf.json: {key}'s parent is not an object"))?;
        here = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    here.as_object_mut().ok_or_else(|| format!("tauri.conf.json: {} is not an object", keys.join(".")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::root;
    use std::collections::BTreeMap;

    const TEMPLATE: &str = "target/xtask/capture-desk.desktop";

    fn root_config() -> Value {
        let text = std::fs::read_to_string(root().join("tauri.conf.json")).expect("tauri.conf.json");
        serde_json::from_str(&text).expect("tauri.conf.json is JSON")
    }

    /// Every leaf (string, number, bool, null, empty object or array) by its keys.
    fn leaves(value: &Value) -> BTreeMap<Vec<String>, Value> {
        fn walk(v: &Value, at: &mut Vec<String>, out: &mut BTreeMap<Vec<String>, Value>) {
            match v {
                Value::Object(m) if !m.is_empty() => m.iter().for_each(|(k, v)| {
                    at.push(k.clone());
                    walk(v, at, out);
                    at.pop();
                }),
                Value::Array(a) if !a.is_empty() => a.iter().enumerate().for_each(|(i, v)| {
                    at.push(i.to_string());
                    walk(v, at, out);
                    at.pop();
                }),
                _ => {
                    out.insert(at.clone(), v.clone());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(value, &mut Vec::new(), &mut out);
        out
    }

    fn keys(path: &str) -> Vec<String> {
        path.split('.').map(String::from).collect()
    }

    #[test]
    fn the_derived_config_agrees_with_the_root_one_on_every_value() {
        let root_config = root_config();
        let main_binary = root_config["mainBinaryName"].as_str().expect("mainBinaryName");
        for os in [Os::Linux, Os::Windows, Os::Mac] {
            let derived = derive(&root_config, os, TEMPLATE).expect("derives");
            let (ours, theirs) = (leaves(&root_config), leaves(&derived.config));
            for (at, value) in &ours {
                let got = theirs.get(at).unwrap_or_else(|| panic!("{os:?}: {at:?} missing from the derived config"));
                let want = if is_path_setting(at) {
                    Value::from(from_src_tauri(value.as_str().expect("a path is a string")))
                } else if os == Os::Linux && at == &keys("productName") {
                    Value::from(main_binary)
                } else {
                    value.clone()
                };
                assert_eq!(got, &want, "{os:?}: {at:?}");
            }
            let added: Vec<_> = theirs.keys().filter(|at| !ours.contains_key(*at)).collect();
            let expected: Vec<Vec<String>> = match os {
                Os::Linux => vec![keys("bundle.linux.deb.desktopTemplate"), keys("bundle.linux.rpm.desktopTemplate")],
                Os::Windows => vec![vec!["bundle".into(), "resources".into(), from_src_tauri(WINDOWS_DESK)]],
                Os::Mac => vec![],
            };
            assert_eq!(added, expected.iter().collect::<Vec<_>>(), "{os:?}: settings only in the derived config");
            for shared in ["version", "identifier", "mainBinaryName", "bundle.publisher", "bundle.category"] {
                assert_eq!(theirs.get(&keys(shared)), ours.get(&keys(shared)), "{os:?}: {shared}");
            }
            if os != Os::Linux {
                assert_eq!(derived.config["productName"], root_config["productName"]);
                assert!(derived.desktop_template.is_none());
            }
        }
    }

    #[test]
    fn the_linux_desktop_entry_has_no_space_in_its_file_name_and_shows_the_product_name() {
        let root_config = root_config();
        let derived = derive(&root_config, Os::Linux, TEMPLATE).expect("derives");
        // the bundler writes usr/share/applications/<productName>.desktop
        let file_name = derived.config["productName"].as_str().expect("productName");
        assert!(!file_name.is_empty() && !file_name.contains(char::is_whitespace), "{file_name:?}");
        assert_eq!(file_name, root_config["mainBinaryName"].as_str().expect("mainBinaryName"));
        let template = derived.desktop_template.expect("a template on Linux");
        let name = format!("Name={}", root_config["productName"].as_str().expect("productName"));
        assert!(template.lines().any(|l| l == name), "{template}");
        for line in
            ["[Desktop Entry]", "Exec={{exec}}", "Icon={{icon}}", "Categories={{categories}}", "Type=Application"]
        {
            assert!(template.lines().any(|l| l == line), "{line} missing from {template}");
        }
        let deb = &derived.config["bundle"]["linux"]["deb"];
        assert_eq!(deb["desktopTemplate"], Value::from(format!("../{TEMPLATE}")));
    }

    #[test]
    fn every_path_in_the_root_config_is_a_path_setting_and_exists() {
        let root_config = root_config();
        for (at, value) in leaves(&root_config) {
            let Some(path) = value.as_str() else { continue };
            let built = path.starts_with("target/");
            if is_path_setting(&at) {
                assert!(built || root().join(path).exists(), "{at:?}: {path} does not exist");
            } else {
                let names_a_file = !path.is_empty() && !path.contains("://") && root().join(path).exists();
                assert!(!names_a_file, "{at:?} is a path ({path}): add it to PATH_SETTINGS");
            }
        }
        let icons = root_config["bundle"]["icon"].as_array().expect("bundle.icon");
        for needed in ["icons/icon.ico", "icons/icon.icns", "icons/32x32.png", "icons/256x256.png", "icons/icon.png"] {
            assert!(icons.iter().any(|i| i == needed), "bundle.icon lacks {needed}");
        }
    }

    #[test]
    fn the_cargo_version_is_the_configs() {
        let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
        let version = manifest
            .lines()
            .skip_while(|l| l.trim() != "[workspace.package]")
            .skip(1)
            .take_while(|l| !l.starts_with('['))
            .find_map(|l| l.strip_prefix("version = "))
            .map(|v| v.trim().trim_matches('"'))
            .expect("[workspace.package] version");
        assert_eq!(root_config()["version"].as_str(), Some(version));
        // the app and `desk` take the workspace's version (`desk --version`)
        for crate_manifest in ["src-tauri/Cargo.toml", "crates/cli/Cargo.toml"] {
            let text = std::fs::read_to_string(root().join(crate_manifest)).expect("manifest");
            assert!(text.lines().any(|l| l.trim() == "version.workspace = true"), "{crate_manifest}");
        }
    }

    #[test]
    fn a_linux_package_needs_a_main_binary_name_without_a_space() {
        let mut config = root_config();
        config["mainBinaryName"] = Value::from("Capture Desk");
        assert!(derive(&config, Os::Linux, TEMPLATE).is_err());
        config.as_object_mut().expect("object").remove("mainBinaryName");
        assert!(derive(&config, Os::Linux, TEMPLATE).is_err());
        assert!(derive(&config, Os::Windows, TEMPLATE).is_ok());
    }
}
