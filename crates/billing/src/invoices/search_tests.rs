//! The quick search through the FTS5 trigram index (migration 0010) matches exactly what the
//! LIKE scan before it matched: the same invoices, the same totals, for short and long terms,
//! LIKE's and FTS5's special characters, quotes, spaces, non-ASCII text and the middle of a word;
//! and the index follows the table (insert, update, delete, and the rows cached before 0010).

use super::{list, upsert_page, InvoiceFilter, ListRequest, SortKey, MAX_PAGE};
use chrono::{TimeZone, Utc};
use money::{Currency, Money};
use sqlx::SqlitePool;

/// Customer names and ids chosen for the edge cases; each becomes one invoice.
const CUSTOMERS: &[(&str, &str)] = &[
    ("Müller Spedition GmbH", "c_1"),
    ("MÜLLER & SÖHNE KG", "c_2"),
    ("Nordlicht Freight GmbH", "c_102"),
    ("100% Cargo_Co \\ Ltd", "c_3"),
    ("O'Brien \"Quoted\" Lines", "c_4"),
    ("Straße Logistik AG", "c_5"),
    ("STRASSE Transporte", "c_6"),
    ("AND OR NOT Freight", "c_7"),
    ("Star*Cargo (Intl): Ltd", "c_8"),
    ("東京運輸 株式会社", "c_9"),
    ("Ålesund Shipping AS", "c_10"),
    ("Ab", "c_11"),
    ("x", "c_12"),
    ("İstanbul Kargo", "c_13"),
    ("Alpen Forwarding S.A.", "c_4587"),
    // Rust lower-cases a final Σ to ς, FTS5 folds ς to σ: the index alone would find "κοσ" here
    ("ΚΟΣΑ Ναυτιλιακή", "c_14"),
    // digits in a name and in an id, an id with spaces, and one id under two names (a rename
    // the cache holds both of): the parts by name, by customer and by number meet here
    ("Route 66 Cargo 9000", "c_15"),
    ("Spaced Id Co", "c 9000 x"),
    ("Nordlicht Freight GmbH", "c_103"),
    ("Nordlicht Cargo B.V.", "c_103"),
];

/// The terms compared: 1, 2 and 3 characters, whole and partial words, the middle of a word,
/// LIKE's wildcards and escape, FTS5's syntax (quotes, operators, `*`, `:`, parentheses), spaces,
/// non-ASCII in either case, invoice numbers, and terms nothing matches.
const TERMS: &[&str] = &[
    "m",
    "ü",
    "mü",
    "mül",
    "Müller",
    "MÜLLER",
    "üll",
    "ller sp",
    "edit",
    "gmbh",
    "GmbH",
    "%",
    "_",
    "\\",
    "%_",
    "0% c",
    "o_c",
    "argo_",
    "\\ l",
    "\"",
    "\"\"",
    "\"quoted\"",
    "'",
    "o'b",
    "' or 1=1 --",
    "and",
    "and or not",
    "NOT",
    "star*",
    "r*c",
    "(intl):",
    "l):",
    "straße",
    "STRASSE",
    "ße",
    "東京",
    "京運輸",
    "ålesund",
    "ÅLE",
    "ist",
    "i̇st",
    "ab",
    "a",
    "x",
    "c_1",
    "c_10",
    "458",
    "4587",
    "c_4587",
    "900001",
    "zzz",
    "müllerx",
    "a b",
    "ΚΟΣ",
    "κοσ",
    "ΚΟΣΑ",
    "gmbh c_1",
    "h c_",
    "bh c_10",
    "c_1 9",
    "c_4587 900",
    "s.a. c_4587 9000",
    "0 9000",
    "66 c",
    "9000",
    "90000",
    "c 9000",
    "9000 x",
    "9000 c_15 900",
    "o 9",
    "x 9",
    "c_103",
    "b.v. c_103",
    "freight gmbh c_10",
    "nordlicht",
    "  gmbh ",
];

pub(super) fn invoice(no: u64, name: &str, id: &str, currency: Currency, outstanding: i64) -> gateway::Invoice {
    let amount = Money::from_minor(outstanding, currency);
    let day = |d: u32| Utc.with_ymd_and_hms(2026, 11, d, 10, 0, 0).single().expect("a day");
    gateway::Invoice {
        invoice_no: no,
        customer: gateway::Customer { id: id.into(), name: name.into() },
        currency,
        total: amount,
        outstanding: amount,
        status: gateway::InvoiceStatus::Outstanding,
        issued_at: day(1),
        due_at: Some(day(1 + u32::try_from(no % 27).expect("small"))),
        updated_at: day(2),
        wallet: None,
        paypal: None,
        payments: None,
        raw: "{}".into(),
    }
}

