/* memlm inspector: the pages (owners, an owner, a session, search, a memory). */
"use strict";

const KINDS = ["episode", "fact", "summary"];
const PAGE = 50;

function scopeOf(params) {
  return {user_id: params.get("user_id") || null, agent_id: params.get("agent_id") || null};
}

function ownerName(o) {
  return [o.user_id ? "user " + o.user_id : null, o.agent_id ? "agent " + o.agent_id : null].filter(Boolean).join(" · ");
}

function countCells(c) {
  return [h("td", {class: "num"}, c.episode), h("td", {class: "num"}, c.fact), h("td", {class: "num"}, c.summary),
          h("td", {class: "num"}, c.superseded)];
}

/* ---- owners ------------------------------------------------------------------------------ */
UI.pages.owners = async function () {
  const data = await api("GET", "/v1/owners");
  const rows = data.owners.map((o) => h("tr", {},
    h("th", {scope: "row"}, h("a", {href: link("owner", {user_id: o.user_id, agent_id: o.agent_id})}, ownerName(o) || "(none)")),
    countCells(o.counts), h("td", {class: "num"}, o.sessions), h("td", {}, timeEl(o.first_at)), h("td", {}, timeEl(o.last_at))));
  return h("section", {},
    h("h1", {}, "Users and agents"),
    h("p", {class: "muted"}, `${data.owners.length} owner${data.owners.length === 1 ? "" : "s"} in this tenant` +
      (data.truncated ? " (the most recently active are listed)" : "") + "."),
    data.owners.length ? h("table", {class: "grid-table", id: "owners"},
      h("caption", {class: "sr-only"}, "Owners with their memory counts"),
      h("thead", {}, h("tr", {}, ["owner", "episodes", "facts", "summaries", "superseded", "sessions", "first", "last"]
        .map((x, i) => h("th", {scope: "col", class: i >= 1 && i <= 5 ? "num" : null}, x)))),
      h("tbody", {}, rows)) : h("p", {}, "Nothing is remembered in this tenant yet."));
};

/* ---- filters + memory table (owner and session pages) ---------------------------------------- */
function filterForm(params, onApply) {
  const kinds = params.getAll("kind");
  const boxes = KINDS.map((k) => h("label", {class: "check"},
    h("input", {type: "checkbox", name: "kind", value: k, checked: kinds.includes(k)}), k));
  const field = (name, label, type) => h("label", {}, label,
    h("input", {name, type: type || "text", value: params.get(name) || "", placeholder: type === "text" ? "" : "YYYY-MM-DD"}));
  const form = h("form", {class: "filters", "aria-label": "Filter memories", onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(form);
    onApply({kind: data.getAll("kind"), since: data.get("since"), until: data.get("until"), text: data.get("text"),
             include_superseded: data.get("include_superseded") || ""});
  }},
    h("fieldset", {}, h("legend", {}, "Kind"), boxes),
    field("since", "From", "search"), field("until", "Until", "search"), field("text", "Text contains", "text"),
    h("label", {class: "check"}, h("input", {type: "checkbox", name: "include_superseded", value: "true",
      checked: params.get("include_superseded") === "true"}), "superseded facts too"),
    h("button", {type: "submit"}, "Apply"));
  return form;
}

function memoryTable(memories, {showSession} = {}) {
  return h("table", {class: "grid-table memories"},
    h("caption", {class: "sr-only"}, "Memories"),
    h("thead", {}, h("tr", {}, ["kind", "when", "speaker", ...(showSession ? ["session"] : []), "text", "strength"]
      .map((x) => h("th", {scope: "col"}, x)))),
    h("tbody", {}, memories.map((m) => h("tr", {class: "kind-" + m.kind + (m.valid_to ? " superseded" : "")},
      h("td", {}, h("span", {class: "tag tag-" + m.kind}, m.kind)),
      h("td", {class: "nowrap"}, timeEl(m.occurred_at || m.created_at)),
      h("td", {}, m.role || ""),
      showSession ? h("td", {class: "nowrap"}, m.session_id || "") : null,
      h("td", {}, memoryLink(m.id, m.text)),
      h("td", {class: "strength nowrap", title: recallsText(m)}, fmtStrength(m.strength))))));
}

