// Start-up in real Chromium, with the IPC faked at the backend seam: the cached list first, the
// background sync after it, and a background sync that wrote nothing leaves the list alone.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { suite, calls, held, heldCalls, painted, release } from "./harness.mjs";
import { readFileSync } from "node:fs";
import { page3, status, syncReport } from "./fixtures.mjs";

const { open } = suite({ before, after, afterEach });

const nothingNew = { ...syncReport, invoices: 0, closed: 0 };

/** The opening request as the desk generated it (src/lib/bindings/opening.ts). */
const OPENING = JSON.parse(
  /= (\{.*\});/.exec(readFileSync(new URL("../src/lib/bindings/opening.ts", import.meta.url), "utf8"))?.[1] ?? "null",
);

test("the list's opening page and the columns are asked for before the UI mounts, once, and the list starts from them", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: { __pending: true }, get_preference: '["invoice","outstanding"]' });
  await page.waitForSelector("[data-testid=invoice-row]");
  const first = await page.evaluate(() => window.__calls.slice(0, 2).map((c) => c.cmd));
  assert.deepEqual(first, ["list_invoices", "get_preference"], "asked before the UI (whose first call is the status)");
  const lists = await calls(page, "list_invoices");
  assert.equal(lists.length, 1, "the browser's first request is answered by the page asked for early");
  assert.deepEqual(lists[0].args.request, { ...OPENING, limit: 240 });
  assert.equal((await calls(page, "get_preference")).length, 1);
  // the saved columns are the ones shown
  assert.deepEqual(await page.locator("[data-testid=invoice-table] thead th").allTextContents(), ["Invoice", "Outstanding", "Actions"]);
});

/** The UI's bundle (main.ts's chunk) and the first screen's renderer, as the page requests them. */
const UI_CHUNK = /\/assets\/main-[^/]*\.js$/;
const RENDERER_CHUNK = /\/assets\/paint-[^/]*\.js$/;

/** Drops the App's 2 s fallback for the first background sync: a sync then comes from the list's own report. */
const noSyncFallback = () => {
  const setTimeout = window.setTimeout;
  window.setTimeout = (fn, ms, ...args) => (ms === 2000 ? 0 : setTimeout(fn, ms, ...args));
};

test("the first screen is painted from the early answers before the UI is read, and the UI hydrates it in place", async () => {
  let releaseUi = () => {};
  const uiHeld = new Promise((done) => (releaseUi = done));
  const page = await open(
    // the status never answers, so nothing but the hand-over changes the page
    { desk_status: { __pending: true }, list_invoices: page3, sync_now: { __pending: true }, get_preference: '["invoice","customer","outstanding"]' },
    noSyncFallback,
    { before: (p) => p.route(UI_CHUNK, async (route) => (await uiHeld, route.continue())), running: false },
  );
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "list_painted"));
  // the first screen: the rows, the saved columns, the totals; inert, and nothing of the UI ran
  assert.deepEqual(await calls(page, "list_painted"), [{ cmd: "list_painted", args: { rows: 3, interactive: false } }]);
  assert.deepEqual(await page.locator("[data-testid=invoice-row]").evaluateAll((rows) => rows.map((r) => r.dataset.invoice)), ["458732", "458733", "458734"]);
  assert.deepEqual(await page.locator("[data-testid=invoice-table] thead th").allTextContents(), ["Invoice", "Customer", "Outstanding", "Actions"]);
  assert.match(await page.locator("[data-testid=totals]").innerText(), /EUR|USD/, "the totals are on the first screen");
  assert.equal(await page.evaluate(() => document.getElementById("app").inert), true);
  assert.deepEqual(await page.evaluate(() => window.__calls.map((c) => c.cmd)), ["list_invoices", "get_preference", "list_painted"]);
  // every element of it is marked, and the UI let in
  const marked = await page.evaluate(() => {
    const all = [...document.querySelectorAll("#app *")];
    for (const el of all) el.__first = true;
    return all.length;
  });
  assert.ok(marked > 100, `the whole screen is marked (${marked} elements)`);
  releaseUi();
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "desk_status"));
  await page.waitForFunction(() => window.__calls.filter((c) => c.cmd === "list_painted").length === 2);
  // hydrated: every element of the first screen kept (a block rebuilt would have lost its own),
  // no longer inert, interactive
  const kept = await page.evaluate(() => [...document.querySelectorAll("#app *")].filter((el) => el.__first === true).length);
  assert.equal(kept, marked, "the UI took over every element of the first screen");
  assert.equal(await page.evaluate(() => document.getElementById("app").inert), false);
  assert.deepEqual((await calls(page, "list_painted"))[1].args, { rows: 3, interactive: true });
  assert.equal((await calls(page, "list_invoices")).length, 1, "the UI starts from the first screen's page");
  assert.equal((await calls(page, "get_preference")).length, 1);
  // the list's report starts the first background sync (the fallback is off)
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "sync_now"));
  await page.click("[data-invoice='458732']");
  await page.waitForSelector("[data-testid=selection]");
  // the opening page is for the first showing only: back on the list, it is asked for again
  await page.click("[data-testid=nav-activity]");
  await page.click("[data-testid=nav-invoices]");
  await page.waitForFunction(() => window.__calls.filter((c) => c.cmd === "list_invoices").length === 2);
  await page.waitForSelector("[data-testid=invoice-row]");
});

