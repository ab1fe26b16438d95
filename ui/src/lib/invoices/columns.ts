// The invoice table's columns and which of them the user chose to see (remembered).

export type ColumnId = "invoice" | "customer" | "outstanding" | "total" | "currency" | "due" | "issued" | "status" | "wallet" | "paypal";

export type Column = { id: ColumnId; label: string; numeric?: boolean; required?: boolean };

export const COLUMNS: Column[] = [
  { id: "invoice", label: "Invoice", required: true },
  { id: "customer", label: "Customer" },
  { id: "outstanding", label: "Outstanding", numeric: true, required: true },
  { id: "total", label: "Total", numeric: true },
  { id: "currency", label: "Cur." },
  { id: "due", label: "Due" },
  { id: "issued", label: "Issued" },
  { id: "status", label: "Status" },
  { id: "wallet", label: "Wallet" },
  { id: "paypal", label: "PayPal" },
];

export const DEFAULT_COLUMNS: ColumnId[] = ["invoice", "customer", "outstanding", "currency", "due", "status", "wallet", "paypal"];

export const PREFERENCE_KEY = "ui.invoice_columns";

/** Reads a saved choice; anything unknown or damaged falls back to the defaults. */
export function parseColumns(saved: string | null | undefined): ColumnId[] {
  if (!saved) return [...DEFAULT_COLUMNS];
  try {
    const ids = JSON.parse(saved);
    if (!Array.isArray(ids)) return [...DEFAULT_COLUMNS];
    const known = new Set<string>(COLUMNS.map((c) => c.id));
    const chosen = ids.filter((id): id is ColumnId => typeof id === "string" && known.has(id));
    for (const c of COLUMNS) if (c.required && !chosen.includes(c.id)) chosen.push(c.id);
    // table order, not click order
    return COLUMNS.map((c) => c.id).filter((id) => chosen.includes(id));
  } catch {
    return [...DEFAULT_COLUMNS];
  }
}

/** Shows or hides one column; required columns stay. */
export function toggleColumn(chosen: ColumnId[], id: ColumnId): ColumnId[] {
  const col = COLUMNS.find((c) => c.id === id);
  if (!col || col.required) return chosen;
  const next = chosen.includes(id) ? chosen.filter((c) => c !== id) : [...chosen, id];
  return COLUMNS.map((c) => c.id).filter((c) => next.includes(c));
}
