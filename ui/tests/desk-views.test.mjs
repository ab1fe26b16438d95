// The invoice detail, Settings and Activity views in real Chromium, IPC faked at the seam.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { suite, calls, row, status } from "./harness.mjs";

const { open } = suite({ before, after });

const approval = { intent: "AUTHORIZE", orderId: "5O190127TN364715T", authorizationId: "0VF52814937998046", approvedAt: "2026-11-20T09:58:00Z" };
const invoice = row(458732, { customerName: "Nordlicht Freight GmbH", outstanding: "250.00", total: "250.00", paypal: approval, wallet: { currency: "EUR", balance: "40.50" } });
const list = { rows: [invoice, row(458733)], next: null, totals: [{ currency: "USD", count: 2, outstanding: "1500.00" }], totalCount: 2 };
const journalEntry = {
  id: 3, invoiceNo: 458732, state: "needs_attention", path: "paypal", intent: "AUTHORIZE", orderId: approval.orderId,
  authorizationId: approval.authorizationId, currency: "USD", outstanding: "250.00", walletPartJson: null, walletCurrency: "EUR",
  walletAmount: "40.50", exchangeRate: "1.0857", walletInInvoiceCurrency: "43.97", paypalAmount: "206.03", approvedAmount: "206.03",
  requestId: "capture-desk-x-3-capture", captureId: "3C679366HH908993F", captureStatus: "COMPLETED", adopted: false, reason: null,
  lastError: "The gateway refused the payment report.", attempts: 2, staff: "Ada", environment: "demo",
  createdAt: "2026-11-23T09:00:00Z", updatedAt: "2026-11-23T09:00:05Z",
};
const audit = (id, action, over = {}) => ({ id, at: "2026-11-23T09:00:00Z", staff: "Ada", environment: "demo", action, invoiceNo: 458732, detail: '{"amount":"206.03"}', ...over });
const base = { desk_status: status(), list_invoices: list, sync_now: { __pending: true } };

test("the detail panel shows the invoice, live PayPal status, payments, journal and audit", async () => {
  const page = await open({
    ...base,
    invoice_detail: { invoice, journal: [journalEntry], audit: [audit(9, "capture.needs_attention"), audit(8, "capture.planned")] },
    invoice_live: {
      __delay: 300,
      value: {
        invoice,
        payments: [{ paymentId: "WALLET-77", amount: "43.97", currency: "USD", method: "wallet", at: "2026-11-23T09:00:01Z" }],
        paypal: { kind: "authorization", id: approval.authorizationId, status: "CAPTURED", amount: "206.03", currency: "USD", expiresAt: "2026-12-19T09:58:00Z", captures: [{ id: "3C679366HH908993F", status: "COMPLETED", amount: "206.03", currency: "USD", at: "2026-11-23T09:00:03Z" }] },
      },
    },
  });
  await page.click("[data-invoice='458732'] [data-testid=open-button]");
  await page.waitForSelector("[data-testid=detail-customer]");
  assert.match(await page.locator("[data-testid=detail-customer]").textContent(), /Nordlicht Freight GmbH/);
  assert.match(await page.locator("[data-testid=detail-outstanding]").textContent(), /250\.00 USD/);
  assert.match(await page.locator("[data-testid=detail-paypal-status]").textContent(), /asking PayPal/);
  // the panel's size does not change when the live part arrives
  const before = await page.locator("[data-testid=invoice-scroll]").boundingBox();
  await page.waitForSelector("[data-testid=detail-payments]");
  const after = await page.locator("[data-testid=invoice-scroll]").boundingBox();
  assert.deepEqual(before, after);
  assert.match(await page.locator("[data-testid=detail-paypal-status]").textContent(), /CAPTURED.*expires 2026-12-19/);
  assert.match(await page.locator("[data-testid=detail-payments]").textContent(), /WALLET-77.*43\.97 USD/);
  assert.match(await page.locator("[data-testid=detail-journal]").textContent(), /needs_attention.*PayPal 206\.03 USD.*3C679366HH908993F.*refused/);
  assert.match(await page.locator("[data-testid=detail-audit]").textContent(), /capture.needs_attention/);
  await page.click("[data-testid=detail-capture]");
  await page.waitForSelector("[data-testid=capture-dialog]");
  await page.close();
});

