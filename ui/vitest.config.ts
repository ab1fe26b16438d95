import { defineConfig } from "vitest/config";

// UI logic (pure TypeScript) only; views are tested in Chromium by tests/*.test.mjs.
export default defineConfig({
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
