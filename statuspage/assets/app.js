// lbkit status page. On open it loads the server's history (history.json),
// so the charts show what happened before the page was opened; then every
// second it polls status.json for the tables and history.json?since=… for
// the new samples. No dependencies, nothing loaded from the network.
"use strict";

// Errors of this page are counted in the DOM (body data-errors, #errors),
// so that a headless test and an engineer both see them.
const pageErrors = [];
function noteError(msg) {
  pageErrors.push(String(msg));
  document.body.dataset.errors = String(pageErrors.length);
  const box = document.getElementById("errors");
  if (box) { box.hidden = false; box.textContent = "page errors: " + pageErrors.join("; "); }
}
window.addEventListener("error", e => noteError(e.message));
window.addEventListener("unhandledrejection", e => noteError(e.reason && e.reason.message || e.reason));
const consoleError = console.error.bind(console);
console.error = (...args) => { noteError(args.join(" ")); consoleError(...args); };

const COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#bab0ac", "#ff9da6"];
const colorOf = {};    // address -> color, stable for the page's life
const hist = {};       // balancer name -> {times, hosts: Map(addr -> {present, series}), series, events}
let windowMs = 15 * 60 * 1000, lastTime = 0, updates = 0, lastSnap = null;

function color(addr) {
  if (!(addr in colorOf)) colorOf[addr] = COLORS[Object.keys(colorOf).length % COLORS.length];
  return colorOf[addr];
}

function el(tag, attrs, ...children) {
  const svg = ["svg", "path", "line", "text", "g", "rect", "circle", "title"].includes(tag);
  const e = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return e;
}

