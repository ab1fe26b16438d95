-- When this desk marked a cached invoice paid (a capture it finalized, or the gateway's "already
-- paid"), as text of a fixed shape with milliseconds ("2026-11-20T10:00:00.123Z"; text order is
-- time order), on the desk's own clock; NULL when it never did. A sync page, or a detail read,
-- whose request was sent before that instant may have been read before the gateway recorded the
-- payment: written after the mark it would show the paid invoice outstanding again, with its
-- PayPal approval, until the next sync. Such a write leaves the row as marked; one requested
-- after the mark brings the gateway's view, which wins. The instant a row's view was requested
-- is its `synced_at` (same shape, same clock). See crates/billing/src/invoices/write.rs.
ALTER TABLE invoices ADD COLUMN paid_marked_at TEXT;
