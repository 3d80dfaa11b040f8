// The cirrus dashboard: one page, no build step, no library. Every value from the API is
// put on the page with textContent or as an attribute, never as HTML, so payload ids and
// error messages (user data) cannot inject markup.
"use strict";

const REFRESH_MS = 5000;
const STATES = ["CLAIMED", "PROCESSING", "SUCCEEDED", "FAILED", "INVALID", "ABORTED"];
const SVG = "http://www.w3.org/2000/svg";
let timer = null;

// ---------------------------------------------------------------- small helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key === "onclick" || key === "onchange" || key === "oninput" || key === "onsubmit") node[key] = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = String(value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

function badge(state) {
  return el("span", { class: "state " + String(state || ""), text: state || "?" });
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  if (value < 1) return (value * 1000).toFixed(0) + " ms";
  if (value < 120) return value.toFixed(1) + " s";
  if (value < 7200) return (value / 60).toFixed(1) + " min";
  return (value / 3600).toFixed(1) + " h";
}

function when(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

function clock(iso) {
  return iso ? iso.slice(11, 23) : "";
}

function payloadLink(id) {
  return el("a", { href: "#/payload?id=" + encodeURIComponent(id), text: id });
}

function params() {
  const hash = location.hash || "#/";
  const query = hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : "";
  return new URLSearchParams(query);
}

function setHash(path, values) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) query.set(key, value);
  const text = query.toString();
  location.hash = path + (text ? "?" + text : "");
}

