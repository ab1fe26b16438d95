-- The entry lease: at most one run at a time drives one open capture attempt in this data
-- directory (the app, `desk` and batches alike), so a `*_sent` step is never sent by two
-- processes at once. See crates/billing/src/capture/inflight.rs and lease.rs. Same shape and
-- rules as `wallet_lease`: the holder renews `expires_at` while it runs, so a process killed
-- while holding it blocks the attempt only until the lease expires.

CREATE TABLE entry_lease (
    lease_key    TEXT    PRIMARY KEY,   -- 'journal:' || capture_journal.id
    holder       TEXT    NOT NULL,      -- the run holding it: process, run number, journal id
    journal_id   INTEGER NOT NULL,      -- the attempt the holder runs
    invoice_no   INTEGER NOT NULL,
    acquired_at  TEXT    NOT NULL,      -- RFC 3339
    expires_at   INTEGER NOT NULL       -- Unix milliseconds; an expired lease may be taken over
) STRICT;
