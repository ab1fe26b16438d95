import { describe, it, expect } from "vitest";
import { click, move, toggleActive, empty } from "./selection";

const keys = [101, 102, 103, 104, 105];
const plain = { shift: false, toggle: false };

describe("selection", () => {
  it("a click selects one row; ctrl-click adds and removes", () => {
    let s = click(empty(), keys, 1, plain);
    expect([...s.selected]).toEqual([102]);
    s = click(s, keys, 3, { shift: false, toggle: true });
    expect([...s.selected].sort()).toEqual([102, 104]);
    s = click(s, keys, 1, { shift: false, toggle: true });
    expect([...s.selected]).toEqual([104]);
  });

  it("shift-click selects the range from the anchor, either way", () => {
    let s = click(empty(), keys, 3, plain);
    s = click(s, keys, 1, { shift: true, toggle: false });
    expect([...s.selected].sort()).toEqual([102, 103, 104]);
    expect(s.anchor).toBe(3);
    s = click(s, keys, 4, { shift: true, toggle: false });
    expect([...s.selected].sort()).toEqual([104, 105]);
  });

  it("arrows move the cursor within bounds; shift+arrow extends", () => {
    let s = move(empty(), keys, 1, keys.length, false);
    expect(s.active).toBe(0);
    s = move(s, keys, -1, keys.length, false);
    expect(s.active).toBe(0);
    s = move(s, keys, 100, keys.length, false);
    expect(s.active).toBe(4);
    s = click(empty(), keys, 1, plain);
    s = move(s, keys, 1, keys.length, true);
    s = move(s, keys, 1, keys.length, true);
    expect([...s.selected].sort()).toEqual([102, 103, 104]);
    expect(s.active).toBe(3);
  });

  it("space toggles the row under the cursor", () => {
    let s = move(empty(), keys, 1, keys.length, false);
    s = toggleActive(s, keys);
    expect([...s.selected]).toEqual([101]);
    s = toggleActive(s, keys);
    expect(s.selected.size).toBe(0);
    expect(toggleActive(empty(), keys)).toEqual(empty());
  });
});
