//! The list query's SQL, built once for two readers: sqlx (values bound) and the sqlite3 shell
//! (values written into the text as SQL literals: [`statements`], which `cargo xtask bench`
//! runs in the shell beside the engine on the same file).

use super::filter::{push_filter, Checked};
use super::{decode_cursor, ListRequest, SortKey, SortValue, COLUMNS, DEFAULT_PAGE, MAX_PAGE};
use crate::DeskError;
use chrono::Utc;
use sqlx::{QueryBuilder, Sqlite};

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

/// The page's rows (one more than `limit`, to know whether another page follows).
pub(super) fn page<S: Sink>(q: &mut S, f: &Checked, req: &ListRequest, limit: u32) -> Result<(), DeskError> {
    let after = req.after.as_deref().filter(|s| !s.is_empty()).map(decode_cursor).transpose()?;
    let col = req.sort.column();
    let (cmp, dir) = if req.descending { ("<", "DESC") } else { (">", "ASC") };
    q.sql(&format!("SELECT {COLUMNS} FROM {}", f.source()));
    push_filter(q, f);
    if let Some(c) = &after {
        if req.sort == SortKey::InvoiceNo {
            q.sql(&format!(" AND invoice_no {cmp} "));
            q.value(Value::Int(c.n));
        } else {
            q.sql(&format!(" AND ({col}, invoice_no) {cmp} ("));
            q.value(match &c.s {
                SortValue::Int(v) => Value::Int(*v),
                SortValue::Text(v) => Value::Text(v.clone()),
            });
            q.sql(", ");
            q.value(Value::Int(c.n));
            q.sql(")");
        }
    }
    q.sql(&format!(" ORDER BY {col} {dir}"));
    if req.sort != SortKey::InvoiceNo {
        q.sql(&format!(", invoice_no {dir}"));
    }
    q.sql(" LIMIT ");
    q.value(Value::Int(i64::from(limit) + 1));
    Ok(())
}

/// Count and outstanding sum per currency of everything the filter selects.
pub(super) fn totals<S: Sink>(q: &mut S, f: &Checked) {
    q.sql(&format!("SELECT currency, COUNT(*), SUM(outstanding_e4) FROM {}", f.source()));
    push_filter(q, f);
    q.sql(" GROUP BY currency ORDER BY currency");
}

/// The page limit a request asks for, within bounds.
pub(super) fn limit(req: &ListRequest) -> u32 {
    req.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// The statements [`super::list`] runs for `req` now (the page, then the totals when asked
/// for), each with its values written in as SQL literals, ready for the sqlite3 shell.
pub fn statements(req: &ListRequest) -> Result<Vec<String>, DeskError> {
    let f = req.filter.check(Utc::now())?;
    let mut out = Vec::new();
    let mut q = Literal::default();
    page(&mut q, &f, req, limit(req))?;
    out.push(q.0);
    if req.with_totals {
        let mut q = Literal::default();
        totals(&mut q, &f);
        out.push(q.0);
    }
    Ok(out)
}
