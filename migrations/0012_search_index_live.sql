-- Whether the search index (migration 0010) is kept by its triggers: 1 (live) or 0 (suspended).
-- A full sync rewrites every cached invoice; indexing each page as it is written costs about a
-- fifth of the sync (one index segment per page). A full sync therefore suspends the triggers
-- and rebuilds the index from `invoices` once at its end (crates/billing/src/invoices/
-- search_index.rs). While suspended, the list searches by scanning (LIKE), which finds the same
-- rows; a process that stopped mid-sync leaves it suspended, and the next sync rebuilds it.
CREATE TABLE search_index (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    live INTEGER NOT NULL
);
INSERT INTO search_index (id, live) VALUES (1, 1);

DROP TRIGGER invoices_fts_insert;
DROP TRIGGER invoices_fts_delete;
DROP TRIGGER invoices_fts_update;

CREATE TRIGGER invoices_fts_insert AFTER INSERT ON invoices
WHEN (SELECT live FROM search_index WHERE id = 1) = 1
BEGIN
    INSERT INTO invoices_fts (rowid, search_text) VALUES (new.invoice_no, new.search_text);
END;

CREATE TRIGGER invoices_fts_delete AFTER DELETE ON invoices
WHEN (SELECT live FROM search_index WHERE id = 1) = 1
BEGIN
    INSERT INTO invoices_fts (invoices_fts, rowid, search_text) VALUES ('delete', old.invoice_no, old.search_text);
END;

CREATE TRIGGER invoices_fts_update AFTER UPDATE OF search_text, invoice_no ON invoices
WHEN (old.search_text IS NOT new.search_text OR old.invoice_no IS NOT new.invoice_no)
    AND (SELECT live FROM search_index WHERE id = 1) = 1
BEGIN
    INSERT INTO invoices_fts (invoices_fts, rowid, search_text) VALUES ('delete', old.invoice_no, old.search_text);
    INSERT INTO invoices_fts (rowid, search_text) VALUES (new.invoice_no, new.search_text);
END;
