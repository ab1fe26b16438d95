; Capture Desk's NSIS installer hooks (tauri.conf.json: bundle.windows.nsis.installerHooks).
;
; The installer carries `desk.exe` beside `capture-desk.exe` (the bundle's resources, set by
; `cargo xtask bundle` on Windows); these hooks put the install folder on the machine's PATH so a
; new terminal finds `desk`, and take it off again on uninstall.
;
; PATH is not edited with NSIS strings: a string longer than NSIS_MAX_STRLEN is read back empty or
; cut, and writing it back would wipe the machine's PATH. PowerShell edits it through the registry
; API instead, which keeps the value whole, unexpanded (%SystemRoot%...) and REG_EXPAND_SZ. The
; folder travels in an environment variable of the installer's own process, so no quoting of a
; folder name can break the command. Adding is idempotent; removing takes out only our folder.
; The install mode is per machine (elevated), so the machine's PATH (HKLM) is the one edited.

!define DESK_ENV_KEY "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
!define DESK_PS `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command`
; Stops at the first error (a non-zero exit); opens the machine's environment key for writing;
; reads PATH unexpanded ($p), our folder ($d), and whether an entry of PATH is it ($m: any case,
; with or without a trailing backslash).
!define DESK_PS_READ `$$ErrorActionPreference = 'Stop'; $$k = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey('${DESK_ENV_KEY}', $$true); $$p = [string]$$k.GetValue('Path', '', 'DoNotExpandEnvironmentNames'); $$d = $$env:CAPTURE_DESK_DIR.TrimEnd('\'); $$m = { $$args[0].TrimEnd('\') -ieq $$d }`
; HWND_BROADCAST, WM_SETTINGCHANGE: running programs (Explorer, so new terminals) read PATH again
!define DESK_TELL_ENVIRONMENT_CHANGED `SendMessage 0xFFFF 0x1A 0 "STR:Environment" /TIMEOUT=500`

!macro NSIS_HOOK_POSTINSTALL
  System::Call 'Kernel32::SetEnvironmentVariable(t "CAPTURE_DESK_DIR", t "$INSTDIR")'
  ; appended once, the rest of PATH kept as it was
  nsExec::ExecToLog `${DESK_PS} "${DESK_PS_READ}; if (-not @($$p.Split(';') | Where-Object { & $$m $$_ })) { $$t = $$p.TrimEnd(';'); $$k.SetValue('Path', $$(if ($$t) { $$t + ';' + $$d } else { $$d }), 'ExpandString') }"`
  Pop $0
  StrCmp $0 "0" +2 0
    DetailPrint "desk is not on PATH (PowerShell answered $0): run it as $INSTDIR\desk.exe"
  ${DESK_TELL_ENVIRONMENT_CHANGED}
!macroend

!macro NSIS_HOOK_POSTUNINSTALL
  System::Call 'Kernel32::SetEnvironmentVariable(t "CAPTURE_DESK_DIR", t "$INSTDIR")'
  ; only our folder's entries taken out, every other entry kept in its place
  nsExec::ExecToLog `${DESK_PS} "${DESK_PS_READ}; $$e = $$p.Split(';'); $$r = @($$e | Where-Object { -not (& $$m $$_) }); if ($$r.Count -ne $$e.Count) { $$k.SetValue('Path', ($$r -join ';'), 'ExpandString') }"`
  Pop $0
  ${DESK_TELL_ENVIRONMENT_CHANGED}
!macroend
