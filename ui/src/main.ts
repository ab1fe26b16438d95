// The UI, loaded by first.ts once the first screen is painted (or without one).
import { hydrate, mount } from "svelte";
import App from "./App.svelte";
import type { Opening } from "./lib/invoices/opening";

/**
 * Starts the UI in `target` from `opening` (null: it asks for its list itself). `rendered`: the
 * first screen is in `target`, rendered from `opening`; the UI hydrates it (Svelte repairs
 * text and attributes that differ, rebuilds a block that differs, and mounts afresh when the
 * elements differ) and it stops being inert.
 */
export function start(target: HTMLElement, opening: Opening | null, rendered: boolean): void {
  if (rendered) {
    try {
      hydrate(App, { target, props: { opening } });
    } finally {
      target.inert = false;
    }
  } else {
    mount(App, { target, props: { opening } });
  }
}
