-- The attempt's latest money-moving request in its current state (the PayPal capture, the
-- gateway finalization, the full wallet payment). See crates/billing/src/capture/in_flight.rs.
--
-- sent_at: Unix milliseconds, written by the run holding the entry lease just before the
--   request leaves (in the same transaction that confirms the lease); cleared by the next state
--   change. NULL in a `*_sent` state: nothing of this state was sent (a crash came first).
-- sent_answered: 1 once an answer that ends that request came back (an HTTP answer other than a
--   proxy's 502/504); 0 while it may still be in flight (a timeout, a cut connection, a killed
--   process). A request in flight may still land until the client's whole budget for it plus a
--   margin has passed since sent_at: until then a resume that does not find it landed waits,
--   never sends again nor concludes "not ours".
ALTER TABLE capture_journal ADD COLUMN sent_at INTEGER;
ALTER TABLE capture_journal ADD COLUMN sent_answered INTEGER NOT NULL DEFAULT 0;
-- Attempts left open in a `*_sent` state by an earlier version may have sent: taken as sent now.
UPDATE capture_journal SET sent_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
    WHERE state IN ('paypal_capture_sent', 'finalize_sent', 'wallet_pay_sent');
