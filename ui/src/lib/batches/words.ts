// The batch words (generated from Rust) as the clerk reads them: a label and a tone per verdict,
// state and outcome. The Records are exhaustive, so a new word in Rust fails the type check here.
import type { BatchItem } from "../bindings/BatchItem";
import type { BatchState } from "../bindings/BatchState";
import type { ItemOutcome } from "../bindings/ItemOutcome";
import type { Verdict } from "../bindings/Verdict";

export type Tone = "ok" | "warn" | "bad" | "muted";

export const VERDICTS: Record<Verdict, { label: string; tone: Tone }> = {
  ready: { label: "ready", tone: "ok" },
  wallet_shared: { label: "wallet shared", tone: "ok" },
  expiring_soon: { label: "expiring soon", tone: "warn" },
  honour_period_passed: { label: "honour period passed", tone: "warn" },
  wallet_changed: { label: "wallet changed", tone: "warn" },
  amount_differs: { label: "amount differs", tone: "warn" },
  unreachable: { label: "unreachable", tone: "warn" },
  already_paid: { label: "already paid", tone: "muted" },
  not_outstanding: { label: "not outstanding", tone: "muted" },
  not_approved: { label: "not approved", tone: "bad" },
  authorization_expired: { label: "authorization expired", tone: "bad" },
  authorization_voided: { label: "authorization voided", tone: "bad" },
  not_eligible: { label: "not eligible", tone: "bad" },
};

export const STATES: Record<BatchState, { label: string; tone: Tone }> = {
  draft: { label: "draft", tone: "muted" },
  preflighted: { label: "preflighted", tone: "warn" },
  approved: { label: "approved", tone: "ok" },
  running: { label: "running", tone: "ok" },
  paused: { label: "paused", tone: "warn" },
  completed: { label: "completed", tone: "ok" },
  cancelled: { label: "cancelled", tone: "muted" },
};

export const OUTCOMES: Record<ItemOutcome, { label: string; tone: Tone }> = {
  queued: { label: "queued", tone: "muted" },
  running: { label: "running", tone: "warn" },
  pending: { label: "pending", tone: "warn" },
  finalized: { label: "finalized", tone: "ok" },
  rejected: { label: "rejected", tone: "bad" },
  needs_attention: { label: "needs attention", tone: "bad" },
  excluded: { label: "excluded", tone: "muted" },
  cancelled: { label: "cancelled", tone: "muted" },
};

/** What the review's verdict filter can show: everything, one verdict, not yet preflighted, or excluded. */
export type VerdictFilter = "all" | "unchecked" | "excluded" | Verdict;

export function matches(item: BatchItem, filter: VerdictFilter): boolean {
  if (filter === "all") return true;
  if (filter === "excluded") return item.excluded;
  if (filter === "unchecked") return item.verdict === null;
  return item.verdict === filter;
}

/** The filter's choices with how many items each shows (only verdicts present, in VERDICTS' order). */
export function filterChoices(items: BatchItem[]): { value: VerdictFilter; label: string; count: number }[] {
  const out: { value: VerdictFilter; label: string; count: number }[] = [{ value: "all", label: "all", count: items.length }];
  const unchecked = items.filter((i) => i.verdict === null).length;
  if (unchecked > 0) out.push({ value: "unchecked", label: "not preflighted", count: unchecked });
  for (const v of Object.keys(VERDICTS) as Verdict[]) {
    const n = items.filter((i) => i.verdict === v).length;
    if (n > 0) out.push({ value: v, label: VERDICTS[v].label, count: n });
  }
  const excluded = items.filter((i) => i.excluded).length;
  if (excluded > 0) out.push({ value: "excluded", label: "excluded", count: excluded });
  return out;
}

/** Whether the batch's items may still be excluded and included (before its run). */
export const beforeRun = (state: BatchState) => state === "draft" || state === "preflighted" || state === "approved";
