-- Quick search (issue 11): an FTS5 trigram index over invoices.search_text, so a search of 3 or
-- more characters reads the matching rows instead of scanning every invoice with LIKE.
-- External content (the text stays in invoices only; the index holds the trigrams), kept in step
-- by the triggers below, and filled here for the invoices already cached. The list query still
-- applies its LIKE to the rows the index returns, so what matches is exactly what LIKE matched.
-- Debian's sqlite3 (3.40) reads this table too: external content and trigram need 3.34.

CREATE VIRTUAL TABLE invoices_fts USING fts5(
    search_text,
    content = 'invoices',
    content_rowid = 'invoice_no',
    tokenize = 'trigram'
);

INSERT INTO invoices_fts (invoices_fts) VALUES ('rebuild');

CREATE TRIGGER invoices_fts_insert AFTER INSERT ON invoices
BEGIN
    INSERT INTO invoices_fts (rowid, search_text) VALUES (new.invoice_no, new.search_text);
END;

CREATE TRIGGER invoices_fts_delete AFTER DELETE ON invoices
BEGIN
    INSERT INTO invoices_fts (invoices_fts, rowid, search_text) VALUES ('delete', old.invoice_no, old.search_text);
END;

-- A sync rewrites every row it receives; the index changes only when the text (or the number) does.
CREATE TRIGGER invoices_fts_update AFTER UPDATE OF search_text, invoice_no ON invoices
WHEN old.search_text IS NOT new.search_text OR old.invoice_no IS NOT new.invoice_no
BEGIN
    INSERT INTO invoices_fts (invoices_fts, rowid, search_text) VALUES ('delete', old.invoice_no, old.search_text);
    INSERT INTO invoices_fts (rowid, search_text) VALUES (new.invoice_no, new.search_text);
END;