fn currency(code: &str) -> Currency {
    Currency::from_code(code).expect("a known currency")
}

/// Every customer three times (one invoice in each of three currencies), numbered from 900001.
fn invoices() -> Vec<gateway::Invoice> {
    let mut out = Vec::new();
    let mut no = 900_000;
    for (i, (name, id)) in CUSTOMERS.iter().enumerate() {
        for code in ["EUR", "JPY", "USD"] {
            no += 1;
            let amount = 1_000 + i64::try_from(i).expect("small") * 137 + i64::try_from(no % 7).expect("small");
            out.push(invoice(no, name, id, currency(code), amount));
        }
    }
    out
}

async fn database() -> (tempfile::TempDir, SqlitePool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = crate::store::open(dir.path()).await.expect("database");
    (dir, pool)
}

/// What the list query answered before the index: the LIKE scan, with the same escaping.
async fn like_matches(pool: &SqlitePool, term: &str) -> Vec<i64> {
    let term = term.trim().to_lowercase();
    let escaped = term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    sqlx::query_scalar("SELECT invoice_no FROM invoices WHERE search_text LIKE ? ESCAPE '\\' ORDER BY invoice_no")
        .bind(format!("%{escaped}%"))
        .fetch_all(pool)
        .await
        .expect("like query")
}

/// The same as a plain substring test in Rust, which LIKE (with both sides lower-cased by Rust)
/// agrees with.
fn substring_matches(invoices: &[gateway::Invoice], term: &str) -> Vec<i64> {
    let term = term.trim().to_lowercase();
    let mut out: Vec<i64> = invoices
        .iter()
        .filter(|inv| {
            format!("{} {} {}", inv.customer.name, inv.customer.id, inv.invoice_no).to_lowercase().contains(&term)
        })
        .map(|inv| i64::try_from(inv.invoice_no).expect("small"))
        .collect();
    out.sort_unstable();
    out
}

fn search(term: &str, sort: SortKey) -> ListRequest {
    ListRequest {
        filter: InvoiceFilter { search: Some(term.into()), ..Default::default() },
        sort,
        descending: false,
        limit: Some(MAX_PAGE),
        after: None,
        with_totals: true,
    }
}

/// The totals LIKE's rows add up to, per currency: (currency, count, outstanding).
async fn like_totals(pool: &SqlitePool, numbers: &[i64]) -> Vec<(String, i64, String)> {
    let totals = super::selection_totals(pool, numbers).await.expect("selection totals");
    totals.into_iter().map(|t| (t.currency, t.count, t.outstanding)).collect()
}

async fn assert_same_as_like(pool: &SqlitePool, written: &[gateway::Invoice], term: &str) {
    let expected = like_matches(pool, term).await;
    assert_eq!(expected, substring_matches(written, term), "LIKE and a substring test disagree on {term:?}");
    for sort in [SortKey::DueAt, SortKey::Customer, SortKey::InvoiceNo, SortKey::Amount] {
        let page = list(pool, &search(term, sort)).await.unwrap_or_else(|e| panic!("search {term:?}: {e:?}"));
        let mut got: Vec<i64> = page.rows.iter().map(|r| r.invoice_no).collect();
        got.sort_unstable();
        assert_eq!(got, expected, "search {term:?} ({sort:?}) lists other invoices than LIKE did");
        let totals: Vec<(String, i64, String)> =
            page.totals.unwrap_or_default().into_iter().map(|t| (t.currency, t.count, t.outstanding)).collect();
        assert_eq!(totals, like_totals(pool, &expected).await, "search {term:?}: totals differ from LIKE's rows");
        assert_eq!(page.total_count, Some(i64::try_from(expected.len()).expect("small")), "count of {term:?}");
    }
}

