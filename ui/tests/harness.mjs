// UI test harness: serves the built UI (ui/dist) on loopback, opens it in Debian's Chromium
// through playwright-core, and replaces Tauri's IPC with a scripted fake (the backend seam).
//
// Every page a test opens is watched from its creation to the end of the test; after every
// test the harness fails it if the page
// - threw (`pageerror`) or logged a console error,
// - called a command the test did not script (the fake logs it as a console error), or
// - requested anything but the bundle's own origin.
import http from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { DEFAULTS } from "./fixtures.mjs";

const DIST = new URL("../dist/", import.meta.url).pathname;
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };

export async function serveDist() {
  const server = http.createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^\/+/, "");
    const file = join(DIST, path === "" ? "index.html" : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((ok) => server.close(ok)) };
}

/**
 * Debian's Chromium with a home of its own: its crash-report settings, GTK's dconf cache and
 * everything else it keeps per user go to a temporary folder, never the user's home. `close()`
 * stops the browser and removes that folder.
 */
export async function launch() {
  const home = await mkdtemp(join(tmpdir(), "desk-ui-chromium-"));
  const dirs = { HOME: home, XDG_CONFIG_HOME: join(home, "config"), XDG_CACHE_HOME: join(home, "cache"), XDG_DATA_HOME: join(home, "data") };
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    env: { ...process.env, ...dirs },
  });
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    await rm(home, { recursive: true, force: true });
  };
  return browser;
}

/** The console error the fake logs for a command no test scripted. */
export const UNSCRIPTED = "unscripted command:";

/**
 * Installs a fake `window.__TAURI_INTERNALS__` before the page loads. `script` is a plain
 * object of command name -> answer; every call is recorded in window.__calls, and
 * window.__emit(event, payload) delivers a Tauri event to listeners. An answer is
 * - a value (returned as is), `{ error }` (thrown), a function of the arguments (giving one of these);
 * - `{ __pending: true }`: never answers;
 * - `{ __held: value }`: answers only when the test calls `release(page, cmd)` (one call per release).
 * A command without an answer is refused and logged as a console error, which fails the test.
 */
export async function fakeBackend(page, script) {
  await page.addInitScript(([script, unscripted]) => {
    const callbacks = new Map();
    const listeners = new Map();
    let next = 1;
    window.__calls = [];
    window.__held = {};
    window.__script = script;
    window.__emit = (event, payload) => {
      for (const id of listeners.get(event) ?? []) callbacks.get(id)?.({ event, id, payload });
    };
    // a message on a tauri::ipc::Channel passed to a command (its argument reads "__CHANNEL__:<id>")
    const channelIndex = new Map();
    window.__send = (channel, message) => {
      const id = Number(String(channel).replace("__CHANNEL__:", ""));
      const index = channelIndex.get(id) ?? 0;
      channelIndex.set(id, index + 1);
      callbacks.get(id)?.({ index, message });
    };
    window.__listening = (event) => (listeners.get(event) ?? []).length > 0;
    window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: () => {} };
    window.__TAURI_INTERNALS__ = {
      transformCallback(cb) {
        const id = next++;
        callbacks.set(id, cb);
        return id;
      },
      unregisterCallback(id) {
        callbacks.delete(id);
      },
      async invoke(cmd, args) {
        window.__calls.push({ cmd, args: JSON.parse(JSON.stringify(args ?? {})) });
        if (cmd === "plugin:event|listen") {
          const list = listeners.get(args.event) ?? [];
          list.push(args.handler);
          listeners.set(args.event, list);
          return args.handler;
        }
        if (cmd === "plugin:event|unlisten") {
          const list = listeners.get(args.event) ?? [];
          listeners.set(args.event, list.filter((id) => id !== args.eventId));
          return null;
        }
        const answer = window.__script[cmd];
        if (answer === undefined) {
          console.error(`${unscripted} ${cmd} ${JSON.stringify(args ?? {})}`);
          throw { code: "internal", message: `no fake for ${cmd}` };
        }
        const value = typeof answer === "function" ? answer(args) : answer;
        if (value && value.__pending) return new Promise(() => {});
        if (value && typeof value === "object" && "__held" in value) {
          const held = await new Promise((resolve) => (window.__held[cmd] ??= []).push({ resolve, value: value.__held }));
          if (held && held.error) throw held.error;
          return held;
        }
        if (value && value.error) throw value.error;
        return value;
      },
    };
  }, [script, UNSCRIPTED]);
}

/** An answer the fake holds until the test calls `release(page, cmd)`. */
export const held = (value) => ({ __held: value });

