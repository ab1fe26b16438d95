import { defineConfig, type Plugin } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { STAMP_FILE, sourceStamp } from "./first-screen-stamp";

const UI = fileURLToPath(new URL(".", import.meta.url));

/** Refuses to build with a first-screen renderer built from other sources (first-screen-stamp.ts). */
function freshRenderer(): Plugin {
  return {
    name: "fresh-first-screen-renderer",
    apply: "build",
    buildStart() {
      let built = "";
      try {
        built = readFileSync(`${UI}${STAMP_FILE}`, "utf8");
      } catch {
        // no renderer built
      }
      if (built !== sourceStamp(UI)) {
        this.error("the first screen's renderer (ui/build/first) is missing or was built from other sources: run `npm run build`");
      }
    },
  };
}

// The bundle is served by Tauri's custom protocol: relative asset paths, no inline scripts.
// The entry is the first screen (src/first.ts), with its renderer built before by
// vite.first.config.ts; the UI (src/main.ts) is a chunk it loads once that screen is painted.
// One stylesheet, linked from index.html: the first screen needs every style the UI has.
export default defineConfig({
  plugins: [svelte(), freshRenderer()],
  resolve: { alias: { "$first-screen": `${UI}build/first/render.js` } },
  base: "./",
  clearScreen: false,
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
  },
  server: { port: 5173, strictPort: true },
});
