// The Batches tab's run and report screens in real Chromium, IPC faked at the seam: the run's
// progress on its own channel (bar, counters, throughput, ETA), items read again while it runs,
// pause and cancel; the report's totals (fees, net), needs-attention items opening the invoice,
// and the CSV export.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { suite, calls, held, release, sendOnChannel } from "./harness.mjs";
import { detailEmpty, page3, status } from "./fixtures.mjs";
import { approved, completed, report, runHalfway, running, summary } from "./batch-fixtures.mjs";

const app = suite({ before, after, afterEach });
const { open } = app;

const base = { desk_status: status(), list_invoices: page3, sync_now: { __pending: true } };
const text = async (page, selector) => (await page.locator(selector).textContent()) ?? "";

async function openBatch(page, id) {
  await page.click("[data-testid=nav-batches]");
  await page.waitForSelector(`[data-batch='${id}']`);
  await page.click(`[data-batch='${id}'] td.name button`);
}

test("run: progress from the run's channel fills the bar and counters; items are read again; pause is sent", async () => {
  const page = await open(
    { ...base, batch_list: [summary(7, { state: "approved" })], batch_run: held(completed), batch_pause: running },
    () => {
      // the review's first read, then the run screen's reads: approved, then running
      let reads = 0;
      window.__script.batch_show = () => (reads++ < 2 ? window.__approved : window.__running);
    },
  );
  await page.evaluate(([a, r]) => ((window.__approved = a), (window.__running = r)), [approved, running]);
  await openBatch(page, 7);
  await page.waitForSelector("[data-testid=approval-done]");
  await page.click("[data-testid=go-run]");
  await page.waitForSelector("[data-testid=run-start]");
  assert.match(await text(page, "[data-testid=run-start]"), /Run batch/);
  await page.click("[data-testid=run-start]");
  await sendOnChannel(page, "batch_run", "onProgress", runHalfway);
  await page.waitForFunction(() => document.querySelector("[data-testid=run-done]")?.textContent === "1");
  assert.equal(await text(page, "[data-testid=run-remaining]"), "1");
  assert.equal(await text(page, "[data-testid=run-failed]"), "0");
  assert.equal(await text(page, "[data-testid=run-rate]"), "2.5 items/s");
  assert.equal(await text(page, "[data-testid=run-eta]"), "1 min 15 s");
  assert.equal(await page.locator("[data-testid=run-bar]").evaluate((p) => [p.value, p.max].join("/")), "1/2");
  // the tell made the screen read the items again: they show their outcomes live
  await page.waitForSelector("[data-testid=run-item][data-invoice='458732'][data-outcome=finalized]");
  assert.match(await text(page, "[data-testid=run-item][data-invoice='458732']"), /3C679366HH908993F/);
  await page.click("[data-testid=run-pause]");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "batch_pause"));
  assert.deepEqual((await calls(page, "batch_pause")).map((c) => c.args), [{ id: 7 }]);
  await release(page, "batch_run");
  await page.waitForSelector("[data-testid=open-report]");
  assert.match(await text(page, "[data-testid=batch-run] header"), /completed/);
  assert.equal((await calls(page, "batch_run")).length, 1);
  assert.equal((await calls(page, "batch_run"))[0].args.id, 7);
});

test("run: a run refused by the engine shows its words; cancel asks first", async () => {
  const refused = { code: "bad_input", message: "Batch 7's approval no longer covers what it holds: approve it again." };
  const page = await open({ ...base, batch_list: [summary(7, { state: "paused" })], batch_show: view7Paused(), batch_run: { error: refused }, batch_cancel: { ...view7Paused(), state: "cancelled" } });
  await openBatch(page, 7);
  await page.waitForSelector("[data-testid=run-start]");
  assert.match(await text(page, "[data-testid=run-start]"), /Resume/);
  await page.click("[data-testid=run-start]");
  await page.waitForSelector("text=approval no longer covers");
  await page.click("[data-testid=cancel]");
  assert.equal((await calls(page, "batch_cancel")).length, 0);
  await page.click("[data-testid=cancel-yes]");
  await page.waitForFunction(() => /cancelled/.test(document.querySelector("[data-testid=batch-run] header")?.textContent ?? ""));
  assert.deepEqual((await calls(page, "batch_cancel")).map((c) => c.args), [{ id: 7 }]);
});

