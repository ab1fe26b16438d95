//! The append-only audit log (`audit_log`; triggers refuse UPDATE and DELETE).

use crate::{time, DeskError, Environment};
use chrono::Utc;
use serde::Serialize;
use sqlx::SqlitePool;
use ts_rs::TS;

mod action;
pub use action::{label_of, AuditAction};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AuditEntry {
    #[ts(type = "number")]
    pub id: i64,
    pub at: String,
    pub staff: String,
    pub environment: String,
    /// The stored word, e.g. `capture.finalized` (see [`AuditAction`]).
    pub action: String,
    /// What a clerk reads for it, e.g. "Capture done: invoice paid".
    #[sqlx(skip)]
    pub action_label: String,
    #[ts(type = "number | null")]
    pub invoice_no: Option<i64>,
    /// JSON text: amounts, ids, before/after.
    pub detail: String,
}

/// Appends one entry.
pub async fn record(
    pool: &SqlitePool,
    staff: &str,
    env: Environment,
    action: AuditAction,
    invoice_no: Option<i64>,
    detail: serde_json::Value,
) -> Result<(), DeskError> {
    let mut conn = pool.acquire().await?;
    record_in(&mut conn, staff, env, action, invoice_no, detail).await
}

/// Appends one entry on `conn`, e.g. inside the transaction whose change it records.
pub async fn record_in(
    conn: &mut sqlx::SqliteConnection,
    staff: &str,
    env: Environment,
    action: AuditAction,
    invoice_no: Option<i64>,
    detail: serde_json::Value,
) -> Result<(), DeskError> {
    sqlx::query("INSERT INTO audit_log (at, staff, environment, action, invoice_no, detail) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(time::text(Utc::now()))
        .bind(staff)
        .bind(env.as_str())
        .bind(action.word())
        .bind(invoice_no)
        .bind(detail.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Which entries the Activity view shows. Every field is optional; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct AuditFilter {
    #[ts(type = "number | null", optional)]
    pub invoice_no: Option<i64>,
    /// Exact staff name.
    #[ts(optional)]
    pub staff: Option<String>,
    /// Exact action, e.g. `capture.finalized`.
    #[ts(optional)]
    pub action: Option<String>,
    /// On or after this day (`YYYY-MM-DD`, UTC).
    #[ts(optional)]
    pub from: Option<String>,
    /// On or before this day.
    #[ts(optional)]
    pub to: Option<String>,
    /// Entries older than this id (the next page).
    #[ts(type = "number | null", optional)]
    pub before_id: Option<i64>,
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// The staff names and actions present, for the Activity view's filter menus.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AuditFacets {
    pub staff: Vec<String>,
    /// By label.
    pub actions: Vec<ActionFacet>,
}

/// One action in the filter menu: the word the filter sends, the label the clerk picks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ActionFacet {
    pub word: String,
    pub label: String,
}

fn audit_day(text: &str, what: &str, end: bool) -> Result<String, DeskError> {
    let d = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| DeskError::bad_input(format!("The {what} date {text:?} must look like 2026-12-31.")))?;
    let t = if end { d.succ_opt().unwrap_or(d) } else { d };
    Ok(time::text(t.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default()))
}

fn push_audit_filter(q: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>, f: &AuditFilter) -> Result<(), DeskError> {
    q.push(" WHERE 1=1");
    if let Some(n) = f.invoice_no {
        q.push(" AND invoice_no = ").push_bind(n);
    }
    if let Some(s) = f.staff.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q.push(" AND staff = ").push_bind(s.to_owned());
    }
    if let Some(a) = f.action.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        q.push(" AND action = ").push_bind(a.to_owned());
    }
    let from = f.from.as_deref().filter(|s| !s.trim().is_empty()).map(|d| audit_day(d, "from", false)).transpose()?;
    let to = f.to.as_deref().filter(|s| !s.trim().is_empty()).map(|d| audit_day(d, "to", true)).transpose()?;
    if let (Some(a), Some(b)) = (&from, &to) {
        if a >= b {
            return Err(DeskError::bad_input("The from date is after the to date."));
        }
    }
    if let Some(a) = from {
        q.push(" AND at >= ").push_bind(a);
    }
    if let Some(b) = to {
        q.push(" AND at < ").push_bind(b);
    }
    if let Some(id) = f.before_id {
        q.push(" AND id < ").push_bind(id);
    }
    Ok(())
}

