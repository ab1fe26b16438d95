-- The capture journal: one row per capture attempt of an invoice, written before and after
-- every remote call. See crates/billing/src/capture/ for the states.

CREATE TABLE desk_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
-- This desk's identity: part of every idempotency key, so two desks never share one.
INSERT INTO desk_meta (key, value) VALUES ('desk_id', lower(hex(randomblob(8))));

CREATE TABLE capture_journal (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    invoice_no         INTEGER NOT NULL,
    state              TEXT    NOT NULL,   -- planned | part_processed | paypal_capture_sent | paypal_captured | verified
                                           -- | finalize_sent | wallet_pay_sent | finalized | rejected | needs_attention
    path               TEXT    NOT NULL,   -- paypal | wallet
    intent             TEXT,               -- CAPTURE | AUTHORIZE
    order_id           TEXT,
    authorization_id   TEXT,
    currency           TEXT    NOT NULL,   -- the invoice's
    outstanding        TEXT    NOT NULL,   -- when planned
    wallet_part_json   TEXT,               -- partPaymentFromWalletBalance exactly as the gateway sent it
    wallet_currency    TEXT,
    wallet_amount      TEXT,               -- in the wallet currency
    exchange_rate      TEXT,
    wallet_in_invoice_currency TEXT,
    paypal_amount      TEXT,               -- chargeTotal: what PayPal must capture
    approved_amount    TEXT,               -- what the customer approved at PayPal
    request_id         TEXT    NOT NULL,   -- PayPal-Request-Id for the capture, reused on every retry
    capture_id         TEXT,
    capture_status     TEXT,
    adopted            INTEGER NOT NULL DEFAULT 0,  -- the capture was found, not made, by this entry
    reason             TEXT,               -- why rejected / needs attention, for a clerk
    last_error         TEXT,               -- the latest failure (code: detail), for the log
    attempts           INTEGER NOT NULL DEFAULT 0,
    staff              TEXT    NOT NULL,
    environment        TEXT    NOT NULL,
    created_at         TEXT    NOT NULL,
    updated_at         TEXT    NOT NULL
) STRICT;

-- At most one unfinished capture per invoice in this desk.
CREATE UNIQUE INDEX capture_journal_one_open ON capture_journal (invoice_no)
    WHERE state NOT IN ('finalized', 'rejected', 'needs_attention');
CREATE INDEX capture_journal_invoice ON capture_journal (invoice_no, id);
CREATE INDEX capture_journal_state ON capture_journal (state);