test("offline, the detail still opens from the cache and says what is missing", async () => {
  const offline = { code: "offline", message: "The gateway cannot be reached (offline?).", detail: "connection refused" };
  const page = await open({
    ...base,
    invoice_detail: { invoice, journal: [], audit: [] },
    invoice_live: { invoice: null, payments: [], paypal: null, gatewayError: offline, paypalError: offline },
  });
  await page.click("[data-invoice='458732'] [data-testid=open-button]");
  await page.waitForSelector("[data-testid=detail-offline]");
  assert.match(await page.locator("[data-testid=detail-offline]").textContent(), /cannot be reached/);
  assert.match(await page.locator("[data-testid=detail-paypal-status]").textContent(), /unavailable/);
  assert.match(await page.locator("[data-testid=invoice-detail]").textContent(), /No capture attempts/);
  await page.close();
});

const settingsView = (over = {}) => ({
  saved: { environment: "sandbox", gatewayUrl: "https://gw.example", paypalUrl: null, paypalClientId: "app-1", staffName: "Ada" },
  effective: { environment: "sandbox", gatewayUrl: "https://gw.example", paypalUrl: null, paypalClientId: "app-1", staffName: "Ada" },
  overriddenBy: [],
  credentials: [{ kind: "gatewayToken", source: "missing" }, { kind: "paypalClientSecret", source: "keyring" }],
  keyringProblem: null,
  dataDir: "/home/ada/.local/share/com.cargoextra.capturedesk",
  ...over,
});

test("settings: live needs the typed word; saving sends typed settings", async () => {
  const page = await open({ ...base, get_settings: settingsView() }, () => {
    // the desk answers with what it saved
    window.__script.save_settings = ({ settings }) => ({ ...window.__script.get_settings, saved: settings, effective: settings });
  });
  await page.click("[data-testid=nav-settings]");
  await page.waitForSelector("[data-testid=settings-form]");
  assert.equal(await page.inputValue("[data-testid=gateway-url]"), "https://gw.example");
  await page.check("[data-testid=env-live]");
  assert.equal(await page.locator("[data-testid=save-settings]").isDisabled(), true);
  await page.fill("[data-testid=live-confirmation]", "live");
  assert.equal(await page.locator("[data-testid=save-settings]").isDisabled(), true);
  await page.fill("[data-testid=live-confirmation]", "LIVE");
  await page.fill("[data-testid=staff-name]", "  Ada Lovelace ");
  await page.fill("[data-testid=paypal-url]", "");
  assert.equal(await page.locator("[data-testid=unsaved-hint]").count(), 1);
  await page.click("[data-testid=save-settings]");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "save_settings"));
  const sent = (await calls(page, "save_settings"))[0].args;
  assert.equal(sent.confirmation, "LIVE");
  assert.deepEqual(sent.settings, { environment: "live", gatewayUrl: "https://gw.example", paypalUrl: null, paypalClientId: "app-1", staffName: "Ada Lovelace" });
  await page.waitForSelector("text=Settings saved.");
  assert.equal(await page.locator("[data-testid=unsaved-hint]").count(), 0);
  await page.close();
});

test("settings: a credential goes to the keyring once and is never shown again", async () => {
  const stored = settingsView({ credentials: [{ kind: "gatewayToken", source: "keyring" }, { kind: "paypalClientSecret", source: "keyring" }] });
  const page = await open({ ...base, get_settings: settingsView(), set_credential: stored, test_connection: {
    gateway: { ok: true, message: "The gateway answered (312 outstanding invoices).", millis: 41 },
    paypal: { ok: false, message: "PayPal refused the client id or secret.", error: { code: "missing_credentials", message: "PayPal refused the client id or secret.", detail: "401 invalid_client" }, millis: 12 },
  } });
  await page.click("[data-testid=nav-settings]");
  await page.waitForSelector("[data-testid=source-gatewayToken]");
  assert.match(await page.locator("[data-testid=source-gatewayToken]").textContent(), /Not stored yet/);
  assert.equal(await page.getAttribute("[data-testid=credential-gatewayToken]", "type"), "password");
  await page.fill("[data-testid=credential-gatewayToken]", "tok-very-secret-42");
  await page.click("[data-testid=store-gatewayToken]");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "set_credential"));
  assert.deepEqual((await calls(page, "set_credential"))[0].args, { kind: "gatewayToken", value: "tok-very-secret-42" });
  await page.waitForFunction(() => /Stored in the keyring/.test(document.querySelector("[data-testid=source-gatewayToken]")?.textContent ?? ""));
  assert.equal(await page.inputValue("[data-testid=credential-gatewayToken]"), "");
  const html = await page.content();
  assert.ok(!html.includes("tok-very-secret-42"), "the secret is not in the page any more");
  await page.click("[data-testid=test-connection]");
  await page.waitForSelector("[data-testid=check-paypal]");
  assert.match(await page.locator("[data-testid=check-gateway]").textContent(), /✓ Gateway: The gateway answered/);
  assert.match(await page.locator("[data-testid=check-paypal]").textContent(), /✗ PayPal: PayPal refused/);
  await page.close();
});

