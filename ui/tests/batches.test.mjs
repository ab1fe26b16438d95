// The Batches tab in real Chromium, IPC faked at the seam: the list, the review (verdict chips
// and filter, exclude/include, totals, preflight progress on its channel, approval naming both
// people, errors shown, cancel) and "New batch from selection" in the invoice browser.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { suite, calls, held, release, sendOnChannel } from "./harness.mjs";
import { page3, status } from "./fixtures.mjs";
import { approved, batchList, draft, halfway, honourPassed, oneExcluded, preflighted, readyExcluded, reauthorized, samePerson, totalsDiffer, view } from "./batch-fixtures.mjs";

const app = suite({ before, after, afterEach });
const { open } = app;

const base = { desk_status: status(), list_invoices: page3, sync_now: { __pending: true } };
const text = async (page, selector) => (await page.locator(selector).textContent()) ?? "";
const rows = (page) => page.locator("[data-testid=batch-item]").evaluateAll((rs) => rs.map((r) => Number(r.getAttribute("data-invoice"))));

async function review(script) {
  const page = await open({ ...base, batch_list: [view()], ...script });
  await page.click("[data-testid=nav-batches]");
  await page.waitForSelector("[data-testid=batch-row]");
  await page.keyboard.press("Enter");
  await page.waitForSelector("[data-testid=batch-item]");
  return page;
}

