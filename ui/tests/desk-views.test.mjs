// The invoice detail, Settings and Activity views in real Chromium, IPC faked at the seam.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { suite, calls, held, release } from "./harness.mjs";
import {
  activityEntries, activityFacets, authPreview, connectionHalf, detailEmpty, detailList, detailWithJournal, exportRefused, exported,
  liveCaptured, liveOffline, liveQuiet, noKeyringError, olderEntry, result, settingsNoKeyring, settingsStored, settingsView, status,
} from "./fixtures.mjs";

const app = suite({ before, after, afterEach });
const { open } = app;

const base = { desk_status: status(), list_invoices: detailList, sync_now: { __pending: true } };

test("the detail panel shows the invoice, live PayPal status, payments, journal and audit", async () => {
  const page = await open({ ...base, invoice_detail: detailWithJournal, invoice_live: held(liveCaptured), capture_preview: authPreview });
  await page.click("[data-invoice='458732'] [data-testid=open-button]");
  await page.waitForSelector("[data-testid=detail-customer]");
  assert.match(await page.locator("[data-testid=detail-customer]").textContent(), /Nordlicht Freight GmbH/);
  assert.match(await page.locator("[data-testid=detail-outstanding]").textContent(), /250\.00 USD/);
  assert.match(await page.locator("[data-testid=detail-paypal-status]").textContent(), /asking PayPal/);
  // the panel's size does not change when the live part arrives
  const before = await page.locator("[data-testid=invoice-scroll]").boundingBox();
  await release(page, "invoice_live");
  await page.waitForSelector("[data-testid=detail-payments]");
  const after = await page.locator("[data-testid=invoice-scroll]").boundingBox();
  assert.deepEqual(before, after);
  assert.match(await page.locator("[data-testid=detail-paypal-status]").textContent(), /CAPTURED.*expires 2026-12-19/);
  assert.match(await page.locator("[data-testid=detail-payments]").textContent(), /WALLET-77.*43\.97 USD/);
  assert.match(await page.locator("[data-testid=detail-journal]").textContent(), /needs_attention.*PayPal 206\.03 USD.*3C679366HH908993F.*refused/);
  assert.match(await page.locator("[data-testid=detail-audit]").textContent(), /Capture needs attention/);
  await page.click("[data-testid=detail-capture]");
  await page.waitForSelector("[data-testid=capture-breakdown]");
  assert.match(await page.locator("[data-testid=capture-breakdown]").textContent(), /206\.03 USD \(authorize, created\)/);
  assert.deepEqual((await calls(page, "capture_preview")).map((c) => c.args), [{ invoiceNo: 458732 }]);
});

test("a capture from the detail: the detail and the list are read again when it ends, while its dialog still shows the result", async () => {
  const page = await open({ ...base, invoice_detail: detailEmpty, invoice_live: liveQuiet, capture_preview: authPreview, capture_invoice: held(result("finalized")) });
  await page.click("[data-invoice='458732'] [data-testid=open-button]");
  await page.waitForSelector("[data-testid=detail-capture]");
  const [details, lists] = [(await calls(page, "invoice_detail")).length, (await calls(page, "list_invoices")).length];
  await page.click("[data-testid=detail-capture]");
  await page.click("[data-testid=capture-confirm]");
  await page.waitForSelector("[data-testid=capture-steps]");
  assert.equal((await calls(page, "invoice_detail")).length, details, "nothing read again while the capture runs");
  await release(page, "capture_invoice");
  await page.waitForSelector("[data-testid=capture-result]");
  // the dialog is still open, and what is behind it reads the invoice again
  await page.waitForFunction((n) => window.__calls.filter((c) => c.cmd === "invoice_detail").length > n, details);
  await page.waitForFunction((n) => window.__calls.filter((c) => c.cmd === "list_invoices").length > n, lists);
  assert.equal(await page.locator("[data-testid=capture-dialog][open]").count(), 1);
  // closing it reads nothing more
  const [afterDetails, afterLists] = [(await calls(page, "invoice_detail")).length, (await calls(page, "list_invoices")).length];
  await page.keyboard.press("Escape");
  await page.waitForSelector("[data-testid=capture-dialog][open]", { state: "detached" });
  assert.equal((await calls(page, "invoice_detail")).length, afterDetails);
  assert.equal((await calls(page, "list_invoices")).length, afterLists);
});