test("settings: no keyring says so clearly", async () => {
  const problem = "No keyring is available, so credentials cannot be stored. On Linux, start a Secret Service (GNOME Keyring or KWallet) and unlock it.";
  const page = await open({
    ...base,
    get_settings: settingsView({ keyringProblem: problem, credentials: [{ kind: "gatewayToken", source: "unavailable" }, { kind: "paypalClientSecret", source: "unavailable" }] }),
    set_credential: { error: { code: "no_keyring", message: problem, detail: "org.freedesktop.DBus.Error.ServiceUnknown" } },
  });
  await page.click("[data-testid=nav-settings]");
  await page.waitForSelector("[data-testid=keyring-problem]");
  assert.match(await page.locator("[data-testid=keyring-problem]").textContent(), /No keyring is available/);
  await page.fill("[data-testid=credential-gatewayToken]", "x");
  await page.click("[data-testid=store-gatewayToken]");
  await page.waitForSelector("[data-testid=toast]");
  assert.match(await page.locator("[data-testid=toast]").textContent(), /Secret Service/);
  await page.close();
});

test("activity: filters by invoice, staff, action and date, pages, and exports CSV", async () => {
  const entries = Array.from({ length: 200 }, (_, i) => audit(1000 - i, i % 2 ? "sync" : "capture.finalized", { staff: i % 3 ? "Ada" : "Ben" }));
  const page = await open({
    ...base,
    audit_facets: { staff: ["Ada", "Ben"], actions: ["capture.finalized", "sync"] },
    audit_export_csv: { path: "/home/ada/Downloads/capture-desk-activity-20261123-090000.csv", rows: 201 },
  }, `window.__script.audit_query = ({ filter }) => (filter.beforeId ? [${JSON.stringify(audit(7, "sync"))}] : ${JSON.stringify(entries)});`);
  await page.click("[data-testid=nav-activity]");
  await page.waitForSelector("[data-testid=activity-row]");
  assert.equal(await page.locator("[data-testid=activity-row]").count(), 200);
  await page.click("text=Show older entries");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=activity-row]").length === 201);
  assert.equal((await calls(page, "audit_query")).at(-1).args.filter.beforeId, 801);
  await page.selectOption("[data-testid=activity-staff]", "Ben");
  await page.selectOption("[data-testid=activity-action]", "capture.finalized");
  await page.fill("[data-testid=activity-invoice]", "458732");
  await page.fill("[data-testid=activity-from]", "2026-11-01");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "audit_query" && c.args.filter.from === "2026-11-01"));
  assert.deepEqual((await calls(page, "audit_query")).at(-1).args.filter, { invoiceNo: 458732, staff: "Ben", action: "capture.finalized", from: "2026-11-01", limit: 200 });
  await page.fill("[data-testid=activity-invoice]", "45x");
  await page.waitForSelector("text=The invoice number must be digits only.");
  assert.equal(await page.locator("[data-testid=activity-export]").isDisabled(), true);
  await page.fill("[data-testid=activity-invoice]", "");
  await page.click("[data-testid=activity-export]");
  await page.waitForSelector("text=Exported 201 entries");
  assert.deepEqual((await calls(page, "audit_export_csv")).at(-1).args.filter, { staff: "Ben", action: "capture.finalized", from: "2026-11-01" });
  await page.close();
});

test("every view loads nothing but the app's own files; the theme follows the OS", async () => {
  const page = await open({ ...base, get_settings: settingsView(), invoice_detail: { invoice, journal: [], audit: [] }, invoice_live: { invoice, payments: [], paypal: null } });
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.emulateMedia({ colorScheme: "dark" });
  await page.reload();
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.click("[data-invoice='458732'] [data-testid=open-button]");
  await page.waitForSelector("[data-testid=detail-customer]");
  for (const view of ["activity", "settings", "invoices"]) {
    await page.click(`[data-testid=nav-${view}]`);
    await page.waitForTimeout(100);
  }
  const origin = new URL(page.url()).origin;
  const foreign = requests.filter((u) => new URL(u).origin !== origin);
  assert.deepEqual(foreign, []);
  const dark = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  assert.equal(dark, "rgb(21, 24, 28)");
  await page.emulateMedia({ colorScheme: "light" });
  const light = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  assert.equal(light, "rgb(246, 247, 249)");
  await page.close();
});