/// The entries matching `filter`, newest first (at most `limit`, default 200, at most 10,000).
pub async fn query(pool: &SqlitePool, filter: &AuditFilter) -> Result<Vec<AuditEntry>, DeskError> {
    let mut q = sqlx::QueryBuilder::new("SELECT id, at, staff, environment, action, invoice_no, detail FROM audit_log");
    push_audit_filter(&mut q, filter)?;
    q.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(filter.limit.unwrap_or(200).clamp(1, 10_000)));
    let mut entries: Vec<AuditEntry> = q.build_query_as().fetch_all(pool).await?;
    for e in &mut entries {
        e.action_label = label_of(&e.action);
    }
    Ok(entries)
}

pub async fn facets(pool: &SqlitePool) -> Result<AuditFacets, DeskError> {
    let staff: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT staff FROM audit_log ORDER BY staff").fetch_all(pool).await?;
    let actions: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT action FROM audit_log ORDER BY action").fetch_all(pool).await?;
    Ok(AuditFacets {
        staff: staff.into_iter().map(|(s,)| s).collect(),
        actions: {
            let mut a: Vec<ActionFacet> =
                actions.into_iter().map(|(word,)| ActionFacet { label: label_of(&word), word }).collect();
            a.sort_by(|x, y| x.label.cmp(&y.label));
            a
        },
    })
}

