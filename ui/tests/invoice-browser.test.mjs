// The invoice browser in real Chromium, with the IPC faked at the backend seam.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { suite, calls, held, heldCalls, painted, release } from "./harness.mjs";
import { page3, status, syncReport, syncProgress, unknownCurrency, offlineError, hundredThousand, twoSelected, threeSelected } from "./fixtures.mjs";

const { open } = suite({ before, after, afterEach });

test("lists invoices with exact, grouped, right-aligned amounts and per-currency totals", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: syncReport });
  await page.waitForSelector("[data-testid=invoice-row]");
  assert.equal(await page.locator("[data-testid=invoice-row]").count(), 3);
  const amount = page.locator("[data-invoice='458732'] td[data-col=outstanding]");
  assert.equal((await amount.textContent()).trim(), "1,234,567.50");
  assert.equal(await amount.evaluate((el) => getComputedStyle(el).textAlign), "right");
  assert.match(await page.locator("[data-invoice='458733']").textContent(), /overdue/);
  assert.match(await page.locator("[data-testid=total-USD]").textContent(), /1,235,817\.50/);
  assert.match(await page.locator("[data-testid=total-JPY]").textContent(), /150,000/);
  assert.match(await page.locator("[data-testid=totals]").textContent(), /3 invoices/);
  assert.match(await page.locator("[data-invoice='458732']").textContent(), /5O190127TN364715T/);
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
});

test("shows the offline banner with the last sync time, and the cache stays browsable", async () => {
  const page = await open({
    desk_status: status({ online: false, lastSyncedAt: "2026-11-22T17:05:00Z" }),
    list_invoices: page3,
    sync_now: { error: offlineError },
  });
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.waitForSelector("[data-testid=offline-banner]");
  assert.match(await page.locator("[data-testid=offline-banner]").textContent(), /Offline.*last synced 2026-11-22 17:05 UTC/);
  assert.match(await page.locator("[data-testid=connection]").textContent(), /Offline/);
  // the background sync found the gateway away: the banner says so, no error toast
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "sync_now"));
  assert.equal(await page.locator("[data-testid=toast]").count(), 0);
  assert.equal(await page.locator("[data-testid=invoice-row]").count(), 3);
  // a sync asked for by the clerk does say why it failed, with the detail one click away
  await page.click("[data-testid=sync-button]");
  await page.waitForSelector("[data-testid=toast]");
  assert.match(await page.locator("[data-testid=toast]").textContent(), /cannot be reached/);
  await page.click("[data-testid=toast] summary");
  assert.match(await page.locator("[data-testid=toast] code").textContent(), /connection refused/);
});

test("shows sync progress from events while a sync runs", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: { __pending: true } });
  await page.waitForSelector("[data-testid=sync-progress]");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "plugin:event|listen"));
  await page.evaluate((p) => window.__emit("sync-progress", p), syncProgress);
  await page.waitForFunction(() => /page 3 of 10/.test(document.querySelector("[data-testid=sync-progress]")?.textContent ?? ""));
  assert.equal(await page.locator("[data-testid=sync-button]").isDisabled(), true);
});

test("a bad filter value shows the backend's clear error", async () => {
  const page = await open({
    desk_status: status(),
    list_invoices: page3,
    sync_now: { __pending: true },
  });
  await page.waitForSelector("[data-testid=invoice-row]");
  // the backend refuses an unknown currency with a bad_input error
  await page.evaluate((refused) => {
    const ok = window.__script.list_invoices;
    window.__script.list_invoices = (args) => (args.request.filter.currency === "XYZ" ? { error: refused } : ok);
  }, unknownCurrency);
  await page.fill("[data-testid=filter-currency]", "xyz");
  await page.press("[data-testid=filter-currency]", "Tab");
  await page.waitForSelector("text=Unknown currency");
});

const rendered = (page) => page.evaluate(() => [...document.querySelectorAll("[data-testid=invoice-row]")].map((r) => Number(r.dataset.invoice)));