#[tokio::test]
async fn the_bundled_sqlite_has_fts5_and_the_trigram_index() {
    let (_dir, pool) = database().await;
    let fts5: i64 =
        sqlx::query_scalar("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetch_one(&pool).await.expect("option");
    assert_eq!(fts5, 1);
    let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE name = 'invoices_fts'")
        .fetch_one(&pool)
        .await
        .expect("the index table");
    assert!(sql.contains("trigram"), "{sql}");
}

#[tokio::test]
async fn a_search_matches_exactly_what_the_like_scan_matched() {
    let (_dir, pool) = database().await;
    let written = invoices();
    upsert_page(&pool, &written, 1).await.expect("write");
    for term in TERMS {
        assert_same_as_like(&pool, &written, term).await;
    }
    // the cases the index could get wrong do match, and only where LIKE does
    let found = |term: &'static str| {
        let pool = pool.clone();
        async move { like_matches(&pool, term).await.len() }
    };
    assert_eq!(found("üll").await, 6, "the middle of Müller and MÜLLER, any case");
    assert_eq!(found("\"quoted\"").await, 3, "quotes are text, not FTS5 syntax");
    assert_eq!(found("0% c").await, 3, "% is literal");
    assert_eq!(found("STRASSE").await, 3, "no ß = ss folding: Straße is not STRASSE");
    assert_eq!(found("ΚΟΣ").await, 0, "a final ς is not σ");
    assert_eq!(found("κοσ").await, 3);
}

#[tokio::test]
async fn a_search_with_other_filters_and_pages_agrees_with_like() {
    let (_dir, pool) = database().await;
    let written = invoices();
    upsert_page(&pool, &written, 1).await.expect("write");
    // by pages of 2: the keyset cursor walks the index's matches in order
    for term in ["gmbh", "ller", "c_1"] {
        let mut req = search(term, SortKey::Customer);
        req.limit = Some(2);
        req.filter.currency = Some("JPY".into());
        let mut got = Vec::new();
        loop {
            let page = list(&pool, &req).await.expect("page");
            got.extend(page.rows.iter().map(|r| (r.customer_name.to_lowercase(), r.invoice_no)));
            match page.next {
                Some(next) => req.after = Some(next),
                None => break,
            }
        }
        let mut expected: Vec<(String, i64)> = written
            .iter()
            .filter(|inv| inv.currency.code() == "JPY")
            .filter(|inv| {
                format!("{} {} {}", inv.customer.name, inv.customer.id, inv.invoice_no).to_lowercase().contains(term)
            })
            .map(|inv| (inv.customer.name.to_lowercase(), i64::try_from(inv.invoice_no).expect("small")))
            .collect();
        expected.sort();
        assert!(!expected.is_empty(), "{term}");
        assert_eq!(got, expected, "{term}");
    }
}

#[tokio::test]
async fn the_index_follows_inserts_updates_and_deletes() {
    let (_dir, pool) = database().await;
    let mut written = invoices();
    upsert_page(&pool, &written, 1).await.expect("write");
    // a sync brings a renamed customer: the old name no longer matches, the new one does
    written[0].customer.name = "Meier Logistik".into();
    upsert_page(&pool, &written[..1], 2).await.expect("rewrite");
    // written again unchanged (the trigger skips it): still found
    upsert_page(&pool, &written[1..2], 2).await.expect("rewrite unchanged");
    for term in ["meier", "müller spedition", "mül", "spedition"] {
        assert_same_as_like(&pool, &written, term).await;
    }
    let ids = |term: &'static str| {
        let pool = pool.clone();
        async move {
            list(&pool, &search(term, SortKey::InvoiceNo))
                .await
                .expect("list")
                .rows
                .iter()
                .map(|r| r.invoice_no)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("meier").await, vec![900_001]);
    assert_eq!(ids("spedition").await, vec![900_002, 900_003]);
    sqlx::query("DELETE FROM invoices WHERE invoice_no = 900002").execute(&pool).await.expect("delete");
    assert_eq!(ids("spedition").await, vec![900_003]);
    // the index is consistent with its content table
    sqlx::query("INSERT INTO invoices_fts (invoices_fts, rank) VALUES ('integrity-check', 1)")
        .execute(&pool)
        .await
        .expect("integrity");
}

#[tokio::test]
async fn the_migration_indexes_the_invoices_cached_before_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(crate::environments::DATABASE_FILE);
    let pool = crate::store::open_file(&path, crate::store::Journal::Wal).await.expect("file");
    let before_index = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            crate::store::MIGRATOR.migrations.iter().filter(|m| m.version < 10).cloned().collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before_index.run(&pool).await.expect("migrations up to 0009");
    let written = invoices();
    upsert_page(&pool, &written, 1).await.expect("write");
    crate::store::MIGRATOR.run(&pool).await.expect("0010");
    for term in ["müller", "gmbh", "4587", "京運輸"] {
        assert!(!like_matches(&pool, term).await.is_empty(), "{term}");
        assert_same_as_like(&pool, &written, term).await;
    }
}