test("an empty opening page: the first screen says so, and the list's paint is reported once rows come", async () => {
  const empty = { rows: [], next: null, totals: [], totalCount: 0 };
  const page = await open({ desk_status: { __pending: true }, list_invoices: empty, sync_now: { __pending: true } }, noSyncFallback);
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "desk_status"));
  await page.waitForSelector("text=No invoices match");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "sync_now"));
  await painted(page);
  assert.deepEqual(await calls(page, "list_painted"), [], "no rows, no paint to report");
  assert.equal(await page.evaluate(() => document.getElementById("app").inert), false);
});

test("without the first screen's renderer the UI mounts from the early answers", async () => {
  const page = await open(
    { desk_status: status(), list_invoices: page3, sync_now: { __pending: true }, get_preference: '["invoice","outstanding"]' },
    undefined,
    { before: (p) => p.route(RENDERER_CHUNK, (route) => route.fulfill({ contentType: "text/javascript", body: 'throw new Error("no renderer");' })) },
  );
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "list_painted"));
  await painted(page);
  assert.deepEqual((await calls(page, "list_painted")).map((c) => c.args), [{ rows: 3, interactive: true }]);
  assert.equal((await calls(page, "list_invoices")).length, 1);
  assert.deepEqual(await page.locator("[data-testid=invoice-table] thead th").allTextContents(), ["Invoice", "Outstanding", "Actions"]);
  assert.equal(await page.evaluate(() => document.getElementById("app").inert), false);
});

test("the first background sync waits for the cached list's answer", async () => {
  const page = await open({ desk_status: status(), list_invoices: held(page3), sync_now: held(nothingNew) });
  await heldCalls(page, "list_invoices", 1);
  await page.waitForFunction(() => window.__calls.filter((c) => c.cmd === "desk_status").length === 1);
  await painted(page);
  assert.equal((await calls(page, "sync_now")).length, 0, "no sync while the list is being read");
  await release(page, "list_invoices");
  await page.waitForSelector("[data-testid=invoice-row]");
  await heldCalls(page, "sync_now", 1);
  assert.equal((await calls(page, "list_invoices")).length, 1, "the UI mounted without the page asked for early, and took it when it came");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "list_painted"));
  assert.deepEqual((await calls(page, "list_painted")).map((c) => c.args), [{ rows: 3, interactive: true }], "no first screen: the UI's own is the one");
});

test("a background sync that wrote no invoice keeps the list, its query and its selection", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: held(nothingNew) });
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.click("[data-invoice='458733']");
  await page.waitForSelector("[data-testid=selection]");
  await release(page, "sync_now");
  // the sync has ended once the status is read again
  await page.waitForFunction(() => window.__calls.filter((c) => c.cmd === "desk_status").length === 2);
  await painted(page);
  assert.equal((await calls(page, "list_invoices")).length, 1, "the list is not asked for again");
  assert.match(await page.locator("[data-testid=selection]").textContent(), /1 selected/);
});

test("a background sync that wrote invoices reloads the list", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: held(syncReport) });
  await page.waitForSelector("[data-testid=invoice-row]");
  await release(page, "sync_now");
  await page.waitForFunction(() => window.__calls.filter((c) => c.cmd === "list_invoices").length === 2);
});