test("offline, the detail still opens from the cache and says what is missing", async () => {
  const page = await open({ ...base, invoice_detail: detailEmpty, invoice_live: liveOffline });
  await page.click("[data-invoice='458732'] [data-testid=open-button]");
  await page.waitForSelector("[data-testid=detail-offline]");
  assert.match(await page.locator("[data-testid=detail-offline]").textContent(), /cannot be reached/);
  assert.match(await page.locator("[data-testid=detail-paypal-status]").textContent(), /unavailable/);
  assert.match(await page.locator("[data-testid=invoice-detail]").textContent(), /No capture attempts/);
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
});

test("settings: a credential goes to the keyring once and is never shown again", async () => {
  const page = await open({ ...base, get_settings: settingsView(), set_credential: settingsStored, test_connection: connectionHalf });
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
});

test("settings: no keyring says so clearly", async () => {
  const page = await open({ ...base, get_settings: settingsNoKeyring, set_credential: { error: noKeyringError } });
  await page.click("[data-testid=nav-settings]");
  await page.waitForSelector("[data-testid=keyring-problem]");
  assert.match(await page.locator("[data-testid=keyring-problem]").textContent(), /No keyring is available/);
  await page.fill("[data-testid=credential-gatewayToken]", "x");
  await page.click("[data-testid=store-gatewayToken]");
  await page.waitForSelector("[data-testid=toast]");
  assert.match(await page.locator("[data-testid=toast]").textContent(), /Secret Service/);
});

test("activity: filters by invoice, staff, action and date, pages, and exports CSV", async () => {
  const page = await open(
    { ...base, audit_facets: activityFacets, audit_export_csv: exported },
    `window.__script.audit_query = ({ filter }) => (filter.beforeId ? [${JSON.stringify(olderEntry)}] : ${JSON.stringify(activityEntries)});`,
  );
  await page.click("[data-testid=nav-activity]");
  await page.waitForSelector("[data-testid=activity-row]");
  assert.equal(await page.locator("[data-testid=activity-row]").count(), 200);
  // the clerk reads each action's label; the word stays in its tooltip and the filter
  assert.equal((await page.locator("[data-testid=activity-row] strong").first().textContent())?.trim(), "Capture done: invoice paid");
  assert.equal(await page.locator("[data-testid=activity-action] option[value='capture.finalized']").textContent(), "Capture done: invoice paid");
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
  await page.waitForSelector("text=Exported 201 entries to /home/ada/Downloads/capture-desk-activity-20261123-090000.csv");
  assert.deepEqual((await calls(page, "audit_export_csv")).at(-1).args.filter, { staff: "Ben", action: "capture.finalized", from: "2026-11-01" });
});

test("every view loads nothing but the app's own files; the theme follows the OS", async () => {
  const page = await open({ ...base, get_settings: settingsView(), invoice_detail: detailEmpty, invoice_live: liveQuiet });
  await page.emulateMedia({ colorScheme: "dark" });
  await page.reload();
  await page.waitForSelector("[data-testid=invoice-row]");
  await page.click("[data-invoice='458732'] [data-testid=open-button]");
  await page.waitForSelector("[data-testid=detail-customer]");
  for (const [view, shown] of [["activity", "activity-export"], ["settings", "settings-form"], ["invoices", "invoice-row"]]) {
    await page.click(`[data-testid=nav-${view}]`);
    await page.waitForSelector(`[data-testid=${shown}]`);
  }
  const dark = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  assert.equal(dark, "rgb(21, 24, 28)");
  await page.emulateMedia({ colorScheme: "light" });
  const light = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  assert.equal(light, "rgb(246, 247, 249)");
  // the harness watched every request since the page was created (and fails the test on a
  // foreign one when it ends): here, the bundle itself, loaded twice
  const origin = new URL(page.url()).origin;
  const requests = app.requests(page);
  assert.deepEqual(requests.filter((u) => new URL(u).origin !== origin), []);
  assert.equal(requests.filter((u) => /\/assets\/index-[\w-]+\.js$/.test(u)).length, 2, requests.join("\n"));
});

test("activity: a refused export says why, with the technical detail", async () => {
  const page = await open({ ...base, audit_export_csv: { error: exportRefused } });
  await page.click("[data-testid=nav-activity]");
  await page.click("[data-testid=activity-export]");
  await page.waitForSelector("[data-testid=toast]");
  assert.match(await page.locator("[data-testid=toast]").textContent(), /could not be written/);
  await page.click("[data-testid=toast] summary");
  assert.match(await page.locator("[data-testid=toast] code").textContent(), /Permission denied/);
  assert.deepEqual((await calls(page, "audit_export_csv")).map((c) => c.args), [{ filter: {} }]);
});
