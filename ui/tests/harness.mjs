// UI test harness: serves the built UI (ui/dist) on loopback, opens it in Debian's Chromium
// through playwright-core, and replaces Tauri's IPC with a scripted fake (the backend seam).
import http from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

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

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * Installs a fake `window.__TAURI_INTERNALS__` before the page loads. `script` is a plain
 * object of command name -> response (or {error}); every call is recorded in window.__calls,
 * and window.__emit(event, payload) delivers a Tauri event to listeners.
 */
export async function fakeBackend(page, script) {
  await page.addInitScript((script) => {
    const callbacks = new Map();
    const listeners = new Map();
    let next = 1;
    window.__calls = [];
    window.__script = script;
    window.__emit = (event, payload) => {
      for (const id of listeners.get(event) ?? []) callbacks.get(id)?.({ event, id, payload });
    };
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
        if (cmd === "plugin:event|unlisten") return null;
        const answer = window.__script[cmd];
        if (answer === undefined) throw { code: "internal", message: `no fake for ${cmd}` };
        const value = typeof answer === "function" ? answer(args) : answer;
        if (value && value.__pending) return new Promise(() => {});
        if (value && value.error) throw value.error;
        if (value && value.__delay) {
          await new Promise((ok) => setTimeout(ok, value.__delay));
          return value.value;
        }
        return value;
      },
    };
  }, script);
}

export function row(no, over = {}) {
  return {
    invoiceNo: no,
    customerId: `c_${no}`,
    customerName: `Customer ${no} GmbH`,
    currency: "USD",
    total: "1250.00",
    outstanding: "1250.00",
    status: "outstanding",
    issuedAt: "2026-11-01T09:00:00Z",
    dueAt: "2026-12-01T00:00:00Z",
    updatedAt: "2026-11-20T10:00:00Z",
    overdue: false,
    wallet: null,
    paypal: null,
    ...over,
  };
}

export const status = (over = {}) => ({
  environment: "demo",
  online: true,
  lastSyncedAt: "2026-11-23T08:00:00Z",
  lastSyncError: null,
  cachedInvoices: 3,
  gatewayUrl: "http://127.0.0.1:1",
  staffName: "Ada",
  dataDir: "/tmp/x",
  gatewayProblem: null,
  ...over,
});

/** Answers for the commands every view calls at start; a test's script overrides them. */
export const DEFAULTS = {
  get_preference: null,
  list_painted: null,
  set_preference: null,
  selection_totals: [],
  audit_facets: { staff: [], actions: [] },
  audit_query: [],
};

/**
 * One browser and one server for a test file (started before, stopped after its tests), and
 * `open(script)`: a new page on the UI with the fake backend.
 */
export function suite(hooks) {
  let server;
  let browser;
  hooks.before(async () => {
    server = await serveDist();
    browser = await launch();
  });
  hooks.after(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    /** `init`, if given, runs in the page after the fake is installed (to script answers as functions). */
    async open(script, init) {
      const page = await browser.newPage();
      await fakeBackend(page, { ...DEFAULTS, ...script });
      if (init) await page.addInitScript(init);
      await page.goto(server.url);
      return page;
    },
  };
}

/** The recorded IPC calls of one command. */
export const calls = (page, cmd) => page.evaluate((cmd) => window.__calls.filter((c) => c.cmd === cmd), cmd);
