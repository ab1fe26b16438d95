import { describe, it, expect } from "vitest";
import { Early, isOpening, OPENING_ROWS, type Asker } from "./opening";
import { OPENING } from "../bindings/opening";
import type { InvoicePage } from "../bindings/InvoicePage";
import type { ListRequest } from "../bindings/ListRequest";

const PAGE: InvoicePage = { rows: [], next: "cursor", totals: [], totalCount: 0 } as unknown as InvoicePage;

/** An asker whose answers the test settles; it records what was asked. */
function asker() {
  const asked: ListRequest[] = [];
  let columnsAsked = 0;
  let answerList: (p: InvoicePage) => void = () => {};
  let answerColumns: (v: string | null) => void = () => {};
  const a: Asker = {
    list: (request) => {
      asked.push(request);
      return new Promise((resolve) => (answerList = resolve));
    },
    columns: () => {
      columnsAsked++;
      return new Promise((resolve) => (answerColumns = resolve));
    },
  };
  return {
    a,
    asked,
    columnsAsked: () => columnsAsked,
    answer(page: InvoicePage, columns: string | null) {
      answerList(page);
      answerColumns(columns);
    },
  };
}

const opening = (over: Partial<ListRequest> = {}): ListRequest => ({ ...OPENING, limit: 239, ...over });

describe("isOpening", () => {
  it("is the opening request with no cursor and at most the rows asked for early", () => {
    expect(isOpening(opening())).toBe(true);
    expect(isOpening(opening({ limit: OPENING_ROWS }))).toBe(true);
    expect(isOpening(opening({ limit: OPENING_ROWS + 1 }))).toBe(false);
    expect(isOpening(opening({ limit: undefined }))).toBe(false);
    expect(isOpening(opening({ after: "x" }))).toBe(false);
  });

  it("reads absent and null members alike, in any key order", () => {
    const filter = { search: undefined, currency: null, ...OPENING.filter } as unknown as ListRequest["filter"];
    const reordered = { withTotals: OPENING.withTotals, limit: 10, descending: OPENING.descending, sort: OPENING.sort, filter };
    expect(isOpening(reordered)).toBe(true);
  });

  it("is not another filter, sort, order or a request without totals", () => {
    expect(isOpening(opening({ filter: { ...OPENING.filter, search: "gmbh" } }))).toBe(false);
    expect(isOpening(opening({ filter: { ...OPENING.filter, search: "" } }))).toBe(false);
    expect(isOpening(opening({ filter: {} }))).toBe(false);
    expect(isOpening(opening({ sort: "amount" }))).toBe(false);
    expect(isOpening(opening({ descending: !OPENING.descending }))).toBe(false);
    expect(isOpening(opening({ withTotals: !OPENING.withTotals }))).toBe(false);
  });
});

describe("Early", () => {
  it("asks once for the opening page and the columns, and gives each once", async () => {
    const f = asker();
    const early = new Early(f.a);
    const ready = early.ask(10_000);
    early.ask(10_000);
    expect(f.asked).toEqual([{ ...OPENING, limit: OPENING_ROWS }]);
    expect(f.columnsAsked()).toBe(1);
    f.answer(PAGE, '["invoice"]');
    await ready;
    expect(early.takeOpening(opening({ sort: "amount" }))).toBeNull();
    const page = early.takeOpening(opening());
    expect(page).not.toBeNull();
    expect(await page).toBe(PAGE);
    expect(early.takeOpening(opening())).toBeNull();
    expect(await early.takeColumns()).toBe('["invoice"]');
    expect(early.takeColumns()).toBeNull();
  });

  it("gives nothing before it has asked", () => {
    const early = new Early(asker().a);
    expect(early.takeOpening(opening())).toBeNull();
    expect(early.takeColumns()).toBeNull();
  });

  it("stops waiting after its time, and the answer still reaches the one who takes it", async () => {
    const f = asker();
    const early = new Early(f.a);
    const started = Date.now();
    await early.ask(20);
    expect(Date.now() - started).toBeLessThan(5_000);
    const page = early.takeOpening(opening());
    f.answer(PAGE, null);
    expect(await page).toBe(PAGE);
  });

  it("does not wait on a refusal, and hands the refusal on", async () => {
    const refused = { code: "internal", message: "no" };
    const early = new Early({ list: () => Promise.reject(refused), columns: () => Promise.resolve(null) });
    await early.ask(10_000);
    await expect(early.takeOpening(opening())).rejects.toBe(refused);
  });

  it("gives both answers at once when both are in, and then neither again", async () => {
    const f = asker();
    const early = new Early(f.a);
    expect(early.answered()).toBeNull();
    const ready = early.ask(10_000);
    f.answer(PAGE, '["invoice"]');
    await ready;
    expect(early.answered()).toEqual({ page: PAGE, columns: '["invoice"]' });
    expect(early.answered()).toBeNull();
    expect(early.takeOpening(opening())).toBeNull();
    expect(early.takeColumns()).toBeNull();
  });

  it("gives no pair while an answer is missing, and leaves both to be taken", async () => {
    const f = asker();
    const early = new Early(f.a);
    await early.ask(20);
    expect(early.answered()).toBeNull();
    f.answer(PAGE, null);
    expect(await early.takeOpening(opening())).toBe(PAGE);
    expect(await early.takeColumns()).toBeNull();
  });

  it("gives no pair after a refusal (no saved columns is an answer, a refusal is not)", async () => {
    const refused = { code: "internal", message: "no" };
    const early = new Early({ list: () => Promise.resolve(PAGE), columns: () => Promise.reject(refused) });
    await early.ask(10_000);
    expect(early.answered()).toBeNull();
    expect(await early.takeOpening(opening())).toBe(PAGE);
    await expect(early.takeColumns()).rejects.toBe(refused);
  });
});
