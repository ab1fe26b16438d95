// @ts-check
// The fake backend's answers, typed against the TS bindings generated from the Rust types
// (src/lib/bindings). `npm run check` type-checks this file (tsconfig.json includes it), so a
// renamed or retyped field in Rust fails the check here instead of passing a stale fixture.
// Every piece of backend data the view tests use comes from this module.

/** @typedef {import("../src/lib/bindings/About").About} About */
/** @typedef {import("../src/lib/bindings/BatchSettings").BatchSettings} BatchSettings */
/** @typedef {import("../src/lib/bindings/AuditEntry").AuditEntry} AuditEntry */
/** @typedef {import("../src/lib/bindings/AuditFacets").AuditFacets} AuditFacets */
/** @typedef {import("../src/lib/bindings/CapturePreview").CapturePreview} CapturePreview */
/** @typedef {import("../src/lib/bindings/CaptureResult").CaptureResult} CaptureResult */
/** @typedef {import("../src/lib/bindings/ConnectionReport").ConnectionReport} ConnectionReport */
/** @typedef {import("../src/lib/bindings/CurrencyTotal").CurrencyTotal} CurrencyTotal */
/** @typedef {import("../src/lib/bindings/DeskError").DeskError} DeskError */
/** @typedef {import("../src/lib/bindings/DeskStatus").DeskStatus} DeskStatus */
/** @typedef {import("../src/lib/bindings/Entry").Entry} Entry */
/** @typedef {import("../src/lib/bindings/ExportedFile").ExportedFile} ExportedFile */
/** @typedef {import("../src/lib/bindings/InvoiceDetail").InvoiceDetail} InvoiceDetail */
/** @typedef {import("../src/lib/bindings/InvoiceLive").InvoiceLive} InvoiceLive */
/** @typedef {import("../src/lib/bindings/InvoicePage").InvoicePage} InvoicePage */
/** @typedef {import("../src/lib/bindings/InvoiceRow").InvoiceRow} InvoiceRow */
/** @typedef {import("../src/lib/bindings/ListRequest").ListRequest} ListRequest */
/** @typedef {import("../src/lib/bindings/PaypalView").PaypalView} PaypalView */
/** @typedef {import("../src/lib/bindings/SettingsView").SettingsView} SettingsView */
/** @typedef {import("../src/lib/bindings/State").State} State */
/** @typedef {import("../src/lib/bindings/SyncProgress").SyncProgress} SyncProgress */
/** @typedef {import("../src/lib/bindings/SyncReport").SyncReport} SyncReport */

/**
 * @param {number} no
 * @param {Partial<InvoiceRow>} [over]
 * @returns {InvoiceRow}
 */
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

/**
 * @param {Partial<DeskStatus>} [over]
 * @returns {DeskStatus}
 */
export function status(over = {}) {
  return {
    environment: "demo",
    online: true,
    lastSyncedAt: "2026-11-23T08:00:00Z",
    lastSyncError: null,
    cachedInvoices: 3,
    gatewayUrl: "http://127.0.0.1:1",
    staffName: "Ada",
    dataDir: "/tmp/x",
    database: "/tmp/x/demo/desk.sqlite3",
    demoWorld: null,
    gatewayProblem: null,
    setAside: [],
    ...over,
  };
}

/** @type {DeskError} */
export const offlineError = { code: "offline", message: "The gateway cannot be reached (offline?).", detail: "connection refused" };

/** Answers for the commands every view calls at start; a test's script overrides them. */
export const DEFAULTS = {
  /** @type {string | null} */
  get_preference: null,
  list_painted: null,
  set_preference: null,
  /** @type {CurrencyTotal[]} */
  selection_totals: [],
  /** @type {AuditFacets} */
  audit_facets: { staff: [], actions: [] },
  /** @type {AuditEntry[]} */
  audit_query: [],
  /** @type {BatchSettings} */
  get_batch_settings: { rate: "20", concurrency: 4 },
  about: aboutView(),
};

// ---------------------------------------------------------------------------------------------
// The invoice list

/** @type {InvoicePage} */
export const page3 = {
  rows: [
    row(458732, { customerName: "Nordlicht Freight GmbH", outstanding: "1234567.50", paypal: { intent: "CAPTURE", orderId: "5O190127TN364715T", authorizationId: null, approvedAt: "2026-11-20T09:58:00Z" } }),
    row(458733, { currency: "JPY", outstanding: "150000", total: "150000", overdue: true, dueAt: "2026-11-01T00:00:00Z" }),
    row(458734, { wallet: { currency: "EUR", balance: "40.50" } }),
  ],
  next: null,
  totals: [
    { currency: "JPY", count: 1, outstanding: "150000" },
    { currency: "USD", count: 2, outstanding: "1235817.50" },
  ],
  totalCount: 3,
};

