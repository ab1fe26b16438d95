-- The invoice cache, sync bookkeeping, the append-only audit log and settings.
-- Timestamps are RFC 3339 UTC text with a fixed shape ("2026-11-20T10:00:00Z"), so text order is time order.

CREATE TABLE invoices (
    invoice_no        INTEGER PRIMARY KEY,
    customer_id       TEXT    NOT NULL,
    customer_name     TEXT    NOT NULL,
    customer_sort     TEXT    NOT NULL,              -- lower(customer_name), for sorting
    search_text       TEXT    NOT NULL,              -- lower(name + id + invoice no), for quick search
    currency          TEXT    NOT NULL,
    total             TEXT    NOT NULL,              -- exact decimal text, the currency's digits
    outstanding       TEXT    NOT NULL,
    outstanding_e4    INTEGER NOT NULL,              -- outstanding x 10^4: exact, for sorting and ranges
    status            TEXT    NOT NULL,              -- outstanding | paid | cancelled | closed
    issued_at         TEXT    NOT NULL,
    due_at            TEXT,
    due_key           TEXT    NOT NULL,              -- due_at, or '9999-12-31T00:00:00Z' when none
    updated_at        TEXT    NOT NULL,
    wallet_currency   TEXT,
    wallet_balance    TEXT,
    paypal_intent     TEXT,
    paypal_order_id   TEXT,
    paypal_auth_id    TEXT,
    paypal_approved_at TEXT,
    has_paypal        INTEGER NOT NULL DEFAULT 0,
    raw_json          TEXT    NOT NULL,              -- the gateway's JSON as received
    synced_at         TEXT    NOT NULL,
    sync_run          INTEGER NOT NULL
) STRICT;

CREATE INDEX invoices_status_due      ON invoices (status, due_key, invoice_no);
CREATE INDEX invoices_status_amount   ON invoices (status, outstanding_e4, invoice_no);
CREATE INDEX invoices_status_customer ON invoices (status, customer_sort, invoice_no);
CREATE INDEX invoices_currency_due    ON invoices (currency, status, due_key, invoice_no);
CREATE INDEX invoices_currency_amount ON invoices (currency, status, outstanding_e4, invoice_no);
CREATE INDEX invoices_paypal_due      ON invoices (has_paypal, status, due_key, invoice_no);
CREATE INDEX invoices_totals          ON invoices (status, currency, outstanding_e4);

CREATE TABLE sync_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    run              INTEGER NOT NULL DEFAULT 0,     -- number of the latest sync run
    cursor           TEXT,                           -- updatedSince for the next incremental sync
    last_full_at     TEXT,
    last_success_at  TEXT,
    last_attempt_at  TEXT,
    last_mode        TEXT,
    last_count       INTEGER,
    last_error_code  TEXT,
    last_error       TEXT
) STRICT;
INSERT INTO sync_state (id) VALUES (1);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    staff       TEXT    NOT NULL,
    environment TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    invoice_no  INTEGER,
    detail      TEXT    NOT NULL DEFAULT '{}'       -- JSON: amounts, ids, before/after
) STRICT;
CREATE INDEX audit_log_invoice ON audit_log (invoice_no, id);
CREATE INDEX audit_log_at      ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