/* Strength (recalls into a context, decaying; read-only, from the server) and its recall count. */
function fmtStrength(s) { return typeof s === "number" ? s.toFixed(2) : "—"; }
function recallsText(m) {
  const n = m.recall_count || 0;
  return n === 0 ? "never recalled into a context" : `recalled ${n} time${n === 1 ? "" : "s"} into a context`;
}

async function browseSection(scope, params, baseRoute) {
  const query = {...scope, session_id: params.get("session_id"), kind: params.getAll("kind"), since: params.get("since"),
                 until: params.get("until"), text: params.get("text"), include_superseded: params.get("include_superseded"),
                 limit: PAGE, offset: params.get("offset") || 0};
  const data = await api("GET", "/v1/browse", {query});
  const go = (changes) => {
    const next = {...Object.fromEntries(params.entries()), ...changes};
    delete next.id;
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) for (const x of Array.isArray(v) ? v : [v]) if (x) q.append(k, x);
    location.hash = "#/" + baseRoute + "?" + q.toString();
  };
  const nav = h("nav", {class: "pager", "aria-label": "Pages"},
    data.offset > 0 ? h("button", {type: "button", onclick: () => go({offset: String(Math.max(0, data.offset - PAGE))})}, "← Earlier") : null,
    h("span", {class: "muted"}, data.memories.length ? `${data.offset + 1}–${data.offset + data.memories.length}` : "none"),
    data.next_offset !== null ? h("button", {type: "button", onclick: () => go({offset: String(data.next_offset)})}, "Later →") : null);
  return h("section", {"aria-labelledby": "memories-h"},
    h("h2", {id: "memories-h"}, "Memories"),
    filterForm(params, (f) => go({...f, offset: ""})),
    data.scanned_all ? null : h("p", {class: "muted"}, "The text filter stopped after scanning the first rows; narrow it by kind or time."),
    data.memories.length ? memoryTable(data.memories, {showSession: !params.get("session_id")}) : h("p", {}, "No memory matches."),
    nav);
}

/* ---- an owner ------------------------------------------------------------------------------ */
UI.pages.owner = async function (params) {
  const scope = scopeOf(params);
  const [sessions, timeline, browse] = await Promise.all([
    api("GET", "/v1/sessions", {query: scope}),
    api("GET", "/v1/timeline", {query: {...scope, bucket: params.get("bucket") || "auto"}}),
    browseSection(scope, params, "owner"),
  ]);
  const name = ownerName(scope);
  const total = sessions.sessions.reduce((s, x) => s + x.counts.total, 0);
  const sessionRows = sessions.sessions.map((s) => h("tr", {},
    h("th", {scope: "row"}, s.session_id === null ? h("span", {class: "muted"}, "(no session)") :
      h("a", {href: link("session", {...scope, session_id: s.session_id})}, s.session_id)),
    countCells(s.counts), h("td", {}, timeEl(s.first_at)), h("td", {}, timeEl(s.last_at))));
  const bucketNav = h("p", {class: "buckets"}, "Per: ", ["day", "month", "year"].map((b) =>
    h("a", {href: link("owner", {...scope, bucket: b}), "aria-current": timeline.bucket === b ? "page" : null}, b)));
  return h("section", {},
    h("h1", {}, name),
    h("p", {class: "actions"},
      h("a", {class: "button", href: link("search", scope)}, "Search these memories"),
      h("button", {type: "button", id: "export", onclick: () => exportJsonl(scope)}, "Export as JSONL")),
    h("p", {}, `${total} current memories in ${sessions.sessions.length} session${sessions.sessions.length === 1 ? "" : "s"}.`),
    h("section", {"aria-labelledby": "chart-h"}, h("h2", {id: "chart-h"}, "Memories over time"), bucketNav,
      timeline.periods.length ? timelineChart(timeline.periods, KINDS, "Memories per " + timeline.bucket + " and kind") : h("p", {}, "No memories.")),
    h("section", {"aria-labelledby": "sessions-h"}, h("h2", {id: "sessions-h"}, "Sessions"),
      sessions.sessions.length ? h("table", {class: "grid-table", id: "sessions"},
        h("caption", {class: "sr-only"}, "Sessions with their memory counts"),
        h("thead", {}, h("tr", {}, ["session", "episodes", "facts", "summaries", "superseded", "first", "last"]
          .map((x, i) => h("th", {scope: "col", class: i >= 1 && i <= 4 ? "num" : null}, x)))),
        h("tbody", {}, sessionRows)) : h("p", {}, "No sessions.")),
    browse,
    forgetSection(scope, name));
};

