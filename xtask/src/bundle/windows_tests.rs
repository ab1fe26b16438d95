//! The Windows installers' extras, checked here where they cannot be built: `desk.exe` carried
//! beside the app, and the NSIS hooks and WiX fragment that put its folder on the machine's PATH
//! (`src-tauri/windows/`). The hooks are compiled with Debian's `makensis` (the `nsis` package,
//! which `cargo xtask setup` installs for the tests), warnings as errors; what they run on
//! Windows (PowerShell editing PATH) cannot be run here.

use super::config::{derive, from_src_tauri, Os, WINDOWS_DESK};
use crate::steps::root;
use serde_json::Value;
use std::process::Command;

fn windows_config() -> Value {
    let text = std::fs::read_to_string(root().join("tauri.conf.json")).expect("tauri.conf.json");
    let root_config: Value = serde_json::from_str(&text).expect("JSON");
    derive(&root_config, Os::Windows, "target/xtask/capture-desk.desktop").expect("derives").config
}

/// A path of the derived config (relative to `src-tauri/`) as a file of the repository.
fn from_config(path: &str) -> std::path::PathBuf {
    root().join("src-tauri").join(path)
}

#[test]
fn the_windows_installers_carry_desk_and_its_hooks() {
    let config = windows_config();
    let resources = config["bundle"]["resources"].as_object().expect("bundle.resources");
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_eq!(resources.get(&from_src_tauri(WINDOWS_DESK)), Some(&Value::from("desk.exe")));
    // resolved from src-tauri/, the release build's desk.exe
    assert_eq!(from_config(&from_src_tauri(WINDOWS_DESK)), root().join("src-tauri/../target/release/desk.exe"));

    let hooks = config["bundle"]["windows"]["nsis"]["installerHooks"].as_str().expect("installerHooks");
    let hooks = std::fs::read_to_string(from_config(hooks)).expect("the NSIS hooks exist");
    for needed in ["!macro NSIS_HOOK_POSTINSTALL", "!macro NSIS_HOOK_POSTUNINSTALL", "CAPTURE_DESK_DIR"] {
        assert!(hooks.contains(needed), "the hooks lack {needed}");
    }

    let fragments = config["bundle"]["windows"]["wix"]["fragmentPaths"].as_array().expect("fragmentPaths");
    let refs = config["bundle"]["windows"]["wix"]["componentRefs"].as_array().expect("componentRefs");
    let fragment = std::fs::read_to_string(from_config(fragments[0].as_str().expect("a path"))).expect("fragment");
    for component in refs {
        let id = component.as_str().expect("an id");
        assert!(fragment.contains(&format!("<Component Id=\"{id}\"")), "no component {id} in the fragment");
    }
    // Windows Installer's own PATH edit: appended, per machine, taken out on uninstall
    for needed in [
        "<DirectoryRef Id=\"INSTALLDIR\">",
        "Name=\"PATH\"",
        "Value=\"[INSTALLDIR]\"",
        "Part=\"last\"",
        "System=\"yes\"",
        "Permanent=\"no\"",
    ] {
        assert!(fragment.contains(needed), "the fragment lacks {needed}");
    }
}

#[test]
fn the_nsis_hooks_compile_and_edit_path_through_the_registry_api() {
    let dir = std::env::temp_dir().join(format!("capture-desk-nsis-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let hooks = root().join("src-tauri/windows/desk-on-path.nsh");
    // the hooks in an installer of their own, as Tauri's template inserts them
    let script = format!(
        "Unicode true\nSetCompress off\n!include \"LogicLib.nsh\"\n!include \"{}\"\nName \"check\"\nOutFile \"check.exe\"\n\
         InstallDir \"$TEMP\\capture-desk-check\"\nRequestExecutionLevel user\n\
         Section Install\n  !insertmacro NSIS_HOOK_POSTINSTALL\n  WriteUninstaller \"$INSTDIR\\uninstall.exe\"\nSectionEnd\n\
         Section Uninstall\n  !insertmacro NSIS_HOOK_POSTUNINSTALL\nSectionEnd\n",
        hooks.display()
    );
    std::fs::write(dir.join("check.nsi"), script).expect("script");
    let out = Command::new("makensis")
        .args(["-V2", "-WX", "check.nsi"])
        .current_dir(&dir)
        .output()
        .expect("makensis (Debian's nsis package: `cargo xtask setup` installs it)");
    assert!(
        out.status.success(),
        "makensis: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // the commands as the installer holds them (UTF-16, uncompressed): NSIS's `$$` became `$`
    let exe = std::fs::read(dir.join("check.exe")).expect("check.exe");
    // (read at both byte alignments: the string table need not start at an even offset)
    let text: String = [&exe[..], exe.get(1..).unwrap_or_default()]
        .iter()
        .flat_map(|bytes| {
            char::decode_utf16(bytes.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])))
                .map(|c| c.unwrap_or('\u{fffd}'))
                .chain(['\0'])
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    let commands: Vec<&str> = text.split('\0').filter(|s| s.starts_with("powershell.exe ")).collect();
    assert_eq!(commands.len(), 2, "one command to add, one to remove: {commands:?}");
    for command in &commands {
        assert!(command.contains("$ErrorActionPreference = 'Stop'"), "{command}");
        assert!(command.contains("[Microsoft.Win32.Registry]::LocalMachine.OpenSubKey('SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment', $true)"), "{command}");
        assert!(command.contains("GetValue('Path', '', 'DoNotExpandEnvironmentNames')"), "{command}");
        assert!(command.contains("'ExpandString')"), "{command}");
        assert!(command.contains("$env:CAPTURE_DESK_DIR"), "the folder is never quoted into the command: {command}");
        assert!(!command.contains("$$"), "{command}");
        assert!(!command.contains("[Environment]::SetEnvironmentVariable"), "it would write PATH expanded: {command}");
    }
}
