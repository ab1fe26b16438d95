-- When the attempt's latest money-moving request (the PayPal capture, the gateway finalization,
-- the full wallet payment) was sent with no answer had for it yet: Unix milliseconds, written
-- (by the run holding the entry lease) just before the request leaves, cleared by the next state
-- change or by an answer that ends the request. NULL: nothing of this state is in flight, so a
-- resume may send again after reading. Set: the request may still land until the client's
-- whole budget for it (plus a margin) has passed since then, so a resume that does not find it
-- landed waits instead of sending again or concluding "not ours". See
-- crates/billing/src/capture/in_flight.rs.
ALTER TABLE capture_journal ADD COLUMN sent_at INTEGER;
