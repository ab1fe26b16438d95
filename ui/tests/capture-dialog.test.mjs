// The capture dialog in real Chromium, with the IPC faked at the backend seam.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { suite, calls, held, release } from "./harness.mjs";
import { captureList, needsAttention, paypalSteps, preview, result, status, walletPreview, walletResult } from "./fixtures.mjs";

const app = suite({ before, after, afterEach });

async function open(script) {
  const page = await app.open({ desk_status: status({ environment: "sandbox" }), list_invoices: captureList, sync_now: { __pending: true }, ...script });
  await page.click("[data-testid=capture-button]");
  await page.waitForSelector("[data-testid=capture-breakdown]");
  // the dialog listens for progress before the clerk can confirm
  await page.waitForFunction(() => window.__listening("capture-progress"));
  return page;
}

/** The steps as shown: their state, and whether each is marked done or current. */
const steps = (page) =>
  page.locator("[data-testid=capture-steps] li").evaluateAll((lis) =>
    lis.map((li) => ({ state: li.dataset.state, done: li.classList.contains("done"), current: li.getAttribute("aria-current") === "step" })),
  );

/** States the engine journals before their call goes out: not done until a later state is reported. */
const SENT = new Set(["paypal_capture_sent", "finalize_sent", "wallet_pay_sent"]);

/** What `steps` should read when the first `reported` states of `chain` were reported. */
const expected = (chain, reported, running) => {
  const done = reported > 0 && SENT.has(chain[reported - 1]) ? reported - 1 : reported;
  return chain.map((state, i) => ({ state, done: i < done, current: running && i === done }));
};

/** Delivers one progress event, then waits until the dialog shows it (done, or under way). */
async function progress(page, report) {
  await page.evaluate((r) => window.__emit("capture-progress", r), report);
  await page.waitForFunction((state) => {
    const li = document.querySelector(`[data-testid=capture-steps] li[data-state=${state}]`);
    return li?.classList.contains("done") || li?.getAttribute("aria-current") === "step";
  }, report.state);
}

test("shows the breakdown and the environment, and each step as the desk reports it", async () => {
  const page = await open({ capture_preview: preview(), capture_invoice: held(result("finalized")) });
  const text = await page.locator("[data-testid=capture-breakdown]").textContent();
  assert.match(text, /40\.50 EUR/);
  assert.match(text, /1\.0857/);
  assert.match(text, /43\.97 USD/);
  assert.match(await page.locator("[data-testid=capture-paypal-amount]").textContent(), /206\.03 USD/);
  assert.match(await page.locator("[data-testid=capture-environment]").textContent(), /SANDBOX/);
  await page.click("[data-testid=capture-confirm]");
  await page.waitForSelector("[data-testid=capture-steps]");
  // nothing reported yet: nothing done, the first step under way
  assert.deepEqual(await steps(page), expected(paypalSteps, 0, true));
  assert.equal(await page.locator("[data-testid=capture-confirm]").isDisabled(), true);
  // every report marks exactly the steps so far, and the next one is under way
  for (const [i, state] of paypalSteps.slice(0, -1).entries()) {
    await progress(page, result(state));
    assert.deepEqual(await steps(page), expected(paypalSteps, i + 1, true), `after ${state}`);
  }
  assert.equal(await page.locator("[data-testid=capture-result]").count(), 0);
  // the desk's answer: paid
  await progress(page, result("finalized"));
  await release(page, "capture_invoice");
  await page.waitForSelector("[data-testid=capture-result]");
  assert.deepEqual(await steps(page), expected(paypalSteps, paypalSteps.length, false));
  assert.match(await page.locator("[data-testid=capture-result]").textContent(), /Paid: 206\.03 USD/);
  assert.deepEqual((await calls(page, "capture_invoice")).map((c) => c.args), [{ invoiceNo: 458732 }]);
});

test("progress of another invoice's capture does not move this dialog", async () => {
  const page = await open({ capture_preview: preview(), capture_invoice: held(result("finalized")) });
  await page.click("[data-testid=capture-confirm]");
  await page.waitForSelector("[data-testid=capture-steps]");
  await page.evaluate((r) => window.__emit("capture-progress", r), result("paypal_captured", { invoiceNo: 458999 }));
  await progress(page, result("part_processed"));
  assert.deepEqual(await steps(page), expected(paypalSteps, 1, true));
  await release(page, "capture_invoice", { value: result("part_processed", { message: "Not finished yet (part processed); it resumes automatically." }) });
  await page.waitForSelector("[data-testid=capture-result]");
  // stopped after the first step: the rest is neither done nor under way
  assert.deepEqual(await steps(page), expected(paypalSteps, 1, false));
  assert.match(await page.locator("[data-testid=capture-result]").textContent(), /resumes automatically/);
});

