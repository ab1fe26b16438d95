-- Quick search (issue 11): a search matching many invoices ("gmbh": one in nine) finds its page
-- by due date sooner by walking the list's order and keeping the rows of a matching name than by
-- sorting every match. invoices_status_due gets customer_sort after its key, so the walk reads
-- the name from the index, not the row; its order (status, due_key, invoice_no) is unchanged,
-- and so is every plan that used it (crates/billing/src/invoices/filter.rs: Checked::dense).
DROP INDEX invoices_status_due;
CREATE INDEX invoices_status_due ON invoices (status, due_key, invoice_no, customer_sort);
