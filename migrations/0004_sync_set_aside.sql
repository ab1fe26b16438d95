-- Invoices a sync could not read, set aside with why (billing::sync::set_aside). The rest of a
-- page is written as usual; a later read of the same invoice that validates removes its row.
CREATE TABLE sync_set_aside (
    key             TEXT    PRIMARY KEY,     -- 'no:<invoiceNo>', or 'raw:<json>' when no number reads
    invoice_no      INTEGER,                 -- when its number reads
    invoice_no_text TEXT,                    -- invoiceNo as sent (JSON text), when present
    reason          TEXT    NOT NULL,        -- why it was refused
    raw_json        TEXT    NOT NULL,        -- the invoice as received (at most 8 KiB)
    first_seen_at   TEXT    NOT NULL,
    last_seen_at    TEXT    NOT NULL,
    sync_run        INTEGER NOT NULL         -- the latest sync run that met it
) STRICT;
CREATE INDEX sync_set_aside_invoice ON sync_set_aside (invoice_no);
