// The keyboard of the app's tables with a row cursor (the invoice list, the batch list, a
// batch's items): each key means the same in every one. Pure functions of the key and the rows;
// the table says what moving, toggling and opening do.

/** The parts of a key event the tables read (a `KeyboardEvent` is one). */
export type KeyLike = { key: string; target?: EventTarget | null; preventDefault?: () => void };

/** Whether a key went to a field being typed in (its keys are the field's, not the table's). */
export function typing(target: EventTarget | null | undefined): boolean {
  const t = target as { tagName?: string; isContentEditable?: boolean } | null | undefined;
  if (!t) return false;
  return t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA" || t.isContentEditable === true;
}

/**
 * How many rows `key` moves the cursor in a table of `count` rows: the arrows one, Home and End
 * to either end, PageUp and PageDown `page` rows (tables without a `page` do not page); null
 * for any other key.
 */
export function rowMove(key: string, count: number, page?: number): number | null {
  switch (key) {
    case "ArrowDown":
      return 1;
    case "ArrowUp":
      return -1;
    case "Home":
      return -count;
    case "End":
      return count;
    case "PageDown":
      return page ?? null;
    case "PageUp":
      return page === undefined ? null : -page;
    default:
      return null;
  }
}

/** The row the cursor lands on: `from` (none: above the first row) moved by `delta`, kept on the rows. */
export function clampRow(from: number | null, delta: number, count: number): number {
  return Math.max(0, Math.min(count - 1, (from ?? -1) + delta));
}

/** What a table does with its keys; a key whose action is not given is left alone. */
export type RowKeys = {
  /** How many rows the table has. */
  count: number;
  /** Where the cursor is (none yet: null). */
  active: number | null;
  /** Rows a PageUp/PageDown moves; without it those keys are left alone. */
  page?: number;
  /** The cursor moved by `delta` rows lands on row `to`. */
  move?: (to: number, delta: number) => void;
  /** Space (and `x` where `x` is true): the cursor's row in or out. */
  toggle?: () => void;
  /** `x` toggles too. */
  x?: boolean;
  /** Enter: opens the cursor's row. */
  open?: () => void;
};

/**
 * Handles `e` for a table with a row cursor: moves, toggles or opens as `keys` says, and
 * prevents the key's default (scrolling, a click on a focused button). Answers whether it did.
 */
export function onRowKey(e: KeyLike, keys: RowKeys): boolean {
  const delta = rowMove(e.key, keys.count, keys.page);
  let act: (() => void) | undefined;
  if (delta !== null && keys.move) {
    const move = keys.move;
    act = () => move(clampRow(keys.active, delta, keys.count), delta);
  } else if (e.key === " " || (e.key === "x" && keys.x)) {
    act = keys.toggle;
  } else if (e.key === "Enter") {
    act = keys.open;
  }
  if (!act) return false;
  e.preventDefault?.();
  act();
  return true;
}

/** Whether `e` takes a screen back to its list: Escape, not typed into a field, nothing `blocked` (a confirmation, a dialog) in the way. */
export function escapesBack(e: KeyLike, blocked: boolean): boolean {
  return e.key === "Escape" && !typing(e.target) && !blocked;
}
