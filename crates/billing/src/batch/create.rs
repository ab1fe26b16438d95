//! Creating a batch: from invoice numbers, from the invoice list's filter, or from a file of
//! numbers. Every number is checked first (unknown numbers and duplicates reported line by
//! line), then the batch and its items are written in one SQLite transaction: all or nothing.

use super::error::{BatchError, SourceProblem};
use super::model::BatchSource;
use super::store::{self, NewBatch, NewItem};
use crate::{audit, invoices, DeskError, Environment, InvoiceFilter, ListRequest, SortKey};
use sqlx::SqlitePool;
use std::collections::HashMap;

/// The most invoices one batch holds.
pub const MAX_ITEMS: usize = 5_000;
/// The longest batch name.
pub const MAX_NAME: usize = 200;
/// The largest file of invoice numbers read.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A number as given, with where it was given.
struct Given {
    line: u64,
    text: String,
    invoice_no: i64,
}

/// Reads a file of invoice numbers: one a line, or the first column of a CSV (a first line that
/// is not a number is taken as a header). Blank lines are skipped.
pub(crate) fn parse_numbers(text: &str) -> (Vec<(u64, String, i64)>, Vec<SourceProblem>) {
    let mut numbers = Vec::new();
    let mut problems = Vec::new();
    let mut first = true;
    for (i, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let line = i as u64 + 1;
        let cell = raw.split([',', ';', '\t']).next().unwrap_or("").trim().trim_matches('"').trim();
        if cell.is_empty() {
            if !raw.trim().is_empty() {
                problems.push(SourceProblem {
                    line,
                    text: raw.to_owned(),
                    problem: "no invoice number in the first column".into(),
                });
            }
            continue;
        }
        let was_first = std::mem::replace(&mut first, false);
        match cell.parse::<i64>() {
            Ok(n) if n > 0 => numbers.push((line, cell.to_owned(), n)),
            _ if was_first && cell.chars().any(|c| c.is_alphabetic()) => {} // a header
            _ => problems.push(SourceProblem { line, text: cell.to_owned(), problem: "not an invoice number".into() }),
        }
    }
    (numbers, problems)
}

fn read_file(path: &str) -> Result<String, BatchError> {
    let fail = |reason: String| BatchError::File { path: path.to_owned(), reason };
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(fail(format!("it is larger than {} MB", MAX_FILE_BYTES / 1024 / 1024)));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| fail("it is not UTF-8 text".into()))
}

/// Every cached invoice `filter` shows, by number.
async fn filtered(pool: &SqlitePool, filter: &InvoiceFilter) -> Result<Vec<i64>, DeskError> {
    let mut numbers = Vec::new();
    let mut after = None;
    loop {
        let page = invoices::list(
            pool,
            &ListRequest {
                filter: filter.clone(),
                sort: SortKey::InvoiceNo,
                limit: Some(invoices::MAX_PAGE),
                after: after.take(),
                ..ListRequest::default()
            },
        )
        .await?;
        numbers.extend(page.rows.iter().map(|r| r.invoice_no));
        if numbers.len() > MAX_ITEMS {
            return Err(BatchError::TooMany { count: numbers.len(), max: MAX_ITEMS }.into());
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return Ok(numbers),
        }
    }
}

