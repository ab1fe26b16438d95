// The first screen's renderer: the app's own components rendered to HTML (Svelte's server
// renderer, built by `vite.first.config.ts` into build/first/render.js), run in the webview
// by first.ts. It costs a few milliseconds where mounting the UI costs tens, so the list is on
// screen before the UI's bundle has even been read; the UI then hydrates this very HTML.
import { render } from "svelte/server";
import App from "../App.svelte";
import type { Opening } from "../lib/invoices/opening";

/** The app's HTML as its first frame shows it, started from `opening`. */
export function renderFirstScreen(opening: Opening): string {
  return render(App, { props: { opening } }).body;
}