async function exportJsonl(scope) {
  say("Exporting…");
  const response = await api("GET", "/v1/export", {query: scope, raw: true});
  const count = response.headers.get("X-Memlm-Count");
  const blob = await response.blob();
  const a = h("a", {href: URL.createObjectURL(blob), download: `memlm-${scope.user_id || scope.agent_id}.jsonl`});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  say(`Exported ${count} memories.`, "ok");
}

function forgetSection(scope, name) {
  const expected = scope.user_id || scope.agent_id;
  const input = h("input", {id: "forget-confirm", type: "text", autocomplete: "off", spellcheck: "false"});
  const button = h("button", {type: "submit", class: "danger", disabled: true}, "Forget everything");
  input.addEventListener("input", () => { button.disabled = input.value !== expected; });
  const form = h("form", {class: "danger-zone", onsubmit: async (e) => {
    e.preventDefault();
    if (input.value !== expected) return;
    const out = await api("DELETE", "/v1/memories", {query: scope});
    sessionStorage.setItem("memlm.flash", `Forgot ${name}: ${out.deleted} memories erased.`);
    location.hash = "#/";
  }},
    h("p", {}, `This erases every memory of ${name}` + (scope.user_id && scope.agent_id ? "" :
      scope.user_id ? " (with any agent)" : " (with any user)") + ", with its vectors and history. It cannot be undone."),
    h("label", {for: "forget-confirm"}, `Type ${expected} to confirm`), input, button);
  return h("section", {"aria-labelledby": "forget-h"}, h("h2", {id: "forget-h"}, "Forget " + name), form);
}

/* ---- a session ----------------------------------------------------------------------------- */
UI.pages.session = async function (params) {
  const scope = {...scopeOf(params), session_id: params.get("session_id")};
  const all = [];
  for (let offset = 0; offset !== null && all.length < 5000;) {  // a session is small; its turns in order
    const page = await api("GET", "/v1/memories", {query: {...scope, limit: 1000, offset}});
    all.push(...page.memories);
    offset = page.next_offset;
  }
  const turns = all.filter((m) => m.kind === "episode");
  const facts = all.filter((m) => m.kind === "fact");
  const summaries = all.filter((m) => m.kind === "summary");
  const timeline = h("ol", {class: "timeline", id: "turns"}, turns.map((m) => h("li", {class: "turn"},
    h("div", {class: "turn-head"}, h("strong", {class: "speaker"}, m.role || "(no speaker)"), " ", timeEl(m.occurred_at || m.created_at)),
    h("p", {class: "turn-text"}, memoryLink(m.id, m.text)))));
  const browse = await browseSection(scopeOf(params), params, "session");
  return h("section", {},
    h("h1", {}, "Session " + scope.session_id),
    h("p", {}, h("a", {href: link("owner", scopeOf(params))}, "← " + ownerName(scope)), " · ",
      h("a", {href: link("search", scope)}, "Search this session")),
    h("section", {"aria-labelledby": "summary-h"}, h("h2", {id: "summary-h"}, "Summary"),
      summaries.length ? summaries.map((m) => h("p", {class: "summary"}, memoryLink(m.id, m.text))) : h("p", {class: "muted"}, "No summary yet.")),
    h("div", {class: "two-col"},
      h("section", {"aria-labelledby": "turns-h"}, h("h2", {id: "turns-h"}, `Turns (${turns.length})`),
        turns.length ? timeline : h("p", {class: "muted"}, "No turns.")),
      h("section", {"aria-labelledby": "facts-h"}, h("h2", {id: "facts-h"}, `Facts (${facts.length})`),
        facts.length ? h("ul", {class: "facts"}, facts.map((m) => h("li", {}, memoryLink(m.id, m.text)))) : h("p", {class: "muted"}, "No facts."))),
    browse);
};

const REASONS = [
  ["score", "the reported relevance in [0, 1]: 0.5 is about four standard deviations above the owner's average memory"],
  ["dense", "cosine similarity of the query's and the memory's embeddings"],
  ["lexical", "BM25 of the query's words, divided by the best match's"],
  ["context", "evidence from the neighbouring turns of the same session (hatched when it counts against)"],
  ["speaker", "the question names this memory's speaker"],
  ["time", "the memory falls in the time the question names"],
  ["hop", "the second pass (hops=2), conditioned on what the first found"],
];

