-- PayPal reauthorizations the desk asked for (crates/billing/src/capture/reauthorize.rs).
--
-- One row per authorization the gateway names on an invoice (the original), written before
-- the POST /v2/payments/authorizations/{id}/reauthorize leaves and completed with PayPal's
-- answer. The request id is derived from the original authorization alone, so a retry after a
-- lost answer, and another desk asking for the same invoice, get PayPal's one reauthorization
-- back instead of a second one. A row without reauthorization_id is a request whose answer is
-- not known (or a refusal, in last_error): captures then still take the original.
CREATE TABLE paypal_reauthorization (
    authorization_id TEXT PRIMARY KEY NOT NULL,
    invoice_no INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    staff TEXT NOT NULL,
    environment TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    reauthorization_id TEXT,
    amount TEXT,
    currency TEXT,
    expires_at TEXT,
    answered_at TEXT,
    last_error TEXT
);
CREATE INDEX paypal_reauthorization_invoice ON paypal_reauthorization (invoice_no);