#[tokio::test]
async fn the_migration_lists_the_names_and_customers_cached_before_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(crate::environments::DATABASE_FILE);
    let pool = crate::store::open_file(&path, crate::store::Journal::Wal).await.expect("file");
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            crate::store::MIGRATOR.migrations.iter().filter(|m| m.version < 15).cloned().collect(),
        ),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    before.run(&pool).await.expect("migrations up to 0014");
    let written = invoices();
    upsert_page(&pool, &written, 1).await.expect("write");
    crate::store::MIGRATOR.run(&pool).await.expect("0015");
    let names: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM search_names").fetch_one(&pool).await.expect("names");
    assert_eq!(names, i64::try_from(CUSTOMERS.len() - 1).expect("small"), "Nordlicht Freight GmbH twice");
    for term in ["müller", "gmbh", "4587", "京運輸", "c_103", "9000", "gmbh c_10"] {
        assert!(!like_matches(&pool, term).await.is_empty(), "{term}");
        assert_same_as_like(&pool, &written, term).await;
    }
    for table in ["search_names_fts", "search_customers_fts"] {
        sqlx::query(&format!("INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)"))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
    }
}

/// Before: a broad term ("gmbh") read every invoice its trigrams named, row by row, twice (the
/// page and the totals; 29 ms on 100,000 invoices). Now a term that cannot reach the invoice
/// number reads the invoices of the matching names and customers from one covering index, and
/// not `invoices_fts`; a term of digits still asks it.
#[tokio::test]
async fn a_broad_term_reads_names_and_customers_not_every_invoice_row() {
    let (_dir, pool) = database().await;
    upsert_page(&pool, &invoices(), 1).await.expect("write");
    let plan = |term: &'static str, totals: bool| {
        let pool = pool.clone();
        async move {
            let statements = super::statements(&pool, &search(term, SortKey::DueAt)).await.expect("statements");
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {}", statements[usize::from(totals)]))
                    .fetch_all(&pool)
                    .await
                    .expect("plan");
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        }
    };
    for totals in [false, true] {
        let broad = plan("gmbh", totals).await;
        assert!(broad.contains("COVERING INDEX invoices_customer_search"), "{broad}");
        assert!(!broad.contains("invoices_fts VIRTUAL TABLE"), "{broad}");
        let digits = plan("4587", totals).await;
        assert!(digits.contains("invoices_fts VIRTUAL TABLE"), "{digits}");
    }
}

#[test]
fn a_phrase_quotes_the_term_and_doubles_its_quotes() {
    assert_eq!(super::filter::fts_phrase("gmbh"), "\"gmbh\"");
    assert_eq!(super::filter::fts_phrase("o\"b \"\""), "\"o\"\"b \"\"\"\"\"");
}

#[tokio::test]
async fn the_statements_with_literal_values_answer_as_the_list_does() {
    let (_dir, pool) = database().await;
    let written = invoices();
    upsert_page(&pool, &written, 1).await.expect("write");
    for term in ["o'b", "0% c", "\"quoted\"", "mü", "gmbh"] {
        let mut req = search(term, SortKey::Customer);
        req.limit = Some(2);
        req.filter.status = Some("outstanding".into());
        req.after = list(&pool, &req).await.expect("first page").next;
        let page = list(&pool, &req).await.expect("second page");
        let statements = super::statements(&pool, &req).await.expect("statements");
        // the page, and the totals: two shards for a term the trigram indexes answer
        let shards = if term.chars().count() >= 3 { 2 } else { 1 };
        assert_eq!(statements.len(), 1 + shards, "{term:?}");
        let rows: Vec<i64> = sqlx::query_scalar(&statements[0].replace(super::COLUMNS, "invoice_no"))
            .fetch_all(&pool)
            .await
            .unwrap_or_else(|e| panic!("{term:?}: {e}: {}", statements[0]));
        let listed: Vec<i64> = page.rows.iter().map(|r| r.invoice_no).collect();
        assert_eq!(&rows[..rows.len().min(2)], &listed[..], "{term:?}");
        // the shards add up to the list's totals
        let mut counts: std::collections::BTreeMap<String, i64> = std::collections::BTreeMap::new();
        for shard in &statements[1..] {
            let totals: Vec<(String, i64, i64)> =
                sqlx::query_as(shard).fetch_all(&pool).await.unwrap_or_else(|e| panic!("{term:?}: {e}"));
            for (c, n, _) in totals {
                *counts.entry(c).or_default() += n;
            }
        }
        let counts: Vec<(String, i64)> = counts.into_iter().collect();
        let listed: Vec<(String, i64)> =
            page.totals.unwrap_or_default().into_iter().map(|t| (t.currency, t.count)).collect();
        assert_eq!(counts, listed, "{term:?}");
    }
}

