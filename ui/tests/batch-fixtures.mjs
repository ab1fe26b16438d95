// @ts-check
// The fake backend's batch answers, typed against the generated bindings (src/lib/bindings):
// `npm run check` type-checks this file, so a field renamed in Rust fails here.

/** @typedef {import("../src/lib/bindings/BatchItem").BatchItem} BatchItem */
/** @typedef {import("../src/lib/bindings/BatchSummary").BatchSummary} BatchSummary */
/** @typedef {import("../src/lib/bindings/BatchTotal").BatchTotal} BatchTotal */
/** @typedef {import("../src/lib/bindings/BatchView").BatchView} BatchView */
/** @typedef {import("../src/lib/bindings/DeskError").DeskError} DeskError */
/** @typedef {import("../src/lib/bindings/PreflightProgress").PreflightProgress} PreflightProgress */
/** @typedef {import("../src/lib/bindings/Reauthorized").Reauthorized} Reauthorized */

/**
 * @param {number} id
 * @param {Partial<BatchSummary>} [over]
 * @returns {BatchSummary}
 */
export function summary(id, over = {}) {
  return {
    id,
    name: `Morning run ${id}`,
    createdBy: "Ada",
    createdAt: "2026-11-26T08:00:00Z",
    environment: "demo",
    sourceKind: "selection",
    source: null,
    state: "draft",
    preflightRun: 0,
    preflightedAt: null,
    approvedBy: null,
    approvedAt: null,
    updatedAt: "2026-11-26T08:00:00Z",
    itemCount: 4,
    excludedCount: 0,
    readyCount: 0,
    doneCount: 0,
    ...over,
  };
}

/**
 * @param {number} invoiceNo
 * @param {Partial<BatchItem>} [over]
 * @returns {BatchItem}
 */
export function item(invoiceNo, over = {}) {
  return {
    invoiceNo,
    position: invoiceNo - 458000,
    currency: "USD",
    total: "250.00",
    outstanding: "250.00",
    excluded: false,
    verdict: null,
    verdictReason: null,
    verdictAt: null,
    walletPart: null,
    paypalPart: null,
    journalId: null,
    captureId: null,
    outcome: null,
    outcomeReason: null,
    ...over,
  };
}

/**
 * @param {Partial<BatchView>} [over]
 * @returns {BatchView}
 */
export function view(over = {}) {
  return { ...summary(7), fourEyes: true, items: [], totals: [], ...over };
}

/** @type {BatchSummary[]} */
export const batchList = [
  summary(9, { name: "Friday approvals", state: "approved", createdBy: "Ada", approvedBy: "Ben", itemCount: 12, readyCount: 11, excludedCount: 1 }),
  summary(8, { name: "Colleague's list", state: "preflighted", createdBy: "Ben", preflightRun: 1, itemCount: 3, readyCount: 2 }),
  summary(7, { name: "Morning run 7", state: "draft" }),
];

/** A draft of four invoices: three USD, one EUR. */
export const draft = view({
  items: [item(458732), item(458733), item(458734, { total: "100.00", outstanding: "80.00" }), item(458735, { currency: "EUR", total: "40.50", outstanding: "40.50" })],
  totals: [
    { currency: "EUR", count: 1, total: "40.50", outstanding: "40.50", walletPart: "0", paypalPart: "40.50" },
    { currency: "USD", count: 3, total: "600.00", outstanding: "580.00", walletPart: "0", paypalPart: "580.00" },
  ],
});

/** `draft` preflighted: two ready (one with a wallet part), one not approved, one expiring soon. */
export const preflighted = view({
  state: "preflighted",
  preflightRun: 1,
  preflightedAt: "2026-11-26T08:05:00Z",
  readyCount: 2,
  items: [
    item(458732, { verdict: "ready", walletPart: "40.00", paypalPart: "210.00" }),
    item(458733, { verdict: "not_approved", verdictReason: "The customer has not approved the PayPal payment." }),
    item(458734, { total: "100.00", outstanding: "80.00", verdict: "ready", walletPart: "0", paypalPart: "80.00" }),
    item(458735, { currency: "EUR", total: "40.50", outstanding: "40.50", verdict: "expiring_soon", verdictReason: "The authorization expires within 24 hours (2026-11-27 07:00 UTC)." }),
  ],
  totals: [{ currency: "USD", count: 2, total: "350.00", outstanding: "330.00", walletPart: "40.00", paypalPart: "290.00" }],
});

/** `preflighted` with 458733 excluded (the totals do not change: it was not ready). */
export const oneExcluded = view({
  ...preflighted,
  excludedCount: 1,
  items: preflighted.items.map((i) => (i.invoiceNo === 458733 ? { ...i, excluded: true } : i)),
});

