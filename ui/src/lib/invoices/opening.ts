// The invoice list's opening page and the columns the clerk chose, asked for as soon as the
// script runs (main.ts), before the UI is mounted. The desk reads the opening page ahead while
// the window starts, so its answer comes in a few milliseconds; mounting once it is there lays
// out and paints the first screen once, with its rows, instead of empty and then again.
import { backend } from "../backend";
import { OPENING } from "../bindings/opening";
import type { InvoicePage } from "../bindings/InvoicePage";
import type { ListRequest } from "../bindings/ListRequest";
import { PREFERENCE_KEY } from "./columns";

/** Rows asked for up front: at least the browser's first load (`restart`: 39 rows, in a page of 239). */
export const OPENING_ROWS = 240;
/** The longest the UI waits for those answers before it mounts without them (a first start's migrations, a busy disk). */
export const OPENING_WAIT_MS = 150;

/** How the answers are asked for (the desk's commands; a fake in unit tests). */
export type Asker = {
  list: (request: ListRequest) => Promise<InvoicePage>;
  columns: () => Promise<string | null>;
};

/**
 * Both early answers, once in: what the first screen is rendered from and the UI starts from.
 * `height`: the window's inner height then, which the list's first rows are rendered to fill
 * (the UI measures its list once it runs; 600 px without it).
 */
export type Opening = { page: InvoicePage; columns: string | null; height?: number };

/** The answers asked for early; each is given once, to the first one that can use it. */
export class Early {
  private list: Promise<InvoicePage> | null = null;
  private columns: Promise<string | null> | null = null;
  private asked = false;
  /** The answers, once in (undefined: not yet, or refused). */
  private page: InvoicePage | undefined;
  private saved: string | null | undefined;

  constructor(private readonly asker: Asker) {}

  /**
   * Asks for the opening page and the saved columns (the first call only); resolves, never
   * rejects, once both have answered or after `wait` ms, whichever comes first.
   */
  ask(wait = OPENING_WAIT_MS): Promise<void> {
    if (!this.asked) {
      this.asked = true;
      this.list = this.asker.list({ ...OPENING, limit: OPENING_ROWS });
      this.columns = this.asker.columns();
      this.list.then((p) => (this.page = p)).catch(() => {});
      this.columns.then((c) => (this.saved = c)).catch(() => {});
    }
    const answered = Promise.allSettled([this.list, this.columns]).then(() => {});
    return Promise.race([answered, new Promise<void>((done) => setTimeout(done, wait))]);
  }

  /**
   * Both answers, if both are in (after [`ask`] has resolved): given once, and then neither is
   * given by [`takeOpening`] or [`takeColumns`]. `null`: one is missing, late or refused, and
   * nothing is taken.
   */
  answered(): Opening | null {
    if (!this.list || !this.columns || this.page === undefined || this.saved === undefined) return null;
    this.list = null;
    this.columns = null;
    return { page: this.page, columns: this.saved };
  }

  /**
   * The opening page asked for early, if `request` is the opening request (no cursor, at most
   * [`OPENING_ROWS`] rows); given once. `null`: ask the desk.
   */
  takeOpening(request: ListRequest): Promise<InvoicePage> | null {
    if (!this.list || !isOpening(request)) return null;
    const taken = this.list;
    this.list = null;
    return taken;
  }

  /** The saved columns asked for early (given once), or `null`: ask the desk. */
  takeColumns(): Promise<string | null> | null {
    const taken = this.columns;
    this.columns = null;
    return taken;
  }
}

/** The app's: main.ts asks, the invoice browser takes. */
export const early = new Early({ list: backend.listInvoices, columns: () => backend.getPreference(PREFERENCE_KEY) });

/** Whether `request` asks for what was asked early: the opening request, no cursor, at most [`OPENING_ROWS`] rows. */
export function isOpening(request: ListRequest): boolean {
  const { limit, after, ...rest } = request;
  const { limit: _limit, after: _after, ...opening } = OPENING;
  return (after ?? null) === null && (limit ?? Infinity) <= OPENING_ROWS && canonical(rest) === canonical(opening);
}

/** JSON with sorted keys and without null or undefined members (the desk reads absent and null alike). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([, x]) => x !== null && x !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
