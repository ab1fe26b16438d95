// The first screen's renderer, built from render.ts by `vite.first.config.ts` (an alias in vite.config.ts).
declare module "$first-screen" {
  export function renderFirstScreen(opening: import("../lib/invoices/opening").Opening): string;
}