/**
 * Waits until a call of `cmd` is held by the fake (see `held`), then answers it with its
 * scripted value, or with `options.value` if given (`{ error }` to fail it). The oldest held
 * call is answered first, or the newest with `options.newest`.
 */
export async function release(page, cmd, options = {}) {
  await page.waitForFunction((cmd) => (window.__held[cmd] ?? []).length > 0, cmd);
  await page.evaluate(
    ([cmd, newest, given, value]) => {
      const h = newest ? window.__held[cmd].pop() : window.__held[cmd].shift();
      h.resolve(given ? value : h.value);
    },
    [cmd, options.newest === true, "value" in options, options.value],
  );
}

/**
 * Waits until the UI runs: something is in `#app`, and it is not the inert first screen
 * (src/first.ts) the UI has yet to take over.
 */
export const uiRunning = (page) =>
  page.waitForFunction(() => {
    const app = document.getElementById("app");
    return !!app && app.childElementCount > 0 && !app.inert;
  });

/** Waits until `n` calls of `cmd` are held by the fake. */
export const heldCalls = (page, cmd, n) => page.waitForFunction(([cmd, n]) => (window.__held[cmd] ?? []).length === n, [cmd, n]);

/** Waits until the page has rendered twice more (answers given to it have been painted). */
export const painted = (page) =>
  page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(null)))));

/**
 * What the harness saw of one page: problems (page errors, console errors, unscripted
 * commands) and every URL requested, from its creation on.
 */
function watch(page, origin) {
  const seen = { problems: [], requests: [], origin };
  page.on("pageerror", (e) => seen.problems.push(`page error: ${e.stack ?? e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") seen.problems.push(`console error: ${m.text()}`);
  });
  page.on("request", (r) => seen.requests.push(r.url()));
  return seen;
}

/** The problems of a watched page, including requests to any origin but the bundle's. */
export function problemsOf(seen) {
  const foreign = seen.requests.filter((u) => new URL(u).origin !== seen.origin);
  const problems = [...seen.problems, ...foreign.map((u) => `foreign request: ${u}`)];
  // the watch itself must have worked: the page at least loaded the bundle
  if (!seen.requests.some((u) => new URL(u).origin === seen.origin)) problems.push("no request of the bundle was seen");
  return problems;
}

/**
 * One browser and one server for a test file (started before, stopped after its tests), and
 * `open(script)`: a new page on the UI with the fake backend. After each test every page it
 * opened is closed and must have stayed clean (see the top of this file).
 */
export function suite(hooks) {
  let server;
  let browser;
  /** Pages of the running test, with what was seen of them. */
  let pages = new Map();
  hooks.before(async () => {
    server = await serveDist();
    browser = await launch();
  });
  hooks.after(async () => {
    await browser?.close();
    await server?.close();
  });
  hooks.afterEach(async () => {
    const these = pages;
    pages = new Map();
    const problems = [];
    for (const [page, seen] of these) {
      if (!page.isClosed()) await page.close();
      problems.push(...problemsOf(seen));
    }
    assert.deepEqual(problems, [], "the page stayed clean");
  });
  return {
    /**
     * `init`, if given, runs in the page after the fake is installed (to script answers as
     * functions). Options: `before(page)` runs before the page is loaded (to route its
     * requests); unless `running: false`, `open` returns once the UI runs (see `uiRunning`), as
     * what a test does before that would reach the inert first screen.
     */
    async open(script, init, { before, running = true } = {}) {
      const page = await browser.newPage();
      pages.set(page, watch(page, new URL(server.url).origin));
      await fakeBackend(page, { ...DEFAULTS, ...script });
      if (init) await page.addInitScript(init);
      if (before) await before(page);
      await page.goto(server.url);
      if (running) await uiRunning(page);
      return page;
    },
    /**
     * What the harness has seen of `page` so far (its problems, as the end-of-test check
     * reports them), and stops watching it: for the harness's own tests.
     */
    takeProblems(page) {
      const seen = pages.get(page);
      pages.delete(page);
      return problemsOf(seen);
    },
    /** Every URL `page` requested so far. */
    requests: (page) => [...pages.get(page).requests],
  };
}

/** Sends `message` on the channel the latest call of `cmd` passed as its argument `arg`. */
export async function sendOnChannel(page, cmd, arg, message) {
  await page.waitForFunction((cmd) => window.__calls.some((c) => c.cmd === cmd), cmd);
  await page.evaluate(
    ([cmd, arg, message]) => window.__send(window.__calls.filter((c) => c.cmd === cmd).at(-1).args[arg], message),
    [cmd, arg, message],
  );
}

/** The recorded IPC calls of one command. */
export const calls = (page, cmd) => page.evaluate((cmd) => window.__calls.filter((c) => c.cmd === cmd), cmd);
