// Settings' About: the version, the environment, and the data and logs folders as paths the clerk
// can copy (the clipboard, or the field selected for Ctrl+C where there is none).
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { suite, calls } from "./harness.mjs";
import { aboutView, detailList, offlineError, settingsView, status } from "./fixtures.mjs";

const app = suite({ before, after, afterEach });
const { open } = app;

const base = { desk_status: status(), list_invoices: detailList, sync_now: { __pending: true }, get_settings: settingsView() };

/** A clipboard that records what was written (Chromium's needs a permission the harness does not grant). */
function recordingClipboard() {
  window.__copied = [];
  Object.defineProperty(navigator, "clipboard", {
    configurable: true,
    value: { writeText: async (/** @type {string} */ text) => void window.__copied.push(text) },
  });
}

test("settings shows the version, the environment and the folders, and copies the logs folder", async () => {
  const about = aboutView({ version: "1.4.2", environment: "live", logsDir: "/srv/desk data/logs", logFile: "/srv/desk data/logs/capture-desk.log", dataDir: "/srv/desk data" });
  const page = await open({ ...base, about }, recordingClipboard);
  await page.click("[data-testid=nav-settings]");
  await page.waitForSelector("[data-testid=about-version]");
  assert.equal((await page.locator("[data-testid=about-version]").textContent()).trim(), "1.4.2");
  assert.equal((await page.locator("[data-testid=about-environment]").textContent()).trim(), "Live");
  assert.equal(await page.inputValue("[data-testid=about-logs]"), "/srv/desk data/logs");
  assert.equal(await page.inputValue("[data-testid=about-data]"), "/srv/desk data");
  assert.equal(await page.inputValue("[data-testid=about-database]"), about.database);
  assert.equal(await page.locator("[data-testid=about-logs]").getAttribute("readonly"), "", "read-only, still selectable");
  assert.match(await page.locator("[data-testid=about]").textContent(), /log being written is capture-desk\.log; older ones beside it are capture-desk\.log\.1/);
  await page.click("[data-testid=copy-logs]");
  await page.waitForSelector("[data-testid=copied-logs]:has-text('Copied')");
  assert.deepEqual(await page.evaluate(() => window.__copied), ["/srv/desk data/logs"]);
  assert.equal((await calls(page, "about")).length, 1);
});

test("without a clipboard the path is selected for Ctrl+C", async () => {
  const page = await open(base, () => {
    Object.defineProperty(navigator, "clipboard", {
      configurable: true,
      value: { writeText: async () => Promise.reject(new DOMException("not allowed", "NotAllowedError")) },
    });
  });
  await page.click("[data-testid=nav-settings]");
  await page.waitForSelector("[data-testid=about-logs]");
  await page.click("[data-testid=copy-logs]");
  await page.waitForSelector("[data-testid=copied-logs]:has-text('Ctrl+C')");
  const selected = await page.evaluate(() => {
    const field = /** @type {HTMLInputElement} */ (document.activeElement);
    return field.value.slice(field.selectionStart ?? 0, field.selectionEnd ?? 0);
  });
  assert.equal(selected, aboutView().logsDir);
});

test("when the desk could not open, About still says where the data and the logs are", async () => {
  const page = await open({ ...base, get_settings: { error: offlineError }, about: aboutView({ environment: null, database: null }) });
  await page.click("[data-testid=nav-settings]");
  await page.waitForSelector("[data-testid=about-logs]");
  assert.equal((await page.locator("[data-testid=about-environment]").textContent()).trim(), "not open");
  assert.equal(await page.locator("[data-testid=about-database]").count(), 0);
  assert.equal(await page.inputValue("[data-testid=about-logs]"), aboutView().logsDir);
});