const fmt = (x, digits) => Number(x).toFixed(digits);
const opt = (x, digits, unit) => x === undefined || x === null ? "–" : fmt(x, digits) + unit;
const clock = ms => new Date(ms).toLocaleTimeString();
function age(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

// merge adds a history.json answer (all samples, or those after lastTime)
// to what the page holds, and forgets what has left the window.
function merge(h) {
  windowMs = h.windowMs;
  const n = h.times.length;
  for (const b of h.balancers) {
    const cur = hist[b.name] || (hist[b.name] = { times: [], hosts: new Map(), series: {}, events: [] });
    const old = cur.times.length;
    const pad = (arr, len) => { while (arr.length < len) arr.push(null); return arr; };
    cur.times.push(...h.times);
    for (const [k, v] of Object.entries(b.series)) cur.series[k] = pad(cur.series[k] || [], old).concat(v);
    const seen = new Set();
    for (const hh of b.hosts) {
      seen.add(hh.address);
      const mine = cur.hosts.get(hh.address) || { series: {} };
      mine.present = hh.present;
      for (const [k, v] of Object.entries(hh.series)) mine.series[k] = pad(mine.series[k] || [], old).concat(v);
      cur.hosts.set(hh.address, mine);
    }
    for (const a of [...cur.hosts.keys()]) if (!seen.has(a)) cur.hosts.delete(a); // the server forgot it
    cur.events.push(...b.events);
    // Trim to the window.
    const last = cur.times.length ? cur.times[cur.times.length - 1] : 0;
    let drop = 0;
    while (drop < cur.times.length && cur.times[drop] <= last - windowMs) drop++;
    if (drop) {
      cur.times.splice(0, drop);
      for (const s of Object.values(cur.series)) s.splice(0, drop);
      for (const hh of cur.hosts.values()) for (const s of Object.values(hh.series)) s.splice(0, drop);
    }
    cur.events = cur.events.filter(e => cur.times.length && e.time >= cur.times[0]);
  }
  if (n) lastTime = h.times[n - 1];
}

const logScale = () => document.getElementById("log-scale").checked;

// chart draws one series per line over the balancer's sample times, with a
// vertical marker at each add/remove event and a dot where the line of a
// removed host ends. opts: {id, title, unit, lines: [{key, addr, series,
// dash, cls}], fixedMax, loggable}.
function chart(h, o) {
  const W = 440, H = 190, L = 48, R = 10, T = 24, B = 22;
  const times = h.times;
  const t0 = times.length ? times[0] : 0, t1 = times.length > 1 ? times[times.length - 1] : t0 + 1000;
  const x = t => L + (t - t0) / (t1 - t0) * (W - L - R);
  const vals = o.lines.flatMap(l => l.series.filter(v => v !== null && v !== undefined));
  const log = o.loggable && logScale();
  let lo = 0, hi = o.fixedMax || Math.max(0, ...vals) * 1.1;
  if (!(hi > 0)) hi = 1;
  let y;
  if (log) {
    const pos = vals.filter(v => v > 0);
    lo = pos.length ? Math.min(...pos) / 1.5 : 0.01;
    hi = Math.max(hi, lo * 10);
    const span = Math.log10(hi) - Math.log10(lo);
    y = v => T + (1 - (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * (H - T - B);
  } else {
    y = v => T + (1 - v / hi) * (H - T - B);
  }
  const svg = el("svg", { class: "chart", id: o.id, "data-scale": log ? "log" : "linear", width: W, height: H, viewBox: `0 0 ${W} ${H}` },
    el("text", { x: L, y: 14, text: o.title + (log ? " (log)" : "") }),
    el("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }),
    el("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }),
    el("text", { x: 2, y: T + 4, text: (hi >= 100 ? fmt(hi, 0) : hi >= 1 ? fmt(hi, 1) : fmt(hi, 3)) + o.unit }),
    el("text", { x: 2, y: H - B, text: (log ? (lo >= 1 ? fmt(lo, 1) : fmt(lo, 3)) : "0") + o.unit }),
    el("text", { x: L, y: H - 6, text: times.length ? clock(t0) : "" }),
    el("text", { x: W - R - 58, y: H - 6, text: times.length ? clock(t1) : "" }));
  for (const e of h.events) {
    const ex = fmt(x(e.time), 1);
    svg.appendChild(el("line", { class: `marker marker-${e.kind}`, "data-kind": e.kind, "data-address": e.address, "data-time": e.time, x1: ex, y1: T, x2: ex, y2: H - B },
      el("title", { text: `${e.kind === "add" ? "added" : "removed"} ${e.address} at ${clock(e.time)}` })));
  }
  for (const l of o.lines) {
    let d = "", pen = "M", lastPt = null;
    for (let i = 0; i < l.series.length && i < times.length; i++) {
      const v = l.series[i];
      if (v === null || v === undefined) { pen = "M"; continue; }
      const px = fmt(x(times[i]), 1), py = fmt(y(v), 1);
      d += `${pen}${px} ${py} `;
      pen = "L";
      lastPt = [px, py];
    }
    svg.appendChild(el("path", { class: l.cls || "series", "data-address": l.addr, stroke: color(l.key || l.addr), d: d.trim(), "stroke-dasharray": l.dash || "none" }));
    if (l.label) {
      svg.appendChild(el("text", { class: "line-label", x: W - R - 110, y: T + 12 * (1 + o.lines.indexOf(l)), style: `fill:${color(l.key || l.addr)}`, text: l.label }));
    }
    if (l.ended && lastPt) {
      svg.appendChild(el("circle", { class: "end-marker", "data-address": l.addr, cx: lastPt[0], cy: lastPt[1], r: 4, fill: color(l.addr) },
        el("title", { text: `${l.addr} removed` })));
    }
  }
  return svg;
}

function hostCharts(name, h) {
  const hosts = [...h.hosts.entries()];
  const lines = (key, extra) => hosts.map(([a, hh]) => Object.assign({ addr: a, series: hh.series[key] || [], ended: !hh.present }, extra || {}));
  const pct = s => s.map(v => v === null ? null : v * 100);
  return [
    chart(h, { id: `rps-${name}`, title: "requests/s per host", unit: "", lines: lines("rps"), loggable: true }),
    chart(h, { id: `errors-${name}`, title: "error % per host", unit: "%", lines: lines("errorPct"), fixedMax: 100 }),
    chart(h, { id: `latency-${name}`, title: "latency p99 (solid), p50 (dashed), ms", unit: "", loggable: true,
      lines: lines("p99Ms").concat(lines("p50Ms", { dash: "4 3", cls: "series-p50", ended: false })) }),
    chart(h, { id: `share-${name}`, title: "share of the interval's requests", unit: "%", fixedMax: 100,
      lines: hosts.map(([a, hh]) => ({ addr: a, series: pct(hh.series.share || []), ended: !hh.present })) }),
    chart(h, { id: `score-${name}`, title: "score (the balancer's, 0–1)", unit: "", fixedMax: 1, lines: lines("score") }),
  ];
}

function legend(h) {
  const box = el("div", { class: "legend" });
  for (const [a, hh] of h.hosts) {
    const removed = h.events.filter(e => e.address === a && e.kind === "remove").pop();
    box.appendChild(el("span", { class: "legend-item" + (hh.present ? "" : " removed"), "data-address": a, "data-present": String(hh.present) },
      el("span", { class: "swatch", style: `background:${color(a)}` }), a + (hh.present ? "" : ` (removed${removed ? " " + clock(removed.time) : ""})`)));
  }
  return box;
}

function discovery(b, now) {
  const parts = [el("b", { text: "discovery " }), `${b.source || "?"} · ${b.instances} instances · `];
  parts.push(b.lastUpdate ? `last update ${clock(Date.parse(b.lastUpdate))} (${age(now - Date.parse(b.lastUpdate))} ago)` : "no update yet");
  const p = el("p", { class: "discovery", "data-error": b.discoveryErr ? "true" : "false" }, ...parts);
  if (b.discoveryErr) {
    const since = b.errorSince ? ` since ${clock(Date.parse(b.errorSince))} (for ${age(now - Date.parse(b.errorSince))})` : "";
    p.appendChild(el("span", { class: "error", text: ` · error${since}: ${b.discoveryErr}` }));
  }
  return p;
}

function retryPanel(r) {
  return el("p", { class: "retry" }, el("b", { text: "retries " }),
    `${r.retries} (${fmt(r.retriesPerSec, 1)}/s) · `,
    el("span", { class: r.budgetExhausted ? "error" : "", text: `budget exhausted ${r.budgetExhausted} (${fmt(r.budgetExhaustedPerSec, 1)}/s)` }),
    ` · hedges ${r.hedges} (${fmt(r.hedgesPerSec, 1)}/s), won ${r.hedgeWins}, capped ${r.hedgesCapped} · calls ${r.calls}`);
}

// subsetPanel is the line of a balancer over a deterministic subset
// (statuspage.WithSubset): the client's coordinate, the backends it uses of
// those offered, and the subset's churn. Its hosts are the table's.
function subsetPanel(s) {
  const attrs = { class: "subset", "data-ready": String(s.ready), "data-rank": s.rank, "data-count": s.count,
    "data-size": s.size, "data-design": s.design, "data-used": s.used, "data-backends": s.backends, "data-changes": s.changes };
  if (!s.ready) {
    return el("p", attrs, el("b", { text: "subset " }), `waiting for the backends and this client's rank · size ${s.size}`);
  }
  attrs.title = "in the subset: " + s.subset.join(", ");
  const used = `uses ${s.used} of ${s.backends} backends` + (s.used < s.size ? ` (size ${s.size}: fewer backends than that)` : "");
  const last = s.changed ? ` · last change ${clock(Date.parse(s.changed))} (${age(s.changedAgeMs)} ago)` : "";
  const rank = s.count > 0 ? `client rank ${s.rank} of ${s.count}` : "client rank not known yet";
  return el("p", attrs, el("b", { text: "subset " }),
    `${s.design} · ${rank} · ${used} · ${s.changes} ${s.changes === 1 ? "change" : "changes"}${last}`);
}

function hostTable(b) {
  const stateKeys = [...new Set(b.hosts.flatMap(h => Object.keys(h.state || {})))].sort();
  const cols = ["host", "weight", "in flight", "score", "req/s", "error %", "p50", "p99", "mean latency", "requests", "failures", "share", ...stateKeys];
  const table = el("table", { class: "hosts" }, el("thead", {}, el("tr", {}, ...cols.map(c => el("th", { text: c })))));
  const body = el("tbody");
  for (const h of b.hosts) {
    const share = el("td", { text: fmt(h.share * 100, 1) + "%" }, el("span", { class: "bar", style: `width:${fmt(h.share * 80, 1)}px` }));
    body.appendChild(el("tr", { class: "host", "data-address": h.address },
      el("td", {}, el("span", { class: "swatch", style: `background:${color(h.address)}` }), h.address),
      el("td", { text: h.weight }), el("td", { text: h.inFlight }), el("td", { class: "score", text: fmt(h.score, 3) }),
      el("td", { text: fmt(h.rps, 1) }), el("td", { text: opt(h.errorPct, 1, "%") }),
      el("td", { text: opt(h.p50Ms, 2, " ms") }), el("td", { text: opt(h.p99Ms, 2, " ms") }),
      el("td", { text: fmt(h.latencyMs, 2) + " ms" }), el("td", { text: h.requests }), el("td", { text: h.failures }), share,
      ...stateKeys.map(k => el("td", { class: "state", text: k in (h.state || {}) ? String(h.state[k]) : "" }))));
  }
  table.appendChild(body);
  return table;
}

function render(snap) {
  lastSnap = snap;
  document.getElementById("title").textContent = snap.title;
  document.title = snap.title;
  const now = Date.parse(snap.time);
  const frag = document.createDocumentFragment();
  for (const b of snap.balancers) {
    const h = hist[b.name] || { times: [], hosts: new Map(), series: {}, events: [] };
    const sec = el("section", { class: "balancer", "data-name": b.name, "data-samples": h.times.length,
      "data-from": h.times.length ? h.times[0] : "", "data-to": h.times.length ? h.times[h.times.length - 1] : "" });
    sec.appendChild(el("h2", { text: `${b.name} · ${b.strategy} · ${b.hosts.length} hosts` }));
    sec.appendChild(discovery(b, now));
    if (b.retry) sec.appendChild(retryPanel(b.retry));
    if (b.subset) sec.appendChild(subsetPanel(b.subset));
    if (b.invalidInstances) sec.appendChild(el("p", { class: "error", text: "left out: " + b.invalidInstances }));
    for (const f of b.factoryFailures || []) {
      sec.appendChild(el("p", { class: "error", text: `no endpoint for ${f.address}: ${f.err}` }));
    }
    if (b.factoryErrors) sec.appendChild(el("p", { class: "muted", text: `${b.factoryErrors} failed factory calls` }));
    sec.appendChild(hostTable(b));
    sec.appendChild(el("p", { class: "muted", text: `Per-interval figures (req/s, error %, p50, p99, share) are over the last ${snap.intervalMs / 1000} s; share is the host's part of the requests the balancer completed in it. Score is the balancer's own score of the host, 0–1, in the table and the chart alike.` }));
    sec.appendChild(legend(h));
    const charts = hostCharts(b.name, h);
    if (b.retry) {
      charts.push(chart(h, { id: `retry-${b.name}`, title: "retries, budget exhausted, hedges per s", unit: "", loggable: true,
        lines: [["retriesPerSec", "retries"], ["budgetExhaustedPerSec", "budget exhausted"], ["hedgesPerSec", "hedges"]]
          .map(([k, label]) => ({ key: "retry:" + k, addr: label, label, series: h.series[k] || [], cls: "retry-series" })) }));
    }
    if (b.subset) {
      charts.push(chart(h, { id: `subset-${b.name}`, title: "subset: backends in or out per interval", unit: "",
        lines: [{ key: "subset:changes", addr: "subset changes", series: h.series.subsetChanges || [], cls: "subset-series" }] }));
    }
    sec.appendChild(el("div", { class: "charts" }, ...charts));
    frag.appendChild(sec);
  }
  for (const p of snap.pools) {
    const sec = el("section", { class: "pool", "data-name": p.name });
    sec.appendChild(el("h2", { text: `pool ${p.name}` }));
    const cols = [...new Set(p.rows.flatMap(r => Object.keys(r.counts)))];
    const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "host" }), ...cols.map(c => el("th", { text: c })))));
    const body = el("tbody");
    for (const r of p.rows) body.appendChild(el("tr", { class: "pool-row" }, el("td", { text: r.name }), ...cols.map(c => el("td", { text: r.counts[c] ?? "" }))));
    table.appendChild(body);
    sec.appendChild(table);
    if (cols.includes("lent")) sec.appendChild(el("p", { class: "muted", text: "lent: connections lent out of the pool, including those an http.Transport keeps idle between requests; the requests under way are the balancer's in flight." }));
    frag.appendChild(sec);
  }
  document.getElementById("main").replaceChildren(frag);
  renderControls(snap.controls);
  updates++;
  document.body.dataset.updates = String(updates);
  const state = document.getElementById("state");
  state.textContent = `updated ${clock(now)}`;
  state.className = "muted";
}