test("the table is virtual: 100,000 invoices, a few dozen rows in the page, scrolled anywhere", async () => {
  const page = await open({ desk_status: status({ cachedInvoices: 100000 }), sync_now: { __pending: true } }, hundredThousand);
  await page.waitForSelector("[data-testid=invoice-row]");
  assert.equal(await page.locator("[data-testid=invoice-table]").getAttribute("aria-rowcount"), "100001");
  assert.equal(await page.locator("[data-testid=invoice-table]").getAttribute("role"), "grid");
  assert.match(await page.locator("[data-testid=totals]").textContent(), /100000 invoices/);
  let rows = await rendered(page);
  assert.ok(rows.length > 10 && rows.length < 80, `${rows.length} rows rendered`);
  assert.equal(rows[0], 500000);
  // the scroll height stands for every row, so the scrollbar is true from the start
  const height = await page.locator("[data-testid=invoice-scroll]").evaluate((el) => el.scrollHeight);
  assert.ok(height >= 100000 * 34, `scroll height ${height}`);
  // jump to the middle: the rows there are loaded through the keyset query and shown
  await page.locator("[data-testid=invoice-scroll]").evaluate((el) => (el.scrollTop = 50000 * 34));
  await page.waitForFunction(() => document.querySelector("[data-invoice='550000']") !== null);
  rows = await rendered(page);
  assert.ok(rows.length < 80, `${rows.length} rows rendered`);
  // End goes to the last invoice
  await page.locator("[data-testid=invoice-table]").focus();
  await page.keyboard.press("End");
  await page.waitForFunction(() => document.querySelector("[data-invoice='599999']") !== null, null, { timeout: 20000 });
  const afters = (await calls(page, "list_invoices")).map((c) => c.args.request.after ?? "");
  assert.equal(new Set(afters).size, afters.length, "no page fetched twice");
});

test("Ctrl+A selects every filtered invoice, not only the loaded ones", async () => {
  const page = await open({ desk_status: status({ cachedInvoices: 100000 }), sync_now: { __pending: true } }, hundredThousand);
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.locator("[data-testid=invoice-table]").focus();
  await page.keyboard.press("Control+a");
  await page.waitForFunction(() => /100000 selected/.test(document.querySelector("[data-testid=selection]")?.textContent ?? ""), null, { timeout: 20000 });
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "selection_totals"));
  assert.equal((await calls(page, "selection_totals")).at(-1).args.invoiceNos.length, 100000);
});

test("keyboard: arrows move, Shift extends, Space selects, Enter opens, / searches", async () => {
  const page = await open({
    desk_status: status(),
    list_invoices: page3,
    sync_now: { __pending: true },
    selection_totals: twoSelected,
    invoice_detail: { __pending: true },
    invoice_live: { __pending: true },
  });
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.locator("[data-testid=invoice-table]").focus();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Shift+ArrowDown");
  await page.waitForSelector("[data-testid=selection]");
  assert.match(await page.locator("[data-testid=selection]").textContent(), /2 selected/);
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "selection_totals"));
  assert.deepEqual((await calls(page, "selection_totals")).at(-1).args.invoiceNos.sort(), [458732, 458733]);
  await page.waitForFunction(() => /USD 1,234,567\.50/.test(document.querySelector("[data-testid=selection]")?.textContent ?? ""));
  assert.equal(await page.locator("[data-invoice='458733']").getAttribute("aria-selected"), "true");
  assert.equal(await page.locator("[data-testid=invoice-table]").getAttribute("aria-activedescendant"), "invoice-row-1");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "invoice-table");
  await page.keyboard.press("Space");
  assert.equal(await page.locator("[data-invoice='458733']").getAttribute("aria-selected"), "false");
  await page.keyboard.press("Enter");
  await page.waitForSelector("[data-testid=invoice-detail]");
  assert.deepEqual((await calls(page, "invoice_detail")).at(-1).args, { invoiceNo: 458733 });
  // Esc in the panel closes it and gives the focus back to the table
  await page.locator("[data-testid=invoice-detail] h2").focus();
  await page.keyboard.press("Escape");
  assert.equal(await page.locator("[data-testid=invoice-detail]").count(), 0);
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "invoice-table");
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "filter-search");
});

