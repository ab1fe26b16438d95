import { describe, it, expect } from "vitest";
import { clampRow, escapesBack, onRowKey, rowMove, typing, type RowKeys } from "./rowkeys";

/** A key press, recording whether its default was prevented. */
function press(key: string, target: unknown = null) {
  const e = { key, target: target as EventTarget | null, prevented: false, preventDefault: () => (e.prevented = true) };
  return e;
}

/** A table of `count` rows recording what the keys did to it. */
function table(count: number, active: number | null, over: Partial<RowKeys> = {}) {
  const did: string[] = [];
  const keys: RowKeys = {
    count,
    active,
    move: (to, delta) => did.push(`move ${delta} to ${to}`),
    toggle: () => did.push("toggle"),
    open: () => did.push("open"),
    ...over,
  };
  return { keys, did };
}

describe("rowkeys", () => {
  it("moves by one, to either end, and by a page only where the table pages", () => {
    expect(rowMove("ArrowDown", 50)).toBe(1);
    expect(rowMove("ArrowUp", 50)).toBe(-1);
    expect(rowMove("Home", 50)).toBe(-50);
    expect(rowMove("End", 50)).toBe(50);
    expect(rowMove("PageDown", 50, 10)).toBe(10);
    expect(rowMove("PageUp", 50, 10)).toBe(-10);
    expect(rowMove("PageDown", 50)).toBeNull();
    expect(rowMove("PageUp", 50)).toBeNull();
    expect(rowMove("a", 50, 10)).toBeNull();
  });

  it("keeps the cursor on the rows; no cursor yet starts above the first row", () => {
    expect(clampRow(3, 1, 10)).toBe(4);
    expect(clampRow(9, 1, 10)).toBe(9);
    expect(clampRow(0, -1, 10)).toBe(0);
    expect(clampRow(5, -10, 10)).toBe(0);
    expect(clampRow(5, 10, 10)).toBe(9);
    expect(clampRow(null, 1, 10)).toBe(0);
    expect(clampRow(null, -1, 10)).toBe(0);
    expect(clampRow(null, 10, 10)).toBe(9);
    // no rows: the cursor stays on row 0
    expect(clampRow(0, 1, 0)).toBe(0);
  });

  it("moves, toggles with Space (and x only where asked) and opens with Enter, preventing the default", () => {
    const { keys, did } = table(20, 4, { page: 5 });
    for (const k of ["ArrowDown", "PageUp", "End", " ", "x", "Enter"]) {
      const e = press(k);
      expect(onRowKey(e, keys)).toBe(k !== "x");
      expect(e.prevented).toBe(k !== "x");
    }
    expect(did).toEqual(["move 1 to 5", "move -5 to 0", "move 20 to 19", "toggle", "open"]);
    const withX = table(20, 4, { x: true });
    expect(onRowKey(press("x"), withX.keys)).toBe(true);
    expect(withX.did).toEqual(["toggle"]);
  });

  it("leaves alone a key whose action the table does not give, and every other key", () => {
    const { keys, did } = table(3, 0, { toggle: undefined, open: undefined });
    for (const k of [" ", "Enter", "Escape", "b", "PageDown"]) {
      const e = press(k);
      expect(onRowKey(e, keys)).toBe(false);
      expect(e.prevented).toBe(false);
    }
    expect(did).toEqual([]);
  });

  it("tells typing in a field apart, and takes Escape back only outside fields with nothing in the way", () => {
    expect(typing({ tagName: "INPUT" } as unknown as EventTarget)).toBe(true);
    expect(typing({ tagName: "SELECT" } as unknown as EventTarget)).toBe(true);
    expect(typing({ tagName: "TEXTAREA" } as unknown as EventTarget)).toBe(true);
    expect(typing({ tagName: "DIV", isContentEditable: true } as unknown as EventTarget)).toBe(true);
    expect(typing({ tagName: "TABLE", isContentEditable: false } as unknown as EventTarget)).toBe(false);
    expect(typing(null)).toBe(false);
    expect(escapesBack(press("Escape", { tagName: "TABLE" }), false)).toBe(true);
    expect(escapesBack(press("Escape", { tagName: "INPUT" }), false)).toBe(false);
    expect(escapesBack(press("Escape", null), true)).toBe(false);
    expect(escapesBack(press("Enter", null), false)).toBe(false);
  });
});