/// One CSV field: quoted when needed; a leading `=`, `+`, `-`, `@`, tab or CR is prefixed with
/// `'` so a spreadsheet never runs it as a formula.
pub(crate) fn csv_field(value: &str) -> String {
    let guarded =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if guarded.contains([',', '"', '\n', '\r']) || guarded.starts_with(' ') || guarded.ends_with(' ') {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// The entries as CSV (RFC 4180, CRLF line ends, a header row).
pub fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out = String::from("id,at,staff,environment,action,invoice_no,detail\r\n");
    for e in entries {
        let fields = [
            e.id.to_string(),
            e.at.clone(),
            e.staff.clone(),
            e.environment.clone(),
            e.action.clone(),
            e.invoice_no.map(|n| n.to_string()).unwrap_or_default(),
            e.detail.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Writes every entry matching `filter` (the limit ignored, newest first) to a new CSV file in
/// `dir` and returns its path.
pub async fn export_csv(
    pool: &SqlitePool,
    filter: &AuditFilter,
    dir: &std::path::Path,
) -> Result<ExportedFile, DeskError> {
    let mut all = AuditFilter { limit: Some(10_000), ..filter.clone() };
    let mut entries = Vec::new();
    loop {
        let page = query(pool, &all).await?;
        let done = page.len() < 10_000;
        all.before_id = page.last().map(|e| e.id);
        entries.extend(page);
        if done {
            break;
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        DeskError::new(crate::ErrorCode::Storage, format!("The folder {} cannot be created.", dir.display()))
            .with_detail(e.to_string())
    })?;
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    let mut path = dir.join(format!("capture-desk-activity-{stamp}.csv"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("capture-desk-activity-{stamp}-{n}.csv"));
    }
    std::fs::write(&path, to_csv(&entries)).map_err(|e| {
        DeskError::new(crate::ErrorCode::Storage, format!("The file {} cannot be written.", path.display()))
            .with_detail(e.to_string())
    })?;
    Ok(ExportedFile { path: path.display().to_string(), rows: entries.len() as u64 })
}

/// Where an export went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ExportedFile {
    pub path: String,
    #[ts(type = "number")]
    pub rows: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detail: &str, staff: &str) -> AuditEntry {
        AuditEntry {
            id: 7,
            at: "2026-11-23T10:00:00.000Z".into(),
            staff: staff.into(),
            environment: "demo".into(),
            action: "capture.finalized".into(),
            action_label: label_of("capture.finalized"),
            invoice_no: Some(458_732),
            detail: detail.into(),
        }
    }

    #[test]
    fn csv_quotes_and_disarms_formulas() {
        let csv = to_csv(&[entry(r#"{"a":"x, y"}"#, "=HYPERLINK(\"evil\")")]);
        let mut lines = csv.split("\r\n");
        assert_eq!(lines.next(), Some("id,at,staff,environment,action,invoice_no,detail"));
        assert_eq!(
            lines.next(),
            Some(
                r#"7,2026-11-23T10:00:00.000Z,"'=HYPERLINK(""evil"")",demo,capture.finalized,458732,"{""a"":""x, y""}""#
            )
        );
        assert_eq!(lines.next(), Some(""));
        assert_eq!(csv_field("-5"), "'-5");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn every_formula_lead_is_disarmed() {
        // a spreadsheet runs a cell starting with any of these as a formula
        let cases = [
            ("=1+1", "'=1+1"),
            ("+1+1", "'+1+1"),
            ("-1+1", "'-1+1"),
            ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
            ("\t=1+1", "'\t=1+1"),
            // CR also makes the field quoted
            ("\r=1+1", "\"'\r=1+1\""),
        ];
        for (value, want) in cases {
            assert_eq!(csv_field(value), want, "{value:?}");
        }
        // the same characters elsewhere in a field are data
        for value in ["1=1", "a+b", "x-y", "me@example.com", "a\tb"] {
            assert_eq!(csv_field(value), value, "{value:?}");
        }
        // and whole rows: every column is guarded, not only the first
        let mut e = entry("@cmd", "+Ben");
        e.action = "-action".into();
        let csv = to_csv(&[e]);
        assert_eq!(csv.lines().nth(1), Some("7,2026-11-23T10:00:00.000Z,'+Ben,demo,'-action,458732,'@cmd"));
    }

    #[tokio::test]
    async fn the_log_refuses_update_and_delete_in_the_database_file() {
        let dir = tempfile::tempdir().expect("dir");
        let pool = crate::store::open(dir.path()).await.expect("open");
        record(&pool, "Ana", Environment::Sandbox, AuditAction::SettingsSaved, Some(1), serde_json::json!({ "n": 1 }))
            .await
            .expect("record");
        let before = query(&pool, &AuditFilter::default()).await.expect("query");
        assert_eq!(before.len(), 1);
        pool.close().await;

        // another connection to the same file, as any other program would open it
        let pool = crate::store::open(dir.path()).await.expect("reopen");
        for sql in [
            "UPDATE audit_log SET staff = 'Mallory'",
            "UPDATE audit_log SET detail = '{}' WHERE id = 1",
            "DELETE FROM audit_log",
            "DELETE FROM audit_log WHERE id = 1",
        ] {
            let e = sqlx::query(sql).execute(&pool).await.expect_err(sql);
            assert!(e.to_string().contains("audit_log is append-only"), "{sql}: {e}");
        }
        // appending still works, and the first entry is as it was
        record(&pool, "Ben", Environment::Sandbox, AuditAction::SettingsSaved, None, serde_json::json!({}))
            .await
            .expect("append");
        let after = query(&pool, &AuditFilter::default()).await.expect("query");
        assert_eq!(after.len(), 2);
        assert_eq!(after[1], before[0]);
        pool.close().await;
    }

    #[test]
    fn bad_dates_are_refused() {
        let mut q = sqlx::QueryBuilder::new("SELECT 1");
        let f = AuditFilter { from: Some("23/11/2026".into()), ..AuditFilter::default() };
        assert_eq!(push_audit_filter(&mut q, &f).map_err(|e| e.code), Err(crate::ErrorCode::BadInput));
        let f =
            AuditFilter { from: Some("2026-11-24".into()), to: Some("2026-11-23".into()), ..AuditFilter::default() };
        assert!(push_audit_filter(&mut sqlx::QueryBuilder::new("SELECT 1"), &f).is_err());
    }
}
