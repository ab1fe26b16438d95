// Display helpers. Amounts arrive as exact decimal text from Rust; these only add grouping,
// never arithmetic (the UI does not compute money).

/** "1234567.50" -> "1,234,567.50"; keeps every digit as given. */
export function groupDigits(amount: string): string {
  const negative = amount.startsWith("-");
  const body = negative ? amount.slice(1) : amount;
  const [int, frac] = body.split(".");
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (negative ? "-" : "") + grouped + (frac !== undefined ? "." + frac : "");
}

/** "2026-12-02T00:00:00Z" -> "2026-12-02" */
export function day(ts: string | null | undefined): string {
  return ts ? ts.slice(0, 10) : "—";
}

/** "2026-11-20T10:00:00Z" -> "2026-11-20 10:00 UTC" */
export function stamp(ts: string | null | undefined): string {
  return ts ? `${ts.slice(0, 10)} ${ts.slice(11, 16)} UTC` : "never";
}
