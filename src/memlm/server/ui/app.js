/* memlm inspector: the core (DOM helper, the /v1 client, sign-in, the hash router).
 * The API key lives in sessionStorage only (gone when the tab closes) and is sent as the
 * bearer token; it never goes into a URL or a cookie. Every text from the API is put into
 * the page as text nodes (never as HTML). */
"use strict";

const KEY_SLOT = "memlm.apiKey";

const UI = {
  pages: {},  // route name -> async function (params, main) filled in by pages.js
};

/* h("p", {class: "x", onclick: fn}, "text", child...) -> Element. Strings become text nodes. */
function h(tag, attrs, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function apiKey() { return sessionStorage.getItem(KEY_SLOT); }

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/* One /v1 call: JSON in and out, the key as the bearer token; errors as ApiError(status, message). */
async function api(method, path, {query, body, raw} = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value === null || value === undefined || value === "") continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, v);
  }
  const headers = {"Authorization": "Bearer " + (apiKey() || "")};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                 credentials: "omit", cache: "no-store"});
  } catch (err) {
    throw new ApiError(0, "the server cannot be reached (" + err.message + ")");
  }
  if (!response.ok) {
    let message = response.status + " " + response.statusText;
    try { message = (await response.json()).error.message || message; } catch (e) { /* not JSON */ }
    if (response.status === 401) { signOut(); }
    throw new ApiError(response.status, message);
  }
  return raw ? response : response.json();
}

function say(message, kind) {
  const status = document.getElementById("status");
  status.textContent = message || "";
  status.className = "status" + (kind ? " " + kind : "");
}

function signOut() {
  sessionStorage.removeItem(KEY_SLOT);
  showTenant();
  if (!location.hash.startsWith("#/signin")) location.hash = "#/signin";
}

function showTenant() {
  document.getElementById("tenant").textContent = apiKey() ? "signed in" : "";
  document.getElementById("signout").hidden = !apiKey();
}

/* "#/owner?user_id=ana" -> ["owner", URLSearchParams]; "#/memory/ID" -> ["memory", {id}] */
function parseRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, search] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(search || "");
  if (parts.length > 1) params.set("id", parts.slice(1).join("/"));
  return [parts[0] || "owners", params];
}

/* "#/owner?..." for an owner's scope (user and/or agent), leaving out empty ids */
function link(route, params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) if (value !== null && value !== undefined && value !== "") query.set(name, value);
  const q = query.toString();
  return "#/" + route + (q ? "?" + q : "");
}

function memoryLink(id, label) {
  return h("a", {href: "#/memory/" + encodeURIComponent(id)}, label || id.slice(0, 8));
}

function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toISOString().replace("T", " ").replace(/:\d\d\.\d+Z$|:\d\dZ$/, "") + " UTC";
}

function timeEl(iso) { return iso ? h("time", {datetime: iso}, fmtTime(iso)) : h("span", {class: "muted"}, "—"); }

let rendering = 0;
async function render() {
  const [name, params] = parseRoute();
  const main = document.getElementById("main");
  showTenant();
  if (!apiKey() && name !== "signin") { location.hash = "#/signin"; return; }
  const page = UI.pages[name];
  const ticket = ++rendering;
  main.replaceChildren(h("p", {class: "muted"}, "Loading…"));
  say("");
  try {
    const content = page ? await page(params) : h("p", {}, "No such page.");
    if (ticket !== rendering) return;  // a later navigation won
    main.replaceChildren(content);
    const flash = sessionStorage.getItem("memlm.flash");  // a message a page left before navigating ("Saved")
    if (flash) { sessionStorage.removeItem("memlm.flash"); say(flash, "ok"); }
  } catch (err) {
    if (ticket !== rendering) return;
    main.replaceChildren(h("h1", {tabindex: "-1"}, "Something went wrong"), h("p", {class: "error", role: "alert"}, err.message));
  }
  const heading = main.querySelector("h1");
  if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  document.title = (heading ? heading.textContent + " · " : "") + "memlm inspector";
}

UI.pages.signin = async function () {
  const input = h("input", {id: "key", name: "key", type: "password", autocomplete: "off", required: true,
                            spellcheck: "false", "aria-describedby": "key-help"});
  const error = h("p", {class: "error", role: "alert"});
  const form = h("form", {class: "signin", onsubmit: async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_SLOT, key);
    try {
      await api("GET", "/v1/owners");
      location.hash = "#/";
    } catch (err) {
      sessionStorage.removeItem(KEY_SLOT);
      error.textContent = err.status === 401 ? "This key is not valid (or was revoked)." : err.message;
      input.focus();
    }
  }},
    h("label", {for: "key"}, "API key"), input,
    h("p", {id: "key-help", class: "muted"},
      "A key from ", h("code", {}, "memlm keys create TENANT"),
      ". It stays in this tab (sessionStorage) and is sent only to this server."),
    h("button", {type: "submit"}, "Sign in"), error);
  return h("section", {}, h("h1", {}, "Sign in"), form);
};

window.addEventListener("hashchange", render);
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signout").addEventListener("click", () => signOut());
  render();
});