function renderControls(controls) {
  const box = document.getElementById("controls");
  box.hidden = controls.length === 0;
  const list = document.getElementById("control-list");
  for (const c of controls) {
    let input = list.querySelector(`input[data-name="${CSS.escape(c.name)}"]`);
    if (!input) {
      input = el("input", { type: "number", min: c.min, max: c.max, "data-name": c.name });
      const button = el("button", { text: "set" });
      button.onclick = () => setControl(c.name, Number(input.value));
      list.appendChild(el("label", { text: c.name + " " }, input, button));
    }
    if (document.activeElement !== input) input.value = c.value;
  }
}

async function setControl(name, value) {
  const r = await fetch("control", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name, value }) });
  if (!r.ok) alert(await r.text());
}

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(`${url}: ${r.status} ${r.statusText}`);
  return r.json();
}

let polling = false;
async function poll() {
  if (polling) return; // a slow server: skip a beat rather than pile up
  polling = true;
  try {
    merge(await getJSON(`history.json?since=${lastTime}`));
    render(await getJSON("status.json"));
  } catch (e) {
    const s = document.getElementById("state");
    s.textContent = "disconnected: " + e.message;
    s.className = "error";
  } finally {
    polling = false;
  }
}

// ?log=1 opens the page with the log scale on, so a link can carry it.
const logBox = document.getElementById("log-scale");
logBox.checked = new URLSearchParams(location.search).get("log") === "1";
logBox.addEventListener("change", () => {
  const u = new URL(location.href);
  if (logBox.checked) u.searchParams.set("log", "1"); else u.searchParams.delete("log");
  history.replaceState(null, "", u);
  if (lastSnap) render(lastSnap);
});
poll();
setInterval(poll, 1000);
