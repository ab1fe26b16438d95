-- The wallet lease: at most one capture run at a time draws on one customer's wallet in this
-- data directory (the app, `desk` and batches alike). See crates/billing/src/capture/wallet_lease.rs.
-- A row lives while its holder runs an attempt; the holder renews `expires_at` while it runs, so
-- a process killed while holding it blocks the wallet only until the lease expires.

CREATE TABLE wallet_lease (
    wallet_key   TEXT    PRIMARY KEY,   -- 'customer:' || the gateway's customer id (the wallet is the customer's)
    holder       TEXT    NOT NULL,      -- the run holding it: process, run number, journal id
    journal_id   INTEGER NOT NULL,      -- the attempt the holder runs
    invoice_no   INTEGER NOT NULL,
    acquired_at  TEXT    NOT NULL,      -- RFC 3339
    expires_at   INTEGER NOT NULL       -- Unix milliseconds; an expired lease may be taken over
) STRICT;
