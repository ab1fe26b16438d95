// The invoice browser in real Chromium, with the IPC faked at the backend seam.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { serveDist, launch, fakeBackend, row, status } from "./harness.mjs";

let server;
let browser;
before(async () => {
  server = await serveDist();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const page3 = {
  rows: [
    row(458732, { customerName: "Nordlicht Freight GmbH", outstanding: "1234567.50", paypal: { intent: "CAPTURE", orderId: "5O190127TN364715T", authorizationId: null, approvedAt: "2026-11-20T09:58:00Z" } }),
    row(458733, { currency: "JPY", outstanding: "150000", total: "150000", overdue: true, dueAt: "2026-11-01T00:00:00Z" }),
    row(458734, { wallet: { currency: "EUR", balance: "40.50" } }),
  ],
  next: null,
  totals: [
    { currency: "JPY", count: 1, outstanding: "150000" },
    { currency: "USD", count: 2, outstanding: "1235817.50" },
  ],
  totalCount: 3,
};

async function open(script) {
  const page = await browser.newPage();
  await fakeBackend(page, script);
  await page.goto(server.url);
  return page;
}

const calls = (page, cmd) => page.evaluate((cmd) => window.__calls.filter((c) => c.cmd === cmd), cmd);

test("lists invoices with exact, grouped, right-aligned amounts and per-currency totals", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: { mode: "incremental", pages: 1, invoices: 3, closed: 0, startedAt: "", finishedAt: "" } });
  await page.waitForSelector("[data-testid=invoice-row]");
  assert.equal(await page.locator("[data-testid=invoice-row]").count(), 3);
  const amount = page.locator("[data-invoice='458732'] td").nth(2);
  assert.equal((await amount.textContent()).trim(), "1,234,567.50");
  assert.equal(await amount.evaluate((el) => getComputedStyle(el).textAlign), "right");
  assert.match(await page.locator("[data-invoice='458733']").textContent(), /overdue/);
  assert.match(await page.locator("[data-testid=total-USD]").textContent(), /1,235,817\.50/);
  assert.match(await page.locator("[data-testid=total-JPY]").textContent(), /150,000/);
  assert.match(await page.locator("[data-testid=totals]").textContent(), /3 invoices/);
  assert.match(await page.locator("[data-invoice='458732']").textContent(), /5O190127TN364715T/);
  await page.close();
});

test("filters and sorting go to the backend as a typed ListRequest", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: { __pending: true } });
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.fill("[data-testid=filter-search]", "nordlicht");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "list_invoices" && c.args.request.filter.search === "nordlicht"));
  await page.selectOption("[data-testid=filter-paypal]", "yes");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "list_invoices" && c.args.request.filter.hasPaypal === true));
  await page.getByRole("button", { name: "Outstanding" }).click();
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "list_invoices" && c.args.request.sort === "amount"));
  const last = (await calls(page, "list_invoices")).at(-1).args.request;
  assert.equal(last.filter.status, "outstanding");
  assert.equal(last.filter.search, "nordlicht");
  assert.equal(last.filter.hasPaypal, true);
  assert.equal(last.sort, "amount");
  assert.equal(last.descending, false);
  assert.equal(last.withTotals, true);
  await page.close();
});

test("shows the offline banner with the last sync time, and the cache stays browsable", async () => {
  const page = await open({
    desk_status: status({ online: false, lastSyncedAt: "2026-11-22T17:05:00Z" }),
    list_invoices: page3,
    sync_now: { error: { code: "offline", message: "The gateway cannot be reached (offline?).", detail: "connection refused" } },
  });
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.waitForSelector("[role=alert]");
  assert.match(await page.locator("[data-testid=connection]").textContent(), /Offline.*2026-11-22 17:05 UTC/);
  assert.match(await page.locator("[role=alert]").textContent(), /cannot be reached/);
  assert.equal(await page.locator("[data-testid=invoice-row]").count(), 3);
  await page.close();
});

test("shows sync progress from events while a sync runs", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: { __pending: true } });
  await page.waitForSelector("[data-testid=sync-progress]");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "plugin:event|listen"));
  await page.evaluate(() => window.__emit("sync-progress", { mode: "full", pagesDone: 3, pagesTotal: 10, invoices: 300 }));
  await page.waitForFunction(() => /page 3 of 10/.test(document.querySelector("[data-testid=sync-progress]")?.textContent ?? ""));
  assert.equal(await page.locator("[data-testid=sync-button]").isDisabled(), true);
  await page.close();
});

test("a bad filter value shows the backend's clear error", async () => {
  const page = await open({
    desk_status: status(),
    list_invoices: page3,
    sync_now: { __pending: true },
  });
  await page.waitForSelector("[data-testid=invoice-row]");
  // the backend refuses an unknown currency with a bad_input error
  await page.evaluate(() => {
    const ok = window.__script.list_invoices;
    window.__script.list_invoices = (args) =>
      args.request.filter.currency === "XYZ"
        ? { error: { code: "bad_input", message: 'Unknown currency "XYZ": use an ISO code such as USD or EUR.' } }
        : ok;
  });
  await page.fill("[data-testid=filter-currency]", "xyz");
  await page.press("[data-testid=filter-currency]", "Tab");
  await page.waitForSelector("text=Unknown currency");
  await page.close();
});
