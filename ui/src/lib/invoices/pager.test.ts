import { describe, it, expect } from "vitest";
import { Pager, visibleRange, PAGE, MAX_PAGE, type Fetch } from "./pager";

/** A fake keyset source over 0..n-1: the cursor is the last value, as text. */
function source(n: number) {
  const calls: { after: string | undefined; limit: number }[] = [];
  const fetch: Fetch<number> = async (after, limit) => {
    calls.push({ after, limit });
    const start = after === undefined ? 0 : Number(after) + 1;
    const rows = Array.from({ length: Math.max(0, Math.min(limit, n - start)) }, (_, i) => start + i);
    const last = rows.at(-1);
    return { rows, next: last !== undefined && last < n - 1 ? String(last) : null };
  };
  return { fetch, calls };
}

describe("Pager", () => {
  it("loads pages in order and follows the cursor", async () => {
    const { fetch, calls } = source(1000);
    const p = new Pager(fetch);
    await p.ensure(10);
    expect(p.rows.length).toBe(PAGE + 11);
    await p.ensure(600);
    expect(p.rows.slice(0, 601)).toEqual(Array.from({ length: 601 }, (_, i) => i));
    expect(calls[1].after).toBe(String(PAGE + 10));
    expect(p.done).toBe(false);
  });

  it("jumps far ahead in big pages and stops at the end", async () => {
    const { fetch, calls } = source(100_000);
    const p = new Pager(fetch);
    await p.ensure(99_999);
    expect(p.rows.length).toBe(100_000);
    expect(p.rows[99_999]).toBe(99_999);
    expect(p.done).toBe(true);
    expect(calls.every((c) => c.limit <= MAX_PAGE)).toBe(true);
    expect(calls.length).toBe(Math.ceil(100_000 / MAX_PAGE));
    await p.ensure(200_000);
    expect(calls.length).toBe(Math.ceil(100_000 / MAX_PAGE));
  });

  it("never fetches the same page twice when asked concurrently", async () => {
    const { fetch, calls } = source(1000);
    const p = new Pager(fetch);
    await Promise.all([p.ensure(5), p.ensure(5), p.ensure(300)]);
    const afters = calls.map((c) => c.after);
    expect(new Set(afters).size).toBe(afters.length);
    expect(p.rows).toEqual(Array.from({ length: p.rows.length }, (_, i) => i));
  });

  it("starts from a first page already in, and fetches after its cursor", async () => {
    const { fetch, calls } = source(1000);
    const p = new Pager(fetch, { rows: [0, 1, 2], next: "2" });
    expect(p.rows).toEqual([0, 1, 2]);
    expect(p.done).toBe(false);
    await p.ensure(2);
    expect(calls).toEqual([]);
    await p.ensure(3);
    expect(calls[0].after).toBe("2");
    expect(p.rows.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    const last = new Pager(fetch, { rows: [7], next: null });
    await last.ensure(10);
    expect(last.done).toBe(true);
    expect(calls.length).toBe(1);
  });

  it("an empty result is done at once", async () => {
    const p = new Pager(source(0).fetch);
    await p.ensure(50);
    expect(p.rows).toEqual([]);
    expect(p.done).toBe(true);
  });
});

describe("visibleRange", () => {
  it("covers the viewport plus overscan, clamped to the rows there are", () => {
    expect(visibleRange(0, 340, 34, 100_000, 10)).toEqual({ first: 0, last: 20 });
    expect(visibleRange(34 * 5000, 340, 34, 100_000, 10)).toEqual({ first: 4990, last: 5020 });
    expect(visibleRange(34 * 99_995, 340, 34, 100_000, 10)).toEqual({ first: 99_985, last: 99_999 });
    expect(visibleRange(0, 340, 34, 0)).toEqual({ first: 0, last: -1 });
  });
});