function view7Paused() {
  return { ...running, state: /** @type {const} */ ("paused") };
}

test("report: totals with fees and net, outcomes, CSV export, and a needs-attention item opens its invoice", async () => {
  const exported = { path: "/home/ada/Downloads/capture-desk-batch-7-report.csv", rows: 3 };
  const page = await open({ ...base, batch_list: [report.batch], batch_report: report, batch_report_csv: exported, invoice_detail: detailEmpty, invoice_live: { __pending: true } });
  await openBatch(page, 7);
  await page.waitForSelector("[data-testid=report-total]");
  const usd = await text(page, "[data-testid=report-total][data-currency=USD]");
  for (const part of ["USD", "250.00", "210.00", "40.00", "7.82", "202.18"]) assert.ok(usd.includes(part), `${part} in ${usd}`);
  assert.match(await text(page, "[data-testid=report-outcomes]"), /1 excluded.*1 finalized.*1 needs attention/);
  assert.match(await text(page, "[data-testid=report-item][data-invoice='458732']"), /finalized.*3C679366HH908993F.*210\.00 USD.*40\.00 USD.*7\.82 USD.*202\.18 USD/);
  assert.match(await text(page, "[data-testid=report-item][data-invoice='458734'] [data-testid=report-action]"), /settle it by hand/);
  // only the needs-attention item links to the invoice
  assert.equal(await page.locator("[data-testid=report-open-invoice]").count(), 1);
  await page.click("[data-testid=report-csv]");
  await page.waitForSelector("text=Exported 3 items to /home/ada/Downloads/capture-desk-batch-7-report.csv");
  assert.deepEqual((await calls(page, "batch_report_csv")).map((c) => c.args), [{ id: 7 }]);
  await page.click("[data-testid=report-open-invoice]");
  await page.waitForSelector("[data-testid=invoice-detail]");
  assert.equal(await page.locator("[data-testid=nav-invoices]").getAttribute("aria-current"), "page");
  assert.deepEqual((await calls(page, "invoice_detail")).map((c) => c.args), [{ invoiceNo: 458734 }]);
});

test("run: a batch running elsewhere (the app's start, the CLI) is followed by reading, never run a second time", async () => {
  const page = await open({ ...base, batch_list: [summary(7, { state: "running" })] }, () => {
    let reads = 0;
    window.__script.batch_show = () => (reads++ < 1 ? window.__running : window.__completed);
  });
  await page.evaluate(([r, c]) => ((window.__running = r), (window.__completed = c)), [running, completed]);
  await openBatch(page, 7);
  await page.waitForSelector("[data-testid=run-elsewhere]");
  assert.equal(await page.locator("[data-testid=run-start]").count(), 0);
  // read again until it ends
  await page.waitForSelector("[data-testid=run-item][data-invoice='458734'][data-outcome=needs_attention]");
  assert.match(await text(page, "[data-testid=batch-run] header"), /completed/);
  assert.equal((await calls(page, "batch_run")).length, 0);
});

test("run: a run that ended with captures PENDING at PayPal can be run again; excluded items are not listed", async () => {
  const leftPending = { ...running, items: running.items.map((i) => (i.invoiceNo === 458734 ? { ...i, outcome: /** @type {const} */ ("pending") } : i)) };
  const page = await open({ ...base, batch_list: [summary(7, { state: "running" })], batch_show: leftPending, batch_run: held(completed) });
  await openBatch(page, 7);
  await page.waitForSelector("[data-testid=run-pending-note]");
  assert.equal(await page.locator("[data-testid=run-elsewhere]").count(), 0);
  assert.deepEqual(await page.locator("[data-testid=run-item]").evaluateAll((rs) => rs.map((r) => Number(r.getAttribute("data-invoice")))), [458732, 458734]);
  assert.match(await text(page, "[data-testid=run-not-run]"), /2 not run/);
  assert.match(await text(page, "[data-testid=run-start]"), /Run again/);
  await page.click("[data-testid=run-start]");
  await release(page, "batch_run");
  await page.waitForFunction(() => /completed/.test(document.querySelector("[data-testid=batch-run] header")?.textContent ?? ""));
  assert.deepEqual((await calls(page, "batch_run")).map((c) => c.args.id), [7]);
});