#[tokio::test]
async fn a_suspended_index_is_not_read_and_its_rebuild_holds_what_was_written_meanwhile() {
    let (_dir, pool) = database().await;
    let mut written = invoices();
    upsert_page(&pool, &written[..10], 1).await.expect("write");
    // a full sync suspends the index and rewrites rows: searches scan meanwhile, and find them
    super::search_index::suspend(&pool).await.expect("suspend");
    assert!(!super::search_index::live(&pool).await.expect("live"));
    written[0].customer.name = "Meier Logistik".into();
    upsert_page(&pool, &written, 2).await.expect("rewrite while suspended");
    for term in ["meier", "müller spedition", "nordlicht", "gmbh"] {
        assert_same_as_like(&pool, &written, term).await;
    }
    // its end rebuilds the index from the table: live again, and consistent
    super::search_index::rebuild(&pool).await.expect("rebuild");
    assert!(super::search_index::live(&pool).await.expect("live"));
    sqlx::query("INSERT INTO invoices_fts (invoices_fts, rank) VALUES ('integrity-check', 1)")
        .execute(&pool)
        .await
        .expect("integrity");
    for term in ["meier", "müller spedition", "nordlicht", "gmbh", "ab"] {
        assert_same_as_like(&pool, &written, term).await;
    }
    // a process that stopped mid-sync left it suspended: the next sync's repair rebuilds it
    super::search_index::suspend(&pool).await.expect("suspend");
    written[1].customer.name = "Weber Cargo".into();
    upsert_page(&pool, &written[1..2], 3).await.expect("rewrite");
    super::search_index::repair(&pool).await.expect("repair");
    assert!(super::search_index::live(&pool).await.expect("live"));
    assert_same_as_like(&pool, &written, "weber").await;
}

/// A search that matches densely enough finds its page by due date by walking
/// `invoices_status_due` in its order (migration 0016): page after page, either way, it lists
/// exactly the LIKE's matches in the list's order.
#[tokio::test]
async fn a_dense_search_walks_the_due_date_order_and_lists_the_same_pages() {
    let (_dir, pool) = database().await;
    upsert_page(&pool, &invoices(), 1).await.expect("write");
    for descending in [false, true] {
        for term in ["gmbh", "nordlicht", "c_1", "9000", "ller", "cargo", "zzz"] {
            let mut req = search(term, SortKey::DueAt);
            req.filter.status = Some("outstanding".into());
            req.descending = descending;
            req.limit = Some(1);
            let walks =
                super::statements(&pool, &req).await.expect("statements")[0].contains("INDEXED BY invoices_status_due");
            let mut got = Vec::new();
            loop {
                let page = list(&pool, &req).await.expect("page");
                assert_eq!(
                    page.total_count,
                    Some(i64::try_from(like_matches(&pool, term).await.len()).expect("small"))
                );
                got.extend(page.rows.iter().map(|r| r.invoice_no));
                match page.next {
                    Some(next) => req.after = Some(next),
                    None => break,
                }
            }
            let order = if descending { "DESC" } else { "ASC" };
            let expected: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT invoice_no FROM invoices WHERE search_text LIKE ? ESCAPE '\\' AND status = 'outstanding' \
                 ORDER BY due_key {order}, invoice_no {order}"
            ))
            .bind(format!("%{term}%"))
            .fetch_all(&pool)
            .await
            .expect("like");
            assert_eq!(got, expected, "{term} (descending: {descending}, walks: {walks})");
            // nine of the 60 invoices hold "gmbh": 9 x 9 >= 1 x 60
            if term == "gmbh" {
                assert!(walks, "{term}");
            }
        }
    }
}