/// The numbers `source` names, its problems (line by line), and what the batch keeps as its source.
async fn gather(
    pool: &SqlitePool,
    source: &BatchSource,
) -> Result<(Vec<Given>, Vec<SourceProblem>, Option<String>), DeskError> {
    let (numbers, problems, kept) = match source {
        BatchSource::Selection { invoices } => {
            let given = invoices.iter().enumerate().map(|(i, n)| (i as u64 + 1, n.to_string(), *n)).collect();
            (given, Vec::new(), None)
        }
        BatchSource::Filter { filter } => {
            let given = filtered(pool, filter)
                .await?
                .into_iter()
                .enumerate()
                .map(|(i, n)| (i as u64 + 1, n.to_string(), n))
                .collect();
            (given, Vec::new(), Some(serde_json::to_string(filter).map_err(DeskError::internal)?))
        }
        BatchSource::File { path } => {
            let (given, problems) = parse_numbers(&read_file(path)?);
            let name = std::path::Path::new(path)
                .file_name()
                .map_or_else(|| path.clone(), |n| n.to_string_lossy().into_owned());
            (given, problems, Some(name))
        }
    };
    let mut problems = problems;
    let mut seen: HashMap<i64, u64> = HashMap::new();
    let mut given = Vec::new();
    for (line, text, invoice_no) in numbers {
        match seen.get(&invoice_no) {
            Some(first) => problems.push(SourceProblem { line, text, problem: format!("duplicate of line {first}") }),
            None => {
                seen.insert(invoice_no, line);
                given.push(Given { line, text, invoice_no });
            }
        }
    }
    Ok((given, problems, kept))
}

/// Creates a draft batch from `source`, audited as `batch.created` under `staff`; its id.
pub(crate) async fn create(
    pool: &SqlitePool,
    staff: &str,
    environment: Environment,
    name: Option<&str>,
    source: &BatchSource,
) -> Result<i64, DeskError> {
    let staff = staff.trim();
    if staff.is_empty() {
        return Err(BatchError::NoStaff.into());
    }
    let kind = source.kind();
    let name = match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) if n.chars().count() > MAX_NAME => return Err(BatchError::NameTooLong { max: MAX_NAME }.into()),
        Some(n) => n.to_owned(),
        None => format!("{} {}", kind.as_str(), chrono::Utc::now().format("%Y-%m-%d %H:%M")),
    };
    let (given, mut problems, kept) = gather(pool, source).await?;
    if given.len() > MAX_ITEMS {
        return Err(BatchError::TooMany { count: given.len(), max: MAX_ITEMS }.into());
    }
    let numbers: Vec<i64> = given.iter().map(|g| g.invoice_no).collect();

    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let cached: HashMap<i64, NewItem> =
        store::cached_invoices(&mut tx, &numbers).await?.into_iter().map(|i| (i.invoice_no, i)).collect();
    let mut items = Vec::with_capacity(given.len());
    for g in &given {
        match cached.get(&g.invoice_no) {
            Some(item) => items.push(item.clone()),
            None => problems.push(SourceProblem {
                line: g.line,
                text: g.text.clone(),
                problem: "no such invoice in the local cache (sync first?)".into(),
            }),
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.line);
        return Err(BatchError::Problems(problems).into());
    }
    if items.is_empty() {
        return Err(BatchError::Empty.into());
    }
    let held = store::open_holders(&mut tx, &numbers).await?;
    if !held.is_empty() {
        return Err(BatchError::InOpenBatch(held).into());
    }
    let new = NewBatch { name: &name, staff, environment, source_kind: kind, source: kept.as_deref() };
    let id = store::insert(&mut tx, &new, &items).await?;
    let detail = serde_json::json!({
        "batch": id, "name": name, "sourceKind": kind, "source": kept, "items": items.len(),
    });
    audit::record_in(&mut tx, staff, environment, audit::AuditAction::BatchCreated, None, detail).await?;
    tx.commit().await?;
    tracing::info!(batch = id, items = items.len(), source = kind.as_str(), "batch created");
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_one_number_a_line_or_the_first_csv_column_with_a_header_tolerated() {
        let (n, p) = parse_numbers("invoiceNo,customer\n458732,\"Acme\"\n\n 1001 ;x\nabc\n-4\n");
        assert_eq!(n.iter().map(|x| x.2).collect::<Vec<_>>(), [458_732, 1001]);
        assert_eq!(n.iter().map(|x| x.0).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(p.iter().map(|x| (x.line, x.text.as_str())).collect::<Vec<_>>(), [(5, "abc"), (6, "-4")]);
        // a header only on the first line
        let (n, p) = parse_numbers("\u{feff}12\nno\n");
        assert_eq!((n.len(), p.len()), (1, 1));
    }
}
