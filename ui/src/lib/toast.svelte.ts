// Toasts: errors (with their technical detail one click away) and short notices.
import type { DeskError } from "./bindings/DeskError";

export type Toast = { id: number; kind: "error" | "info"; message: string; detail?: string };

let nextId = 1;
export const toasts = $state<Toast[]>([]);

export function dismiss(id: number) {
  const i = toasts.findIndex((t) => t.id === id);
  if (i >= 0) toasts.splice(i, 1);
}

export function showError(e: DeskError) {
  // the same error twice in a row is shown once
  if (toasts.some((t) => t.kind === "error" && t.message === e.message)) return;
  toasts.push({ id: nextId++, kind: "error", message: e.message, detail: e.detail });
  if (toasts.length > 4) toasts.shift();
}

export function showInfo(message: string) {
  const id = nextId++;
  toasts.push({ id, kind: "info", message });
  setTimeout(() => dismiss(id), 6000);
}
