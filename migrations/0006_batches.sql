-- Batch capture reviews: a stored batch of invoices, its life and its items. See
-- crates/billing/src/batch/ for the words and the rules.
--
-- A batch lives draft → preflighted → approved → running ⇄ paused → completed, or cancelled.
-- Its approval pins what was approved (the preflight run and the item set with its exclusions
-- and verdicts): a preflight run again, or an item excluded or included, voids it.

CREATE TABLE batches (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,              -- the staff name
    created_at      TEXT    NOT NULL,
    environment     TEXT    NOT NULL,
    source_kind     TEXT    NOT NULL CHECK (source_kind IN ('selection', 'filter', 'file')),
    source          TEXT,                          -- the filter as JSON, or the file's name; NULL for a selection
    state           TEXT    NOT NULL DEFAULT 'draft'
                    CHECK (state IN ('draft', 'preflighted', 'approved', 'running', 'paused', 'completed', 'cancelled')),
    preflight_run   INTEGER NOT NULL DEFAULT 0,    -- how many preflights ran: the preflight's identity
    preflighted_at  TEXT,
    approved_by     TEXT,
    approved_at     TEXT,
    approval_pin    TEXT,                          -- what the approval covers (see batch/pin.rs); NULL when none
    updated_at      TEXT    NOT NULL
) STRICT;
CREATE INDEX batches_state ON batches (state, id);

CREATE TABLE batch_items (
    batch_id        INTEGER NOT NULL REFERENCES batches (id),
    invoice_no      INTEGER NOT NULL,
    position        INTEGER NOT NULL,              -- 0-based order within the batch
    currency        TEXT    NOT NULL,              -- the invoice's, at creation
    total           TEXT    NOT NULL,              -- exact decimal text, at creation
    outstanding     TEXT    NOT NULL,              -- exact decimal text, at creation
    excluded        INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1)),  -- the clerk's choice
    verdict         TEXT,                          -- preflight's word; NULL until a preflight
    verdict_reason  TEXT,
    verdict_at      TEXT,
    wallet_part     TEXT,                          -- in the invoice's currency, as preflight found it
    paypal_part     TEXT,                          -- what PayPal would capture, as preflight found it
    journal_id      INTEGER REFERENCES capture_journal (id),  -- its capture attempt, once the run planned it
    outcome         TEXT,                          -- NULL until the run (or a cancel) reaches it
    outcome_reason  TEXT,
    open            INTEGER NOT NULL DEFAULT 1 CHECK (open IN (0, 1)),  -- cleared when the item can no longer run
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (batch_id, invoice_no),
    UNIQUE (batch_id, position)
) STRICT;

-- An invoice is in at most one open batch at a time.
CREATE UNIQUE INDEX batch_items_one_open ON batch_items (invoice_no) WHERE open = 1;
CREATE INDEX batch_items_journal ON batch_items (journal_id) WHERE journal_id IS NOT NULL;