test("a full-wallet payment shows the wallet's steps and no PayPal step", async () => {
  const page = await open({ capture_preview: walletPreview, capture_invoice: held(walletResult("finalized")) });
  assert.match(await page.locator("[data-testid=capture-breakdown]").textContent(), /nothing — the wallet pays the whole invoice/);
  await page.click("[data-testid=capture-confirm]");
  await page.waitForSelector("[data-testid=capture-steps]");
  const chain = ["wallet_pay_sent", "finalized"];
  assert.deepEqual(await steps(page), expected(chain, 0, true));
  await progress(page, walletResult("wallet_pay_sent"));
  assert.deepEqual(await steps(page), expected(chain, 1, true));
  await release(page, "capture_invoice");
  await page.waitForSelector("[data-testid=capture-result]");
  assert.deepEqual(await steps(page), expected(chain, 2, false));
  assert.doesNotMatch(await page.locator("[data-testid=capture-steps]").textContent(), /PayPal/);
  assert.match(await page.locator("[data-testid=capture-result]").textContent(), /Paid in full from the customer's wallet/);
});

test("an adopted capture does not claim this desk sent one", async () => {
  const page = await open({ capture_preview: preview(), capture_invoice: held(result("finalized", { adopted: true })) });
  await page.click("[data-testid=capture-confirm]");
  await page.waitForSelector("[data-testid=capture-steps]");
  await progress(page, result("part_processed"));
  // PayPal says the order was captured already: the engine adopts it, no capture is sent
  await progress(page, result("paypal_captured", { adopted: true }));
  assert.deepEqual(await steps(page), expected(paypalSteps, 3, true));
  const sent = page.locator("[data-testid=capture-steps] li[data-state=paypal_capture_sent]");
  assert.match(await sent.textContent(), /captured already, that capture is used/);
  assert.doesNotMatch(await sent.textContent(), /capture sent/);
  await release(page, "capture_invoice");
  await page.waitForSelector("[data-testid=capture-result]");
  assert.deepEqual(await steps(page), expected(paypalSteps, paypalSteps.length, false));
});

test("a mismatch blocks the capture and says why", async () => {
  const page = await open({
    capture_preview: preview({ ready: false, problems: ["The customer approved 250.00 USD at PayPal but the PayPal part is 206.03 USD."] }),
  });
  assert.match(await page.locator("[data-testid=capture-problems]").textContent(), /approved 250\.00 USD/);
  assert.equal(await page.locator("[data-testid=capture-confirm]").isDisabled(), true);
});

test("an error reads for a clerk, with the technical detail one click away", async () => {
  const page = await open({ capture_preview: preview(), capture_invoice: needsAttention });
  await page.click("[data-testid=capture-confirm]");
  await page.waitForSelector("[data-testid=capture-result]");
  assert.match(await page.locator("[data-testid=capture-result]").textContent(), /Needs attention/);
  // no step was reported in this run: none is shown as done
  assert.deepEqual(await steps(page), expected(paypalSteps, 0, false));
  assert.equal(await page.locator("pre.detail").count(), 0);
  await page.getByRole("button", { name: "Show technical detail" }).click();
  assert.match(await page.locator("pre.detail").textContent(), /invalid_amount/);
});

test("a report sent but not answered is not shown as done", async () => {
  // the gateway went away after the capture was verified: finalize_sent is journaled, then the
  // engine waits; "Reported to the gateway" must not read as done
  const page = await open({ capture_preview: preview(), capture_invoice: held(result("finalized")) });
  await page.click("[data-testid=capture-confirm]");
  await page.waitForSelector("[data-testid=capture-steps]");
  const upTo = paypalSteps.indexOf("finalize_sent") + 1;
  for (const state of paypalSteps.slice(0, upTo)) await progress(page, result(state));
  assert.deepEqual(await steps(page), expected(paypalSteps, upTo, true));
  const reported = page.locator("[data-testid=capture-steps] li[data-state=finalize_sent]");
  assert.equal(await reported.getAttribute("aria-current"), "step", "under way, not done");
  await release(page, "capture_invoice", { value: result("finalize_sent", { message: "Not finished yet: the gateway did not answer; it resumes automatically." }) });
  await page.waitForSelector("[data-testid=capture-result]");
  assert.deepEqual(await steps(page), expected(paypalSteps, upTo, false));
  assert.equal(await reported.evaluate((li) => li.classList.contains("done")), false);
});

test("the steps follow the path the engine took, not the preview's", async () => {
  // the preview said the wallet pays it all; by the time of the capture another capture had
  // drawn on the shared wallet and the engine took the PayPal path
  const page = await open({ capture_preview: walletPreview, capture_invoice: held(result("finalized")) });
  await page.click("[data-testid=capture-confirm]");
  await page.waitForSelector("[data-testid=capture-steps]");
  await progress(page, result("part_processed"));
  assert.deepEqual(await steps(page), expected(paypalSteps, 1, true));
  assert.doesNotMatch(await page.locator("[data-testid=capture-steps]").textContent(), /Wallet payment reported/);
});
