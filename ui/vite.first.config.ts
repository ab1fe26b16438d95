import { defineConfig, type Plugin } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { STAMP_FILE, sourceStamp } from "./first-screen-stamp";

const UI = fileURLToPath(new URL(".", import.meta.url));

// The first screen's renderer (src/first/render.ts): the app's components compiled for Svelte's
// server renderer, bundled whole (nothing external) for the webview, where first.ts runs it.
// Built before the UI (package.json's "build"), which imports it as "$first-screen".

/**
 * Components the first screen never shows (other views, dialogs, the detail panel), left out of
 * the renderer so the webview reads less before it paints. Each is a stub that throws: should
 * the first screen ever show one, rendering fails and the UI mounts without a first screen
 * (tests/start-up.test.mjs fails too: it checks that the UI took the first screen over).
 */
const NOT_ON_FIRST_SCREEN = [
  "/lib/activity/ActivityView.svelte",
  "/lib/batches/BatchesView.svelte",
  "/lib/settings/SettingsView.svelte",
  "/lib/invoices/InvoiceDetail.svelte",
  "/lib/capture/CaptureDialog.svelte",
];
const STUB = "\0not-on-first-screen:";

function notOnFirstScreen(): Plugin {
  return {
    name: "not-on-first-screen",
    enforce: "pre",
    async resolveId(source, importer, options) {
      if (!NOT_ON_FIRST_SCREEN.some((p) => source.endsWith(p.split("/").pop() ?? p))) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      const hit = resolved && NOT_ON_FIRST_SCREEN.find((p) => resolved.id.endsWith(p));
      return hit ? `${STUB}${hit}.js` : null;
    },
    load(id) {
      if (!id.startsWith(STUB)) return null;
      const name = JSON.stringify(id.slice(STUB.length, -".js".length));
      return `export default function NotOnFirstScreen() { throw new Error("the first screen does not render " + ${name}); }`;
    },
  };
}

/** Writes the stamp of the sources (taken as the build starts) beside the renderer (first-screen-stamp.ts). */
function stamp(): Plugin {
  let taken = "";
  return {
    name: "first-screen-stamp",
    buildStart() {
      taken = sourceStamp(UI);
    },
    writeBundle() {
      const file = `${UI}${STAMP_FILE}`;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, taken);
    },
  };
}

export default defineConfig({
  plugins: [notOnFirstScreen(), svelte(), stamp()],
  clearScreen: false,
  publicDir: false,
  ssr: { noExternal: true, target: "node" },
  build: {
    ssr: "src/first/render.ts",
    target: "es2022",
    outDir: "build/first",
    emptyOutDir: true,
    minify: true,
    rollupOptions: { output: { entryFileNames: "render.js" } },
  },
});
