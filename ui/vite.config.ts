import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { fileURLToPath } from "node:url";

// The bundle is served by Tauri's custom protocol: relative asset paths, no inline scripts.
// The entry is the first screen (src/first.ts), with its renderer built before by
// vite.first.config.ts; the UI (src/main.ts) is a chunk it loads once that screen is painted.
// One stylesheet, linked from index.html: the first screen needs every style the UI has.
export default defineConfig({
  plugins: [svelte()],
  resolve: { alias: { "$first-screen": fileURLToPath(new URL("./build/first/render.js", import.meta.url)) } },
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