/* ---- search ------------------------------------------------------------------------------- */
UI.pages.search = async function (params) {
  const v = (name, fallback) => params.get(name) || fallback || "";
  const field = (name, label, attrs) => h("label", {}, label, h("input", {...(attrs || {}), name, value: v(name, attrs && attrs.value)}));
  const form = h("form", {class: "search-form", role: "search", onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const q = new URLSearchParams();
    for (const [k, x] of data.entries()) if (x) q.append(k, x);
    location.hash = "#/search?" + q.toString();
  }},
    h("label", {class: "wide"}, "Query", h("input", {name: "q", id: "q", type: "search", value: v("q"), required: true})),
    field("user_id", "User"), field("agent_id", "Agent"), field("session_id", "Session"),
    field("k", "Hits (k)", {type: "number", min: 1, max: 100, value: "10"}),
    field("budget", "Context budget (tokens)", {type: "number", min: 1, max: 100000, value: "500"}),
    h("label", {}, "Hops", h("select", {name: "hops"}, ["", "1", "2"].map((x) =>
      h("option", {value: x, selected: v("hops") === x}, x || "default")))),
    field("neighbors", "Neighbouring turns", {type: "number", min: 0, max: 5, value: "0"}),
    field("since", "From", {placeholder: "YYYY-MM-DD"}), field("until", "Until", {placeholder: "YYYY-MM-DD"}),
    h("fieldset", {}, h("legend", {}, "Kinds"), KINDS.map((k) => h("label", {class: "check"},
      h("input", {type: "checkbox", name: "kind", value: k, checked: params.getAll("kind").includes(k)}), k))),
    h("label", {class: "check"}, h("input", {type: "checkbox", name: "include_superseded", value: "true",
      checked: params.get("include_superseded") === "true"}), "superseded facts too"),
    h("button", {type: "submit"}, "Search"));
  const page = h("section", {}, h("h1", {}, "Search as recall does"), form);
  const query = params.get("q");
  if (!query) return page;
  if (!params.get("user_id") && !params.get("agent_id")) {
    page.append(h("p", {class: "error", role: "alert"}, "Give a user or an agent to search in."));
    return page;
  }
  const scope = {user_id: params.get("user_id") || undefined, agent_id: params.get("agent_id") || undefined,
                 session_id: params.get("session_id") || undefined};
  const k = Number(v("k", "10"));
  const kinds = params.getAll("kind");
  const started = performance.now();
  const [search, context] = await Promise.all([
    api("POST", "/v1/memories/search", {body: {query, ...scope, k, hops: params.get("hops") ? Number(params.get("hops")) : undefined,
      kinds: kinds.length ? kinds : undefined, since: params.get("since") || undefined, until: params.get("until") || undefined,
      neighbors: Number(v("neighbors", "0")), include_superseded: params.get("include_superseded") === "true"}}),
    api("POST", "/v1/context", {body: {query, ...scope, k, budget_tokens: Number(v("budget", "500")),
                                       count_recall: false}}),  // looking does not make a memory stronger
  ]);
  const elapsed = performance.now() - started;
  const hits = search.results;
  const list = h("ol", {class: "hits", id: "hits"}, hits.map((hit, i) => h("li", {class: "hit"},
    h("div", {class: "hit-head"},
      h("span", {class: "rank"}, "#" + (i + 1)),
      h("span", {class: "score", "data-score": hit.score}, "score " + hit.score.toFixed(3)),
      h("span", {class: "tag tag-" + hit.memory.kind}, hit.memory.kind),
      hit.memory.role ? h("span", {class: "speaker"}, hit.memory.role) : null,
      timeEl(hit.memory.occurred_at || hit.memory.created_at)),
    h("p", {class: "hit-text"}, memoryLink(hit.memory.id, hit.memory.text)),
    hit.context.length ? h("ul", {class: "neighbours", "aria-label": "turns around it"}, hit.context.map((c) =>
      h("li", {}, h("strong", {}, (c.role || c.kind) + ": "), memoryLink(c.id, c.text)))) : null,
    h("div", {class: "reasons", "aria-label": "why it was recalled"},
      bar("score", hit.score), Object.entries(hit.reasons).map(([name, value]) => bar(name, value))))));
  page.append(
    h("p", {class: "muted", id: "search-stats"}, `${hits.length} hits; search and context took ${elapsed.toFixed(0)} ms.`),
    h("div", {class: "two-col"},
      h("section", {"aria-labelledby": "hits-h"}, h("h2", {id: "hits-h"}, "Ranked hits"),
        h("details", {class: "explain"}, h("summary", {}, "What the bars mean"), h("dl", {class: "facts-list"},
          REASONS.map(([k, x]) => [h("dt", {}, k), h("dd", {}, x)]))),
        hits.length ? list : h("p", {}, "Nothing recalled.")),
      h("div", {},
        h("section", {"aria-labelledby": "dist-h"}, h("h2", {id: "dist-h"}, "Score distribution"),
          scoreHistogram(hits.map((x) => x.score), "Scores of the hits")),
        h("section", {"aria-labelledby": "ctx-h"}, h("h2", {id: "ctx-h"}, "Context block"),
          h("p", {id: "ctx-tokens"}, `${context.tokens} tokens (budget ${v("budget", "500")}), ${context.working.length} session turns, ${context.recalled.length} recalled memories.`),
          h("pre", {class: "context", id: "context", tabindex: "0"}, context.text)))));
  return page;
};

