// The harness's own checks can fail: each kind of problem it must catch is made on purpose
// here, and the check run after every test (the same `problemsOf`) reports it.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { suite, UNSCRIPTED } from "./harness.mjs";
import { page3, status } from "./fixtures.mjs";

const app = suite({ before, after, afterEach });
const base = { desk_status: status(), list_invoices: page3, sync_now: { __pending: true } };

test("a clean page has no problems (and the bundle's requests were seen)", async () => {
  const page = await app.open(base);
  await page.waitForSelector("[data-testid=invoice-row]");
  assert.deepEqual(app.takeProblems(page), []);
});

test("an exception thrown in the page is a problem", async () => {
  const page = await app.open(base);
  await page.waitForSelector("[data-testid=invoice-row]");
  const thrown = page.waitForEvent("pageerror");
  await page.evaluate(() => setTimeout(() => {
    throw new Error("deliberate failure");
  }));
  await thrown;
  const problems = app.takeProblems(page);
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(problems[0], /^page error: .*deliberate failure/);
});

test("a console error is a problem", async () => {
  const page = await app.open(base);
  await page.waitForSelector("[data-testid=invoice-row]");
  const logged = page.waitForEvent("console", (m) => m.type() === "error");
  await page.evaluate(() => console.error("deliberate console error"));
  await logged;
  assert.deepEqual(app.takeProblems(page), ["console error: deliberate console error"]);
});

test("a command the test did not script is refused and is a problem", async () => {
  // no answer for desk_status, which the app asks for at start
  const page = await app.open({ list_invoices: page3, sync_now: { __pending: true } });
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "desk_status"));
  const refused = await page.evaluate(() => window.__TAURI_INTERNALS__.invoke("no_such_command", { a: 1 }).then(() => null, (e) => e));
  assert.deepEqual(refused, { code: "internal", message: "no fake for no_such_command" });
  await page.waitForFunction(() => window.__calls.some((c) => c.cmd === "no_such_command"));
  const problems = app.takeProblems(page);
  assert.ok(problems.includes(`console error: ${UNSCRIPTED} desk_status {}`), problems.join("\n"));
  assert.ok(problems.includes(`console error: ${UNSCRIPTED} no_such_command {"a":1}`), problems.join("\n"));
});

test("a request to another origin, at any time in the page's life, is a problem", async () => {
  const page = await app.open(base);
  await page.waitForSelector("[data-testid=invoice-row]");
  // after the first paint: a port on another loopback address (refused, nothing leaves the machine)
  const failed = page.waitForEvent("requestfailed");
  await page.evaluate(() => fetch("http://127.0.0.2:9/leak").catch(() => null));
  await failed;
  const problems = app.takeProblems(page);
  assert.ok(problems.includes("foreign request: http://127.0.0.2:9/leak"), problems.join("\n"));
});