test("the list shows name, who, when, state and counts; the keyboard opens a batch", async () => {
  const page = await open({ ...base, batch_list: batchList, batch_show: preflighted });
  await page.click("[data-testid=nav-batches]");
  await page.waitForSelector("[data-testid=batch-row]");
  const first = await text(page, "[data-batch='9']");
  for (const part of ["Friday approvals", "Ada", "approved", "12", "11", "Ben"]) assert.ok(first.includes(part), `${part} in ${first}`);
  assert.match(await text(page, "[data-batch='8']"), /Colleague's list.*Ben.*preflighted/);
  // the list has the focus: ↓ then Enter opens the second batch
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await page.waitForSelector("[data-testid=batch-review]");
  assert.deepEqual((await calls(page, "batch_show")).map((c) => c.args), [{ id: 8 }]);
  // Esc goes back to the list
  await page.waitForSelector("[data-testid=batch-item]");
  await page.keyboard.press("Escape");
  await page.waitForSelector("[data-testid=batch-list]");
});

test("the review shows a chip per verdict, filters by verdict, and shows the ready totals", async () => {
  const page = await review({ batch_show: preflighted });
  const chips = await page.locator("[data-testid=item-verdict] [data-testid=chip]").evaluateAll((cs) => cs.map((c) => `${c.textContent}:${c.getAttribute("data-tone")}`));
  assert.deepEqual(chips, ["ready:ok", "not approved:bad", "ready:ok", "expiring soon:warn"]);
  assert.match(await text(page, "[data-invoice='458735']"), /expires within 24 hours/);
  await page.selectOption("[data-testid=verdict-filter]", "ready");
  assert.deepEqual(await rows(page), [458732, 458734]);
  await page.selectOption("[data-testid=verdict-filter]", "not_approved");
  assert.deepEqual(await rows(page), [458733]);
  await page.selectOption("[data-testid=verdict-filter]", "all");
  assert.deepEqual(await rows(page), [458732, 458733, 458734, 458735]);
  // totals of what is ready: count, invoice totals, wallet part, PayPal part
  const usd = await text(page, "[data-testid=total-row][data-currency=USD]");
  for (const part of ["USD", "2", "350.00", "330.00", "40.00", "290.00"]) assert.ok(usd.includes(part), `${part} in ${usd}`);
  assert.equal(await page.locator("[data-testid=total-row]").count(), 1);
});

test("space and x exclude and include the item under the cursor; the totals follow the answer", async () => {
  const page = await review({ batch_show: preflighted, batch_exclude: held(readyExcluded), batch_include: preflighted });
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Space");
  await release(page, "batch_exclude");
  await page.waitForSelector("[data-invoice='458734'].excluded");
  assert.deepEqual((await calls(page, "batch_exclude")).map((c) => c.args), [{ id: 7, invoices: [458734] }]);
  assert.match(await text(page, "[data-testid=total-row][data-currency=USD]"), /250\.00/);
  await page.keyboard.press("x");
  await page.waitForFunction(() => !document.querySelector("[data-invoice='458734']")?.classList.contains("excluded"));
  assert.deepEqual((await calls(page, "batch_include")).map((c) => c.args), [{ id: 7, invoices: [458734] }]);
  assert.match(await text(page, "[data-testid=total-row][data-currency=USD]"), /330\.00/);
});

test("an item past its honour period offers PayPal's reauthorize, asks first, and says to preflight again", async () => {
  const page = await review({ batch_show: honourPassed, reauthorize_invoice: held(reauthorized) });
  // offered for the item under the cursor only, when it is past its honour period
  assert.equal(await page.locator("[data-testid=reauthorize]").count(), 0);
  await page.click("[data-invoice='458735']");
  await page.waitForSelector("[data-testid=reauthorize-card]");
  assert.match(await text(page, "[data-testid=reauthorize-card]"), /458735/);
  await page.click("[data-testid=reauthorize]");
  await page.waitForSelector("[data-testid=reauthorize-confirm]");
  assert.equal((await calls(page, "reauthorize_invoice")).length, 0, "nothing asked before the yes");
  await page.click("[data-testid=reauthorize-yes]");
  await release(page, "reauthorize_invoice");
  await page.waitForSelector("[data-testid=toast]");
  const toast = await text(page, "[data-testid=toast]");
  assert.match(toast, /458735.*reauthorized.*8AA831015G517922L.*preflight again/);
  assert.deepEqual((await calls(page, "reauthorize_invoice")).map((c) => c.args), [{ invoiceNo: 458735 }]);
  assert.equal(await page.locator("[data-testid=reauthorize-confirm]").count(), 0);
});

test("preflight shows its progress from its own channel, then the verdicts", async () => {
  const page = await review({ batch_show: draft, batch_preflight: held(preflighted) });
  assert.match(await text(page, "[data-testid=batch-totals]"), /not preflighted yet/);
  assert.equal(await page.locator("[data-testid=approval-form]").count(), 0);
  await page.click("[data-testid=preflight]");
  await sendOnChannel(page, "batch_preflight", "onProgress", halfway);
  await page.waitForFunction(() => /2 \/ 4/.test(document.querySelector("[data-testid=preflight-progress]")?.textContent ?? ""));
  assert.equal(await page.locator("[data-testid=preflight-progress] progress").evaluate((p) => p.value), 2);
  assert.equal(await page.locator("[data-testid=preflight]").isDisabled(), true);
  await release(page, "batch_preflight");
  await page.waitForSelector("[data-testid=approval-form]");
  assert.equal(await page.locator("[data-testid=preflight-progress]").count(), 0);
  assert.equal(await page.locator("[data-testid=item-verdict] [data-testid=chip]").count(), 4);
  assert.equal((await calls(page, "batch_preflight"))[0].args.id, 7);
});

test("approval: the approver types their name and the totals; the engine's refusal is shown, then both people", async () => {
  const page = await review({ batch_show: preflighted, batch_approve: held(approved) });
  assert.equal(await page.locator("[data-testid=approve]").isDisabled(), true);
  await page.fill("[data-testid=approver]", " Ben ");
  assert.equal(await page.locator("[data-testid=approve]").isDisabled(), true, "every currency's total must be typed");
  await page.fill("[data-testid=typed-total-USD]", "330.01");
  await page.click("[data-testid=approve]");
  await release(page, "batch_approve", { value: { error: totalsDiffer } });
  await page.waitForSelector("[data-testid=approval-error]");
  assert.match(await text(page, "[data-testid=approval-error]"), /330\.01 USD is not the batch.s total in USD/);
  await page.fill("[data-testid=approver]", "Ada");
  await page.fill("[data-testid=typed-total-USD]", "330.00");
  await page.click("[data-testid=approve]");
  await release(page, "batch_approve", { value: { error: samePerson } });
  await page.waitForFunction(() => /someone else must approve/.test(document.querySelector("[data-testid=approval-error]")?.textContent ?? ""));
  await page.fill("[data-testid=approver]", "Ben");
  await page.click("[data-testid=approve]");
  await release(page, "batch_approve");
  await page.waitForSelector("[data-testid=approval-done]");
  assert.equal(await text(page, "[data-testid=approval-creator]"), "Ada");
  assert.equal(await text(page, "[data-testid=approval-approver]"), "Ben");
  assert.deepEqual((await calls(page, "batch_approve")).map((c) => c.args), [
    { id: 7, approval: { approver: "Ben", typedTotals: { USD: "330.01" } } },
    { id: 7, approval: { approver: "Ada", typedTotals: { USD: "330.00" } } },
    { id: 7, approval: { approver: "Ben", typedTotals: { USD: "330.00" } } },
  ]);
});

test("an excluded item shows under the excluded filter; cancel asks first", async () => {
  const page = await review({ batch_show: oneExcluded, batch_cancel: view({ ...oneExcluded, state: "cancelled" }) });
  await page.selectOption("[data-testid=verdict-filter]", "excluded");
  assert.deepEqual(await rows(page), [458733]);
  await page.click("[data-testid=cancel]");
  assert.equal((await calls(page, "batch_cancel")).length, 0);
  await page.click("[data-testid=cancel-yes]");
  await page.waitForFunction(() => /cancelled/.test(document.querySelector("[data-testid=batch-review] header")?.textContent ?? ""));
  assert.deepEqual((await calls(page, "batch_cancel")).map((c) => c.args), [{ id: 7 }]);
  assert.equal(await page.locator("[data-testid=preflight]").isDisabled(), true);
  assert.equal(await page.locator("[data-testid=toggle-item]").first().isDisabled(), true);
});

test("New batch from selection: Ctrl+A over the filter sends every selected invoice and opens the new batch", async () => {
  const page = await open({ ...base, batch_create: draft, batch_show: draft });
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.locator("[data-testid=invoice-table]").focus();
  await page.keyboard.press("Control+a");
  await page.waitForFunction(() => /3 selected/.test(document.querySelector("[data-testid=selection]")?.textContent ?? ""));
  await page.click("[data-testid=new-batch]");
  await page.waitForSelector("[data-testid=batch-review]");
  await page.waitForSelector("[data-testid=batch-item]");
  assert.deepEqual((await calls(page, "batch_create")).map((c) => c.args), [{ source: { kind: "selection", invoices: [458732, 458733, 458734] }, name: null }]);
  assert.deepEqual((await calls(page, "batch_show")).map((c) => c.args), [{ id: 7 }]);
  assert.equal(await page.locator("[data-testid=nav-batches]").getAttribute("aria-current"), "page");
});

test("the B key batches the selection; a refusal is shown and nothing opens", async () => {
  const refusal = { code: "conflict", message: "Nothing was created: 1 invoice(s) are already in an open batch: 458733 (batch 8)" };
  const page = await open({ ...base, batch_create: { error: refusal } });
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.locator("[data-testid=invoice-table]").focus();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Space");
  await page.keyboard.press("b");
  await page.waitForSelector("text=already in an open batch");
  assert.deepEqual((await calls(page, "batch_create")).map((c) => c.args.source), [{ kind: "selection", invoices: [458733] }]);
  assert.equal(await page.locator("[data-testid=batch-review]").count(), 0);
});