function say(text, kind) {
  const box = document.getElementById("message");
  box.textContent = text || "";
  box.className = kind || "";
}

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function write(path, body) {
  const token = document.getElementById("token").value;
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function show(...nodes) {
  const view = document.getElementById("view");
  view.replaceChildren(...nodes.filter((node) => node !== null && node !== undefined));
  document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
}

// ---------------------------------------------------------------- charts

function barChart(points, width, height, bad) {
  // points: [{label, value}] oldest first
  const max = Math.max(1, ...points.map((p) => p.value));
  const left = 34, bottom = 18, plotW = width - left - 4, plotH = height - bottom - 6;
  const step = points.length ? plotW / points.length : plotW;
  const chart = svg("svg", { width: "100%", viewBox: `0 0 ${width} ${height}`, role: "img" });
  chart.append(svg("line", { class: "axis", x1: left, y1: 6 + plotH, x2: width, y2: 6 + plotH }));
  chart.append(svg("text", { class: "label", x: 2, y: 14, text: String(max) }));
  chart.append(svg("text", { class: "label", x: 2, y: 6 + plotH, text: "0" }));
  points.forEach((point, index) => {
    const h = (point.value / max) * plotH;
    const bar = svg("rect", {
      class: bad ? "bar bad" : "bar",
      x: left + index * step + 1, y: 6 + plotH - h, width: Math.max(step - 2, 1), height: h,
    });
    bar.append(svg("title", { text: `${point.label}: ${point.value}` }));
    chart.append(bar);
  });
  if (points.length) {
    chart.append(svg("text", { class: "label", x: left, y: height - 3, text: points[0].label }));
    chart.append(svg("text", { class: "label", x: width - 40, y: height - 3, text: points[points.length - 1].label }));
  }
  return chart;
}

function minutesOfLastHour(perMinute) {
  const counts = new Map(perMinute.map((p) => [p.minute, p.count]));
  const now = new Date();
  const points = [];
  for (let i = 59; i >= 0; i--) {
    const t = new Date(now.getTime() - i * 60000).toISOString().slice(0, 16);
    points.push({ label: t.slice(11), value: counts.get(t) || 0 });
  }
  return points;
}

// ---------------------------------------------------------------- overview

async function overview() {
  const status = await api("/api/status");
  const states = STATES.filter((s) => status.totals[s]);
  const shown = states.length ? states : ["SUCCEEDED", "FAILED"];
  const head = el("tr", {}, el("th", { text: "workflow" }), shown.map((s) => el("th", { class: "num", text: s })));
  const rows = Object.entries(status.counts).map(([workflow, counts]) =>
    el("tr", {},
      el("td", {}, el("a", { href: "#/workflow?name=" + encodeURIComponent(workflow), text: workflow })),
      shown.map((s) => el("td", { class: "num" },
        counts[s] ? el("a", { href: "#/payloads?" + new URLSearchParams({ workflow, state: s }), text: counts[s] }) : "0"))));
  const failures = status.failures_last_hour.map((group) =>
    el("tr", {},
      el("td", { class: "num", text: group.count }),
      el("td", { class: "err" }, el("a", { href: "#/payloads?" + new URLSearchParams({ state: "FAILED", error: group.prefix }), text: group.prefix })),
      el("td", { class: "id" }, payloadLink(group.example_id))));
  const oldest = status.oldest_processing;
  const queue = status.queue || {};
  show(
    el("h1", { text: "Pipeline at a glance" }),
    el("div", { class: "cards" },
      el("section", { class: "card", id: "counts" },
        el("h2", { text: "Payloads per workflow and state" }),
        rows.length ? el("table", {}, el("thead", {}, head), el("tbody", {}, rows)) : el("p", { class: "muted", text: "no payloads yet" })),
      el("section", { class: "card", id: "throughput" },
        el("h2", { text: `Finished per minute (last hour) — ${status.rate_per_second} payloads/s over ${status.rate_minutes} min` }),
        barChart(minutesOfLastHour(status.finished_per_minute), 520, 150, false)),
      el("section", { class: "card", id: "failures" },
        el("h2", { text: "Failures in the last hour, by error" }),
        failures.length
          ? el("table", {}, el("thead", {}, el("tr", {}, el("th", { class: "num", text: "count" }), el("th", { text: "error" }), el("th", { text: "latest" }))), el("tbody", {}, failures))
          : el("p", { class: "muted", text: "none" })),
      el("section", { class: "card", id: "queue" },
        el("h2", { text: "Queue and running" }),
        el("p", { text: `queued ${queue.queued ?? "?"}, in flight ${queue.in_flight ?? "?"}, dead letters ${queue.dead_letters ?? "?"}` }),
        el("p", {}, "oldest PROCESSING: ", oldest ? payloadLink(oldest.payload_id) : "none",
          oldest ? ` for ${seconds(oldest.age_seconds)}` : ""))));
}

// ---------------------------------------------------------------- payload table

async function payloads() {
  const p = params();
  const query = new URLSearchParams();
  for (const key of ["workflow", "state", "since", "error", "q", "next"]) if (p.get(key)) query.set(key, p.get(key));
  query.set("limit", "100");
  const [page, workflows] = await Promise.all([api("/api/payloads?" + query), api("/api/workflows")]);
  const names = workflows.workflows.map((w) => w.name);
  const pick = (id, label, options, value) => el("label", {}, label,
    el("select", { id, onchange: apply }, options.map((o) => el("option", { value: o, selected: o === value, text: o || "any" }))));
  function apply() {
    setHash("#/payloads", {
      workflow: document.getElementById("filter-workflow").value,
      state: document.getElementById("filter-state").value,
      since: document.getElementById("filter-since").value,
      error: document.getElementById("filter-error").value,
      q: document.getElementById("search").value,
    });
  }
  const filters = el("form", { class: "filters", onsubmit: (event) => { event.preventDefault(); apply(); } },
    pick("filter-workflow", "workflow", ["", ...names], p.get("workflow") || ""),
    pick("filter-state", "state", ["", ...STATES], p.get("state") || ""),
    pick("filter-since", "updated within", ["", "15m", "1h", "24h", "7d", "30d"], p.get("since") || ""),
    el("label", {}, "error starts with", el("input", { id: "filter-error", value: p.get("error") || "", size: 18 })),
    el("label", {}, "payload id or error", el("input", { id: "search", value: p.get("q") || "", size: 36 })),
    el("button", { type: "submit", text: "search" }),
    el("button", { type: "button", id: "rerun-filtered", onclick: () => rerunFiltered(p), text: "rerun all matching" }));
  const rows = page.payloads.map((item) =>
    el("tr", {},
      el("td", { class: "id" }, payloadLink(item.payload_id)),
      el("td", {}, badge(item.state)),
      el("td", { text: when(item.updated) }),
      el("td", { class: "num", text: seconds(item.duration) }),
      el("td", { class: "err", text: item.state === "SUCCEEDED" ? "" : (item.last_error || "") })));
  const more = page.next
    ? el("button", { id: "next-page", onclick: () => setHash("#/payloads", { ...Object.fromEntries(p), next: page.next }), text: "next page" })
    : null;
  show(
    el("h1", { text: "Payloads" }),
    filters,
    el("table", { id: "payload-table" },
      el("thead", {}, el("tr", {}, ["payload", "state", "updated", "duration", "error"].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows)),
    rows.length ? null : el("p", { class: "muted", text: "no payloads match" }),
    more);
}

async function rerunFiltered(p) {
  const filter = {};
  for (const key of ["workflow", "state", "since", "error"]) if (p.get(key)) filter[key] = p.get(key);
  if (!confirm("Queue every payload matching these filters again (replace)?")) return;
  try {
    const answer = await write("/api/rerun", { filter });
    say(`queued ${answer.queued} payload(s) again`, "ok");
  } catch (error) { say("rerun refused: " + error.message, "error"); }
}

// ---------------------------------------------------------------- one payload

function timelineChart(executions) {
  const runs = executions.filter((e) => e.started);
  if (!runs.length) return el("p", { class: "muted", text: "no execution has started" });
  const start = Math.min(...runs.map((e) => Date.parse(e.started)));
  const end = Math.max(...runs.map((e) => Date.parse(e.ended || new Date().toISOString())));
  const span = Math.max(end - start, 1);
  const width = 640, rowH = 22;
  const chart = svg("svg", { width, height: runs.length * rowH + 8, role: "img" });
  runs.forEach((run, index) => {
    const x = 150 + ((Date.parse(run.started) - start) / span) * (width - 160);
    const stop = Date.parse(run.ended || new Date().toISOString());
    const w = Math.max(((stop - Date.parse(run.started)) / span) * (width - 160), 2);
    chart.append(svg("text", { class: "label", x: 0, y: index * rowH + 15, text: run.execution.slice(-12) }));
    const bar = svg("rect", { class: "timeline-bar " + run.status, x, y: index * rowH + 4, width: w, height: rowH - 8 });
    bar.append(svg("title", { text: `${run.status} ${seconds(run.duration)}` }));
    chart.append(bar);
  });
  return chart;
}

async function payloadPage() {
  const id = params().get("id");
  const data = await api("/api/payload?id=" + encodeURIComponent(id));
  const record = data.record;
  const latest = data.executions.length ? data.executions[data.executions.length - 1] : null;
  const detail = latest ? await api(`/api/execution?id=${encodeURIComponent(id)}&execution=${encodeURIComponent(latest.execution)}`) : null;
  const running = record.state === "PROCESSING" || record.state === "CLAIMED";
  const actions = el("div", { class: "actions" },
    el("button", { id: "rerun", class: "primary", onclick: () => rerunOne(id), text: "rerun (replace)" }),
    running ? el("button", { id: "abort", class: "danger", onclick: () => abortOne(id), text: "abort" }) : null);
  const executions = data.executions.map((e) =>
    el("tr", {},
      el("td", { class: "id", text: e.execution }),
      el("td", {}, badge(e.status || "?")),
      el("td", { text: when(e.started) }),
      el("td", { text: when(e.ended) }),
      el("td", { class: "num", text: seconds(e.duration) }),
      el("td", { class: "err", text: e.error || "" })));
  const timeline = data.timeline.map((event) =>
    el("tr", {},
      el("td", { class: "time", title: event.time, text: clock(event.time) }),
      el("td", {}, badge(event.event_type)),
      el("td", { class: "num", text: event.seconds_until_next === undefined ? "" : seconds(event.seconds_until_next) }),
      el("td", { class: "err", text: event.error || "" })));
  const spans = detail ? detail.states.map((s) =>
    el("tr", {}, el("td", { text: s.name }), el("td", { text: s.type }), el("td", { class: "num", text: seconds(s.duration) }))) : [];
  const logs = detail && detail.logs.length
    ? detail.logs.map((log) => el("div", {}, el("h2", { text: log.name }), el("pre", { class: "log", text: log.text })))
    : [el("p", { class: "muted", text: "no logs kept for this execution" })];
  const items = data.items.map((item) =>
    el("div", { class: "card" },
      el("strong", { text: item.id }), " ", el("span", { class: "muted", text: item.collection || "" }),
      item.assets.filter((a) => a.thumbnail).map((a) => el("img", { class: "thumb", alt: "thumbnail of " + item.id, src: "/api/file?url=" + encodeURIComponent(a.href) })),
      el("ul", {}, item.assets.map((a) => el("li", {}, el("a", { href: "/api/file?url=" + encodeURIComponent(a.href), text: a.key }), " ", el("span", { class: "muted", text: a.href }))))));
  show(
    el("h1", { text: id }),
    el("p", {}, badge(record.state), " updated ", when(record.updated),
      record.duration !== null ? ` — last execution took ${seconds(record.duration)}` : "",
      " — workflow ", el("a", { href: "#/workflow?name=" + encodeURIComponent(record.workflow), text: record.workflow })),
    record.last_error && record.state !== "SUCCEEDED" ? el("p", { class: "err", id: "last-error", text: record.last_error }) : null,
    actions,
    el("section", { id: "logs" }, el("h2", { text: "Logs of the last execution" }), logs),
    el("div", { class: "cards" },
      el("section", { class: "card wide", id: "timeline" }, el("h2", { text: "Timeline of states" }),
        el("table", {}, el("thead", {}, el("tr", {}, ["time", "event", "for", "error"].map((h) => el("th", { text: h })))), el("tbody", {}, timeline))),
      spans.length ? el("section", { class: "card", id: "state-spans" }, el("h2", { text: "Workflow states of the last execution" }),
        el("table", {}, el("thead", {}, el("tr", {}, ["state", "type", "took"].map((h) => el("th", { text: h })))), el("tbody", {}, spans))) : null,
      el("section", { class: "card wide", id: "executions" }, el("h2", { text: "Executions" }),
        timelineChart(data.executions),
        el("table", {}, el("thead", {}, el("tr", {}, ["execution", "status", "started", "ended", "took", "error"].map((h) => el("th", { text: h })))), el("tbody", {}, executions)))),
    data.items.length ? el("section", { id: "items" }, el("h2", { text: "Published items" }), el("div", { class: "cards" }, items)) : null,
    el("div", { class: "cards" },
      el("section", { class: "card" }, el("h2", { text: "Input" }), el("pre", { id: "input", text: JSON.stringify(detail ? detail.input : null, null, 2) })),
      el("section", { class: "card" }, el("h2", { text: "Output" }), el("pre", { id: "output", text: JSON.stringify(detail ? detail.output : null, null, 2) }))));
}

async function rerunOne(id) {
  try {
    const answer = await write("/api/rerun", { ids: [id] });
    say(`queued ${answer.queued} payload(s) again`, "ok");
    refresh();
  } catch (error) { say("rerun refused: " + error.message, "error"); }
}

async function abortOne(id) {
  try {
    await write("/api/abort", { id });
    say("aborted", "ok");
    refresh();
  } catch (error) { say("abort refused: " + error.message, "error"); }
}

// ---------------------------------------------------------------- workflows

async function workflowsPage() {
  const data = await api("/api/workflows");
  show(el("h1", { text: "Workflows" }),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "workflow" }), el("th", { text: "description" }), STATES.map((s) => el("th", { class: "num", text: s })))),
      el("tbody", {}, data.workflows.map((w) => el("tr", {},
        el("td", {}, el("a", { href: "#/workflow?name=" + encodeURIComponent(w.name), text: w.name })),
        el("td", { text: w.description }),
        STATES.map((s) => el("td", { class: "num", text: w.counts[s] || 0 })))))));
}

