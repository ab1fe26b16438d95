import { describe, expect, it } from "vitest";
import type { BatchItem } from "../bindings/BatchItem";
import { filterChoices, matches } from "./words";

const item = (invoiceNo: number, over: Partial<BatchItem> = {}): BatchItem => ({
  invoiceNo, position: invoiceNo, currency: "USD", total: "10.00", outstanding: "10.00", excluded: false, verdict: null,
  verdictReason: null, verdictAt: null, walletPart: null, paypalPart: null, journalId: null, captureId: null, outcome: null,
  outcomeReason: null, ...over,
});

describe("the verdict filter", () => {
  const items = [item(1, { verdict: "ready" }), item(2, { verdict: "not_approved", excluded: true }), item(3), item(4, { verdict: "ready" })];

  it("shows one verdict, the unchecked, or the excluded", () => {
    expect(items.filter((i) => matches(i, "ready")).map((i) => i.invoiceNo)).toEqual([1, 4]);
    expect(items.filter((i) => matches(i, "unchecked")).map((i) => i.invoiceNo)).toEqual([3]);
    expect(items.filter((i) => matches(i, "excluded")).map((i) => i.invoiceNo)).toEqual([2]);
    expect(items.filter((i) => matches(i, "all"))).toHaveLength(4);
  });

  it("offers only what is there, with counts", () => {
    expect(filterChoices(items).map((c) => [c.value, c.count])).toEqual([
      ["all", 4], ["unchecked", 1], ["ready", 2], ["not_approved", 1], ["excluded", 1],
    ]);
  });
});
