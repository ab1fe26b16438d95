import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import { early } from "./lib/invoices/opening";

const target = document.getElementById("app");
if (!target) throw new Error("no #app element");
// WebKitGTK: the generic font families only (see app.css)
if (/Linux/.test(navigator.userAgent) && !/Android/.test(navigator.userAgent)) {
  document.documentElement.classList.add("generic-fonts");
}
// the list's opening page is asked for first, and the UI mounted with it (see opening.ts)
early.ask().then(() => mount(App, { target }));
