//! The list query's SQL, built once for two readers: sqlx (values bound) and the sqlite3 shell
//! (values written into the text as SQL literals: [`statements`], which `cargo xtask bench`
//! runs in the shell beside the engine on the same file).

use super::filter::{push_filter, push_part, Checked, Part};
use super::{decode_cursor, Cursor, ListRequest, SortKey, SortValue, COLUMNS, DEFAULT_PAGE, MAX_PAGE};
use crate::DeskError;
use chrono::Utc;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

/// A value of the query.
pub(super) enum Value {
    Int(i64),
    Text(String),
}

/// Where a statement is written: SQL text, and values in their places.
pub(super) trait Sink {
    fn sql(&mut self, text: &str);
    fn value(&mut self, v: Value);
}

impl Sink for QueryBuilder<'_, Sqlite> {
    fn sql(&mut self, text: &str) {
        self.push(text);
    }
    fn value(&mut self, v: Value) {
        match v {
            Value::Int(i) => self.push_bind(i),
            Value::Text(t) => self.push_bind(t),
        };
    }
}

/// SQL with its values as literals.
#[derive(Default)]
struct Literal(String);

impl Sink for Literal {
    fn sql(&mut self, text: &str) {
        self.0.push_str(text);
    }
    fn value(&mut self, v: Value) {
        match v {
            Value::Int(i) => self.0.push_str(&i.to_string()),
            Value::Text(t) => {
                self.0.push('\'');
                self.0.push_str(&t.replace('\'', "''"));
                self.0.push('\'');
            }
        }
    }
}

/// The page's rows (one more than `limit`, to know whether another page follows). An indexed
/// search finds the page's invoice numbers among its parts' (from their index entries), then
/// reads those rows only.
pub(super) fn page<S: Sink>(q: &mut S, f: &Checked, req: &ListRequest, limit: u32) -> Result<(), DeskError> {
    let after = req.after.as_deref().filter(|s| !s.is_empty()).map(decode_cursor).transpose()?;
    let col = req.sort.column();
    let dir = if req.descending { "DESC" } else { "ASC" };
    let order = if req.sort == SortKey::InvoiceNo {
        format!(" ORDER BY invoice_no {dir}")
    } else {
        format!(" ORDER BY {col} {dir}, invoice_no {dir}")
    };
    match f.parts() {
        None => {
            q.sql(&format!("SELECT {COLUMNS}"));
            push_filter(q, f);
            push_after(q, req, after.as_ref());
            q.sql(&order);
        }
        Some(parts) => {
            q.sql(&format!("SELECT {COLUMNS} FROM invoices WHERE invoice_no IN (SELECT invoice_no FROM ("));
            for (i, part) in parts.into_iter().enumerate() {
                let union = if i == 0 { "" } else { " UNION ALL " };
                let walk = part == Part::Names && f.in_due_order && req.sort == SortKey::DueAt;
                if walk {
                    q.sql(&format!("{union}SELECT invoice_no, sort_key FROM ("));
                }
                // the Numbers part joins invoices_fts, whose rowid is not a column named invoice_no
                q.sql(&format!(
                    "{}SELECT invoices.invoice_no AS invoice_no, {col} AS sort_key",
                    if walk { "" } else { union }
                ));
                push_part(q, f, part, walk, None);
                push_after(q, req, after.as_ref());
                if walk {
                    // the walk stops at the page's end
                    q.sql(&format!("{order} LIMIT "));
                    q.value(Value::Int(i64::from(limit) + 1));
                    q.sql(")");
                }
            }
            let inner = if req.sort == SortKey::InvoiceNo {
                format!(" ORDER BY invoice_no {dir}")
            } else {
                format!(" ORDER BY sort_key {dir}, invoice_no {dir}")
            };
            q.sql(&format!("){inner} LIMIT "));
            q.value(Value::Int(i64::from(limit) + 1));
            q.sql(")");
            q.sql(&order);
        }
    }
    q.sql(" LIMIT ");
    q.value(Value::Int(i64::from(limit) + 1));
    Ok(())
}

/// The keyset condition: rows after the cursor's, in the list's order.
fn push_after<S: Sink>(q: &mut S, req: &ListRequest, after: Option<&Cursor>) {
    let Some(c) = after else { return };
    let cmp = if req.descending { "<" } else { ">" };
    if req.sort == SortKey::InvoiceNo {
        q.sql(&format!(" AND invoices.invoice_no {cmp} "));
        q.value(Value::Int(c.n));
    } else {
        q.sql(&format!(" AND ({}, invoices.invoice_no) {cmp} (", req.sort.column()));
        q.value(match &c.s {
            SortValue::Int(v) => Value::Int(*v),
            SortValue::Text(v) => Value::Text(v.clone()),
        });
        q.sql(", ");
        q.value(Value::Int(c.n));
        q.sql(")");
    }
}

/// Count and outstanding sum per currency of everything the filter selects (an indexed search:
/// each part's, added up; the parts are disjoint). `shard`: `(k, n)` reads shard `k` of `n` of
/// an indexed search (the names part split by the names' ids, the other parts in shard 0); the
/// shards are disjoint and add up to the whole. Without an indexed search, only shard 0 reads.
pub(super) fn totals<S: Sink>(q: &mut S, f: &Checked, shard: (i64, i64)) {
    match f.parts() {
        None => {
            q.sql("SELECT currency, COUNT(*), SUM(outstanding_e4)");
            push_filter(q, f);
            if shard.0 != 0 {
                q.sql(" AND 0");
            }
        }
        Some(parts) => {
            q.sql("SELECT currency, SUM(n), SUM(e4) FROM (");
            let parts: Vec<Part> = parts.into_iter().filter(|p| *p == Part::Names || shard.0 == 0).collect();
            for (i, part) in parts.into_iter().enumerate() {
                let union = if i == 0 { "" } else { " UNION ALL " };
                q.sql(&format!("{union}SELECT currency, COUNT(*) AS n, SUM(outstanding_e4) AS e4"));
                push_part(q, f, part, false, (part == Part::Names).then_some(shard));
                q.sql(" GROUP BY currency");
            }
            q.sql(")");
        }
    }
    q.sql(" GROUP BY currency ORDER BY currency");
}

/// How many shards [`totals`] reads for `f` side by side: two for an indexed search (whose
/// names part may reach thousands of invoices: each shard sums about half), else one.
pub(super) fn totals_shards(f: &Checked) -> i64 {
    if f.parts().is_some() {
        2
    } else {
        1
    }
}

/// The page limit a request asks for, within bounds.
pub(super) fn limit(req: &ListRequest) -> u32 {
    req.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// The statements [`super::list`] runs for `req` now (the page, then the totals' shards when
/// asked for; the list runs them side by side), each with its values written in as SQL literals,
/// ready for the sqlite3 shell. The page's plan is the list's ([`super::plan`]).
pub async fn statements(pool: &SqlitePool, req: &ListRequest) -> Result<Vec<String>, DeskError> {
    let f = super::plan(pool, req, Utc::now()).await?;
    let mut out = Vec::new();
    let mut q = Literal::default();
    page(&mut q, &f, req, limit(req))?;
    out.push(q.0);
    if req.with_totals {
        let shards = totals_shards(&f);
        for k in 0..shards {
            let mut q = Literal::default();
            totals(&mut q, &f, (k, shards));
            out.push(q.0);
        }
    }
    Ok(out)
}