function transitions(state) {
  const out = [];
  if (state.Next) out.push([state.Next, ""]);
  if (state.Default) out.push([state.Default, ""]);
  for (const choice of state.Choices || []) if (choice.Next) out.push([choice.Next, ""]);
  for (const catcher of state.Catch || []) if (catcher.Next) out.push([catcher.Next, "catch"]);
  return out;
}

function graph(definition, durations) {
  const states = definition.States || {};
  const level = { [definition.StartAt]: 0 };
  const order = [definition.StartAt];
  for (let i = 0; i < order.length; i++) {
    const name = order[i];
    for (const [next] of transitions(states[name] || {})) {
      if (!(next in level)) { level[next] = level[name] + 1; order.push(next); }
    }
  }
  for (const name of Object.keys(states)) if (!(name in level)) { level[name] = 0; order.push(name); }
  const rows = {};
  const pos = {};
  const boxW = 190, boxH = 40, gapX = 30, gapY = 36;
  for (const name of order) {
    const row = level[name];
    rows[row] = (rows[row] || 0) + 1;
    pos[name] = { x: 10 + (rows[row] - 1) * (boxW + gapX), y: 10 + row * (boxH + gapY) };
  }
  const width = Math.max(...Object.values(rows)) * (boxW + gapX) + 20;
  const height = (Math.max(...Object.values(level)) + 1) * (boxH + gapY) + 10;
  const chart = svg("svg", { width, height, role: "img" });
  chart.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" }, svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8a93a6" }))));
  for (const name of order) {
    for (const [next, kind] of transitions(states[name] || {})) {
      if (!pos[next]) continue;
      const a = pos[name], b = pos[next];
      chart.append(svg("path", { class: "edge " + kind, "marker-end": "url(#arrow)",
        d: `M${a.x + boxW / 2},${a.y + boxH} C${a.x + boxW / 2},${a.y + boxH + 25} ${b.x + boxW / 2},${b.y - 25} ${b.x + boxW / 2},${b.y}` }));
    }
  }
  for (const name of order) {
    const state = states[name] || {};
    const took = durations[name];
    const node = svg("g", { class: "node " + (state.Type || ""), transform: `translate(${pos[name].x},${pos[name].y})` },
      svg("rect", { width: boxW, height: boxH }),
      svg("text", { x: 8, y: 16, text: name.length > 26 ? name.slice(0, 25) + "…" : name }),
      svg("text", { x: 8, y: 32, class: "label", text: (state.Type || "") + (took && took.count ? ` · median ${seconds(took.median)}` : "") }));
    node.append(svg("title", { text: name }));
    chart.append(node);
  }
  return chart;
}

