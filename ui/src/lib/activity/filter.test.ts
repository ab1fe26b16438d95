import { describe, it, expect } from "vitest";
import { auditFilter } from "./filter";

const blank = { invoice: "", staff: "", action: "", from: "", to: "" };

describe("activity filter", () => {
  it("an empty form filters nothing", () => {
    expect(auditFilter(blank)).toEqual({ filter: {} });
  });

  it("passes every field through, typed", () => {
    expect(auditFilter({ invoice: " 458732 ", staff: "Ada", action: "capture.finalized", from: "2026-11-01", to: "2026-11-23" })).toEqual({
      filter: { invoiceNo: 458732, staff: "Ada", action: "capture.finalized", from: "2026-11-01", to: "2026-11-23" },
    });
  });

  it("refuses bad input with a clear message", () => {
    expect(auditFilter({ ...blank, invoice: "45a" })).toEqual({ error: "The invoice number must be digits only." });
    expect(auditFilter({ ...blank, from: "23.11.2026" })).toEqual({ error: "The from date must look like 2026-12-31." });
    expect(auditFilter({ ...blank, from: "2026-11-24", to: "2026-11-23" })).toEqual({ error: "The from date is after the to date." });
  });
});
