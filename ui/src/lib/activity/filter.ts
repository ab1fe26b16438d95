// The Activity view's filter form, checked and turned into the desk's AuditFilter.
import type { AuditFilter } from "../bindings/AuditFilter";

export type ActivityForm = { invoice: string; staff: string; action: string; from: string; to: string };

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export function auditFilter(form: ActivityForm): { filter: AuditFilter } | { error: string } {
  const filter: AuditFilter = {};
  const invoice = form.invoice.trim();
  if (invoice) {
    if (!/^\d{1,15}$/.test(invoice)) return { error: "The invoice number must be digits only." };
    filter.invoiceNo = Number(invoice);
  }
  if (form.staff) filter.staff = form.staff;
  if (form.action) filter.action = form.action;
  for (const key of ["from", "to"] as const) {
    const v = form[key].trim();
    if (!v) continue;
    if (!DAY.test(v)) return { error: `The ${key} date must look like 2026-12-31.` };
    filter[key] = v;
  }
  if (filter.from && filter.to && filter.from > filter.to) return { error: "The from date is after the to date." };
  return { filter };
}
