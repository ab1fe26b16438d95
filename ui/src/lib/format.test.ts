import { describe, it, expect } from "vitest";
import { groupDigits, day, stamp } from "./format";

describe("format", () => {
  it("groups digits without touching them", () => {
    expect(groupDigits("1234567.50")).toBe("1,234,567.50");
    expect(groupDigits("150000")).toBe("150,000");
    expect(groupDigits("-1000.125")).toBe("-1,000.125");
    expect(groupDigits("0.00")).toBe("0.00");
  });
  it("shows days and stamps, or a dash/never", () => {
    expect(day("2026-12-02T00:00:00Z")).toBe("2026-12-02");
    expect(day(null)).toBe("—");
    expect(stamp("2026-11-20T10:05:00Z")).toBe("2026-11-20 10:05 UTC");
    expect(stamp(undefined)).toBe("never");
  });
});