async function workflowPage() {
  const name = params().get("name");
  const data = await api("/api/workflows/" + encodeURIComponent(name));
  const stats = Object.entries(data.state_durations).map(([state, d]) =>
    el("tr", {}, el("td", { text: state }), el("td", { class: "num", text: d.count }), el("td", { class: "num", text: seconds(d.median) }), el("td", { class: "num", text: seconds(d.p95) }), el("td", { class: "num", text: seconds(d.max) })));
  const d = data.durations;
  show(el("h1", { text: "Workflow " + name }),
    el("p", {}, STATES.filter((s) => data.counts[s]).map((s) => el("span", {}, badge(s), " ", el("a", { href: "#/payloads?" + new URLSearchParams({ workflow: name, state: s }), text: data.counts[s] }), "  "))),
    el("p", { text: d.count ? `executions: median ${seconds(d.median)}, p95 ${seconds(d.p95)}, max ${seconds(d.max)} (latest ${d.count})` : "no finished executions yet" }),
    el("div", { class: "cards" },
      el("section", { class: "card", id: "graph" }, el("h2", { text: "State machine" }), graph(data.definition, data.state_durations)),
      el("section", { class: "card", id: "state-durations" }, el("h2", { text: "Time per state" }),
        stats.length
          ? el("table", {}, el("thead", {}, el("tr", {}, ["state", "runs", "median", "p95", "max"].map((h) => el("th", { text: h })))), el("tbody", {}, stats))
          : el("p", { class: "muted", text: "no execution histories kept yet (failed executions keep theirs; keep_history: all keeps every one)" }),
        el("p", { class: "muted", text: `from ${data.histories_read} kept histories` }))),
    el("h2", { text: "Definition" }), el("pre", { text: JSON.stringify(data.definition, null, 2) }));
}

// ---------------------------------------------------------------- routing

const PAGES = { "#/": overview, "#/payloads": payloads, "#/payload": payloadPage, "#/workflows": workflowsPage, "#/workflow": workflowPage };

async function refresh() {
  const hash = location.hash || "#/";
  const page = PAGES[hash.split("?")[0]] || overview;
  clearTimeout(timer);
  try {
    await page();
  } catch (error) {
    say(error.message, "error");
  }
  // the table keeps what the user is typing: refresh it only when the filters are not in use
  timer = setTimeout(() => {
    const active = document.activeElement;
    if (active && (active.tagName === "INPUT" || active.tagName === "SELECT")) { timer = setTimeout(refresh, REFRESH_MS); return; }
    refresh();
  }, REFRESH_MS);
}

window.addEventListener("hashchange", () => { say(""); refresh(); });
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("token-form").addEventListener("submit", (event) => event.preventDefault());
  const token = document.getElementById("token");
  token.value = sessionStorage.getItem("cirrus-token") || "";
  token.addEventListener("change", () => sessionStorage.setItem("cirrus-token", token.value));
  refresh();
});
