// The stamp of what the first screen's renderer (build/first/render.js) is built from:
// vite.first.config.ts writes it beside the renderer, and the UI's build (vite.config.ts) refuses
// a renderer whose stamp is not that of the sources it builds from (a stale one would paint an
// older UI's HTML, which hydration does not wholly repair).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Where the stamp is written, under ui/. */
export const STAMP_FILE = "build/first/stamp.txt";

/** A hash of ui/src (every file but the unit tests), the lock file and the renderer's config. */
export function sourceStamp(ui: string): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (!entry.name.endsWith(".test.ts")) hash.update(`${path.slice(ui.length)}\0`).update(readFileSync(path)).update("\0");
    }
  };
  walk(join(ui, "src"));
  for (const file of ["package-lock.json", "vite.first.config.ts", "svelte.config.js"]) hash.update(readFileSync(join(ui, file)));
  return hash.digest("hex");
}
