// Multi-selection and the keyboard cursor of the invoice table, as pure functions.

export type Selection = { selected: Set<number>; anchor: number | null; active: number | null };

export const empty = (): Selection => ({ selected: new Set(), anchor: null, active: null });

/** A click on row `index` (whose key is `keys[index]`), with the modifier keys held. */
export function click(s: Selection, keys: number[], index: number, mods: { shift: boolean; toggle: boolean }): Selection {
  const key = keys[index];
  if (key === undefined) return s;
  if (mods.shift && s.anchor !== null) {
    const from = Math.min(s.anchor, index);
    const to = Math.max(s.anchor, index);
    const selected = mods.toggle ? new Set(s.selected) : new Set<number>();
    for (let i = from; i <= to; i++) if (keys[i] !== undefined) selected.add(keys[i]);
    return { selected, anchor: s.anchor, active: index };
  }
  if (mods.toggle) {
    const selected = new Set(s.selected);
    if (selected.has(key)) selected.delete(key);
    else selected.add(key);
    return { selected, anchor: index, active: index };
  }
  return { selected: new Set([key]), anchor: index, active: index };
}

/** Moves the cursor by `delta` rows (clamped); with shift the selection follows from the anchor. */
export function move(s: Selection, keys: number[], delta: number, count: number, shift: boolean): Selection {
  if (count <= 0) return s;
  const from = s.active ?? (delta > 0 ? -1 : count);
  const to = Math.max(0, Math.min(count - 1, from + delta));
  if (shift) {
    const anchor = s.anchor ?? Math.max(0, from);
    return click({ ...s, anchor }, keys, to, { shift: true, toggle: false });
  }
  return { ...s, active: to };
}

/** Space: the active row in or out of the selection. */
export function toggleActive(s: Selection, keys: number[]): Selection {
  if (s.active === null) return s;
  return click(s, keys, s.active, { shift: false, toggle: true });
}