test("selection totals come from the desk, and an answer for an older selection never shows", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: { __pending: true }, selection_totals: held(null) });
  await page.waitForSelector("[data-testid=invoice-row]");
  const shown = () => page.locator("[data-testid=selection]").textContent();
  await page.click("[data-invoice='458732'] td[data-col=customer]");
  await page.click("[data-invoice='458733'] td[data-col=customer]", { modifiers: ["Shift"] });
  await release(page, "selection_totals", { value: twoSelected });
  await page.waitForFunction(() => /USD 1,234,567\.50/.test(document.querySelector("[data-testid=selection]")?.textContent ?? ""));
  assert.match(await shown(), /2 selected.*JPY 150,000.*USD 1,234,567\.50/);
  // a third invoice: the two-invoice totals go at once, the desk is asked again
  await page.click("[data-invoice='458734'] td[data-col=customer]", { modifiers: ["Shift"] });
  assert.match(await shown(), /3 selected/);
  assert.doesNotMatch(await shown(), /USD|JPY/);
  await heldCalls(page, "selection_totals", 1);
  // and off again before the desk answered: two answers are outstanding
  await page.click("[data-invoice='458734'] td[data-col=customer]", { modifiers: ["Control"] });
  await heldCalls(page, "selection_totals", 2);
  assert.deepEqual((await calls(page, "selection_totals")).map((c) => c.args.invoiceNos.sort()), [
    [458732, 458733],
    [458732, 458733, 458734],
    [458732, 458733],
  ]);
  await release(page, "selection_totals", { newest: true, value: twoSelected });
  await page.waitForFunction(() => /USD 1,234,567\.50/.test(document.querySelector("[data-testid=selection]")?.textContent ?? ""));
  // the late answer for the three-invoice selection is not shown for these two
  await release(page, "selection_totals", { value: threeSelected });
  await painted(page);
  assert.match(await shown(), /2 selected.*JPY 150,000.*USD 1,234,567\.50/);
  assert.doesNotMatch(await shown(), /1,235,817\.50/);
});

test("mouse: click selects, Ctrl adds, Shift selects a range", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: { __pending: true } });
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.click("[data-invoice='458732'] td[data-col=customer]");
  await page.click("[data-invoice='458734'] td[data-col=customer]", { modifiers: ["Shift"] });
  assert.match(await page.locator("[data-testid=selection]").textContent(), /3 selected/);
  await page.click("[data-invoice='458733'] td[data-col=customer]", { modifiers: ["Control"] });
  assert.match(await page.locator("[data-testid=selection]").textContent(), /2 selected/);
  await page.click("[data-testid=clear-selection]");
  assert.equal(await page.locator("[data-testid=selection]").count(), 0);
});

test("the column choice is remembered through the desk's preferences", async () => {
  const page = await open({ desk_status: status(), list_invoices: page3, sync_now: { __pending: true } });
  await page.waitForSelector("[data-testid=invoice-row]");
  assert.equal(await page.locator("td[data-col=wallet]").count(), 3);
  await page.click("[data-testid=column-menu] summary");
  await page.uncheck("[data-testid=column-wallet]");
  await page.check("[data-testid=column-issued]");
  assert.equal(await page.locator("td[data-col=wallet]").count(), 0);
  assert.equal(await page.locator("td[data-col=issued]").count(), 3);
  const saved = (await calls(page, "set_preference")).at(-1).args;
  assert.equal(saved.key, "ui.invoice_columns");
  assert.ok(!JSON.parse(saved.value).includes("wallet") && JSON.parse(saved.value).includes("issued"));
  assert.equal(await page.locator("[data-testid=column-outstanding]").isDisabled(), true);

  const again = await open({ desk_status: status(), list_invoices: page3, sync_now: { __pending: true }, get_preference: saved.value });
  await again.waitForSelector("td[data-col=issued]");
  assert.equal(await again.locator("td[data-col=wallet]").count(), 0);
});
