-- Batch runs: when each item was started (so a run after a crash finds the journal entry the
-- item's capture planned, even if the link was never written), the PayPal fee and net the
-- capture's seller_receivable_breakdown gave (for the report), and who ran the batch and when.

ALTER TABLE batch_items ADD COLUMN started_at TEXT;          -- first time a run started this item
ALTER TABLE batch_items ADD COLUMN paypal_fee TEXT;          -- exact decimal text, in fee_currency
ALTER TABLE batch_items ADD COLUMN net_amount TEXT;          -- exact decimal text, in fee_currency
ALTER TABLE batch_items ADD COLUMN fee_currency TEXT;

ALTER TABLE batches ADD COLUMN run_by TEXT;                  -- the staff name that last started a run
ALTER TABLE batches ADD COLUMN run_started_at TEXT;          -- the first run's start
ALTER TABLE batches ADD COLUMN completed_at TEXT;