/** @type {SyncReport} */
export const syncReport = { mode: "incremental", pages: 1, invoices: 3, closed: 0, setAside: 0, startedAt: "2026-11-23T08:00:00Z", finishedAt: "2026-11-23T08:00:01Z" };

/** @type {SyncProgress} */
export const syncProgress = { mode: "full", pagesDone: 3, pagesTotal: 10, invoices: 300 };

/** @type {DeskError} */
export const unknownCurrency = { code: "bad_input", message: 'Unknown currency "XYZ": use an ISO code such as USD or EUR.' };

/** What `selection_totals` answers for the first two rows of `page3`. */
/** @type {CurrencyTotal[]} */
export const twoSelected = [
  { currency: "JPY", count: 1, outstanding: "150000" },
  { currency: "USD", count: 1, outstanding: "1234567.50" },
];

/** What `selection_totals` answers for all three rows of `page3`. */
/** @type {CurrencyTotal[]} */
export const threeSelected = [
  { currency: "JPY", count: 1, outstanding: "150000" },
  { currency: "USD", count: 2, outstanding: "1235817.50" },
];

/**
 * Installs (in the page, as an init script) a keyset-paginated `list_invoices` over 100,000
 * invoices (cursor = last invoice number). Serialised into the page: uses nothing outside itself.
 */
export function hundredThousand() {
  const N = 100_000;
  const FIRST = 500_000;
  /**
   * @param {{ request: ListRequest }} args
   * @returns {InvoicePage}
   */
  const list = ({ request }) => {
    const start = request.after ? Number(request.after) + 1 : FIRST;
    const end = Math.min(FIRST + N, start + (request.limit ?? 100));
    /** @type {InvoiceRow[]} */
    const rows = [];
    for (let no = start; no < end; no++) {
      rows.push({
        invoiceNo: no, customerId: `c_${no % 997}`, customerName: `Customer ${no % 997}`, currency: "EUR",
        total: "100.00", outstanding: "100.00", status: "outstanding", issuedAt: "2026-11-01T09:00:00Z",
        dueAt: "2026-12-01T00:00:00Z", updatedAt: "2026-11-20T10:00:00Z", overdue: false, wallet: null, paypal: null,
      });
    }
    return {
      rows,
      next: end < FIRST + N ? String(end - 1) : null,
      totals: request.withTotals ? [{ currency: "EUR", count: N, outstanding: "10000000.00" }] : null,
      totalCount: request.withTotals ? N : null,
    };
  };
  /** @type {any} */ (window).__script.list_invoices = list;
}

// ---------------------------------------------------------------------------------------------
// The capture dialog

/** @type {PaypalView} */
export const orderApproval = { intent: "CAPTURE", orderId: "5O190127TN364715T", authorizationId: null, approvedAt: "2026-11-20T09:58:00Z" };

/** @type {InvoicePage} */
export const captureList = {
  rows: [row(458732, { customerName: "Nordlicht Freight GmbH", outstanding: "250.00", total: "250.00", paypal: orderApproval, wallet: { currency: "EUR", balance: "40.50" } })],
  next: null,
  totals: [{ currency: "USD", count: 1, outstanding: "250.00" }],
  totalCount: 1,
};

/**
 * @param {Partial<CapturePreview>} [over]
 * @returns {CapturePreview}
 */
export function preview(over = {}) {
  return {
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
  };
}

/** The wallet covers the whole invoice: nothing goes through PayPal. */
export const walletPreview = preview({
  path: "wallet",
  wallet: { amount: "250.00", currency: "USD", exchangeRate: "1", inInvoiceCurrency: "250.00" },
  paypalAmount: "0.00",
  approval: null,
});

/** @type {State[]} */
const TERMINAL = ["finalized", "rejected", "needs_attention"];

/**
 * A capture's state as the desk reports it (the command's answer and every progress event).
 * @param {State} state
 * @param {Partial<CaptureResult>} [over]
 * @returns {CaptureResult}
 */
