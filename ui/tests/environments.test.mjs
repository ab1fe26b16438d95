// Which environment's data is on screen, and each environment's own connection settings.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { suite, calls } from "./harness.mjs";
import { detailList, settingsView, status } from "./fixtures.mjs";

const app = suite({ before, after, afterEach });
const { open } = app;

const sandboxStatus = status({ environment: "sandbox", database: "/home/ada/.local/share/desk/sandbox/desk.sqlite3" });
const base = { desk_status: sandboxStatus, list_invoices: detailList, sync_now: { __pending: true } };

test("the status bar says whose data is shown", async () => {
  const page = await open(base);
  await page.waitForSelector("[data-testid=data-shown]");
  assert.equal((await page.locator("[data-testid=environment]").textContent()).trim(), "sandbox");
  assert.equal((await page.locator("[data-testid=data-shown]").textContent()).trim(), "sandbox data");
  assert.match(await page.getAttribute("[data-testid=data-shown]", "title"), /its own invoices.*sandbox\/desk\.sqlite3/);
});

test("invoices the sync set aside are counted in the status bar, each with its reason", async () => {
  const page = await open(base);
  await page.waitForSelector("[data-testid=data-shown]");
  assert.equal(await page.locator("[data-testid=set-aside]").count(), 0, "nothing set aside: nothing shown");
  const setAside = [
    { invoiceNo: 458733, invoiceNoText: "458733", reason: "total: 1.005 has more decimals than USD allows (2)", firstSeenAt: "2026-11-23T08:00:00Z", lastSeenAt: "2026-11-23T08:05:00Z", cached: true },
  ];
  const again = await open({ ...base, desk_status: status({ environment: "sandbox", setAside }) });
  await again.waitForSelector("[data-testid=set-aside]");
  assert.equal((await again.locator("[data-testid=set-aside]").textContent()).trim(), "1 invoice set aside (unreadable)");
  assert.match(await again.getAttribute("[data-testid=set-aside]", "title"), /458733: total: 1\.005 has more decimals/);
});

test("picking another environment shows that environment's saved connection settings", async () => {
  const mine = (environment, gatewayUrl, paypalClientId) => ({ environment, gatewayUrl, paypalUrl: null, paypalClientId, staffName: "Ada" });
  const view = settingsView({
    byEnvironment: [mine("demo", null, null), mine("sandbox", "https://gw.example", "app-1"), mine("live", "https://gw.live.example", "app-live")],
  });
  const page = await open({ ...base, get_settings: view }, () => {
    window.__script.save_settings = ({ settings }) => ({ ...window.__script.get_settings, saved: settings, effective: settings });
  });
  await page.click("[data-testid=nav-settings]");
  await page.waitForSelector("[data-testid=settings-form]");
  assert.equal(await page.inputValue("[data-testid=gateway-url]"), "https://gw.example");
  await page.check("[data-testid=env-live]");
  assert.equal(await page.inputValue("[data-testid=gateway-url]"), "https://gw.live.example");
  assert.equal(await page.inputValue("[data-testid=paypal-client-id]"), "app-live");
  await page.check("[data-testid=env-demo]");
  assert.equal(await page.inputValue("[data-testid=gateway-url]"), "");
  await page.check("[data-testid=env-sandbox]");
  assert.equal(await page.inputValue("[data-testid=gateway-url]"), "https://gw.example");
  await page.check("[data-testid=env-live]");
  await page.fill("[data-testid=live-confirmation]", "LIVE");
  await page.click("[data-testid=save-settings]");
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "save_settings"));
  const sent = (await calls(page, "save_settings"))[0].args;
  assert.deepEqual(sent.settings, mine("live", "https://gw.live.example", "app-live"));
});
