-- The batch-run lease: at most one run of a batch at a time in this data directory (the app's
-- Run, its resume at start, `desk batch run`), so one concurrency bound and one rate limit
-- govern the whole batch and one runner tells its progress. See
-- crates/billing/src/batch/run_lease.rs. Same rules as `entry_lease` and `wallet_lease`
-- (crates/billing/src/capture/lease.rs): the holder renews `expires_at` while it runs, so a
-- process killed while running the batch blocks it only until the lease expires; sooner when
-- the holder also held the OS's lock on its batch's lock file (`os_lock`): the OS releases that
-- however the process ends, so a free lock file says the holder is gone.

CREATE TABLE batch_run_lease (
    batch_id     INTEGER PRIMARY KEY,   -- batches.id
    holder       TEXT    NOT NULL,      -- the run holding it: process, run number, batch id
    acquired_at  TEXT    NOT NULL,      -- RFC 3339: when this run took it (the refusal's "since")
    expires_at   INTEGER NOT NULL,      -- Unix milliseconds; an expired lease may be taken over
    os_lock      INTEGER NOT NULL DEFAULT 0  -- 1: the holder holds the OS lock on `batch-runs/<id>.lock` beside the database
) STRICT;