export function result(state, over = {}) {
  return {
    journalId: 7,
    invoiceNo: 458732,
    state,
    finished: TERMINAL.includes(state),
    message: state === "finalized"
      ? "Paid: 206.03 USD captured at PayPal plus 40.50 EUR from the wallet and the invoice is paid at the gateway."
      : `Not finished yet (${state.replaceAll("_", " ")}); it resumes automatically.`,
    captureId: ["part_processed", "paypal_capture_sent"].includes(state) ? null : "3C679366HH908993F",
    paypalAmount: "206.03",
    walletAmount: "40.50",
    walletCurrency: "EUR",
    currency: "USD",
    adopted: false,
    detail: null,
    ...over,
  };
}

/** The PayPal path's states in the order the engine reports them. */
/** @type {State[]} */
export const paypalSteps = ["part_processed", "paypal_capture_sent", "paypal_captured", "verified", "finalize_sent", "finalized"];

/** The full-wallet payment as the engine reports it. */
/**
 * @param {State} state
 * @returns {CaptureResult}
 */
export const walletResult = (state) =>
  result(state, {
    message: state === "finalized" ? "Paid in full from the customer's wallet (250.00 USD)." : `Not finished yet (${state.replaceAll("_", " ")}); it resumes automatically.`,
    captureId: null,
    paypalAmount: "0.00",
    walletAmount: "250.00",
    walletCurrency: "USD",
  });

export const needsAttention = result("needs_attention", {
  message: "Needs attention: PayPal captured 206.03 USD (3C679366HH908993F) but the gateway refused to finalize: The amount differs from what the gateway expects for this invoice.",
  detail: "invalid_amount: InvalidAmount",
});

// ---------------------------------------------------------------------------------------------
// The invoice detail, Settings, Activity

/** @type {PaypalView} */
export const authApproval = { intent: "AUTHORIZE", orderId: "5O190127TN364715T", authorizationId: "0VF52814937998046", approvedAt: "2026-11-20T09:58:00Z" };
export const detailInvoice = row(458732, { customerName: "Nordlicht Freight GmbH", outstanding: "250.00", total: "250.00", paypal: authApproval, wallet: { currency: "EUR", balance: "40.50" } });

/** The capture preview of `detailInvoice` (an authorization). */
export const authPreview = preview({
  approval: { intent: "AUTHORIZE", orderId: authApproval.orderId, authorizationId: authApproval.authorizationId, status: "CREATED", amount: "206.03", currency: "USD" },
});

/** @type {InvoicePage} */
export const detailList = { rows: [detailInvoice, row(458733)], next: null, totals: [{ currency: "USD", count: 2, outstanding: "1500.00" }], totalCount: 2 };

/** @type {Entry} */
export const journalEntry = {
  id: 3, invoiceNo: 458732, state: "needs_attention", path: "paypal", intent: "AUTHORIZE", orderId: authApproval.orderId,
  authorizationId: authApproval.authorizationId, currency: "USD", outstanding: "250.00", walletPartJson: null, walletCurrency: "EUR",
  walletAmount: "40.50", exchangeRate: "1.0857", walletInInvoiceCurrency: "43.97", paypalAmount: "206.03", approvedAmount: "206.03",
  requestId: "capture-desk-x-3-capture", captureId: "3C679366HH908993F", captureStatus: "COMPLETED", adopted: false, reason: null,
  lastError: "The gateway refused the payment report.", attempts: 2, staff: "Ada", environment: "demo",
  createdAt: "2026-11-23T09:00:00Z", updatedAt: "2026-11-23T09:00:05Z",
};

/**
 * @param {number} id
 * @param {string} action
 * @param {Partial<AuditEntry>} [over]
 * @returns {AuditEntry}
 */
export function audit(id, action, over = {}) {
  const actionLabel = ACTION_LABELS[action] ?? action;
  return { id, at: "2026-11-23T09:00:00Z", staff: "Ada", environment: "demo", action, actionLabel, invoiceNo: 458732, detail: '{"amount":"206.03"}', ...over };
}

/** Labels the desk gives these words (billing::audit::AuditAction; its tests keep them). */
/** @type {Record<string, string>} */
const ACTION_LABELS = {
  "capture.finalized": "Capture done: invoice paid",
  "capture.needs_attention": "Capture needs attention",
  "capture.planned": "Capture planned",
  sync: "Invoices synced",
};

/** @type {InvoiceDetail} */
export const detailWithJournal = { invoice: detailInvoice, journal: [journalEntry], audit: [audit(9, "capture.needs_attention"), audit(8, "capture.planned")] };

