// The page's entry: the first screen, then the UI.
//
// The list's opening page and the saved columns are asked for at once (opening.ts); the desk
// reads that page ahead while the window starts, so both answer in a few milliseconds. The
// first screen's renderer is read meanwhile. With both answers in, the app's own components are
// rendered to HTML from them (src/first/render.ts, Svelte's server renderer: a few
// milliseconds) and painted. Only then is the UI's bundle (main.ts) read, and it hydrates that
// HTML: the clerk sees the list while the UI is still being read and mounted. Until then the
// first screen is inert (no clicks, no focus). Without both answers within OPENING_WAIT_MS, or
// if the renderer fails, the UI mounts as it would without a first screen.
import "./app.css";
import { early } from "./lib/invoices/opening";
import { backend } from "./lib/backend";

const target = document.getElementById("app");
if (!target) throw new Error("no #app element");
// WebKitGTK: the generic font families only (see app.css)
if (/Linux/.test(navigator.userAgent) && !/Android/.test(navigator.userAgent)) {
  document.documentElement.classList.add("generic-fonts");
}

const renderer = import("./first/paint").catch(() => null);
early.ask().then(async () => {
  const opening = early.answered();
  const paint = opening ? await renderer : null;
  const rendered = opening !== null && paint !== null && paint.paintFirst(target, opening);
  if (opening && rendered) {
    await nextFrame();
    backend.listPainted(opening.page.rows.length, false).catch(() => {});
  }
  const { start } = await import("./main");
  start(target, opening, rendered);
});

/** Resolves once the next frame has been painted. */
function nextFrame(): Promise<void> {
  return new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
}