/* ---- a memory ------------------------------------------------------------------------------ */
const KNOWN_FIELDS = new Set(["id", "kind", "text", "user_id", "agent_id", "session_id", "role", "created_at",
  "updated_at", "occurred_at", "metadata", "source_ids", "tenant", "valid_to", "superseded_by", "strength",
  "recall_count", "last_recalled_at"]);

/* Any field this page does not know yet (a newer server's): shown as it comes. */
function lifecycleRows(m) {
  return Object.keys(m).filter((name) => !KNOWN_FIELDS.has(name)).map((name) =>
    [name, typeof m[name] === "object" && m[name] !== null ? JSON.stringify(m[name]) : String(m[name])]);
}

UI.pages.memory = async function (params) {
  const id = params.get("id");
  const [m, history] = await Promise.all([api("GET", "/v1/memories/" + encodeURIComponent(id)),
                                          api("GET", "/v1/memories/" + encodeURIComponent(id) + "/history")]);
  const sources = await Promise.all(m.source_ids.map((sid) =>
    api("GET", "/v1/memories/" + encodeURIComponent(sid)).catch(() => ({id: sid, missing: true}))));
  const owner = {user_id: m.user_id, agent_id: m.agent_id};
  const dl = (rows) => h("dl", {class: "facts-list"}, rows.filter(Boolean).map(([k, x]) => [h("dt", {}, k), h("dd", {}, x)]));
  const textArea = h("textarea", {id: "edit-text", name: "text", rows: 4, required: true}, m.text);
  const editForm = h("form", {class: "edit", onsubmit: async (e) => {
    e.preventDefault();
    await api("PATCH", "/v1/memories/" + encodeURIComponent(id), {body: {text: textArea.value}});
    sessionStorage.setItem("memlm.flash", "Saved: the old text is in the history.");
    render();
  }}, h("label", {for: "edit-text"}, "Text"), textArea, h("button", {type: "submit"}, "Save"));
  const expiresAt = m.metadata && m.metadata.expires_at ? new Date(m.metadata.expires_at) : null;
  const expired = expiresAt !== null && expiresAt <= new Date();
  const expiryInput = h("input", {id: "expire-at", name: "expires_at", type: "datetime-local", required: true,
                                  "aria-describedby": "expire-help"});
  const expireForm = h("form", {class: "edit", id: "expire-form", onsubmit: async (e) => {
    e.preventDefault();
    const when = new Date(expiryInput.value);
    if (isNaN(when.getTime())) { expiryInput.focus(); return; }
    await api("PATCH", "/v1/memories/" + encodeURIComponent(id), {body: {text: m.text, expires_at: when.toISOString()}});
    sessionStorage.setItem("memlm.flash", when <= new Date() ? "Expired: the memory has left recall and listings."
      : "Expiry set.");
    render();
  }}, h("label", {for: "expire-at"}, "Expire at"), expiryInput,
    h("p", {id: "expire-help", class: "muted"}, "Your local time. From then on the memory is hidden from recall and " +
      "listings; POST /v1/memories/purge deletes it."),
    h("button", {type: "submit"}, "Expire"));
  const confirmBox = h("div", {class: "confirm", hidden: true, role: "group", "aria-label": "Confirm deletion"},
    h("p", {}, "Delete this memory? Its text leaves recall at once."),
    h("button", {type: "button", class: "danger", id: "delete-yes", onclick: async () => {
      await api("DELETE", "/v1/memories/" + encodeURIComponent(id));
      sessionStorage.setItem("memlm.flash", "Deleted the memory.");
      location.hash = link("owner", owner);
    }}, "Yes, delete"),
    h("button", {type: "button", class: "quiet", onclick: () => { confirmBox.hidden = true; }}, "Cancel"));
  return h("article", {},
    h("h1", {}, m.kind.charAt(0).toUpperCase() + m.kind.slice(1) + " " + m.id.slice(0, 8)),
    h("p", {class: "memory-text", id: "memory-text"}, m.text),
    expired ? h("p", {class: "error", id: "expired-note"}, "Expired: hidden from recall and listings until purged.") : null,
    dl([
      ["kind", h("span", {class: "tag tag-" + m.kind}, m.kind)],
      ["owner", h("a", {href: link("owner", owner)}, ownerName(owner))],
      m.session_id ? ["session", h("a", {href: link("session", {...owner, session_id: m.session_id})}, m.session_id)] : null,
      m.role ? ["speaker", m.role] : null,
      ["happened", timeEl(m.occurred_at)], ["stored", timeEl(m.created_at)], ["last changed", timeEl(m.updated_at)],
      m.valid_to ? ["superseded at", timeEl(m.valid_to)] : null,
      m.superseded_by ? ["superseded by", memoryLink(m.superseded_by)] : null,
      ["expires", expiresAt ? h("span", {id: "expiry"}, timeEl(m.metadata.expires_at), " ",
        expired ? h("span", {class: "tag tag-expired"}, "expired") : null) : h("span", {id: "expiry", class: "muted"}, "never")],
      ["strength", h("span", {id: "strength"}, h("strong", {}, fmtStrength(m.strength)), " ",
        h("span", {class: "muted", id: "recalls"}, recallsText(m)))],
      ["last recalled", h("span", {id: "last-recalled"}, timeEl(m.last_recalled_at))],
      ...lifecycleRows(m),
      ["id", h("code", {}, m.id)],
    ]),
    h("section", {"aria-labelledby": "meta-h"}, h("h2", {id: "meta-h"}, "Metadata"),
      Object.keys(m.metadata).length ? h("pre", {class: "json"}, JSON.stringify(m.metadata, null, 2)) : h("p", {class: "muted"}, "None.")),
    h("section", {"aria-labelledby": "prov-h"}, h("h2", {id: "prov-h"}, "Provenance"),
      sources.length ? h("ul", {class: "sources"}, sources.map((s) => h("li", {},
        s.missing ? h("span", {class: "muted"}, s.id + " (no longer stored)") :
          [h("strong", {}, (s.role || s.kind) + ": "), memoryLink(s.id, s.text), " ", timeEl(s.occurred_at)])))
        : h("p", {class: "muted"}, "Written directly (no source episodes).")),
    h("section", {"aria-labelledby": "hist-h"}, h("h2", {id: "hist-h"}, "History"),
      h("table", {class: "grid-table", id: "history"}, h("caption", {class: "sr-only"}, "Changes, oldest first"),
        h("thead", {}, h("tr", {}, ["event", "at", "old text", "new text"].map((x) => h("th", {scope: "col"}, x)))),
        h("tbody", {}, history.history.map((e) => h("tr", {class: "event-" + e.event},
          h("th", {scope: "row"}, e.event), h("td", {}, timeEl(e.at)),
          h("td", {class: "old"}, e.old_text || ""), h("td", {class: "new"}, e.new_text || "")))))),
    h("section", {"aria-labelledby": "expire-h"}, h("h2", {id: "expire-h"}, "Expiry"), expireForm),
    h("section", {"aria-labelledby": "edit-h"}, h("h2", {id: "edit-h"}, "Edit"), editForm,
      h("p", {}, h("button", {type: "button", class: "danger", id: "delete", onclick: () => {
        confirmBox.hidden = false; confirmBox.querySelector("button").focus();
      }}, "Delete this memory")), confirmBox));
};