/** @type {InvoiceDetail} */
export const detailEmpty = { invoice: detailInvoice, journal: [], audit: [] };

/** @type {InvoiceLive} */
export const liveCaptured = {
  invoice: detailInvoice,
  payments: [{ paymentId: "WALLET-77", amount: "43.97", currency: "USD", method: "wallet", at: "2026-11-23T09:00:01Z" }],
  paypal: {
    kind: "authorization", id: "0VF52814937998046", status: "CAPTURED", amount: "206.03", currency: "USD", expiresAt: "2026-12-19T09:58:00Z",
    captures: [{ id: "3C679366HH908993F", status: "COMPLETED", amount: "206.03", currency: "USD", at: "2026-11-23T09:00:03Z" }],
  },
};

/** @type {InvoiceLive} */
export const liveOffline = { invoice: null, payments: [], paypal: null, gatewayError: offlineError, paypalError: offlineError };

/** @type {InvoiceLive} */
export const liveQuiet = { invoice: detailInvoice, payments: [], paypal: null };

/**
 * @param {Partial<SettingsView>} [over]
 * @returns {SettingsView}
 */
export function settingsView(over = {}) {
  return {
    saved: { environment: "sandbox", gatewayUrl: "https://gw.example", paypalUrl: null, paypalClientId: "app-1", staffName: "Ada" },
    effective: { environment: "sandbox", gatewayUrl: "https://gw.example", paypalUrl: null, paypalClientId: "app-1", staffName: "Ada" },
    overriddenBy: [],
    credentials: [{ kind: "gatewayToken", source: "missing" }, { kind: "paypalClientSecret", source: "keyring" }],
    keyringProblem: null,
    dataDir: "/home/ada/.local/share/com.cargoextra.capturedesk",
    ...over,
  };
}

/**
 * @param {Partial<About>} [over]
 * @returns {About}
 */
export function aboutView(over = {}) {
  return {
    version: "0.1.0",
    environment: "sandbox",
    dataDir: "/home/ada/.local/share/com.cargoextra.capturedesk",
    database: "/home/ada/.local/share/com.cargoextra.capturedesk/sandbox/desk.sqlite3",
    logsDir: "/home/ada/.local/share/com.cargoextra.capturedesk/logs",
    logFile: "/home/ada/.local/share/com.cargoextra.capturedesk/logs/capture-desk.log",
    ...over,
  };
}

export const settingsStored = settingsView({ credentials: [{ kind: "gatewayToken", source: "keyring" }, { kind: "paypalClientSecret", source: "keyring" }] });

/** @type {ConnectionReport} */
export const connectionHalf = {
  gateway: { ok: true, message: "The gateway answered (312 outstanding invoices).", millis: 41 },
  paypal: { ok: false, message: "PayPal refused the client id or secret.", error: { code: "missing_credentials", message: "PayPal refused the client id or secret.", detail: "401 invalid_client" }, millis: 12 },
};

export const keyringProblem = "No keyring is available, so credentials cannot be stored. On Linux, start a Secret Service (GNOME Keyring or KWallet) and unlock it.";
export const settingsNoKeyring = settingsView({ keyringProblem, credentials: [{ kind: "gatewayToken", source: "unavailable" }, { kind: "paypalClientSecret", source: "unavailable" }] });
/** @type {DeskError} */
export const noKeyringError = { code: "no_keyring", message: keyringProblem, detail: "org.freedesktop.DBus.Error.ServiceUnknown" };

/** @type {AuditFacets} */
export const activityFacets = {
  staff: ["Ada", "Ben"],
  actions: ["capture.finalized", "sync"].map((word) => ({ word, label: ACTION_LABELS[word] })),
};

/** 200 entries, newest first (ids 1000 down to 801). */
export const activityEntries = Array.from({ length: 200 }, (_, i) => audit(1000 - i, i % 2 ? "sync" : "capture.finalized", { staff: i % 3 ? "Ada" : "Ben" }));
/** The next (older) page. */
export const olderEntry = audit(7, "sync");

/** @type {ExportedFile} */
export const exported = { path: "/home/ada/Downloads/capture-desk-activity-20261123-090000.csv", rows: 201 };

/** @type {DeskError} */
export const exportRefused = { code: "storage", message: "The export could not be written.", detail: "Permission denied (os error 13): /home/ada/Downloads" };
