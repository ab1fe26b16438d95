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
import { early, type Opening } from "./lib/invoices/opening";
import { backend } from "./lib/backend";

/** The longest the UI waits for the first screen's frame (a hidden window paints none). */
const FRAME_WAIT_MS = 100;

const target = document.getElementById("app");
if (!target) throw new Error("no #app element");
// WebKitGTK: the generic font families only (see app.css)
if (/Linux/.test(navigator.userAgent) && !/Android/.test(navigator.userAgent)) {
  document.documentElement.classList.add("generic-fonts");
}

const renderer = import("./first/paint").catch((e) => {
  console.warn("the first screen's renderer did not load", e);
  return null;
});
early.ask().then(async () => {
  const answered = early.answered();
  // rows are rendered to fill the window (the UI measures its list once it runs)
  const opening: Opening | null = answered && { ...answered, height: window.innerHeight || undefined };
  const paint = opening ? await renderer : null;
  const rendered = opening !== null && paint !== null && paint.paintFirst(target, opening);
  if (opening && rendered) {
    const painted = nextFrame();
    // (an empty list is not reported: the UI reports when rows come, as without a first screen)
    const rows = opening.page.rows.length;
    if (rows > 0) painted.then(() => backend.listPainted(rows, false).catch(() => {}));
    await Promise.race([painted, new Promise((done) => setTimeout(done, FRAME_WAIT_MS))]);
  }
  await startUi(target, opening, rendered);
});

/** Starts the UI (main.ts); if it fails on the first screen, it is mounted afresh once more. */
async function startUi(target: HTMLElement, opening: Opening | null, rendered: boolean): Promise<void> {
  try {
    const { start } = await import("./main");
    start(target, opening, rendered);
  } catch (e) {
    if (!rendered) throw e;
    console.warn("the UI did not take over the first screen; it is mounted afresh", e);
    target.replaceChildren();
    target.inert = false;
    const { start } = await import("./main");
    start(target, opening, false);
  }
}

/** Resolves once the next frame has been painted. */
function nextFrame(): Promise<void> {
  return new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
}
