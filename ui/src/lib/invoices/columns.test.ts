import { describe, it, expect } from "vitest";
import { parseColumns, toggleColumn, DEFAULT_COLUMNS } from "./columns";

describe("column choice", () => {
  it("falls back to the defaults for nothing or damage", () => {
    expect(parseColumns(null)).toEqual(DEFAULT_COLUMNS);
    expect(parseColumns("{not json")).toEqual(DEFAULT_COLUMNS);
    expect(parseColumns('{"a":1}')).toEqual(DEFAULT_COLUMNS);
  });

  it("keeps known columns in table order and always the required ones", () => {
    expect(parseColumns('["paypal","customer","bogus"]')).toEqual(["invoice", "customer", "outstanding", "paypal"]);
  });

  it("toggles optional columns only", () => {
    const without = toggleColumn(DEFAULT_COLUMNS, "wallet");
    expect(without).not.toContain("wallet");
    expect(toggleColumn(without, "wallet")).toEqual(DEFAULT_COLUMNS);
    expect(toggleColumn(DEFAULT_COLUMNS, "outstanding")).toEqual(DEFAULT_COLUMNS);
    expect(toggleColumn(DEFAULT_COLUMNS, "issued")).toContain("issued");
  });
});
