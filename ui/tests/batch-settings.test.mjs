// The Settings screen's batch rate and concurrency in real Chromium, IPC faked at the seam.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { suite, calls } from "./harness.mjs";
import { page3, settingsView, status } from "./fixtures.mjs";

const app = suite({ before, after, afterEach });
const { open } = app;

const base = { desk_status: status(), list_invoices: page3, sync_now: { __pending: true }, get_settings: settingsView() };
const saved = { rate: "7.5", concurrency: 2 };
const badRate = { code: "badInput", message: "The rate must be a number of requests a second above 0 (at most 100000), not \"fast\"." };

async function openSettings(script, init) {
  const page = await open({ ...base, ...script }, init);
  await page.click("[data-testid=nav-settings]");
  await page.waitForSelector("[data-testid=batch-rate]");
  return page;
}

test("batch settings: the fields show the values in use; saving sends them typed and shows what was saved", async () => {
  const page = await openSettings({ get_batch_settings: saved }, () => {
    // the desk answers with what it saved (the rate as --rate prints it)
    window.__script.save_batch_settings = ({ settings }) => ({ ...settings, rate: settings.rate.replace(/\.?0+$/, "") });
  });
  assert.equal(await page.inputValue("[data-testid=batch-rate]"), "7.5");
  assert.equal(await page.inputValue("[data-testid=batch-concurrency]"), "2");
  assert.match(await page.locator("[data-testid=batch-settings-saved]").textContent(), /7\.5 requests\/s, 2 at once/);
  // nothing changed, nothing to save
  assert.equal(await page.locator("[data-testid=save-batch-settings]").isDisabled(), true);
  await page.fill("[data-testid=batch-rate]", " 12.50 ");
  await page.fill("[data-testid=batch-concurrency]", "8");
  await page.click("[data-testid=save-batch-settings]");
  await page.waitForSelector("text=Batch settings saved.");
  assert.deepEqual((await calls(page, "save_batch_settings")).map((c) => c.args), [{ settings: { rate: "12.50", concurrency: 8 } }]);
  assert.equal(await page.inputValue("[data-testid=batch-rate]"), "12.5");
  assert.match(await page.locator("[data-testid=batch-settings-saved]").textContent(), /12\.5 requests\/s, 8 at once/);
  // the other settings were not touched
  assert.equal((await calls(page, "save_settings")).length, 0);
});

test("batch settings: a concurrency out of range is refused before sending; the desk's refusal of a rate is shown, nothing changed", async () => {
  const page = await openSettings({ get_batch_settings: saved, save_batch_settings: { error: badRate } });
  for (const typed of ["17", "0", "2.5", "four", ""]) {
    await page.fill("[data-testid=batch-concurrency]", typed);
    await page.click("[data-testid=save-batch-settings]");
    await page.waitForSelector("[data-testid=batch-settings-problem]");
    assert.match(await page.locator("[data-testid=batch-settings-problem]").textContent(), /whole number from 1 to 16/, typed);
  }
  assert.equal((await calls(page, "save_batch_settings")).length, 0);
  await page.fill("[data-testid=batch-concurrency]", "3");
  await page.fill("[data-testid=batch-rate]", "fast");
  await page.click("[data-testid=save-batch-settings]");
  await page.waitForFunction(() => /not "fast"/.test(document.querySelector("[data-testid=batch-settings-problem]")?.textContent ?? ""));
  assert.deepEqual((await calls(page, "save_batch_settings")).map((c) => c.args), [{ settings: { rate: "fast", concurrency: 3 } }]);
  // what is in use is still what was saved; the typed values stay to be corrected
  assert.match(await page.locator("[data-testid=batch-settings-saved]").textContent(), /7\.5 requests\/s, 2 at once/);
  assert.equal(await page.inputValue("[data-testid=batch-rate]"), "fast");
});
