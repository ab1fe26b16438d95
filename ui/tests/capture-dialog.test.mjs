// The capture dialog in real Chromium, with the IPC faked at the backend seam.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { suite, row, status } from "./harness.mjs";

const app = suite({ before, after });

const approval = { intent: "CAPTURE", orderId: "5O190127TN364715T", authorizationId: null, approvedAt: "2026-11-20T09:58:00Z" };
const list = {
  rows: [row(458732, { customerName: "Nordlicht Freight GmbH", outstanding: "250.00", total: "250.00", paypal: approval, wallet: { currency: "EUR", balance: "40.50" } })],
  next: null,
  totals: [{ currency: "USD", count: 1, outstanding: "250.00" }],
  totalCount: 1,
};
const preview = (over = {}) => ({
  invoiceNo: 458732,
  customerName: "Nordlicht Freight GmbH",
  environment: "sandbox",
  currency: "USD",
  outstanding: "250.00",
  path: "paypal",
  wallet: { amount: "40.50", currency: "EUR", exchangeRate: "1.0857", inInvoiceCurrency: "43.97" },
  paypalAmount: "206.03",
  approval: { intent: "CAPTURE", orderId: "5O190127TN364715T", authorizationId: null, status: "APPROVED", amount: "206.03", currency: "USD" },
  ready: true,
  problems: [],
  ...over,
});
const result = (state, over = {}) => ({
  journalId: 7,
  invoiceNo: 458732,
  state,
  finished: ["finalized", "rejected", "needs_attention"].includes(state),
  message: "Paid: 206.03 USD captured at PayPal plus 40.50 EUR from the wallet and the invoice is paid at the gateway.",
  captureId: "3C679366HH908993F",
  paypalAmount: "206.03",
  walletAmount: "40.50",
  walletCurrency: "EUR",
  currency: "USD",
  adopted: false,
  detail: null,
  ...over,
});

async function open(script) {
  const page = await app.open({ desk_status: status({ environment: "sandbox" }), list_invoices: list, sync_now: { __pending: true }, ...script });
  await page.click("[data-testid=capture-button]");
  await page.waitForSelector("[data-testid=capture-breakdown]");
  return page;
}

test("shows the breakdown and the environment, captures on confirm with step-by-step progress", async () => {
  const page = await open({ capture_preview: preview(), capture_invoice: { __delay: 400, value: result("finalized") } });
  const text = await page.locator("[data-testid=capture-breakdown]").textContent();
  assert.match(text, /40\.50 EUR/);
  assert.match(text, /1\.0857/);
  assert.match(text, /43\.97 USD/);
  assert.match(await page.locator("[data-testid=capture-paypal-amount]").textContent(), /206\.03 USD/);
  assert.match(await page.locator("[data-testid=capture-environment]").textContent(), /SANDBOX/);
  await page.click("[data-testid=capture-confirm]");
  await page.waitForSelector("[data-testid=capture-steps]");
  await page.evaluate(() => {
    for (const s of ["part_processed", "paypal_capture_sent", "paypal_captured"]) {
      window.__emit("capture-progress", { invoiceNo: 458732, state: s });
    }
  });
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=capture-steps] li.done").length >= 3);
  await page.waitForSelector("[data-testid=capture-result]");
  assert.match(await page.locator("[data-testid=capture-result]").textContent(), /Paid: 206\.03 USD/);
  const calls = await page.evaluate(() => window.__calls.filter((c) => c.cmd === "capture_invoice"));
  assert.deepEqual(calls.map((c) => c.args), [{ invoiceNo: 458732 }]);
  await page.close();
});

test("a mismatch blocks the capture and says why", async () => {
  const page = await open({
    capture_preview: preview({ ready: false, problems: ["The customer approved 250.00 USD at PayPal but the PayPal part is 206.03 USD."] }),
    capture_invoice: result("finalized"),
  });
  assert.match(await page.locator("[data-testid=capture-problems]").textContent(), /approved 250\.00 USD/);
  assert.equal(await page.locator("[data-testid=capture-confirm]").isDisabled(), true);
  await page.close();
});

test("an error reads for a clerk, with the technical detail one click away", async () => {
  const page = await open({
    capture_preview: preview(),
    capture_invoice: result("needs_attention", {
      message: "Needs attention: PayPal captured 206.03 USD (3C679366HH908993F) but the gateway refused to finalize: The amount differs from what the gateway expects for this invoice.",
      detail: "invalid_amount: InvalidAmount",
    }),
  });
  await page.click("[data-testid=capture-confirm]");
  await page.waitForSelector("[data-testid=capture-result]");
  assert.match(await page.locator("[data-testid=capture-result]").textContent(), /Needs attention/);
  assert.equal(await page.locator("pre.detail").count(), 0);
  await page.getByRole("button", { name: "Show technical detail" }).click();
  assert.match(await page.locator("pre.detail").textContent(), /invalid_amount/);
  await page.close();
});
