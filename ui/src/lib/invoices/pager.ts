// The rows behind the virtual table, loaded page by page through the keyset query.
// Rows arrive in order; reaching row N loads every page before it (in bigger pages when the
// user jumps far ahead), so the cursor chain is never broken.

export type Page<Row> = { rows: Row[]; next: string | null };
export type Fetch<Row> = (after: string | undefined, limit: number) => Promise<Page<Row>>;

export const PAGE = 200;
export const MAX_PAGE = 5000;

export class Pager<Row> {
  rows: Row[] = [];
  private next: string | undefined = undefined;
  private finished = false;
  private loading: Promise<void> | null = null;

  /** `first`: the first page, already in (the next pages are fetched after its cursor). */
  constructor(
    private readonly fetchPage: Fetch<Row>,
    first?: Page<Row>,
  ) {
    if (first) {
      this.rows = [...first.rows];
      this.next = first.next ?? undefined;
      this.finished = first.next === null || first.rows.length === 0;
    }
  }

  /** True once the last page has arrived. */
  get done(): boolean {
    return this.finished;
  }

  /** Loads pages until row `index` is present (or there are no more). */
  async ensure(index: number): Promise<void> {
    while (!this.finished && this.rows.length <= index) {
      if (this.loading) {
        await this.loading;
        continue;
      }
      const missing = index + 1 - this.rows.length;
      const limit = Math.min(MAX_PAGE, Math.max(PAGE, missing + PAGE));
      this.loading = this.fetchPage(this.next, limit).then((page) => {
        this.rows.push(...page.rows);
        this.next = page.next ?? undefined;
        this.finished = page.next === null || page.rows.length === 0;
      });
      try {
        await this.loading;
      } finally {
        this.loading = null;
      }
    }
  }
}

/** The rows to render for a scroll position: a window around what is visible. */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 10,
): { first: number; last: number } {
  if (total <= 0) return { first: 0, last: -1 };
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(total - 1, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
  return { first, last: Math.max(first - 1, last) };
}
