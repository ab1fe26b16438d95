-- Quick search for broad terms (issue 11): a term many invoices share ("gmbh", "nordlicht")
-- names far fewer customers than invoices. Two small tables, each with its own FTS5 trigram
-- index, list what the invoices' search text holds before the invoice number:
--   search_names:     each distinct customer_sort (the lower-cased name), and
--   search_customers: each distinct (customer_sort, customer_id), with the lower-cased id
--                     (id_text) and name + ' ' + id (search_text), cut from invoices.search_text.
-- The list then reads the invoices of the matching names or customers from the covering index
-- invoices_customer_search (no row visited for the totals, nor for the page's order), and only
-- a term that can reach the invoice number still reads invoices_fts (crates/billing/src/
-- invoices/filter.rs says how the three parts add up to exactly the LIKE's matches).
-- Rows are added by the triggers below while the search index is live; a name or customer no
-- invoice has any more stays until the next rebuild (it matches no invoice). A full sync
-- suspends them and rebuilds both tables with invoices_fts (search_index.rs).

CREATE TABLE search_names (
    id            INTEGER PRIMARY KEY,
    customer_sort TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE search_customers (
    id            INTEGER PRIMARY KEY,
    customer_sort TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    id_text       TEXT NOT NULL,
    search_text   TEXT NOT NULL,
    UNIQUE (customer_sort, customer_id)
) STRICT;

CREATE VIRTUAL TABLE search_names_fts USING fts5(
    customer_sort, content = 'search_names', content_rowid = 'id', tokenize = 'trigram'
);

CREATE VIRTUAL TABLE search_customers_fts USING fts5(
    search_text, id_text, content = 'search_customers', content_rowid = 'id', tokenize = 'trigram'
);

-- rows leave these tables only by a rebuild, which empties the indexes with 'delete-all'
CREATE TRIGGER search_names_fts_insert AFTER INSERT ON search_names
BEGIN
    INSERT INTO search_names_fts (rowid, customer_sort) VALUES (new.id, new.customer_sort);
END;

CREATE TRIGGER search_customers_fts_insert AFTER INSERT ON search_customers
BEGIN
    INSERT INTO search_customers_fts (rowid, search_text, id_text) VALUES (new.id, new.search_text, new.id_text);
END;

-- invoices.search_text is lower(name || ' ' || id || ' ' || invoice_no), and its name part is
-- customer_sort (both Rust's to_lowercase of the same name: crates/billing/src/invoices/write.rs)
CREATE TRIGGER search_customers_invoice_insert AFTER INSERT ON invoices
WHEN (SELECT live FROM search_index WHERE id = 1) = 1
BEGIN
    INSERT OR IGNORE INTO search_names (customer_sort) VALUES (new.customer_sort);
    INSERT OR IGNORE INTO search_customers (customer_sort, customer_id, id_text, search_text) VALUES (
        new.customer_sort, new.customer_id,
        substr(new.search_text, length(new.customer_sort) + 2,
               length(new.search_text) - length(new.customer_sort) - length(new.invoice_no) - 2),
        substr(new.search_text, 1, length(new.search_text) - length(new.invoice_no) - 1));
END;

CREATE TRIGGER search_customers_invoice_update AFTER UPDATE OF customer_sort, customer_id, search_text ON invoices
WHEN (old.customer_sort IS NOT new.customer_sort OR old.customer_id IS NOT new.customer_id
      OR old.search_text IS NOT new.search_text)
    AND (SELECT live FROM search_index WHERE id = 1) = 1
BEGIN
    INSERT OR IGNORE INTO search_names (customer_sort) VALUES (new.customer_sort);
    INSERT OR IGNORE INTO search_customers (customer_sort, customer_id, id_text, search_text) VALUES (
        new.customer_sort, new.customer_id,
        substr(new.search_text, length(new.customer_sort) + 2,
               length(new.search_text) - length(new.customer_sort) - length(new.invoice_no) - 2),
        substr(new.search_text, 1, length(new.search_text) - length(new.invoice_no) - 1));
END;

-- the invoices of a name or customer: every column the list filters, sorts or totals by
CREATE INDEX invoices_customer_search
    ON invoices (customer_sort, customer_id, status, currency, due_key, outstanding_e4, has_paypal);

-- the invoices cached before this migration
INSERT INTO search_names (customer_sort) SELECT DISTINCT customer_sort FROM invoices;
INSERT INTO search_customers (customer_sort, customer_id, id_text, search_text)
SELECT customer_sort, customer_id,
       substr(search_text, length(customer_sort) + 2, length(search_text) - length(customer_sort) - length(invoice_no) - 2),
       substr(search_text, 1, length(search_text) - length(invoice_no) - 1)
FROM invoices GROUP BY customer_sort, customer_id;
