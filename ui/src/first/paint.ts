// The first screen put on the page (loaded by first.ts beside the early answers).
import { renderFirstScreen } from "$first-screen";
import type { Opening } from "../lib/invoices/opening";

/** Puts the first screen in `target`, inert until the UI takes it over; false if it could not be rendered. */
export function paintFirst(target: HTMLElement, opening: Opening): boolean {
  try {
    target.inert = true;
    target.innerHTML = renderFirstScreen(opening);
    return true;
  } catch (e) {
    console.warn("the first screen could not be rendered", e);
    target.replaceChildren();
    target.inert = false;
    return false;
  }
}