/** `preflighted` with the ready 458734 excluded: the USD total drops. */
export const readyExcluded = view({
  ...preflighted,
  excludedCount: 1,
  readyCount: 1,
  items: preflighted.items.map((i) => (i.invoiceNo === 458734 ? { ...i, excluded: true } : i)),
  totals: [{ currency: "USD", count: 1, total: "250.00", outstanding: "250.00", walletPart: "40.00", paypalPart: "210.00" }],
});

/** `preflighted` with 458735's authorization past its honour period. */
export const honourPassed = view({
  ...preflighted,
  items: preflighted.items.map((i) =>
    i.invoiceNo === 458735
      ? { ...i, verdict: "honour_period_passed", verdictReason: "The PayPal authorization is past its 3-day honour period (since 2026-11-23 09:00 UTC)." }
      : i,
  ),
});

/** @type {Reauthorized} */
export const reauthorized = {
  invoiceNo: 458735,
  authorizationId: "0VF52814937998046",
  reauthorizationId: "8AA831015G517922L",
  amount: "40.50",
  currency: "EUR",
  expiresAt: "2026-12-26T09:00:00Z",
  earlier: false,
};

/** `preflighted`, approved by a second person. */
export const approved = view({ ...preflighted, state: "approved", approvedBy: "Ben", approvedAt: "2026-11-26T08:10:00Z" });

/** @type {DeskError} */
export const totalsDiffer = { code: "bad_input", message: "The totals typed do not match batch 7's: 330.01 USD is not the batch's total in USD" };

/** @type {DeskError} */
export const samePerson = { code: "bad_input", message: "Four eyes: batch 7 was created by Ada, so someone else must approve it." };

/** @type {PreflightProgress} */
export const halfway = { done: 2, total: 4 };

/** @typedef {import("../src/lib/bindings/RunProgress").RunProgress} RunProgress */
/** @typedef {import("../src/lib/bindings/BatchReport").BatchReport} BatchReport */
/** @typedef {import("../src/lib/bindings/ReportItem").ReportItem} ReportItem */

/** `approved` while it runs: one item finalized, one running. */
export const running = view({
  ...approved,
  state: "running",
  items: approved.items.map((i) =>
    i.invoiceNo === 458732 ? { ...i, outcome: "finalized", captureId: "3C679366HH908993F" } : i.invoiceNo === 458734 ? { ...i, outcome: "running" } : { ...i, outcome: "excluded", outcomeReason: "not ready when the run started" },
  ),
});

/** `running` once both ready items ended. */
export const completed = view({
  ...running,
  state: "completed",
  doneCount: 4,
  items: running.items.map((i) => (i.invoiceNo === 458734 ? { ...i, outcome: "needs_attention", outcomeReason: "PayPal captured 80.00 USD but the gateway refused the payment." } : i)),
});

/** @type {RunProgress} */
export const runHalfway = { total: 2, done: 1, failed: 0, pending: 0, remaining: 1, perSecond: "2.5", etaSeconds: 75, finished: false };

/**
 * @param {number} invoiceNo
 * @param {Partial<ReportItem>} [over]
 * @returns {ReportItem}
 */
export function reportItem(invoiceNo, over = {}) {
  return {
    invoiceNo, currency: "USD", total: "250.00", outstanding: "250.00", excluded: false, verdict: "ready", outcome: "finalized", outcomeReason: null,
    journalId: 11, captureId: "3C679366HH908993F", paypalAmount: "210.00", walletAmount: "40.00", walletCurrency: "USD", walletInInvoiceCurrency: "40.00",
    paypalFee: "7.82", netAmount: "202.18", feeCurrency: "USD", action: null, ...over,
  };
}

/** The report on `completed`. */
/** @type {BatchReport} */
export const report = {
  batch: summary(7, { state: "completed", approvedBy: "Ben", approvedAt: "2026-11-26T08:10:00Z", doneCount: 4 }),
  items: [
    reportItem(458732),
    reportItem(458733, { verdict: "not_approved", outcome: "excluded", outcomeReason: "not ready when the run started", journalId: null, captureId: null, paypalAmount: null, walletAmount: null, walletCurrency: null, walletInInvoiceCurrency: null, paypalFee: null, netAmount: null, feeCurrency: null }),
    reportItem(458734, { outcome: "needs_attention", outcomeReason: "PayPal captured 80.00 USD but the gateway refused the payment.", journalId: 12, captureId: "8MC585209K746392H", paypalAmount: "80.00", walletAmount: null, walletCurrency: null, walletInInvoiceCurrency: null, paypalFee: null, netAmount: null, feeCurrency: null, action: "Open invoice 458734 in the desk (journal entry 12): compare PayPal's capture with the gateway's payments and settle it by hand." }),
  ],
  totals: [{ currency: "USD", finalized: 1, paid: "250.00", paypalCaptured: "210.00", walletPaid: "40.00", paypalFee: "7.82", net: "202.18", feeUnknown: 0 }],
  outcomes: { excluded: 1, finalized: 1, needs_attention: 1 },
};
